"""RAdam: Adam with a rectified (variance-controlled) adaptive learning rate."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ._more_common import check_lr, group_lr, lerp_, real, refuse_differentiable, \
    refuse_sparse, state_arr
from .optimizer import Optimizer, _check_adam_args


class RAdam(Optimizer):
    """RAdam. See: torch.optim.RAdam.

    ``m`` and ``v`` as in Adam; with ``rho_inf = 2/(1-b2) - 1`` and
    ``rho_t = rho_inf - 2 t b2**t / (1 - b2**t)``, the step is ``lr * m_hat * r_t *
    sqrt(1 - b2**t) / (sqrt(v) + eps)`` when ``rho_t > 5`` (``r_t`` the rectification term)
    and plain momentum ``lr * m_hat`` before. ``weight_decay`` adds ``wd * p`` to ``g``, or
    with ``decoupled_weight_decay=True`` scales ``p`` by ``1 - lr * wd`` first. ``foreach``
    and ``capturable`` only select PyTorch kernels and give the same numbers;
    ``differentiable=True`` is refused at ``step``.

    Example:
        >>> opt = RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        _check_adam_args(eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        refuse_differentiable(group, "RAdam")
        lr, (beta1, beta2), eps = group_lr(group), group["betas"], group["eps"]
        wd = group["weight_decay"]
        for p, arr, g in self._grads(group):
            refuse_sparse(g, "RAdam")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._step_tensor()
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
            step_t = state["step"]
            step_t._data += 1
            step = float(step_t._data)
            if wd != 0:
                # .get: state dicts from PyTorch releases before the option lack the key
                if group.get("decoupled_weight_decay", False):
                    arr *= 1 - lr * wd
                else:
                    g = g + wd * arr
            arr, g = real(arr), real(g)
            m, v = state_arr(state["exp_avg"]), state_arr(state["exp_avg_sq"])
            lerp_(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * g * g
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            update = m / bias_correction1
            update *= lr
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = np.sqrt(v)
                adaptive += eps
                # PyTorch's `scalar / tensor` is `tensor.reciprocal() * scalar`
                np.reciprocal(adaptive, out=adaptive)
                adaptive *= bias_correction2 ** 0.5
                update *= adaptive
                update *= rect
            arr += -1.0 * update
