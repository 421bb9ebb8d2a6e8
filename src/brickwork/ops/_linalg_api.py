"""``brickwork.linalg``: inverses, solves, determinants and the decompositions.

The numerics are the primitives of ``_linalg_core.py``; this file checks arguments with
PyTorch's messages, handles vectors and batch broadcasting, raises ``LinAlgError`` where PyTorch
does, and builds the named results. Norms, pinv, matrix functions and the LU family are in
``_linalg_more.py``.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._linalg_checks import (LinAlgError, check_float, check_matrix, check_same_dtype,
                             check_square, cholesky_info, named_tuple, raise_not_pd,
                             raise_singular, singular_info)
from ._linalg_core import Cholesky, Det, Eigh, Inv, Qr, Slogdet, Solve, SolveTriangular, Svd
from ._util import wrap, xp_of

linalg_inv_ex = named_tuple("linalg_inv_ex", ("inverse", "info"))
linalg_solve_ex = named_tuple("linalg_solve_ex", ("result", "info"))
linalg_slogdet = named_tuple("linalg_slogdet", ("sign", "logabsdet"))
slogdet_type = named_tuple("slogdet", ("sign", "logabsdet"))
linalg_cholesky_ex = named_tuple("linalg_cholesky_ex", ("L", "info"))
linalg_eigh = named_tuple("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_svd = named_tuple("linalg_svd", ("U", "S", "Vh"))
svd_type = named_tuple("svd", ("U", "S", "V"))
linalg_qr = named_tuple("linalg_qr", ("Q", "R"))
qr_type = named_tuple("qr", ("Q", "R"))
triangular_solve_type = named_tuple("triangular_solve", ("solution", "cloned_coefficient"))


def _all_finite(t: Tensor) -> bool:
    return bool(xp_of(t._data).isfinite(t._data).all())


def _square_float(A: Tensor, fn: str) -> None:
    check_square(A, fn)
    check_float(A, fn)


# -- inverse and solve -----------------------------------------------------------------------------
def inv_ex(A: Tensor, *, check_errors: bool = False):
    """Inverse with a per-matrix ``info`` (non-zero: singular) instead of an error.

    See: torch.linalg.inv_ex.
    """
    _square_float(A, "linalg.inv")
    out = Inv.apply(A)
    info = np.zeros(A._data.shape[:-2], np.int32)
    if not _all_finite(out):
        info = singular_info(A._data)
        if check_errors:
            raise_singular(A._data, "linalg.inv_ex", "inv")
    return linalg_inv_ex((out, wrap(info, A)))


def inv(A: Tensor) -> Tensor:
    """The inverse of a square matrix (or batch). Raises ``LinAlgError`` if singular.

    Example:
        >>> brickwork.linalg.inv(brickwork.eye(2) * 2)
        tensor([[0.5000, 0.0000],
                [0.0000, 0.5000]])

    See: torch.linalg.inv.
    """
    _square_float(A, "linalg.inv")
    out = Inv.apply(A)
    if not _all_finite(out):
        raise_singular(A._data, "linalg.inv", "inv")
    return out


def inverse(input: Tensor) -> Tensor:
    """Alias of :func:`inv`. See: torch.inverse."""
    return inv(input)


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    # PyTorch's rule: B is a batch of vectors when it is 1-D or has exactly A's batch shape.
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def _solve(A: Tensor, B: Tensor, left: bool, fn: str) -> tuple[Tensor, bool]:
    _square_float(A, fn)
    check_same_dtype(A, B, fn)
    vector = _is_vector_rhs(A, B)
    if vector and not left:
        raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not "
                           "supported for left=False. In this case linalg.solve is equivalent "
                           "to B / A.squeeze(-1)")
    B2 = B.unsqueeze(-1) if vector else B
    n = A.shape[-1]
    rows = B2.shape[-2] if left else B2.shape[-1]
    if B2.ndim < 2 or rows != n:
        shape_b = "x".join(str(s) for s in B2.shape[-2:])
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {shape_b})")
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B2.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({A.shape[0]}) must match the size of tensor "
                           f"b ({B2.shape[0]}) at non-singleton dimension 0") from None
    if left:
        X = Solve.apply(A, B2)
    else:
        X = Solve.apply(A.mT, B2.mT).mT
    return (X.squeeze(-1) if vector else X), _all_finite(X)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """``X`` with ``A X = B`` (or ``X A = B`` for ``left=False``); B may be a vector batch.

    See: torch.linalg.solve.
    """
    X, finite = _solve(A, B, left, "linalg.solve")
    if not finite:
        raise_singular(A._data, "torch.linalg.solve", "solve")
    return X


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False):
    """:func:`solve` with a per-matrix ``info``. See: torch.linalg.solve_ex."""
    X, finite = _solve(A, B, left, "linalg.solve")
    info = np.zeros(A._data.shape[:-2], np.int32)
    if not finite:
        info = singular_info(A._data)
        if check_errors:
            raise_singular(A._data, "torch.linalg.solve_ex", "solve")
    return linalg_solve_ex((X, wrap(info, A)))


# -- determinants ----------------------------------------------------------------------------------
def det(A: Tensor) -> Tensor:
    """Determinant of a square matrix (or batch). See: torch.linalg.det."""
    _square_float(A, "linalg.det")
    return Det.apply(A)


def slogdet(A: Tensor):
    """``(sign, log|det A|)``: the determinant without overflow. See: torch.linalg.slogdet."""
    _square_float(A, "linalg.slogdet")
    return linalg_slogdet(Slogdet.apply(A))


def slogdet_top(input: Tensor):
    """The old name of :func:`slogdet` (result type ``slogdet``). See: torch.slogdet."""
    return slogdet_type(tuple(slogdet(input)))


def logdet(input: Tensor) -> Tensor:
    """``log det A``: NaN where the determinant is negative. See: torch.logdet."""
    from .. import where

    _square_float(input, "linalg.slogdet")
    sign, logabs = Slogdet.apply(input)
    return where(sign < 0, float("nan"), logabs)


# -- Cholesky and triangular solves ---------------------------------------------------------------
def _cholesky(A: Tensor, upper: bool, fn: str):
    _square_float(A, fn)
    L = Cholesky.apply(A, bool(upper))
    ok = _all_finite(L)
    return L, ok


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """Cholesky factor ``L`` with ``A = L L^T`` (``upper``: ``U^T U``) of a positive-definite
    matrix, read from its lower triangle. See: torch.linalg.cholesky."""
    L, ok = _cholesky(A, upper, "linalg.cholesky")
    if not ok:
        raise_not_pd(A._data, "linalg.cholesky")
    return L


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    """:func:`cholesky` with a per-matrix ``info``. See: torch.linalg.cholesky_ex."""
    L, ok = _cholesky(A, upper, "linalg.cholesky")
    info = np.zeros(A._data.shape[:-2], np.int32)
    if not ok:
        info = cholesky_info(A._data)
        if check_errors:
            raise_not_pd(A._data, "linalg.cholesky_ex")
    return linalg_cholesky_ex((L, wrap(info, A)))


def cholesky_old(input: Tensor, upper: bool = False) -> Tensor:
    """The old form of :func:`cholesky` (``upper`` positional). See: torch.cholesky."""
    return cholesky(input, upper=upper)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """``X`` with ``A X = B`` (``left``) or ``X A = B`` for triangular ``A``.

    Only the ``upper`` (or lower) triangle of ``A`` is read; ``unitriangular`` takes its
    diagonal as ones. See: torch.linalg.solve_triangular.
    """
    fn = "linalg.solve_triangular"
    check_float(A, fn)
    check_matrix(A, fn)
    if B.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor B must have at least 2 dimensions.")
    check_square(A, fn)
    check_same_dtype(A, B, fn)
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        shape_b = "x".join(str(s) for s in B.shape[-2:])
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {shape_b})")
    return SolveTriangular.apply(A, B, bool(upper), bool(left), bool(unitriangular))


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False):
    """The old triangular solve: ``(solution, cloned_coefficient)`` of ``op(A) X = b``.

    See: torch.triangular_solve.
    """
    M = A.mT if transpose else A
    X = solve_triangular(M, b, upper=bool(upper) != bool(transpose),
                         unitriangular=unitriangular)
    return triangular_solve_type((X, A.clone()))


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """``X`` with ``A X = B`` given A's Cholesky factor ``L``. See: torch.cholesky_solve."""
    if upper:  # A = U^H U
        Y = solve_triangular(L.mH, B, upper=False)
        return solve_triangular(L, Y, upper=True)
    Y = solve_triangular(L, B, upper=False)  # A = L L^H
    return solve_triangular(L.mH, Y, upper=True)


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """``A^{-1}`` from A's Cholesky factor. See: torch.cholesky_inverse."""
    from .. import eye

    check_matrix(L, "cholesky_inverse")
    n = L.shape[-1]
    eye_n = eye(n, dtype=L.dtype, device=L.device).expand(*L.shape[:-2], n, n)
    return cholesky_solve(eye_n, L, upper)


