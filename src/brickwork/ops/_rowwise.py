"""Softmax, log_softmax (also cross-entropy's) and layer norm on NumPy arrays, block by block
of rows on threads.

Written as whole-array NumPy passes, a softmax over the last dimension of a (64, 256, 128)
float32 tensor took 7.4 ms forward+backward against PyTorch's 1.5 ms: five passes with three
full-size temporaries, each on one core. Here the rows are cut into blocks of about
``BLOCK_VALUES`` values, each block's passes run one after the other while it is (mostly) in
cache, and the blocks are shared out over the threads (``_parallel.run_slices``): 4.2 ms.
Row sums of short rows run in BLAS. A row's values meet the same operations as in the
whole-array formulas, whatever the blocks.

What is left is NumPy's cost per row: a reduction along rows, or an operation with a per-row
operand broadcast along them, runs one inner loop per row (128 values for the softmax above),
which PyTorch's fused kernels do not pay.

Rows: an array of shape ``(*outer, D, *inner)`` reduced over D is viewed as (outer, D, inner),
or (outer, D) when inner is 1, and every reduction runs over axis 1.
"""
from __future__ import annotations

import math

import numpy as np

from .._parallel import run_slices
from ._norm_stats import row_sums

# Values per block. Each NumPy call on a block costs microseconds, and a reduction along short
# rows runs one inner loop per row, so blocks that fit a core's L2 (16K values) made a softmax
# over rows of 128 slower than whole-array passes; from 64K values up the threads win. Softmax
# over the last dimension of (64, 256, 128), forward+backward: 7.3 ms in 16K-value blocks, 4.4
# in 64K and 256K, 4.2-4.4 in halves of the array.
BLOCK_VALUES = 1 << 18


def _rows(a, dim: int):
    """``a`` (C-contiguous) as (outer, D, inner) rows reduced over ``dim``, or (outer, D)."""
    outer = math.prod(a.shape[:dim])
    inner = math.prod(a.shape[dim + 1:])
    d = a.shape[dim]
    return a.reshape(outer, d) if inner == 1 else a.reshape(outer, d, inner)


def _row_sums(a):
    """Sums over axis 1 of an (n, D) or (n, D, inner) block, kept as (n, 1[, inner]): for
    many (n, D) rows a matrix-vector product with ones in BLAS (NumPy's reduction runs one
    short inner loop per row, 8x slower for D = 128; below 64K values the BLAS call costs
    more than it saves)."""
    if a.ndim == 2 and a.size >= 1 << 16:
        return row_sums(a)[:, None]
    return a.sum(axis=1, keepdims=True)


# Column sums of a block take rows this many at a time: each group's sum in BLAS in the
# array's precision (a matrix-vector product with ones), the groups' sums added in float64.
# NumPy's float64 column sum casts every value: 48 against 9 us for (1024, 128); a float32
# sum down all the rows drifted 2.5e-5 from PyTorch's on a value of 0.09 over 2560 rows.
COLUMN_GROUP = 256


def _column_sums(a):
    """Sums over axis 0 of an (n, D) block, as float64 (D,)."""
    n = a.shape[0] - a.shape[0] % COLUMN_GROUP
    if n == 0:
        return a.sum(axis=0, dtype=np.float64)
    parts = np.ones(COLUMN_GROUP, dtype=a.dtype) @ a[:n].reshape(-1, COLUMN_GROUP, a.shape[1])
    total = parts.sum(axis=0, dtype=np.float64)
    if n < a.shape[0]:
        total += a[n:].sum(axis=0, dtype=np.float64)
    return total


