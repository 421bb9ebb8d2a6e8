"""Adamax: Adam with the infinity norm in place of the second moment."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ._more_common import check_lr, group_lr, lerp_, real, refuse_differentiable, \
    refuse_sparse, state_arr
from .optimizer import Optimizer, _check_adam_args


class Adamax(Optimizer):
    """Adamax. See: torch.optim.Adamax.

    ``m = b1*m + (1-b1)*g``; ``u = max(b2*u, |g| + eps)``;
    ``p -= lr / (1 - b1**t) * m / u``. ``weight_decay`` adds ``wd * p`` to ``g``.
    ``foreach`` and ``capturable`` only select PyTorch kernels and give the same numbers;
    ``differentiable=True`` is refused at ``step``.

    Example:
        >>> opt = Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_lr(lr)
        _check_adam_args(eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        refuse_differentiable(group, "Adamax")
        lr, (beta1, beta2), eps = group_lr(group), group["betas"], group["eps"]
        wd = group["weight_decay"]
        for p, arr, g in self._grads(group):
            refuse_sparse(g, "Adamax")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._step_tensor()
                state["exp_avg"] = self._zeros_like(p)
                state["exp_inf"] = self._zeros_like(p)
            step_t = state["step"]
            step_t._data += 1
            if wd != 0:
                g = g + wd * arr
            arr, g = real(arr), real(g)
            m, u = state_arr(state["exp_avg"]), state_arr(state["exp_inf"])
            lerp_(m, g, 1 - beta1)
            u *= beta2
            norm = np.abs(g)
            norm += eps
            np.maximum(u, norm, out=u)
            clr = lr / (1 - beta1 ** float(step_t._data))
            arr += -clr * m / u  # addcdiv: value * t1 / t2, left to right
