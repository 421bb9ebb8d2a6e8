"""SparseAdam: Adam for sparse gradients (``nn.Embedding(sparse=True)``), updating only the
rows a step's gradient touches."""
from __future__ import annotations

import math
from typing import Any, Iterable

from .._sparse_coo import SparseCOO
from .optimizer import Optimizer, _arr


class SparseAdam(Optimizer):
    """Lazy Adam for sparse COO gradients. See: torch.optim.SparseAdam.

    The moments ``exp_avg``/``exp_avg_sq`` are dense; each step updates them, and the parameter,
    only at the (coalesced) entries of the gradient: ``m += (1-b1)*(g - m)``,
    ``v += (1-b2)*(g*g - v)``, ``p -= lr*sqrt(1-b2**t)/(1-b1**t) * m / (sqrt(v) + eps)`` there.
    The step count ``t`` is a plain int, as in PyTorch.

    Example:
        >>> emb = nn.Embedding(1000, 16, sparse=True)
        >>> opt = SparseAdam(emb.parameters(), lr=1e-2)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        if hasattr(lr, "numel") and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        defaults = dict(lr=lr, betas=betas, eps=eps, maximize=maximize)
        super().__init__(params, defaults)
        sparse, complex_ = [], []
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if p.is_sparse:
                    sparse.append([gi, pi])
                if p.dtype.is_complex:
                    complex_.append([gi, pi])
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense "
                             "parameter tensors")
        if complex_:
            raise ValueError(f"Complex params at indices {complex_}: SparseAdam does not "
                             "support complex parameters")

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = float(group["lr"]), group["betas"], group["eps"]
        for p in group["params"]:  # refuse before any update, as PyTorch does
            if p._grad is not None and not p._grad.is_sparse:
                raise RuntimeError("SparseAdam does not support dense gradients, please "
                                   "consider Adam instead")
        for p, arr, g in self._grads(group):  # (``maximize`` already negated g)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
            state["step"] += 1
            _update(arr, g, state, lr, beta1, beta2, eps)


def _update(arr, g: SparseCOO, state: dict, lr: float, beta1: float, beta2: float,
            eps: float) -> None:
    """PyTorch's ``F.sparse_adam`` for one parameter, at the gradient's coalesced entries."""
    g = g.coalesce()
    if g.nnz == 0:
        return
    key = tuple(g.indices)
    vals = g.values
    m, v = _arr(state["exp_avg"]), _arr(state["exp_avg_sq"])
    old_m, old_v = m[key], v[key]
    dm = (vals - old_m) * (1 - beta1)
    dv = (vals * vals - old_v) * (1 - beta2)
    m[key] = old_m + dm
    v[key] = old_v + dv
    numer = dm + old_m
    denom = (dv + old_v) ** 0.5 + eps
    step = state["step"]
    step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    arr[key] += (-step_size * (numer / denom)).astype(arr.dtype)
