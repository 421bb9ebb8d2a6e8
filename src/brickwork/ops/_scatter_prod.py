"""Multiplicative scatters: ``scatter_reduce(..., 'prod')`` (and so ``index_reduce(..., 'prod')``)
and the legacy ``scatter(..., reduce='multiply')``.

The product is formed on the arrays with ``multiply.at`` (repeated indices multiply in); its
gradient is PyTorch's ``scatter_reduce_backward`` for ``prod``, written in Tensor ops so that it
can itself be differentiated. Zeros are the trap there: ``result / x`` is wrong wherever ``x``
is 0, so the product of the *other* factors is recomputed with that zero replaced by 1.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._util import wrap, xp_of


def _key(idx, dim: int):
    """The fancy-index key that addresses ``out[..., idx[i, j, k], ...]`` along ``dim``."""
    xp = xp_of(idx)
    nd = idx.ndim
    return tuple(idx if d == dim else
                 xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1))
                 for d, n in enumerate(idx.shape))


def multiply_at(out, idx, vals, dim: int) -> None:
    """``out[key(idx)] *= vals`` with repeated positions multiplying in, in place."""
    xp = xp_of(out)
    if idx.size == 0:
        return
    if out.ndim == 0:  # a 0-d scatter: the one index is 0
        out[...] *= vals.reshape(-1)[0] if getattr(vals, "ndim", 0) else vals
        return
    idx = xp.where(idx < 0, idx + out.shape[dim], idx)  # scatter accepts -size..size-1
    key = _key(idx, dim)
    at = getattr(getattr(xp, "multiply", None), "at", None)
    if at is not None and xp is np:
        at(out, key, vals)
        return
    multiply_in_rounds(out, key, vals)


def multiply_in_rounds(out, key, vals) -> None:
    """``multiply.at`` without it (CuPy has none for multiply): the factors landing on one
    position are applied one per round, so no round writes a position twice."""
    xp = xp_of(out)
    key = xp.broadcast_arrays(*key)
    flat = xp.ravel_multi_index(tuple(k.ravel() for k in key), out.shape)
    vals = xp.broadcast_to(vals, key[0].shape).ravel()
    order = xp.argsort(flat)
    flat, vals = flat[order], vals[order]
    # rank within its run of equal positions (products commute, so any order in a run works)
    rank = xp.arange(flat.size) - xp.searchsorted(flat, flat, side="left")
    view = out.reshape(-1) if out.flags.c_contiguous else None
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        if view is not None:
            view[flat[sel]] *= vals[sel]
        else:
            pos = xp.unravel_index(flat[sel], out.shape)
            out[pos] *= vals[sel]


class ScatterProd(Function):
    """``scatter_reduce(input, dim, index, src, 'prod', include_self)`` (Tensor level)."""

    _backward_name = "ScatterReduceBackward0"

    @staticmethod
    def forward(ctx, input, src, index, dim, include_self):
        res = input._data.copy()
        idx = index._data.astype(np.int64)
        if not include_self and idx.size:
            res[_key(idx, dim)] = 1  # scattered-to positions start from the empty product
        multiply_at(res, idx, src._data, dim)
        ctx.save_for_backward(input, src)
        ctx.index, ctx.dim, ctx.include_self = index, dim, include_self
        return wrap(res, input)

    @staticmethod
    def backward(ctx, grad):
        input, src = ctx.saved_tensors
        index, dim, include_self = ctx.index, ctx.dim, ctx.include_self
        g_self = g_src = None
        if ctx.needs_input_grad[0]:
            # d(result)/d(self) is the product of the src factors landing there. PyTorch
            # writes it as result / self with self's zeros taken as 1; the product itself is
            # the same value without the division (and no rounding in its own derivative).
            g_self = grad * scatter_prod(input.new_ones(input.shape), dim, index, src, True)
            if not include_self:
                g_self = g_self.scatter(dim, index, 0)
        if ctx.needs_input_grad[1]:
            zero = src == 0
            n_zero = input.new_zeros(input.shape).scatter_add(
                dim, index, zero.to(input.dtype)).gather(dim, index)
            single = zero & (n_zero == 1)
            # A lone zero factor's gradient is the product of the others: recompute it with
            # that zero as 1. Elsewhere result / src (0 when another factor is 0).
            alone = scatter_prod(input, dim, index, src.masked_fill(single, 1), include_self)
            result = scatter_prod(input, dim, index, src, include_self)
            g_src = (grad * alone).gather(dim, index).where(
                single, (grad * result).gather(dim, index) / src.masked_fill(zero, 1))
        return g_self, g_src, None, None, None


def scatter_prod(input: Tensor, dim: int, index: Tensor, src: Tensor,
                 include_self: bool) -> Tensor:
    """The ``prod`` case of :func:`brickwork.scatter_reduce` (arguments already checked;
    ``src`` already cut to ``index``'s shape)."""
    if STATE.enabled and input.requires_grad:
        # The node keeps ``input`` for its backward; an in-place ``scatter_reduce_`` would
        # overwrite it, so the node gets its own differentiable copy.
        input = input.clone()
    return ScatterProd.apply(input, src, index, dim, include_self)


class _ScatterMultiply(Function):
    """``scatter(..., reduce='multiply')``: PyTorch defines no derivative for it."""

    _array_level = True
    _backward_name = "ScatterBackward0"

    @staticmethod
    def forward(ctx, a, idx, src, dim):
        out = a.copy()
        idx = idx.astype(np.int64)
        if isinstance(src, (int, float, bool)):
            src = xp_of(a).asarray(src, a.dtype)
        else:
            src = src[tuple(slice(0, n) for n in idx.shape)]
        multiply_at(out, idx, src, dim)
        return out

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::scatter is not implemented")


def scatter_multiply(input: Tensor, dim: int, index: Tensor, src) -> Tensor:
    """``scatter(input, dim, index, src, reduce='multiply')`` (arguments already checked)."""
    return _ScatterMultiply.apply(input, index, src, dim)
