"""The older top-level linear-algebra names that programs still call: ``torch.lu``,
``lu_unpack``, ``geqrf``/``orgqr``/``ormqr``, the randomized ``svd_lowrank``/``pca_lowrank``,
and the functions PyTorch removed (``torch.solve``, ``lstsq``, ``symeig``, ``eig``,
``matrix_rank``), which raise PyTorch's own migration messages.

Everything differentiable here is composed from differentiable pieces (``LuFactor``, ``qr``,
``svd``, triangular masks, matrix products), so gradients follow; ``geqrf`` has none, as in
PyTorch.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._linalg_checks import check_float, check_matrix, host, named_tuple
from ._linalg_more import _perm_matrix, householder_product, householder_vector
from ._util import wrap, xp_of
from .linalg import matmul

_lu_with_info = named_tuple("_lu_with_info", ("LU", "pivots", "info"))
lu_unpack_result = named_tuple("lu_unpack", ("P", "L", "U"))
geqrf_result = named_tuple("geqrf", ("a", "tau"))


def _bw():
    import brickwork

    return brickwork


_LU_WARNING = (
    "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and "
    "will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\n"
    "should be replaced with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\n"
    "LU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\n"
    "LU, pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots)")


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False):
    """Packed LU and pivots (plus ``info`` with ``get_infos``); deprecated in PyTorch, with
    its warning. See: torch.lu."""
    from ._linalg_more import lu_factor, lu_factor_ex

    warnings.warn(_LU_WARNING, UserWarning, stacklevel=2)
    if get_infos:
        return _lu_with_info(tuple(lu_factor_ex(A, pivot=pivot)))
    return tuple(lu_factor(A, pivot=pivot))


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True):
    """``(P, L, U)`` from packed LU factors; the parts not asked for are empty tensors.

    See: torch.lu_unpack.
    """
    bw = _bw()
    check_matrix(LU_data, "torch.lu_unpack")
    if LU_pivots.dtype.name != "int32":
        raise RuntimeError(f"torch.lu_unpack: LU_pivots is expected to be a contiguous tensor "
                           f"of torch.int32 dtype. Got: {LU_pivots.dtype}".replace("brickwork.",
                                                                                  "torch."))
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = bw.empty(0, dtype=LU_data.dtype, device=LU_data.device)
    if unpack_data:
        eye = bw.eye(m, k, dtype=LU_data.dtype, device=LU_data.device)
        L = LU_data[..., :, :k].tril(-1) + eye
        U = LU_data[..., :k, :].triu()
    else:
        L = U = empty
    if unpack_pivots:
        piv = host(LU_pivots._data)
        if piv.shape[-1] != k:
            raise RuntimeError(f"torch.lu_unpack: LU_pivots.size(-1) must be equal to "
                               f"min(LU_data.size(-2), LU_data.size(-1)), but got "
                               f"{piv.shape[-1]} and {k}")
        P = wrap(_perm_matrix(piv, m, LU_data._data.dtype, xp_of(LU_data._data)), LU_data)
    else:
        P = empty
    return lu_unpack_result((P, L, U))


def geqrf(input: Tensor):
    """LAPACK's packed QR: R on and above the diagonal, Householder vectors below, and their
    scalars ``tau``. Not differentiable (as in PyTorch). See: torch.geqrf."""
    check_matrix(input, "torch.geqrf")
    check_float(input, "torch.geqrf")
    # As in PyTorch, the outputs carry a node whose backward raises.
    return geqrf_result(_Geqrf.apply(input))


def _geqrf_arrays(x):
    xp = xp_of(x)
    h = host(x)
    m, n = h.shape[-2:]
    batch = h.shape[:-2]
    a = np.empty_like(h)
    tau = np.empty(batch + (min(m, n),), h.dtype)
    for idx in np.ndindex(*batch):
        raw, t = np.linalg.qr(h[idx], mode="raw")  # raw is the Fortran-order (transposed) a
        a[idx], tau[idx] = raw.T, t
    if xp is not np:
        a, tau = xp.asarray(a), xp.asarray(tau)
    return a, tau


class _Geqrf(Function):
    _array_level = True
    _backward_name = "GeqrfBackward0"

    @staticmethod
    def forward(ctx, x):
        return _geqrf_arrays(x)

    @staticmethod
    def backward(ctx, ga, gtau):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """Q's first n columns from :func:`geqrf`'s output. See: torch.orgqr."""
    return householder_product(input, tau)


def ormqr(input: Tensor, tau: Tensor, other: Tensor, left: bool = True,
          transpose: bool = False) -> Tensor:
    """Multiply ``other`` by the full Q of :func:`geqrf`'s reflectors (``Q @ other``,
    ``other @ Q``, or with ``Q^H`` when ``transpose``) without forming Q. See: torch.ormqr."""
    bw = _bw()
    fn = "torch.ormqr"
    check_matrix(input, fn)
    m = input.shape[-2]
    k = tau.shape[-1]
    rows = other.shape[-2] if left else other.shape[-1]
    side = "other.shape[-2]" if left else "other.shape[-1]"
    if rows != m:
        raise RuntimeError(f"{fn}: {side} must be equal to input.shape[-2] ({rows} != {m})")
    if k != min(rows, input.shape[-1]):
        raise RuntimeError(f"{fn}: tau.shape[-1] must be equal to min({side}, "
                           f"input.shape[-1])")
    unit = bw.eye(m, dtype=input.dtype, device=input.device)
    order = range(k) if left == transpose else range(k - 1, -1, -1)
    C = other
    for i in order:
        v = householder_vector(input, i, unit)
        vh = v.conj() if v.is_complex() else v
        t = tau[..., i, None, None]
        if transpose:
            t = t.conj() if t.is_complex() else t
        if left:  # H C = C - t v (v^H C)
            C = C - t * v.unsqueeze(-1) @ (vh.unsqueeze(-2) @ C)
        else:  # C H = C - t (C v) v^H
            C = C - t * (C @ v.unsqueeze(-1)) @ vh.unsqueeze(-2)
    return C


# -- randomized low-rank SVD and PCA (Halko, Martinsson and Tropp 2009, as PyTorch) ------------
def _mH(x: Tensor) -> Tensor:
    return x.mT.conj() if x.is_complex() else x.mT


def _approximate_basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    bw = _bw()
    dtype = A.dtype if A.is_floating_point() or A.is_complex() else bw.get_default_dtype()
    R = bw.randn(A.shape[-1], q, dtype=dtype, device=A.device)
    X = matmul(A, R) if M is None else matmul(A, R) - matmul(M, R)
    Q = bw.linalg.qr(X).Q
    for _ in range(niter):
        X = matmul(_mH(A), Q) if M is None else matmul(_mH(A), Q) - matmul(_mH(M), Q)
        Q = bw.linalg.qr(X).Q
        X = matmul(A, Q) if M is None else matmul(A, Q) - matmul(M, Q)
        Q = bw.linalg.qr(X).Q
    return Q


def _svd_lowrank(A: Tensor, q: int | None, niter: int | None, M: Tensor | None):
    bw = _bw()
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:  # work on the tall orientation
        A = _mH(A)
        M = None if M is None else _mH(M)
    Q = _approximate_basis(A, q, niter, M)
    B = matmul(_mH(Q), A) if M is None else matmul(_mH(Q), A) - matmul(_mH(Q), M)
    U, S, Vh = bw.linalg.svd(B, full_matrices=False)
    V = _mH(Vh)
    U = Q.matmul(U)
    if m < n:
        U, V = V, U
    return U, S, V


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2,
                M: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Randomized rank-``q`` SVD ``(U, S, V)`` with ``A ≈ U diag(S) V^H`` (of ``A - M`` when
    given); the random matrix comes from brickwork's generator. See: torch.svd_lowrank."""
    return _svd_lowrank(A, q, niter, M)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True,
                niter: int = 2) -> tuple[Tensor, Tensor, Tensor]:
    """Randomized PCA ``(U, S, V)`` of the (centered) rows of ``A``. See: torch.pca_lowrank."""
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than "
                         f"min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if getattr(A, "is_sparse", False):
        raise NotImplementedError("pca_lowrank: sparse input is not supported by brickwork; "
                                  "pass A.to_dense()")
    if not center:
        return _svd_lowrank(A, q, niter, None)
    return _svd_lowrank(A - A.mean(dim=(-2,), keepdim=True), q, niter, None)


