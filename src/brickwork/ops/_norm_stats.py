"""Per-channel sums of (N, C, ...) arrays for batch normalization, each one pass without
temporaries.

Each (n, c) row of values is contiguous, so a row's sum is a matrix-vector product with ones and
a row's dot product with another array is a batched (1, L) @ (L, 1) product: both run in BLAS,
which also spreads them over the cores, and the N per-row results are then added per channel
in float64. Measured on 2 cores for (32, 64, 32, 32) float32: ``sum(axis=(0, 2, 3))`` 0.78 ms,
the matrix-vector form 0.17 ms; ``(a * b).sum(axis=(0, 2, 3))`` 2.1 ms, the row dots 0.59 ms;
``var(axis=(0, 2, 3))`` 3.1 ms.
"""
from __future__ import annotations

import math

from .._parallel import run_slices
from ._util import xp_of


def channel_shape(ndim: int) -> tuple:
    """The shape that broadcasts a per-channel (C,) array over (N, C, ...) of ``ndim`` axes."""
    return (1, -1) + (1,) * (ndim - 2)


def _rows(a):
    """(N * C, L) rows of a (N, C, ...) array, L >= 1."""
    n, c = a.shape[:2]
    return a.reshape(n * c, -1)


def channel_rows(v, shape):
    """Per-channel values ``v`` (C,) laid along one image of an (N, C, ...) array of ``shape``:
    a (C * inner,) row that broadcasts over its (N, C * inner) rows (``image_rows``).

    Broadcasting a (1, C, 1, 1) factor makes NumPy run one inner loop per (n, c) plane, as
    short as H * W; broadcasting this row runs one per image. One pass of a product, this
    row against the (1, C, 1, 1) factor: (32, 512, 4, 4) 0.095 -> 0.039 ms, (32, 64, 32, 32)
    0.62 -> 0.39 ms.
    """
    inner = math.prod(shape[2:])
    return xp_of(v).repeat(v.reshape(-1), inner) if inner != 1 else v.reshape(-1)


def image_rows(a):
    """A C-contiguous (N, C, ...) array as (N, C * inner) rows (a view)."""
    return a.reshape(a.shape[0], math.prod(a.shape[1:]))


# From this many images per-channel factors go as rows (``channel_rows``): a row costs a
# pass over one image to make. Instance norm runs as one image of N * C channels, where the
# row would be a copy of the whole array; there the (1, C, 1, 1) broadcast stays.
ROWS_FROM_IMAGES = 4


def channel_view(a):
    """``a`` (C-contiguous (N, C, ...)) as the operand that ``channel_factor``'s factors
    broadcast against."""
    return image_rows(a) if a.shape[0] >= ROWS_FROM_IMAGES else a


def channel_factor(v, shape):
    """Per-channel values ``v`` (C,) shaped to broadcast against ``channel_view`` of an
    array of ``shape``."""
    if shape[0] >= ROWS_FROM_IMAGES:
        return channel_rows(v, shape)
    return v.reshape(channel_shape(len(shape)))


def scaled_sum(out, x, a, y=None, k=None, c=None) -> None:
    """``out = x * a (+ y * k) (+ c)``, in that order, on threads by slices of the leading
    (batch) axis: batch and group norm's scale-and-shift and input gradients. The factors
    broadcast against the arrays; one that has the arrays' leading axis is sliced with them."""
    xp = xp_of(out)
    n = len(out)

    def cut(f, sl):
        return f[sl] if f.ndim == out.ndim and f.shape[0] == n else f

    def part(sl):
        xp.multiply(x[sl], cut(a, sl), out=out[sl])
        if y is not None:
            out[sl] += y[sl] * cut(k, sl)
        if c is not None:
            out[sl] += cut(c, sl)
    run_slices(part, n, out.size, xp)


def row_sums(rows):
    """The sum of each row of a 2-d array (a matrix-vector product with ones), in its dtype."""
    return rows @ xp_of(rows).ones(rows.shape[1], dtype=rows.dtype)


def row_dots(ra, rb):
    """The dot product of each row of ``ra`` with the same row of ``rb`` (batched (1, L) @
    (L, 1) products), in their dtype."""
    return xp_of(ra).matmul(ra[:, None, :], rb[:, :, None]).reshape(ra.shape[0])


def channel_sums(a):
    """``a.sum`` over every axis but 1, as float64 (C,)."""
    xp = xp_of(a)
    if a.ndim == 2:  # rows of one value: no row sums to make
        return a.sum(axis=0, dtype=xp.float64)
    return row_sums(_rows(a)).reshape(a.shape[:2]).sum(axis=0, dtype=xp.float64)


def channel_dots(a, b):
    """``(a * b).sum`` over every axis but 1, as float64 (C,); a and b share one shape."""
    xp = xp_of(a)
    if a.ndim == 2:
        return (a * b).sum(axis=0, dtype=xp.float64)
    return row_dots(_rows(a), _rows(b)).reshape(a.shape[:2]).sum(axis=0, dtype=xp.float64)


def batch_stats(x):
    """``(mean, var, xc)`` of each channel of x (N, C, ...): the biased variance, computed from
    the centred copy ``xc = x - mean`` (returned for the normalization to reuse), two passes
    over x."""
    xp = xp_of(x)
    m = x.size // x.shape[1]
    mean = (channel_sums(x) / m).astype(x.dtype)
    xc = xp.empty(x.shape, dtype=x.dtype)
    if x.flags.c_contiguous:
        xr, cr, mean_r = channel_view(x), channel_view(xc), channel_factor(mean, x.shape)
    else:  # no rows view of a strided input
        xr, cr, mean_r = x, xc, mean.reshape(channel_shape(x.ndim))
    run_slices(lambda sl: xp.subtract(xr[sl], mean_r, out=cr[sl]), len(x), x.size, xp)
    var = (channel_dots(xc, xc) / m).astype(x.dtype)
    return mean, var, xc
