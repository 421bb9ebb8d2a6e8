"""Argument checks, errors and host-side factorizations for ``brickwork.linalg``.

PyTorch reports *which* matrix failed and where (``The diagonal element 2 is zero``, ``the
leading minor of order 3``), from LAPACK's ``info``. NumPy only says "Singular matrix", so when
a routine fails (or, on a GPU, returns non-finite values) the public op re-runs the
factorization here on the host, with LAPACK's pivoting choices, to find the same numbers.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .reduction import _torch_type_name


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (singular, not positive-definite...).

    A ``RuntimeError`` subclass, as ``torch.linalg.LinAlgError`` (``torch._C._LinAlgError``).
    """


# PyTorch's class is torch._C._LinAlgError (exposed as torch.linalg.LinAlgError): same name.
LinAlgError.__module__ = "brickwork.linalg"
LinAlgError.__name__ = LinAlgError.__qualname__ = "_LinAlgError"


# Every named result type made here, by name: ``brickwork.return_types`` can list them.
RETURN_TYPES: dict = {}


def named_tuple(name: str, fields: tuple):
    """A tuple type with named fields, printed like ``torch.return_types.<name>``."""

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"brickwork.return_types.{name}(\n{body})"

    def __reduce__(self):
        return (cls, (tuple(self),))

    ns = {"__slots__": (), "__new__": lambda c, seq: tuple.__new__(c, seq),
          "__doc__": f"The ({', '.join(fields)}) result of ``{name}``.",
          "n_fields": len(fields), "n_sequence_fields": len(fields), "n_unnamed_fields": 0,
          "__repr__": __repr__, "__reduce__": __reduce__, "__module__": "brickwork.return_types"}
    for i, f in enumerate(fields):
        ns[f] = property(lambda self, i=i: self[i])
    cls = type(name, (tuple,), ns)
    RETURN_TYPES[name] = cls
    return cls


# -- argument checks with PyTorch's messages ------------------------------------------------------
def check_float(A: Tensor, fn: str) -> None:
    """linalg routines take float32/float64 only (PyTorch: no integers, no half precision)."""
    dt = A._data.dtype
    if dt.kind not in "fcV":  # 'V': bfloat16, low precision (below)
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got "
                           f"{_torch_type_name(A.dtype)}")
    if dt.itemsize < 4:
        raise RuntimeError(f"{fn}: Low precision dtypes not supported. Got "
                           f"{_torch_type_name(A.dtype)}")


def check_matrix(A: Tensor, fn: str, arg: str = "A") -> None:
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {arg} must have at least 2 dimensions.")


def check_square(A: Tensor, fn: str, arg: str = "A") -> None:
    check_matrix(A, fn, arg)
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{fn}: {arg} must be batches of square matrices, but they are {m} by "
                           f"{n} matrices")


def check_same_dtype(A: Tensor, B: Tensor, fn: str) -> None:
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"{fn}: Expected A and B to have the same dtype, but found A of type "
                           f"{_torch_type_name(A.dtype)} and B of type "
                           f"{_torch_type_name(B.dtype)} instead")


def batch_prefix(ndim: int, index: int) -> str:
    return f"(Batch element {index}): " if ndim > 2 else ""


# -- LU with partial pivoting (LAPACK getrf's choices), on the host ------------------------------
def lu_host(a: np.ndarray):
    """``(LU, pivots, info)`` of a (batch of) matrices as LAPACK's getrf computes them.

    ``pivots`` are 1-based row swaps (int32); ``info`` is 1 + the first zero pivot's index, or 0.
    Vectorised over the batch, one step per column: matrices here are small.
    """
    a = np.array(a, copy=True)
    *batch, m, n = a.shape
    k = min(m, n)
    flat = a.reshape(-1, m, n)
    nb = flat.shape[0]
    piv = np.zeros((nb, k), np.int32)
    info = np.zeros(nb, np.int32)
    rows = np.arange(nb)
    for j in range(k):
        p = np.argmax(np.abs(flat[:, j:, j]), axis=1) + j if m > j else np.full(nb, j)
        piv[:, j] = p + 1
        top = flat[rows, j].copy()
        flat[rows, j] = flat[rows, p]
        flat[rows, p] = top
        pivot = flat[:, j, j]
        zero = pivot == 0
        info = np.where(zero & (info == 0), j + 1, info).astype(np.int32)
        scale = np.where(zero, 1, pivot)
        flat[:, j + 1:, j] /= scale[:, None]
        flat[:, j + 1:, j + 1:] -= flat[:, j + 1:, j, None] * flat[:, j, None, j + 1:]
    return (flat.reshape(a.shape), piv.reshape(tuple(batch) + (k,)),
            info.reshape(tuple(batch)))


def host(arr) -> np.ndarray:
    return arr if isinstance(arr, np.ndarray) else arr.get()


def singular_info(a) -> np.ndarray:
    """getrf's ``info`` per matrix (0: invertible), computed on the host."""
    return lu_host(host(a))[2]


def raise_singular(a, fn: str, what: str) -> None:
    """Raise PyTorch's LinAlgError for the first singular matrix in ``a``, if any."""
    info = singular_info(a)
    bad = np.flatnonzero(info.reshape(-1))
    if bad.size:
        b = int(bad[0])
        k = int(info.reshape(-1)[b])
        prefix = batch_prefix(a.ndim, b)
        if what == "inv":
            raise LinAlgError(f"{fn}: {prefix}The diagonal element {k} is zero, the inversion "
                              "could not be completed because the input matrix is singular.")
        raise LinAlgError(f"{fn}: {prefix}The solver failed because the input matrix is "
                          "singular.")


def cholesky_info(a) -> np.ndarray:
    """potrf's ``info`` per matrix: the order of the first leading minor that is not
    positive-definite (0 if all are), from a host Cholesky of the lower triangle."""
    a = host(a)
    n = a.shape[-1]
    flat = np.tril(a.reshape(-1, n, n)).astype(np.float64)
    info = np.zeros(flat.shape[0], np.int32)
    L = np.zeros_like(flat)
    for j in range(n):
        d = flat[:, j, j] - (L[:, j, :j] ** 2).sum(-1)
        bad = ~(d > 0) & (info == 0)
        info[bad] = j + 1
        d = np.where(d > 0, d, 1)
        L[:, j, j] = np.sqrt(d)
        dot = (L[:, j + 1:, :j] * L[:, None, j, :j]).sum(-1)
        L[:, j + 1:, j] = (flat[:, j + 1:, j] - dot) / L[:, j, j, None]
    return info.reshape(a.shape[:-2])


def raise_not_pd(a, fn: str) -> None:
    info = cholesky_info(a).reshape(-1)
    bad = np.flatnonzero(info)
    if bad.size:
        b = int(bad[0])
        raise LinAlgError(f"{fn}: {batch_prefix(a.ndim, b)}The factorization could not be "
                          f"completed because the input is not positive-definite (the leading "
                          f"minor of order {int(info[b])} is not positive-definite).")
