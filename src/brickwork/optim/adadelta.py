"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ._inplace import elementwise_
from ._more_common import check_lr, group_lr, real, refuse_differentiable, refuse_sparse, \
    state_arr
from .optimizer import Optimizer, _check


class Adadelta(Optimizer):
    """Adadelta. See: torch.optim.Adadelta.

    ``v = rho*v + (1-rho)*g*g``; ``d = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u = rho*u + (1-rho)*d*d``; ``p -= lr * d``. ``weight_decay`` adds ``wd * p`` to ``g``.
    ``foreach`` and ``capturable`` only select PyTorch kernels and give the same numbers;
    ``differentiable=True`` is refused at ``step``.

    Example:
        >>> opt = Adadelta(model.parameters(), lr=1.0, rho=0.9)
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        _check(0.0 <= rho <= 1.0, "rho value", rho)
        _check(0.0 <= eps, "epsilon value", eps)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        refuse_differentiable(group, "Adadelta")
        lr, rho, eps, wd = group_lr(group), group["rho"], group["eps"], group["weight_decay"]
        update = _adadelta_update(lr, rho, eps)
        for p, arr, g in self._grads(group):
            refuse_sparse(g, "Adadelta")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._step_tensor()
                state["square_avg"] = self._zeros_like(p)
                state["acc_delta"] = self._zeros_like(p)
            state["step"]._data += 1
            if wd != 0:
                g = g + wd * arr
            arrays = [real(arr), real(g), state_arr(state["square_avg"]),
                      state_arr(state["acc_delta"])]
            elementwise_(update, arrays, temps=2)


def _adadelta_update(lr: float, rho: float, eps: float):
    """One Adadelta update of (param, grad, square_avg, acc_delta, tmp, tmp) arrays in
    place, in PyTorch's operations and order."""
    def update(arr, g, v, u, t, t2):
        v *= rho
        np.multiply(g, 1 - rho, out=t)  # addcmul: value * t1 * t2, left to right
        t *= g
        v += t
        np.add(v, eps, out=t2)
        np.sqrt(t2, out=t2)  # std
        np.add(u, eps, out=t)
        np.sqrt(t, out=t)
        t /= t2
        t *= g  # delta
        u *= rho
        np.multiply(t, 1 - rho, out=t2)
        t2 *= t
        u += t2
        t *= -lr
        arr += t
    return update
