"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ._more_common import check_lr, group_lr, lerp_, real, refuse_differentiable, \
    refuse_sparse, scalar_like, state_arr
from .optimizer import Optimizer, _arr, _check, _check_adam_args


class NAdam(Optimizer):
    """NAdam. See: torch.optim.NAdam.

    With ``mu_t = b1 * (1 - 0.5 * 0.96**(t * momentum_decay))`` and ``P_t`` the product of
    ``mu_1..mu_t`` (state ``mu_product``): ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g*g``,
    ``d = sqrt(v / (1 - b2**t)) + eps`` and
    ``p -= lr * (1-mu_t)/(1-P_t) * g/d + lr * mu_{t+1}/(1-P_t*mu_{t+1}) * m/d``.
    ``weight_decay`` adds ``wd * p`` to ``g``, or with ``decoupled_weight_decay=True`` scales
    ``p`` by ``1 - lr * wd`` first. ``foreach`` and ``capturable`` only select PyTorch kernels
    and give the same numbers; ``differentiable=True`` is refused at ``step``.

    Example:
        >>> opt = NAdam(model.parameters(), lr=2e-3, momentum_decay=4e-3)
    """

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        _check_adam_args(eps, betas, weight_decay)
        _check(0.0 <= momentum_decay, "momentum_decay value", momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        refuse_differentiable(group, "NAdam")
        lr, (beta1, beta2), eps = group_lr(group), group["betas"], group["eps"]
        wd, md = group["weight_decay"], group["momentum_decay"]
        for p, arr, g in self._grads(group):
            refuse_sparse(g, "NAdam")
            state = self.state[p]
            if len(state) == 0:
                step_t = self._step_tensor()
                state["step"] = step_t
                # the running product lives in a 0-d tensor of the step's dtype, as in PyTorch
                state["mu_product"] = scalar_like(step_t, 1.0, step_t._data.dtype)
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
            step_t = state["step"]
            step_t._data += 1
            step = float(step_t._data)
            bias_correction2 = 1 - beta2 ** step
            if wd != 0:
                # .get: state dicts from PyTorch releases before the option lack the key
                if group.get("decoupled_weight_decay", False):
                    arr *= 1 - lr * wd
                else:
                    g = g + wd * arr
            arr, g = real(arr), real(g)
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * md)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * md)))
            # PyTorch multiplies in the product tensor's own dtype (float32 unless reloaded
            # into a float64 parameter's state), so its rounding is part of the numbers
            mp = _arr(state["mu_product"])
            mp *= mu
            mu_product = float(mp[0])
            m, v = state_arr(state["exp_avg"]), state_arr(state["exp_avg_sq"])
            lerp_(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * g * g
            denom = np.sqrt(v / bias_correction2)
            denom += eps
            mu_product_next = mu_product * mu_next
            arr += (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
            arr += ((-lr * mu_next) / (1.0 - mu_product_next)) * m / denom
