"""Shared pieces of the distribution tests: build the same distribution in brickwork and
PyTorch from NumPy parameters and compare what both compute."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork

try:
    import torch
except ImportError:  # pragma: no cover - the reference comparisons skip
    torch = None


VALUE_METHODS = ("log_prob", "cdf", "icdf")


def leaves(lib, arrays, requires_grad=True):
    """float64 leaf tensors of ``lib`` (grad only for floating arrays)."""
    out = []
    for a in arrays:
        a = np.asarray(a)
        rg = requires_grad and a.dtype.kind == "f"
        out.append(lib.tensor(a, requires_grad=rg) if a.dtype.kind == "f" else lib.tensor(a))
    return out


def host(t):
    return t.detach().cpu().numpy() if torch is not None and isinstance(t, torch.Tensor) \
        else t.detach()._host()


def compare_methods(make, params, value, methods, *, rtol=1e-9, atol=1e-10, grad=True,
                    grad_rtol=1e-7, grad_atol=1e-9):
    """Compare ``methods`` (attribute names; callables take ``value``) and the gradients of
    their sum with respect to the parameters, brickwork against PyTorch, in float64."""
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    results = {}
    for lib in (brickwork, torch):
        ps = leaves(lib, params)
        d = make(lib, *ps)
        v = lib.tensor(np.asarray(value)) if value is not None else None
        outs = []
        for m in methods:
            attr = getattr(d, m)
            outs.append(attr(v) if m in VALUE_METHODS else attr() if callable(attr) else attr)
        total = None
        for o in outs:
            if o.requires_grad:
                finite = lib.where(lib.isfinite(o), o, lib.zeros_like(o))
                total = finite.sum() if total is None else total + finite.sum()
        grads = []
        if grad and total is not None:
            diff = [p for p in ps if p.requires_grad]
            gs = (brickwork.autograd.grad if lib is brickwork else torch.autograd.grad)(
                total, diff, allow_unused=True)
            grads = [None if g is None else host(g) for g in gs]
        results[lib.__name__] = ([host(o) for o in outs], [tuple(o.shape) for o in outs],
                                 grads)
    (b_vals, b_shapes, b_grads), (t_vals, t_shapes, t_grads) = results["brickwork"], \
        results["torch"]
    for m, bv, tv, bs, ts in zip(methods, b_vals, t_vals, b_shapes, t_shapes):
        assert bs == ts, f"{m}: shape {bs} != torch {ts}"
        np.testing.assert_allclose(bv, tv, rtol=rtol, atol=atol, err_msg=m, equal_nan=True)
    for i, (bg, tg) in enumerate(zip(b_grads, t_grads)):
        if tg is None:
            assert bg is None or not np.any(bg), f"grad {i}"
            continue
        assert bg is not None, f"grad of parameter {i}: none from brickwork"
        np.testing.assert_allclose(bg, tg, rtol=grad_rtol, atol=grad_atol,
                                   err_msg=f"grad of parameter {i}")