# -- eigen-, singular value and QR decompositions --------------------------------------------------
def _uplo(UPLO: str) -> str:
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO.upper()


def eigh(A: Tensor, UPLO: str = "L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix, read from
    its ``UPLO`` triangle. See: torch.linalg.eigh."""
    _square_float(A, "linalg.eigh")
    return linalg_eigh(Eigh.apply(A, _uplo(UPLO)))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """Eigenvalues (ascending) of a symmetric matrix. See: torch.linalg.eigvalsh."""
    _square_float(A, "linalg.eigvalsh")
    return Eigh.apply(A, _uplo(UPLO))[0]


from ._complex_eig import eig, eigvals  # noqa: E402  (complex results: see that file)


def _check_driver(A: Tensor, driver, fn: str) -> None:
    if driver is None:
        return
    if A.device.type == "cpu":
        raise RuntimeError(f"{fn}: keyword argument `driver=` is only supported on CUDA inputs "
                           "with cuSOLVER backend.")
    raise NotImplementedError(f"{fn}: driver={driver!r} is not supported (CuPy has one SVD "
                              "routine)")


def svd(A: Tensor, full_matrices: bool = True, *, driver=None):
    """``A = U diag(S) Vh`` with descending singular values. See: torch.linalg.svd."""
    check_matrix(A, "linalg.svd")
    check_float(A, "linalg.svd")
    _check_driver(A, driver, "torch.linalg.svd")
    return linalg_svd(Svd.apply(A, bool(full_matrices)))


def svdvals(A: Tensor, *, driver=None) -> Tensor:
    """The singular values, descending. See: torch.linalg.svdvals."""
    check_matrix(A, "linalg.svd")
    check_float(A, "linalg.svd")
    _check_driver(A, driver, "torch.linalg.svdvals")
    return Svd.apply(A, False)[1]


def svd_old(input: Tensor, some: bool = True, compute_uv: bool = True):
    """The old SVD: ``(U, S, V)`` with ``V`` (not ``Vh``); ``some=False`` for full matrices.

    With ``compute_uv=False`` U and V are zero matrices of shape (m, m) and (n, n), as in
    PyTorch. See: torch.svd.
    """
    from .. import zeros

    if not compute_uv:
        S = svdvals(input)
        m, n = input.shape[-2:]
        kw = {"dtype": input.dtype, "device": input.device}
        return svd_type((zeros(*input.shape[:-2], m, m, **kw), S,
                         zeros(*input.shape[:-2], n, n, **kw)))
    U, S, Vh = svd(input, full_matrices=not some)
    return svd_type((U, S, Vh.mH))


def qr(A: Tensor, mode: str = "reduced"):
    """``A = Q R`` with ``mode`` ``'reduced'``, ``'complete'`` or ``'r'`` (Q empty).

    See: torch.linalg.qr.
    """
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    check_matrix(A, "linalg.qr")
    check_float(A, "linalg.qr")
    return linalg_qr(Qr.apply(A, mode))


def qr_old(input: Tensor, some: bool = True):
    """The old QR: ``some=False`` gives the complete factorization. See: torch.qr."""
    return qr_type(tuple(qr(input, "reduced" if some else "complete")))


__all__ = ["LinAlgError", "inv", "inv_ex", "inverse", "solve", "solve_ex", "det", "slogdet",
           "logdet", "cholesky", "cholesky_ex", "solve_triangular", "triangular_solve",
           "cholesky_solve", "cholesky_inverse", "eigh", "eigvalsh", "eig", "eigvals", "svd",
           "svdvals", "qr"]

from ..device import guard_functions  # noqa: E402

guard_functions(globals(), [n for n in __all__ if n != "LinAlgError"])  # on the input's GPU
