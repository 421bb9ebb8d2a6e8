"""How matrix products reach BLAS: the orientation, shape and fallback each case runs fastest
in (used by ``linalg.py``'s matmul family and ``linear.py``).
"""
from __future__ import annotations

import math

import numpy as np


# A product of a few rows by a large weight's transpose runs as (W @ x^T)^T, then copied
# (with the bias added) into a row-major result: OpenBLAS packs W far faster in that
# orientation. x (32, 784) @ W^T (784, 256): 140 -> 100 us; 8 rows 91 -> 47 us; (32, 4096) by
# a 1024x4096 weight 2.95 -> 1.96 ms. From 64 rows the two are within 10%, and from 128 the
# plain product wins; small weights gain nothing.
THIN_ROWS = 48
THIN_MIN_WEIGHT = 1 << 16


def matmul_nd(a, b):
    """``np.matmul(a, b)``; outer products (a contraction over one value: the weight gradient
    of a batch of one, or of a stack of single-row products) as a broadcast multiply, with
    the same single roundings, where NumPy calls a GEMM per matrix: (1, 128) by (1, 185)
    27 -> 8 us, (512, 100, 1) @ (512, 1, 60) 3.5 -> 1.1 ms."""
    if a.ndim >= 2 and a.shape[-1] == 1 and b.ndim >= 2 and a.__class__ is np.ndarray and \
            b.__class__ is np.ndarray and a.dtype == b.dtype and a.dtype.kind == "f":
        return np.multiply(a, b)
    return np.matmul(a, b)


def matmul_2d(x, wt, b=None):
    """``x @ wt (+ b)`` for 2-d arrays, a new row-major array; for few rows by a large
    ``wt`` stored as a transpose (``W.T`` of a row-major W) as ``(W @ x^T)^T``."""
    if x.__class__ is np.ndarray and 2 <= x.shape[0] <= THIN_ROWS and \
            wt.size >= THIN_MIN_WEIGHT and wt.flags.f_contiguous and x.dtype == wt.dtype:
        prod = (wt.T @ x.T).T
        out = np.empty(prod.shape, dtype=prod.dtype)
        if b is None:
            out[...] = prod
        else:
            np.add(prod, b, out=out)
        return out
    out = matmul_nd(x, wt)
    if b is not None:
        out += b
    return out


def stacked_rows(a, b) -> bool:
    """Whether ``a @ b`` is a stack of matrices by one matrix on NumPy: NumPy runs one GEMM
    per matrix of the stack, where the stack's rows make one product. (64, 32, 256) by
    (256, 256): 1.80 -> 1.29 ms; by a transposed weight 2.64 -> 1.32 ms."""
    return a.ndim > 2 and b.ndim == 2 and a.__class__ is np.ndarray and \
        b.__class__ is np.ndarray


def rows(a):
    """A (..., K) array as (M, K) rows (a view when it can be)."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def along_axis(x, axis: int, a):
    """``a`` (n_out, n_in) applied along ``axis`` of ``x``: for the last axis one GEMM of all
    rows by ``a.T`` (not one per matrix of a stack), for the others one stacked product of
    (lead, n_in, trailing) views (interpolation's and adaptive pooling's axis matrices)."""
    shape = x.shape
    lead, rest = shape[:axis], shape[axis + 1:]
    if not rest:
        y = rows(x) @ a.T
    else:
        y = a @ x.reshape(math.prod(lead), shape[axis], math.prod(rest))
    return y.reshape(lead + (a.shape[0],) + rest)
