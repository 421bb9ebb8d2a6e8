"""Reductions over sparse COO tensors: ``torch.sparse.sum``, ``softmax``, ``log_softmax``.

Softmax runs over the *specified* entries only: an unspecified entry counts as minus infinity
(it gets no probability and stays unspecified), as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..ops._util import normalize_dim
from ..tensor import Tensor
from .._sparse_coo import SparseCOO
from ._tensor import coo, gather_at


class SparseSum(Function):
    _array_level = True
    _backward_name = "SparseSumBackward0"

    @staticmethod
    def forward(ctx, x, dims, np_dtype):
        x = x.coalesce()
        if np_dtype is not None:
            x = x.astype(np_dtype)
        s = x.sparse_dim
        sdims = [d for d in dims if d < s]
        vaxes = tuple(d - s + 1 for d in dims if d >= s)
        vals = x.values.sum(axis=vaxes) if vaxes else x.values
        ctx.x, ctx.sdims, ctx.vaxes = x, sdims, vaxes
        keep = [d for d in range(s) if d not in sdims]
        dense_shape = tuple(n for d, n in enumerate(x.shape) if d >= s and d not in dims)
        ctx.keep = keep
        if not keep:  # every sparse dimension summed: a dense result
            return vals.sum(axis=0).astype(vals.dtype)
        shape = tuple(x.shape[d] for d in keep) + dense_shape
        return SparseCOO(x.indices[keep], vals, shape).coalesce()

    @staticmethod
    def backward(ctx, g):
        x, keep = ctx.x, ctx.keep
        xp = x.xp
        if not keep:
            rows = xp.broadcast_to(g.to_dense() if g.__class__ is SparseCOO else g,
                                   (x.nnz,) + g.shape)
        else:
            out_shape = tuple(x.shape[d] for d in keep) + g.shape[len(keep):]
            rows = gather_at(g, x.indices[keep], out_shape)
        for a in ctx.vaxes:  # the dense dimensions summed: broadcast back over them
            rows = xp.expand_dims(rows, a)
        vals = xp.broadcast_to(rows, x.values.shape).astype(x.dtype)
        return SparseCOO(x.indices, vals, x.shape, True), None, None


class SparseFullSum(SparseSum):
    _backward_name = "SumBackward0"


def sum(input: Tensor, dim=None, dtype=None) -> Tensor:
    """Sum of a sparse COO tensor over ``dim`` (an int or tuple; all by default): dense when
    every sparse dimension is summed, sparse otherwise. The gradient is sparse, masked to the
    input's pattern.

    See: torch.sparse.sum.
    """
    d = coo(input, "sparse.sum")
    nd = d.ndim
    np_dtype = None if dtype is None else _dt.to_dtype(dtype).np
    if dim is None:
        return SparseFullSum.apply(input, tuple(range(nd)), np_dtype)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(sorted({normalize_dim(x, nd) for x in dims}))
    return SparseSum.apply(input, dims, np_dtype)


def _groups(x: SparseCOO, dim: int):
    """For a sparse ``dim``: one group id per entry (the entries sharing every other index)."""
    xp = x.xp
    other = [d for d in range(x.sparse_dim) if d != dim]
    if not other:
        return xp.zeros(x.nnz, np.int64), 1
    sub = SparseCOO(x.indices[other], x.values, tuple(x.shape[d] for d in other))
    _, inv = xp.unique(sub.linear_index(), return_inverse=True)
    inv = inv.reshape(-1)
    return inv, int(inv.max()) + 1 if inv.shape[0] else 0


def _group_reduce(xp, ufunc, vals, inv, n, init):
    out = xp.full((n,) + vals.shape[1:], init, vals.dtype)
    ufunc.at(out, inv, vals)
    return out


class SparseSoftmax(Function):
    _array_level = True
    _backward_name = "SparseSoftmaxBackward0"
    _log = False

    @staticmethod
    def forward(ctx, x, dim, np_dtype):
        log = ctx._forward_cls._log
        x = x.coalesce()
        if np_dtype is not None:
            x = x.astype(np_dtype)
        xp, v = x.xp, x.values
        if dim >= x.sparse_dim:  # a dense dimension: an ordinary softmax over values
            axis = dim - x.sparse_dim + 1
            m = v.max(axis=axis, keepdims=True) if v.size else v
            e = xp.exp(v - m)
            s = e.sum(axis=axis, keepdims=True)
            out = (v - m - xp.log(s)) if log else e / s
            ctx.axis, ctx.inv = axis, None
        else:
            inv, n = _groups(x, dim)
            mx = _group_reduce(xp, xp.maximum, v, inv, n, -np.inf)[inv]
            e = xp.exp(v - mx)
            s = _group_reduce(xp, xp.add, e, inv, n, 0)[inv]
            out = (v - mx - xp.log(s)) if log else e / s
            ctx.inv, ctx.n = inv, n
        out = out.astype(v.dtype)
        ctx.x, ctx.out = x, out
        return SparseCOO(x.indices, out, x.shape, True)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.x, ctx.out
        xp = x.xp
        gv = gather_at(g, x.indices, x.shape)
        log = ctx._forward_cls._log
        w = gv if log else gv * y
        if ctx.inv is None:
            tot = w.sum(axis=ctx.axis, keepdims=True)
        else:
            tot = _group_reduce(xp, xp.add, w, ctx.inv, ctx.n, 0)[ctx.inv]
        gx = gv - xp.exp(y) * tot if log else y * (gv - tot)
        return SparseCOO(x.indices, gx.astype(x.dtype), x.shape, True), None, None


class SparseLogSoftmax(SparseSoftmax):
    _backward_name = "SparseLogSoftmaxBackward0"
    _log = True


def _softmax_args(input: Tensor, dim: int, dtype, name: str):
    d = coo(input, name)
    if not _dt._FROM_NP[d.dtype].is_floating_point and dtype is None:
        raise RuntimeError(f"{name}: expected a floating point tensor, got {input.dtype}")
    return normalize_dim(dim, d.ndim), None if dtype is None else _dt.to_dtype(dtype).np


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Softmax over the specified entries along ``dim`` (unspecified ones count as -inf).

    See: torch.sparse.softmax.
    """
    dim, np_dtype = _softmax_args(input, dim, dtype, "sparse.softmax")
    return SparseSoftmax.apply(input, dim, np_dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Log of ``softmax``, over the specified entries along ``dim``.

    See: torch.sparse.log_softmax.
    """
    dim, np_dtype = _softmax_args(input, dim, dtype, "sparse.log_softmax")
    return SparseLogSoftmax.apply(input, dim, np_dtype)