# -- removed in PyTorch 1.9: the same messages ----------------------------------------------------
_REMOVED = "This function was deprecated since version 1.9 and is now removed. "


def solve(input: Tensor, A: Tensor, *, out=None):
    """Removed in PyTorch 1.9; raises its migration message. See: torch.solve."""
    raise RuntimeError(
        _REMOVED + "`torch.solve` is deprecated in favor of `torch.linalg.solve`. "
        "`torch.linalg.solve` has its arguments reversed and does not return the LU "
        "factorization.\n\nTo get the LU factorization see `torch.lu`, which can be used with "
        "`torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, A).solution should be "
        "replaced with:\nX = torch.linalg.solve(A, B)")


def lstsq(input: Tensor, A: Tensor, *, out=None):
    """Removed in PyTorch 1.9; raises its migration message. See: torch.lstsq."""
    raise RuntimeError(
        _REMOVED + "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n"
        "`torch.linalg.lstsq` has reversed arguments and does not return the QR decomposition "
        "in the returned tuple (although it returns other information about the problem).\n\n"
        "To get the QR decomposition consider using `torch.linalg.qr`.\n\nThe returned "
        "solution in `torch.lstsq` stored the residuals of the solution in the last m - n "
        "columns of the returned value whenever m > n. In torch.linalg.lstsq, the residuals "
        "are in the field 'residuals' of the returned named tuple.\n\nThe unpacking of the "
        "solution, as in\nX, _ = torch.lstsq(B, A).solution[:A.size(1)]\nshould be replaced "
        "with:\nX = torch.linalg.lstsq(A, B).solution")


