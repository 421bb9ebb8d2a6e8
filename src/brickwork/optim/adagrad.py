"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._sparse_coo import SparseCOO
from ._inplace import elementwise_
from ._more_common import real
from .optimizer import Optimizer, _arr, _check


class Adagrad(Optimizer):
    """Adagrad. See: torch.optim.Adagrad.

    ``s += g*g``; ``p -= lr / (1 + (t-1)*lr_decay) * g / (sqrt(s) + eps)``. As in PyTorch the
    state (``step``, ``sum`` = ``initial_accumulator_value``) is created for every parameter
    when the optimizer is built.

    Example:
        >>> opt = Adagrad(model.parameters(), lr=0.01)
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= lr_decay, "lr_decay value", lr_decay)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        _check(0.0 <= initial_accumulator_value, "initial_accumulator_value value",
               initial_accumulator_value)
        _check(0.0 <= eps, "epsilon value", eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _on_new_group(self, group: dict[str, Any]) -> None:
        self._require_initialized(group)
        for p in group["params"]:
            state = self.state[p]
            state["step"] = self._step_tensor()
            init = group["initial_accumulator_value"]
            # a complex sum starts at init in both parts, as PyTorch's complex(init, init)
            state["sum"] = self._zeros_like(p, complex(init, init) if p.is_complex() else init)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps, wd = group["lr"], group["lr_decay"], group["eps"], \
            group["weight_decay"]
        for p, arr, g in self._grads(group):
            state = self.state[p]
            step_t = state["step"]
            step_t._data += 1
            step = float(step_t._data)
            if g.__class__ is SparseCOO:
                if wd != 0:
                    raise RuntimeError("weight_decay option is not compatible with sparse "
                                       "gradients")
                # Zero outside the gradient's entries: the dense update changes only them.
                g = g.to_dense()
            if wd != 0:
                g = g + wd * arr
            clr = lr / (1 + (step - 1) * lr_decay)
            if state["sum"]._device is not p._device:
                # The sum is made when the optimizer is built; follow a model moved since, so
                # an optimizer built before .to(device) still works (as the lazy ones do).
                state["sum"] = state["sum"].to(p._device)
            # complex as PyTorch's view_as_real: the parts tracked separately
            arrays = [real(a) for a in (arr, g, _arr(state["sum"]))]
            elementwise_(_adagrad_update(clr, eps), arrays)


def _adagrad_update(clr: float, eps: float):
    """One Adagrad update of (param, grad, sum, tmp) arrays in place."""
    def update(arr, g, s, t):
        np.multiply(g, g, out=t)
        s += t
        np.sqrt(s, out=t)
        t += eps
        np.divide(g, t, out=t)
        t *= clr
        arr -= t
    return update
