"""LDL^T factorization of symmetric indefinite matrices: ``linalg.ldl_factor(_ex)`` and
``linalg.ldl_solve``.

NumPy has no ``sytrf``, so this is LAPACK's unblocked Bunch-Kaufman algorithm (``dsytf2``,
lower triangle) written over NumPy rows: the same pivot choices (1x1 and 2x2 blocks, the
``alpha = (1 + sqrt(17)) / 8`` test), the same compact ``LD`` and the same 1-based ``pivots``
(negative for a 2x2 block) that PyTorch returns, so ``LD``/``pivots`` from either library work
in the other's ``ldl_solve``. Only the lower triangle of ``A`` is read, as LAPACK's. The loop
is O(n) Python steps of vector work per matrix; PyTorch defines no gradient for either
function, and neither does brickwork.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from ._linalg_checks import host, named_tuple
from ._util import wrap, xp_of

linalg_ldl_factor = named_tuple("linalg_ldl_factor", ("LD", "pivots"))
linalg_ldl_factor_ex = named_tuple("linalg_ldl_factor_ex", ("LD", "pivots", "info"))

_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0


def _cabs1(x):
    # LAPACK's zsytf2 ranks complex entries by |re| + |im|, not the modulus.
    return np.abs(x.real) + np.abs(x.imag) if np.iscomplexobj(x) else np.abs(x)


def _sytf2_lower(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """One matrix: (LD, 1-based pivots, info) as LAPACK's ``?sytf2('L')``."""
    n = a.shape[0]
    A = np.tril(a) + np.tril(a, -1).T  # only the lower triangle is input
    ipiv = np.zeros(n, np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = float(_cabs1(A[k, k]))
        if k < n - 1:
            col = _cabs1(A[k + 1:, k])
            imax = k + 1 + int(np.argmax(col))
            colmax = float(col.max())
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0.0 or math.isnan(absakk):
            info = info or k + 1  # a zero pivot: D is singular, the factorization goes on
            kp = k
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                rowmax = float(_cabs1(A[imax, k:imax]).max())
                if imax < n - 1:
                    rowmax = max(rowmax, float(_cabs1(A[imax + 1:, imax]).max()))
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif float(_cabs1(A[imax, imax])) >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:  # symmetric interchange of rows and columns kk and kp
                if kp < n - 1:
                    A[kp + 1:, [kk, kp]] = A[kp + 1:, [kp, kk]]
                between = A[kk + 1:kp, kk].copy()
                A[kk + 1:kp, kk] = A[kp, kk + 1:kp]
                A[kp, kk + 1:kp] = between
                A[kk, kk], A[kp, kp] = A[kp, kp], A[kk, kk]
                if kstep == 2:
                    A[k + 1, k], A[kp, k] = A[kp, k], A[k + 1, k]
            if kstep == 1:
                if k < n - 1:
                    x = A[k + 1:, k].copy()
                    A[k + 1:, k + 1:] -= np.outer(x, x) / A[k, k]
                    A[k + 1:, k] = x / A[k, k]
            elif k < n - 2:
                d21 = A[k + 1, k]
                d11 = A[k + 1, k + 1] / d21
                d22 = A[k, k] / d21
                d21 = (1.0 / (d11 * d22 - 1.0)) / d21
                wk = d21 * (d11 * A[k + 2:, k] - A[k + 2:, k + 1])
                wkp1 = d21 * (d22 * A[k + 2:, k + 1] - A[k + 2:, k])
                A[k + 2:, k + 2:] -= np.outer(A[k + 2:, k], wk) + np.outer(A[k + 2:, k + 1], wkp1)
                A[k + 2:, k], A[k + 2:, k + 1] = wk, wkp1
        if kstep == 1:
            ipiv[k] = kp + 1
        else:
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return np.tril(A), ipiv, info


def _sytrs_lower(LD: np.ndarray, ipiv: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``A X = B`` from one matrix's (LD, pivots), as LAPACK's ``?sytrs('L')``."""
    n = LD.shape[0]
    B = B.copy()
    k = 0
    while k < n:  # L D Y = P^T B
        if ipiv[k] > 0:
            kp = ipiv[k] - 1
            if kp != k:
                B[[k, kp]] = B[[kp, k]]
            B[k + 1:] -= np.outer(LD[k + 1:, k], B[k])
            B[k] = B[k] / LD[k, k]
            k += 1
        else:
            kp = -ipiv[k] - 1
            if kp != k + 1:
                B[[k + 1, kp]] = B[[kp, k + 1]]
            if k < n - 2:
                B[k + 2:] -= np.outer(LD[k + 2:, k], B[k]) + np.outer(LD[k + 2:, k + 1], B[k + 1])
            akm1k = LD[k + 1, k]
            akm1, ak = LD[k, k] / akm1k, LD[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1, bk = B[k] / akm1k, B[k + 1] / akm1k
            B[k], B[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T P^T X = Y
        if ipiv[k] > 0:
            if k < n - 1:
                B[k] -= LD[k + 1:, k] @ B[k + 1:]
            kp = ipiv[k] - 1
            if kp != k:
                B[[k, kp]] = B[[kp, k]]
            k -= 1
        else:
            if k < n - 1:
                B[k] -= LD[k + 1:, k] @ B[k + 1:]
                B[k - 1] -= LD[k + 1:, k - 1] @ B[k + 1:]
            kp = -ipiv[k] - 1
            if kp != k:
                B[[k, kp]] = B[[kp, k]]
            k -= 2
    return B


def _check_ldl_input(A: Tensor, fn: str, hermitian: bool) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if not (A.is_floating_point() or A.is_complex()) or A.dtype.name in ("float16", "bfloat16"):
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got "
                           f"{_legacy_name(A)}")
    if hermitian and A.is_complex():
        raise NotImplementedError(f"{fn}: hermitian=True for complex input is not supported by "
                                  "brickwork yet (LAPACK's ?hetrf); hermitian=False and real "
                                  "input are")


def _legacy_name(t: Tensor) -> str:
    from ..dtypes import _LEGACY

    return _LEGACY[t.dtype]


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False):
    """Compact LDL^T (Bunch-Kaufman pivoting, LAPACK's format), pivots and ``info``.

    See: torch.linalg.ldl_factor_ex.
    """
    fn = "torch.linalg.ldl_factor_ex"
    _check_ldl_input(A, fn, hermitian)
    a = host(A._data)
    n = a.shape[-1]
    batch = a.shape[:-2]
    LD = np.empty_like(a)
    piv = np.empty(batch + (n,), np.int32)
    info = np.zeros(batch, np.int32)
    for idx in np.ndindex(*batch):
        LD[idx], piv[idx], info[idx] = _sytf2_lower(a[idx])
    if check_errors and info.any():
        b = int(np.flatnonzero(info.reshape(-1))[0])
        prefix = f"(Batch element {b}): " if batch else ""
        raise RuntimeError(f"{fn}: {prefix}The factorization could not be completed because "
                           f"the input is singular: D[{info.reshape(-1)[b]}] is zero")
    xp = xp_of(A._data)
    to = (lambda x: x) if xp is np else xp.asarray
    return linalg_ldl_factor_ex((wrap(to(LD), A), wrap(to(piv), A), wrap(to(info), A)))


def ldl_factor(A: Tensor, *, hermitian: bool = False):
    """Compact LDL^T and pivots of a symmetric (indefinite) matrix; a zero pivot is allowed
    (as in PyTorch, ``D`` is then singular and ``ldl_solve`` divides by zero).

    See: torch.linalg.ldl_factor.
    """
    LD, piv, _ = ldl_factor_ex(A, hermitian=hermitian)
    return linalg_ldl_factor((LD, piv))


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """Solve ``A X = B`` from :func:`ldl_factor`'s output. See: torch.linalg.ldl_solve."""
    fn = "torch.linalg.ldl_solve"
    if B.ndim < 2:  # PyTorch reads B.size(-2) first
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(B.ndim, 1)}, {max(B.ndim, 1) - 1}], but got -2)")
    _check_ldl_input(LD, fn, hermitian)
    if pivots.dtype.name != "int32":
        raise RuntimeError(f"{fn}: Expected pivots to be integers. Got {_legacy_name(pivots)}")
    if LD.dtype is not B.dtype:
        raise RuntimeError(f"{fn}: LD dtype {LD.dtype} does not match b dtype {B.dtype}")
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {fn}: each A matrix is {n} by {n} "
                           f"but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    batch = np.broadcast_shapes(LD.shape[:-2], B.shape[:-2], pivots.shape[:-1])
    ld = np.broadcast_to(host(LD._data), batch + (n, n))
    pv = np.broadcast_to(host(pivots._data), batch + (n,))
    b = np.broadcast_to(host(B._data), batch + tuple(B.shape[-2:]))
    X = np.empty(b.shape, b.dtype)
    for idx in np.ndindex(*batch):
        X[idx] = _sytrs_lower(ld[idx], pv[idx], b[idx])
    xp = xp_of(B._data)
    return wrap(X if xp is np else xp.asarray(X), B)


__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve"]

from ..device import guard_functions  # noqa: E402

guard_functions(globals(), __all__)  # results go back to the input's GPU
