"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._sparse_coo import SparseCOO
from ..tensor import _make
from ._inplace import momentum_step_, sub_scaled_
from .optimizer import Optimizer, _arr, _check, required


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum). See: torch.optim.SGD.

    The update follows PyTorch's: with weight decay ``g = g + wd * p``; with momentum
    ``b = g`` on the first step then ``b = momentum * b + (1 - dampening) * g``, and
    ``g = g + momentum * b`` (Nesterov) or ``g = b``; finally ``p = p - lr * g``.

    Example:
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if lr is not required:
            _check(0.0 <= lr, "learning rate", lr)
        _check(0.0 <= momentum, "momentum value", momentum)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        dampening, nesterov = group["dampening"], group["nesterov"]
        for p, arr, g in self._grads(group):
            if g.__class__ is SparseCOO:
                _sparse_step(self.state, p, arr, g, group)
                continue
            if wd != 0:
                g = g + wd * arr
            # The parameter is updated in its own buffer so views and `.data` aliases see the
            # change (as in PyTorch).
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = _make(g.reshape(p._data.shape).copy(), p._device)
                    state["momentum_buffer"] = buf
                    g = g + momentum * _arr(buf) if nesterov else _arr(buf)
                else:
                    momentum_step_(arr, _arr(buf), g, lr, momentum, dampening, nesterov)
                    continue
            sub_scaled_(arr, g, lr)


def _sparse_step(states, p, arr, g: SparseCOO, group: dict[str, Any]) -> None:
    """SGD on a sparse gradient (``nn.Embedding(sparse=True)``), as PyTorch runs it: weight
    decay is refused (sparse + dense); the momentum buffer is itself sparse."""
    lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
    if wd != 0:
        g = g + wd * arr  # raises PyTorch's "add(sparse, dense) is not supported"
    if momentum != 0:
        state = states[p]  # (plain SGD keeps no state, as in PyTorch)
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = _make(g.copy(), p._device)
        else:
            # Coalesced (PyTorch keeps a growing uncoalesced list; the values are the same).
            buf._data = (buf._data * momentum).concat(g * (1 - group["dampening"])).coalesce()
        g = g.concat(buf._data * momentum) if group["nesterov"] else buf._data
    g = g.coalesce()
    if g.nnz:
        key = tuple(g.indices)
        arr[key] -= np.multiply(g.values, lr, dtype=arr.dtype)