def symeig(input: Tensor, eigenvectors: bool = False, upper: bool = True, *, out=None):
    """Removed in PyTorch 1.9; raises its migration message. See: torch.symeig."""
    raise RuntimeError(
        _REMOVED + "The default behavior has changed from using the upper triangular portion "
        "of the matrix by default to using the lower triangular portion.\n\nL, _ = "
        "torch.symeig(A, upper=upper) should be replaced with:\nL = torch.linalg.eigvalsh(A, "
        "UPLO='U' if upper else 'L')\n\nand\n\nL, V = torch.symeig(A, eigenvectors=True) "
        "should be replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')")


def eig(self: Tensor, eigenvectors: bool = False):
    """Removed in PyTorch 1.9; raises its migration message. See: torch.eig."""
    raise RuntimeError(
        _REMOVED + "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` "
        "rather than real tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be "
        "replaced with:\nL_complex = torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, "
        "eigenvectors=True) should be replaced with:\nL_complex, V_complex = "
        "torch.linalg.eig(A)")


def matrix_rank(input: Tensor, tol=None, symmetric: bool = False, *, out=None):
    """Removed in PyTorch 1.9; raises its migration message. See: torch.matrix_rank."""
    raise RuntimeError(
        _REMOVED.rstrip() + "\nPlease use the `torch.linalg.matrix_rank` function instead. The "
        "parameter 'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.")


from ..device import guard_functions  # noqa: E402

guard_functions(globals(), ["lu", "lu_unpack", "geqrf", "orgqr", "ormqr", "svd_lowrank",
                            "pca_lowrank"])  # arrays are made on the input's GPU
