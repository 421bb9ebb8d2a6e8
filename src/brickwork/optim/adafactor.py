"""Adafactor: Adam-like steps whose second moments are factored into row and column means."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..device import runs_on_input_device
from ..ops._more_info import finfo
from ..tensor import Tensor, _make
from ._more_common import group_lr, lerp_, refuse_sparse
from .optimizer import Optimizer, _arr


class Adafactor(Optimizer):
    """Adafactor. See: torch.optim.Adafactor.

    With ``t`` the step, ``b = t**beta2_decay`` (the weight of the new squared gradient),
    ``rho = min(lr, 1/sqrt(t))`` and ``alpha = max(eps2, RMS(p)) * rho``: a parameter of two
    or more dimensions keeps running means ``R`` (over its last dimension) and ``C`` (over its
    second-to-last) of ``g*g`` and estimates ``V = R @ C / max(mean(R), eps1)``; a vector (or
    scalar) keeps ``V`` itself. Then ``U = g / sqrt(max(V, eps1**2))`` and
    ``p -= alpha * U / max(1, RMS(U) / d)``. ``eps1=None`` means the machine epsilon of the
    first parameter's dtype (with ``foreach=True``, of the dtype PyTorch's foreach path
    lists first: the second one when a group mixes two). ``weight_decay`` scales ``p`` by
    ``1 - lr * wd`` first (after ``RMS(p)`` is taken). ``foreach`` otherwise only selects a
    PyTorch kernel and gives the same numbers.

    Example:
        >>> opt = Adafactor(model.parameters(), lr=1e-2)
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _init_group(self, group: dict[str, Any]) -> None:
        """Check every gradient and create missing state before any parameter moves, as
        PyTorch does (so a refused parameter leaves the others of its group untouched)."""
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            if _arr(p).dtype.kind == "c":
                raise RuntimeError("Adafactor does not support complex parameters")
            refuse_sparse(g._data, "Adafactor")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = self._step_tensor()
                if g.ndim > 1:
                    # running means of g*g over the last dim (rows) and the one before (cols)
                    state["row_var"] = _zeros(g, -1)
                    state["col_var"] = _zeros(g, -2)
                else:
                    state["variance"] = _zeros(g, None)

    def _step_group(self, group: dict[str, Any]) -> None:
        self._init_group(group)
        lr, beta2_decay, d = group_lr(group), group["beta2_decay"], group["d"]
        eps1, eps2 = group["eps"]
        wd = group["weight_decay"]
        if eps1 is None and group.get("foreach"):
            # PyTorch's foreach path groups the tensors by (device, dtype) in a C++ hash map
            # and takes eps1 from the group listed first: for two such groups that is the
            # one whose first tensor comes later (hash order; beyond two it may differ)
            keys = [(p._device, p.dtype) for p in group["params"] if p._grad is not None]
            if keys:
                eps1 = finfo(list(dict.fromkeys(keys))[-1][1]).eps
        for p, arr, g in self._grads(group):
            state = self.state[p]
            if eps1 is None:
                # PyTorch takes it from the first parameter and keeps it for the whole group
                eps1 = finfo(p.dtype).eps
            step_t = state["step"]
            step_t._data += 1
            step = float(step_t._data)
            one_minus_beta2_t = step ** beta2_decay
            rho_t = min(lr, 1 / (step ** 0.5))
            # (an empty parameter divides 0 by 0 here and fails, as PyTorch's does)
            alpha = max(eps2, _norm(arr) / (arr.size ** 0.5)) * rho_t
            if wd != 0:
                arr *= 1 - lr * wd
            if g.ndim > 1:
                # PyTorch squares the norm over the dimension rather than summing g*g
                row_mean = np.sqrt(np.sum(g * g, axis=-1, keepdims=True))
                row_mean *= row_mean
                row_mean /= g.shape[-1]
                row_var = _arr(state["row_var"])
                lerp_(row_var, row_mean, one_minus_beta2_t)
                col_mean = np.sqrt(np.sum(g * g, axis=-2, keepdims=True))
                col_mean *= col_mean
                col_mean /= g.shape[-2]
                col_var = _arr(state["col_var"])
                lerp_(col_var, col_mean, one_minus_beta2_t)
                var_estimate = np.matmul(row_var, col_var)
                var_estimate /= np.maximum(np.mean(row_var, axis=-2, keepdims=True), eps1)
            else:
                variance = _arr(state["variance"])
                lerp_(variance, g * g, one_minus_beta2_t)
                var_estimate = variance.copy()
            # eps1 is squared because the square root is taken next
            update = np.maximum(var_estimate, eps1 * eps1)
            np.sqrt(update, out=update)
            np.reciprocal(update, out=update)
            update *= g
            denom = max(1.0, _norm(update) / ((update.size ** 0.5) * d))
            arr += (-alpha / denom) * update


@runs_on_input_device  # allocated on the gradient's GPU
def _zeros(g: Tensor, dim: int | None) -> Tensor:
    """Zeros shaped like ``g``, or like ``g`` with ``dim`` reduced to size 1 (same dtype and
    device as the gradient, as PyTorch's ``grad.new_zeros``)."""
    shape = list(g.shape)
    if dim is not None:
        shape[dim] = 1
    return _make(np.zeros_like(g._data, shape=tuple(shape)), g._device)


def _norm(arr) -> float:
    """The 2-norm of a whole array as a Python float (PyTorch's ``t.norm(2).item()``)."""
    return float(np.sqrt(np.sum(arr * arr)))
