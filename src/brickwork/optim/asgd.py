"""ASGD: averaged stochastic gradient descent (Polyak-Ruppert averaging)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ._more_common import check_lr, group_lr, real, refuse_differentiable, refuse_sparse, \
    scalar_like, set_scalar, state_arr
from .optimizer import Optimizer, _arr, _check


class ASGD(Optimizer):
    """Averaged SGD. See: torch.optim.ASGD.

    ``p = p * (1 - lambd*eta) - eta * g``; the average ``ax`` follows ``p`` (copied while
    ``mu == 1``, then ``ax += mu * (p - ax)``); afterwards
    ``eta = lr / (1 + lambd*lr*t)**alpha`` and ``mu = 1 / max(1, t - t0)``. The state
    ``step``, ``eta`` and ``mu`` are 0-d tensors on the parameter's device, as in PyTorch.
    ``weight_decay`` adds ``wd * p`` to ``g``. ``foreach=True`` follows PyTorch's multi-tensor
    kernel, whose rounding differs slightly; ``capturable`` gives the same numbers;
    ``differentiable=True`` is refused at ``step``.

    Example:
        >>> opt = ASGD(model.parameters(), lr=0.01, t0=100)
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_lr(lr)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        refuse_differentiable(group, "ASGD")
        lr, lambd, alpha, t0 = group_lr(group), group["lambd"], group["alpha"], group["t0"]
        wd = group["weight_decay"]
        for p, arr, g in self._grads(group):
            refuse_sparse(g, "ASGD")
            state = self.state[p]
            if len(state) == 0:
                dtype = self._step_tensor()._data.dtype
                state["step"] = scalar_like(p, 0.0, dtype)
                state["eta"] = scalar_like(p, lr, dtype)
                state["mu"] = scalar_like(p, 1.0, dtype)
                state["ax"] = self._zeros_like(p)
            step_t, eta_t, mu_t = state["step"], state["eta"], state["mu"]
            _arr(step_t)[...] += 1
            if group.get("foreach"):
                _foreach_update(arr, g, state, lr, lambd, alpha, t0, wd)
                continue
            if wd != 0:
                g = g + wd * arr
            arr, g = real(arr), real(g)
            eta = float(_arr(eta_t)[0])
            arr *= 1 - lambd * eta  # decay term
            arr += -eta * g
            ax = state_arr(state["ax"])
            mu = float(_arr(mu_t)[0])
            if mu != 1:
                ax += (arr - ax) * mu
            else:
                ax[...] = arr
            step = float(_arr(step_t)[0])
            set_scalar(eta_t, lr / ((1 + lambd * lr * step) ** alpha))
            set_scalar(mu_t, 1 / max(1, step - t0))


def _foreach_update(arr, g, state, lr, lambd, alpha, t0, wd) -> None:
    """PyTorch's ``foreach=True`` kernel, which rearranges the update and computes ``eta``
    in the step tensor's dtype, so its numbers differ slightly from the default path's."""
    inter = g + wd * arr if wd != 0 else g
    inter = inter + lambd * arr
    arr, inter = real(arr), real(inter)
    eta_a, mu_a, step_a = _arr(state["eta"]), _arr(state["mu"]), _arr(state["step"])
    arr += -1 * inter * eta_a  # p - eta * (g + lambd * p), as one addcmul
    ax = state_arr(state["ax"])
    ax += (arr - ax) * mu_a  # averaged even while mu == 1 (the same value)
    # eta = lr / (1 + lambd*lr*step)**alpha evaluated in tensor arithmetic (PyTorch's
    # `scalar / tensor` is `tensor.reciprocal() * scalar`)
    t = step_a * (lambd * lr)
    t += 1
    if alpha == 0.5:  # ATen's pow takes a square root for this exponent
        np.sqrt(t, out=t)
    else:  # ATen's float pow is correctly rounded (NumPy's float32 pow may be an ulp off)
        t[...] = (t.astype(np.float64) ** alpha).astype(t.dtype)
    np.reciprocal(t, out=t)
    t *= lr
    eta_a[...] = t
    set_scalar(state["mu"], 1 / max(1, float(step_a[0]) - t0))
