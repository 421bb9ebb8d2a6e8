"""``scaled_dot_product_attention`` as one op: blocked over queries, causal blocks skipped.

The op-by-op form (matmul, masked_fill, softmax, matmul) builds the full (L, S) score matrix
and fills half of it with -inf under a causal mask. Here the queries go in blocks of rows; a
causal block only looks at the keys up to its last row, so about half of the score matrix is
never computed, and the mask is applied to the diagonal tile alone. The softmax runs in place
on each block's scores, which are kept (as probabilities) for backward.

Backward is the usual attention gradient, per block:
``dV += P^T dO``, ``dS = P * (dO V^T - rowsum(dO * O))``, ``dQ = dS K s``, ``dK += dS^T Q s``.
``create_graph=True`` differentiates the ``composite`` (the op-by-op form) instead.

A query row whose every key is masked gives zeros, as PyTorch's CPU kernel does.
"""
from __future__ import annotations

import math

import numpy as np

from .._parallel import bounds, num_parts, run_jobs
from ..autograd.function import Function
from ..ops._util import xp_of

_BLOCK = 32  # query rows per block under a causal mask (fewer blocks: more wasted tiles)


def _row_blocks(L: int, causal: bool):
    if not causal or L <= _BLOCK:
        return [(0, L)]
    n = min(8, -(-L // _BLOCK))
    size = -(-L // n)
    return [(r, min(r + size, L)) for r in range(0, L, size)]


def _mask_tile(mask, r0: int, r1: int, kv: int):
    """The additive mask's tile for rows ``r0:r1`` and keys ``:kv`` (broadcast dims kept)."""
    rows = slice(None) if mask.shape[-2] == 1 else slice(r0, r1)
    cols = slice(None) if mask.shape[-1] == 1 else slice(0, kv)
    return mask[..., rows, cols]


def _additive(xp, mask, dtype):
    """A bool mask (True: may attend) or a float mask as scores to add."""
    if mask.dtype == bool:
        out = xp.zeros(mask.shape, dtype)
        out[~mask] = -math.inf
        return out
    return mask.astype(dtype, copy=False)


def _forward_part(xp, q, k, v, add, blocks, is_causal: bool, scale, out):
    """Attention of one slice of the batch into ``out``; returns what backward needs."""
    S = k.shape[-2]
    qs = q * scale
    # K^T as its own contiguous array: NumPy's matmul takes a transposed *second* operand off
    # its BLAS path (measured 2x slower per product here)
    kt = xp.ascontiguousarray(xp.swapaxes(k, -1, -2))
    probs = []
    for r0, r1 in blocks:
        kv = min(r1, S) if is_causal else S
        s = qs[..., r0:r1, :] @ kt[..., :, :kv]
        if add is not None:
            s += _mask_tile(add, r0, r1, kv)
        if is_causal and kv > r0 + 1:
            # key c is hidden from query r when c > r: only the columns past r0 can be
            rows = xp.arange(r0, r1)[:, None]
            cols = xp.arange(r0 + 1, kv)[None, :]
            s[..., :, r0 + 1:kv] += xp.where(cols > rows, -math.inf, 0).astype(s.dtype)
        m = s.max(axis=-1, keepdims=True)
        if add is not None:  # a row with every key masked: exp(-inf - 0) = 0 below
            m[~xp.isfinite(m)] = 0
        s -= m
        xp.exp(s, out=s)
        z = s.sum(axis=-1, keepdims=True)
        if add is not None:
            z[z == 0] = 1  # ... and its probabilities stay 0, as PyTorch's CPU kernel
        s /= z
        xp.matmul(s, v[..., :kv, :], out=out[..., r0:r1, :])
        probs.append(s)
    return qs, probs


def _backward_part(xp, g, saved, blocks, scale, need, dq, dk, dv):
    """The gradients of one slice of the batch, written into ``dq``, ``dk``, ``dv``."""
    k, v, qs, out, probs = saved
    rowdot = (g * out).sum(axis=-1, keepdims=True)
    vt = xp.ascontiguousarray(xp.swapaxes(v, -1, -2))  # (see kt in _forward_part)
    for (r0, r1), p in zip(blocks, probs):
        kv = p.shape[-1]
        gb = g[..., r0:r1, :]
        dv[..., :kv, :] += xp.swapaxes(p, -1, -2) @ gb
        ds = gb @ vt[..., :, :kv]
        ds -= rowdot[..., r0:r1, :]
        ds *= p
        if need[0]:
            xp.matmul(ds, k[..., :kv, :], out=dq[..., r0:r1, :])
        if need[1]:
            dk[..., :kv, :] += xp.swapaxes(ds, -1, -2) @ qs[..., r0:r1, :]
    dq *= scale


def _parts(xp, q, add):
    """Slices of the batch (dim 0) for ``run_jobs`` to run on separate threads (each part's
    GEMMs are too small for BLAS to spread over cores, and the exp and reductions never are).
    One part on a GPU, for a small problem, or without a batch dim to split."""
    n = 1
    if xp is np and q.ndim >= 3:
        n = num_parts(q.shape[0], q.size * q.shape[-2] // 4)
    parts = []
    for sl in bounds(q.shape[0], n) if n > 1 else [slice(None)]:
        m = add if add is None or add.ndim < q.ndim or add.shape[0] == 1 else add[sl]
        parts.append((sl, m))
    return parts


class SDPA(Function):
    """``softmax(q k^T * scale + mask) v`` over ``(..., L, E)`` arrays with equal leading
    shapes; ``mask`` an optional array broadcastable to ``(..., L, S)``."""

    _array_level = True
    _backward_name = "ScaledDotProductFlashAttentionForCpuBackward0"

    @staticmethod
    def forward(ctx, q, k, v, mask, is_causal, scale):
        xp = xp_of(q)
        add = None
        if mask is not None:
            add = _additive(xp, mask, q.dtype)
            add = add.reshape((1,) * (q.ndim - add.ndim) + add.shape)
        out = xp.empty(q.shape[:-1] + v.shape[-1:], q.dtype)
        blocks = _row_blocks(q.shape[-2], is_causal)
        scale = q.dtype.type(scale)
        parts = _parts(xp, q, add)
        saved = run_jobs(_forward_part, [(xp, q[sl], k[sl], v[sl], m, blocks, is_causal, scale,
                                      out[sl]) for sl, m in parts])
        if any(ctx.needs_input_grad):
            ctx.q, ctx.k, ctx.v, ctx.out = q, k, v, out
            ctx.parts, ctx.saved, ctx.blocks, ctx.scale = parts, saved, blocks, scale
        return out

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        q, k, v, out = ctx.q, ctx.k, ctx.v, ctx.out
        need = ctx.needs_input_grad
        dq, dk, dv = xp.empty_like(q), xp.zeros_like(k), xp.zeros_like(v)
        run_jobs(_backward_part, [(xp, g[sl], (k[sl], v[sl], qs, out[sl], probs), ctx.blocks,
                               ctx.scale, need, dq[sl], dk[sl], dv[sl])
                              for (sl, _), (qs, probs) in zip(ctx.parts, ctx.saved)])
        return (dq if need[0] else None), (dk if need[1] else None), \
            (dv if need[2] else None), None, None, None

    @staticmethod
    def composite(q, k, v, mask, is_causal, scale):
        """The op-by-op attention (for ``create_graph``)."""
        from ._functional_attention import attention_ops

        return attention_ops(q, k, v, mask, is_causal, scale)
