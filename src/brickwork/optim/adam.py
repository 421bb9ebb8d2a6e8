"""Adam and AdamW (decoupled weight decay), with the AMSGrad variant."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._sparse_coo import SparseCOO
from ._inplace import elementwise_
from ._more_common import real
from .optimizer import Optimizer, _arr, _check, _check_adam_args


class Adam(Optimizer):
    """Adam: adaptive moment estimation. See: torch.optim.Adam.

    Per parameter: ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g*g``, and
    ``p -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)`` (``v`` replaced by its
    running maximum with ``amsgrad``). ``weight_decay`` adds ``wd * p`` to the gradient, or,
    with ``decoupled_weight_decay=True`` (AdamW), scales ``p`` by ``1 - lr * wd`` first.

    Example:
        >>> opt = Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        _check(0.0 <= lr, "learning rate", lr)
        _check_adam_args(eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad = group["weight_decay"], group["amsgrad"]
        decoupled = group["decoupled_weight_decay"]
        updates = {}  # by step count: the parameters of a group are usually all at one step
        for p, arr, g in self._grads(group):
            if g.__class__ is SparseCOO:
                raise RuntimeError("Adam does not support sparse gradients, please consider "
                                   "SparseAdam instead")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._step_tensor()
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = self._zeros_like(p)
            step_t = state["step"]
            step_t._data += 1
            step = float(step_t._data)
            if wd != 0 and not decoupled:
                g = g + wd * arr
            # complex parameters as interleaved reals, as PyTorch's view_as_real: the moments
            # then track the real and imaginary parts separately
            arrays = [arr, g, _arr(state["exp_avg"]), _arr(state["exp_avg_sq"])]
            if amsgrad:
                arrays.append(_arr(state["max_exp_avg_sq"]))
            arrays = [real(a) for a in arrays]
            if step not in updates:
                updates[step] = _adam_update(lr, beta1, beta2, eps, wd if decoupled else 0,
                                             step)
            elementwise_(updates[step], arrays)


def _adam_update(lr: float, beta1: float, beta2: float, eps: float, decay: float,
                 step: float):
    """One Adam update of (param, grad, m, v[, vmax], tmp) arrays in place, in PyTorch's
    operations and order (``lerp_``, ``addcmul_``, ``addcdiv_``): the same bits.
    ``decay`` is AdamW's decoupled weight decay (0 for none)."""
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5

    def update(arr, g, m, v, *rest):
        tmp = rest[-1]
        if decay:
            arr *= 1 - lr * decay
        np.subtract(g, m, out=tmp)
        tmp *= 1 - beta1
        m += tmp
        v *= beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - beta2
        v += tmp
        if len(rest) > 1:  # AMSGrad: the running maximum of v
            np.maximum(rest[0], v, out=rest[0])
            v = rest[0]
        np.sqrt(v, out=tmp)
        tmp /= bias_correction2_sqrt
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / bias_correction1
        arr -= tmp
    return update


class AdamW(Adam):
    """Adam with decoupled weight decay (default ``weight_decay=1e-2``). See: torch.optim.AdamW.

    Example:
        >>> opt = AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
