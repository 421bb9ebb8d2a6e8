"""RMSprop: divide the gradient by a running root mean square of its recent values."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._sparse_coo import SparseCOO
from ._inplace import elementwise_
from ._more_common import real
from .optimizer import Optimizer, _arr, _check


class RMSprop(Optimizer):
    """RMSprop (optionally centered, with momentum). See: torch.optim.RMSprop.

    ``v = alpha*v + (1-alpha)*g*g``; ``avg = sqrt(v - mean_g**2)`` when centered else
    ``sqrt(v)``, plus ``eps``; then ``p -= lr * g / avg`` or, with momentum,
    ``b = momentum*b + g/avg`` and ``p -= lr * b``.

    Example:
        >>> opt = RMSprop(model.parameters(), lr=0.01, momentum=0.9)
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= eps, "epsilon value", eps)
        _check(0.0 <= momentum, "momentum value", momentum)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        _check(0.0 <= alpha, "alpha value", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
        update = _rmsprop_update(lr, alpha, eps, momentum, centered)
        for p, arr, g in self._grads(group):
            if g.__class__ is SparseCOO:
                raise RuntimeError("RMSprop does not support sparse gradients")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._step_tensor()
                state["square_avg"] = self._zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = self._zeros_like(p)
                if centered:
                    state["grad_avg"] = self._zeros_like(p)
            state["step"]._data += 1
            if wd != 0:
                g = g + wd * arr
            arrays = [arr, g, _arr(state["square_avg"])]
            if centered:
                arrays.append(_arr(state["grad_avg"]))
            if momentum > 0:
                arrays.append(_arr(state["momentum_buffer"]))
            # complex as PyTorch's view_as_real: the parts tracked separately
            arrays = [real(a) for a in arrays]
            elementwise_(update, arrays)


def _rmsprop_update(lr: float, alpha: float, eps: float, momentum: float, centered: bool):
    """One RMSprop update of (param, grad, square_avg[, grad_avg][, momentum_buffer], tmp)
    arrays in place."""
    def update(arr, g, v, *rest):
        t = rest[-1]
        v *= alpha
        np.multiply(g, g, out=t)
        t *= 1 - alpha
        v += t
        if centered:
            ga = rest[0]
            np.subtract(g, ga, out=t)
            t *= 1 - alpha
            ga += t
            np.multiply(ga, ga, out=t)
            np.subtract(v, t, out=t)
            np.sqrt(t, out=t)
        else:
            np.sqrt(v, out=t)
        t += eps
        np.divide(g, t, out=t)
        if momentum > 0:
            buf = rest[-2]
            buf *= momentum
            buf += t
            np.multiply(buf, lr, out=t)
        else:
            t *= lr
        arr -= t
    return update