def _blocks(fn, *arrays) -> None:
    """``fn(start, *blocks)`` over blocks of rows of the (outer, ...) arrays, on threads
    (``start`` the block's first row)."""
    outer = arrays[0].shape[0]
    per_row = arrays[0][:1].size
    step = max(1, BLOCK_VALUES // max(per_row, 1))
    if outer <= step:  # one block: no slicing (a small loss's logits pay for it per call)
        fn(0, *arrays)
        return

    def part(sl):
        for a in range(sl.start, sl.stop, step):
            b = min(a + step, sl.stop)
            fn(a, *(arr[a:b] for arr in arrays))
    run_slices(part, outer, outer * per_row, np)


# Below this many values, over the last dimension, the block machinery (views, closures) is
# skipped: the same operations on the whole array (a loss over one row of 18: 7.7 -> 4.5 us).
SMALL_VALUES = 1 << 16


def softmax(x, dim: int, log: bool):
    """softmax (or log_softmax) of ``x`` along ``dim``: ``exp(x - max) / sum`` (or
    ``x - max - log(sum(exp(x - max)))``)."""
    x = np.ascontiguousarray(x)
    if x.size < SMALL_VALUES and dim == x.ndim - 1:
        out = np.subtract(x, x.max(axis=dim, keepdims=True))
        if log:
            s = np.exp(out).sum(axis=dim, keepdims=True)
            out -= np.log(s, out=s)
        else:
            np.exp(out, out=out)
            out /= out.sum(axis=dim, keepdims=True)
        return out
    out = np.empty_like(x)

    def block(_, xb, ob):
        np.subtract(xb, xb.max(axis=1, keepdims=True), out=ob)
        if log:
            s = _row_sums(np.exp(ob))
            ob -= np.log(s, out=s)
        else:
            np.exp(ob, out=ob)
            ob /= _row_sums(ob)
    _blocks(block, _rows(x, dim), _rows(out, dim))
    return out


def exp_scaled(z, scale):
    """``exp(z) * scale`` (a scalar) for a 2-d ``z``, by blocks of rows on threads (the
    gradient of a cross-entropy from its log-probabilities)."""
    out = np.empty_like(z)

    def block(_, zb, ob):
        np.exp(zb, out=ob)
        ob *= scale
    _blocks(block, z, out)
    return out


def softmax_backward(g, y, dim: int, log: bool):
    """The input gradient of softmax (``y * (g - sum(g * y))``) or of log_softmax
    (``g - exp(y) * sum(g)``), ``y`` the forward's output."""
    g = np.ascontiguousarray(g)
    if g.size < SMALL_VALUES and dim == g.ndim - 1 and y.flags.c_contiguous:
        if log:
            gx = np.exp(y)
            gx *= g.sum(axis=dim, keepdims=True)
            return np.subtract(g, gx, out=gx)
        gx = np.multiply(g, y)
        np.subtract(g, gx.sum(axis=dim, keepdims=True), out=gx)
        gx *= y
        return gx
    gx = np.empty_like(y)

    def block(_, gb, yb, ob):
        if log:
            s = _row_sums(gb)
            np.exp(yb, out=ob)
            ob *= s
            np.subtract(gb, ob, out=ob)
        else:
            np.multiply(gb, yb, out=ob)
            np.subtract(gb, _row_sums(ob), out=ob)
            ob *= yb
    _blocks(block, _rows(g, dim), _rows(y, dim), _rows(gx, dim))
    return gx


def layer_norm(x, w, b, nd: int, eps: float):
    """``(y, xhat, invstd)`` of a layer norm over the last ``nd`` axes: ``xhat = (x - mean) *
    invstd`` with the biased variance, ``y = xhat * w + b``; ``invstd`` has x's shape with
    the normalized axes kept as 1."""
    x = np.ascontiguousarray(x)
    d = math.prod(x.shape[x.ndim - nd:])
    outer = x.size // d if d else 0
    y, xhat = np.empty_like(x), np.empty_like(x)
    invstd = np.empty(x.shape[:x.ndim - nd] + (1,) * nd, dtype=x.dtype)
    wr = None if w is None else w.reshape(d)
    br = None if b is None else b.reshape(d)

    def block(_, xb, hb, yb, ib):
        mean = _row_sums(xb)
        mean /= d
        np.subtract(xb, mean, out=hb)
        var = np.einsum("ij,ij->i", hb, hb)[:, None]  # no squares array
        var /= d
        var += eps
        np.sqrt(var, out=var)
        np.divide(1, var, out=ib)
        hb *= ib
        if wr is None:
            yb[...] = hb
        else:
            np.multiply(hb, wr, out=yb)
        if br is not None:
            yb += br
    if outer and d:
        _blocks(block, x.reshape(outer, d), xhat.reshape(outer, d), y.reshape(outer, d),
                invstd.reshape(outer, 1))
    return y, xhat, invstd


def layer_norm_backward(g, xhat, invstd, w, needs, norm_shape):
    """``(gx, gw, gb)`` of ``layer_norm`` over the trailing ``norm_shape`` (None where
    ``needs`` says no): with h = g * w, ``gx = (h - mean(h) - xhat * mean(h * xhat)) *
    invstd``; ``gw`` and ``gb`` sum g * xhat and g over the rows, each block's sums in float64
    (a float32 running sum over thousands of rows drifted past the reference tolerance), added
    in block order."""
    g = np.ascontiguousarray(g)
    d = math.prod(norm_shape)
    outer = xhat.size // d if d else 0
    gx = np.empty_like(xhat) if needs[0] else None
    wr = None if w is None else w.reshape(d)
    sums_w, sums_b = {}, {}

    def block(start, gb_, hb, ib, ob):
        if needs[1]:
            sums_w[start] = _column_sums(np.multiply(gb_, hb))
        if needs[2]:
            sums_b[start] = _column_sums(gb_)
        if gx is None:  # ob is a stand-in
            return
        if wr is None:
            ob[...] = gb_
        else:
            np.multiply(gb_, wr, out=ob)  # h
        mh = _row_sums(ob)
        mh /= d
        mhx = np.einsum("ij,ij->i", ob, hb)[:, None]
        mhx /= d
        ob -= mh
        ob -= hb * mhx
        ob *= ib
    if outer and d:
        g2, h2 = g.reshape(outer, d), xhat.reshape(outer, d)
        _blocks(block, g2, h2, invstd.reshape(outer, 1),
                g2 if gx is None else gx.reshape(outer, d))

    def total(sums):
        out = np.zeros(d, dtype=np.float64)
        for start in sorted(sums):
            out += sums[start]
        return out.astype(g.dtype).reshape(norm_shape)
    return gx, total(sums_w) if needs[1] else None, total(sums_b) if needs[2] else None
