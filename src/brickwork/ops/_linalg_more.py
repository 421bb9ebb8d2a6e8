"""``brickwork.linalg``: norms, pseudo-inverse, rank, matrix functions, products and LU.

Most are compositions of the primitives (``_linalg_core.py``) with differentiable ops, so their
gradients of every order come from those pieces. ``matrix_exp`` is a degree-18 Taylor series
after scaling to norm <= 1/2 (truncation error below float64's resolution) followed by
squaring, all in matrix products. LU factorisation has its own Function (host partial pivoting,
the choices of LAPACK's getrf) with PyTorch's backward for square matrices.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._linalg_api import eigh, inv, solve, solve_triangular, svd, svdvals
from ._linalg_checks import check_float, check_matrix, check_square, host, lu_host, named_tuple
from ._linalg_core import _lifted, _replay, mH, solve_tri_arr
from ._util import normalize_dim, wrap, xp_of
from .linalg import matmul, vector_norm

linalg_lstsq = named_tuple("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
linalg_lu_factor = named_tuple("linalg_lu_factor", ("LU", "pivots"))
linalg_lu_factor_ex = named_tuple("linalg_lu_factor_ex", ("LU", "pivots", "info"))
linalg_lu = named_tuple("linalg_lu", ("P", "L", "U"))


def _bw():
    import brickwork

    return brickwork


# -- norms --------------------------------------------------------------------------------------
def _two_dims(dim, ndim: int, fn: str) -> tuple[int, int]:
    if len(dim) != 2:
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d = (normalize_dim(dim[0], ndim), normalize_dim(dim[1], ndim))
    if d[0] == d[1]:
        raise RuntimeError(f"{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """Matrix norm over the two dims: ``'fro'``, ``'nuc'``, ``inf``, ``-inf``, 1, -1, 2, -2.

    See: torch.linalg.matrix_norm.
    """
    fn = "linalg.matrix_norm"
    if dtype is not None:
        from .. import dtypes as _dt

        A = A.to(_dt.to_dtype(dtype))
    check_float(A, fn)
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    d0, d1 = _two_dims(tuple(dim), A.ndim, fn)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    M = A.movedim((d0, d1), (-2, -1))
    if ord == "nuc" or ord in (2, -2, 2.0, -2.0):
        s = svdvals(M)
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord > 0 else s.amin(-1)
    elif ord in (1, -1, math.inf, -math.inf):
        # 1: largest column sum of |A|; inf: largest row sum.
        sums = M.abs().sum(-2 if abs(ord) == 1 else -1)
        out = sums.amax(-1) if ord > 0 else sums.amin(-1)
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """A vector norm (1-D input or one ``dim``) or a matrix norm (2-D input or two dims).

    See: torch.linalg.norm.
    """
    if isinstance(dim, int) and not isinstance(dim, bool):
        dim = (dim,)
    if dim is not None:
        if len(dim) == 1:
            return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D "
                       f"or 2D. Got {A.ndim}D.")


def cond(A: Tensor, p=None) -> Tensor:
    """Condition number ``||A|| ||A^{-1}||`` in the ``p`` norm (default: 2, from the singular
    values). See: torch.linalg.cond."""
    check_matrix(A, "linalg.cond")
    check_float(A, "linalg.cond")
    if p is None or p in (2, -2):
        s = svdvals(A)
        big, small = s.amax(-1), s.amin(-1)
        return big / small if p in (None, 2) else small / big
    check_square(A, "linalg.cond")
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def _tolerances(A: Tensor, atol, rtol, s_max: Tensor):
    """PyTorch's cut-off ``max(atol, rtol * s_max)``; rtol defaults to eps * max(m, n) unless
    atol is given."""
    if rtol is None:
        rtol = 0.0 if (atol is not None and not (isinstance(atol, (int, float)) and atol <= 0)) \
            else np.finfo(A._data.dtype).eps * max(A.shape[-2:])
    atol = 0.0 if atol is None else atol
    tol = s_max * rtol
    bw = _bw()
    if isinstance(atol, Tensor):
        return bw.maximum(atol, tol)
    return tol.clamp(min=float(atol))


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """Moore-Penrose pseudo-inverse, dropping singular values below
    ``max(atol, rtol * largest)``. See: torch.linalg.pinv."""
    check_matrix(A, "linalg.pinv")
    check_float(A, "linalg.pinv")
    bw = _bw()
    if hermitian:
        L, V = eigh(A)
        absL = L.abs()
        tol = _tolerances(A, atol, rtol, absL.amax(-1, keepdim=True))
        keep = absL > tol
        inv_l = bw.where(keep, 1 / bw.where(keep, L, bw.ones_like(L)), bw.zeros_like(L))
        return (V * inv_l.unsqueeze(-2)) @ V.mH
    U, S, Vh = svd(A, full_matrices=False)
    tol = _tolerances(A, atol, rtol, S[..., :1] if S.shape[-1] else S.amax(-1, keepdim=True))
    keep = S > tol
    inv_s = bw.where(keep, 1 / bw.where(keep, S, bw.ones_like(S)), bw.zeros_like(S))
    return (Vh.mH * inv_s.unsqueeze(-2)) @ U.mH  # mH: conjugate transposes for complex


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """Pseudo-inverse with a relative cut-off ``rcond``. See: torch.pinverse."""
    return pinv(input, rtol=rcond)


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values above the tolerance (int64). See: torch.linalg.matrix_rank."""
    check_matrix(A, "linalg.matrix_rank")
    check_float(A, "linalg.matrix_rank")
    bw = _bw()
    with bw.no_grad():
        s = eigh(A)[0].abs() if hermitian else svdvals(A)
        top = s.amax(-1, keepdim=True) if s.shape[-1] else s.sum(-1, keepdim=True)
        tol = _tolerances(A, atol, rtol, top)
        return (s > tol).sum(-1)


# -- matrix functions and products -----------------------------------------------------------------
def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` multiplied by itself ``n`` times (``n < 0``: of the inverse). See:
    torch.linalg.matrix_power."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    check_square(A, "linalg.matrix_power")
    if n == 0:
        bw = _bw()
        k = A.shape[-1]
        eye_k = bw.eye(k, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], k, k)
        # The identity, connected to A with a zero gradient (PyTorch's result requires grad).
        return bw.where(bw.ones_like(A, dtype=bw.bool), eye_k, A)
    if n < 0:
        A, n = inv(A), -n
    result = None
    base = A
    while n:  # binary powering, as PyTorch does
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


_TAYLOR_DEGREE = 18


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential ``sum_k A^k / k!``. See: torch.linalg.matrix_exp."""
    check_square(A, "linalg.matrix_exp")
    check_float(A, "linalg.matrix_exp")
    bw = _bw()
    n = A.shape[-1]
    if A.numel() == 0:
        return A.clone()
    # Scale so that the 1-norm is <= 1/2: the series' tail is then below 1e-22 relative.
    norm1 = float(host(A.detach()._data).__abs__().sum(-2).max()) if n else 0.0
    s = max(0, int(math.ceil(math.log2(norm1 / 0.5)))) if norm1 > 0.5 else 0
    M = A / (2.0 ** s) if s else A
    eye_n = bw.eye(n, dtype=A.dtype, device=A.device)
    # Horner: I + M (I + M/2 (I + M/3 (...))).
    acc = eye_n + M / _TAYLOR_DEGREE
    for k in range(_TAYLOR_DEGREE - 1, 0, -1):
        acc = eye_n + (M @ acc) / k
    for _ in range(s):
        acc = acc @ acc
    return acc


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices; the first may be a row vector and the last a
    column vector (1-D). See: torch.linalg.multi_dot."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            which = "first" if i == 0 else "last" if i == len(tensors) - 1 else None
            if which:
                raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got "
                                   f"{t.ndim}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    out = tensors[0]
    first_vec = out.ndim == 1
    if first_vec:
        out = out.unsqueeze(0)
    last = tensors[-1]
    last_vec = last.ndim == 1
    mids = tensors[1:-1] + [last.unsqueeze(-1) if last_vec else last]
    for t in mids:
        out = matmul(out, t)
    if last_vec:
        out = out.squeeze(-1)
    if first_vec:
        out = out.squeeze(0)
    return out


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (batch dimensions broadcast).

    See: torch.linalg.cross.
    """
    bw = _bw()
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    d = normalize_dim(dim, len(shape))
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    a, b = input.expand(*shape), other.expand(*shape)
    a0, a1, a2 = (a.select(d, i) for i in range(3))
    b0, b1, b2 = (b.select(d, i) for i in range(3))
    return bw.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product along ``dim`` (batch dimensions broadcast). See: torch.linalg.vecdot."""
    return (x * y).sum(dim)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """Vandermonde matrix: columns ``x**0, x**1, ..., x**(N-1)``. See: torch.linalg.vander."""
    bw = _bw()
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension. Got a 0-D tensor")
    n = x.shape[-1] if N is None else N
    if n < 0:
        raise RuntimeError(f"linalg.vander: N must be greater than 1. Got {n}")
    ones = bw.ones_like(x).unsqueeze(-1)
    if n <= 1:
        return ones[..., :n]
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)
    return bw.cat([ones, powers], -1)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal of each matrix (a view). See: torch.linalg.diagonal."""
    return A.diagonal(offset, dim1, dim2)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The tensor inverse for ``tensordot(.., ind)``. See: torch.linalg.tensorinv."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    r, c = int(np.prod(rows)), int(np.prod(cols))
    if r != c:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {c} != {r}")
    return inv(A.reshape(r, c)).reshape(*cols, *rows)


def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """``X`` with ``tensordot(A, X, X.ndim) = B``. See: torch.linalg.tensorsolve."""
    if dims is not None:
        dims = [normalize_dim(d, A.ndim) for d in dims]
        A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    rest = tuple(A.shape[B.ndim:])
    r, c = int(np.prod(tuple(B.shape))), int(np.prod(rest))
    if r != c:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:"
                           f"]) == prod(self.shape[:other.ndim]), but got {c} != {r}")
    return solve(A.reshape(r, c), B.reshape(r)).reshape(*rest)


# -- least squares ---------------------------------------------------------------------------------
def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """Least-squares solution of ``A X = B`` (via the pseudo-inverse).

    Returns ``(solution, residuals, rank, singular_values)``: as on PyTorch's CPU default
    ``'gelsy'`` only the solution and rank are filled; ``'gelsd'``/``'gelss'`` add the singular
    values, and ``'gels'`` (full rank only) gives neither. See: torch.linalg.lstsq.
    """
    fn = "torch.linalg.lstsq"
    bw = _bw()
    drivers = ("gels", "gelsy", "gelsd", "gelss")
    if driver is not None and driver not in drivers:
        raise RuntimeError(f"{fn}: parameter `driver` should be one of (gels, gelsy, gelsd, "
                           f"gelss)")
    driver = driver or "gelsy"
    check_matrix(A, fn)
    check_float(A, fn)
    vector = B.ndim == A.ndim - 1
    B2 = B.unsqueeze(-1) if vector else B
    if B2.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"{fn}: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2:]
    if rcond is None:
        rcond = float(np.finfo(A._data.dtype).eps) * max(m, n)
    if driver == "gels":
        X = pinv(A, rtol=0.0) @ B2
    else:
        X = pinv(A, rtol=rcond) @ B2
    if vector:
        X = X.squeeze(-1)
    empty = bw.zeros(0, dtype=A.dtype, device=A.device)
    with bw.no_grad():
        s = svdvals(A)
        tol = s[..., :1] * rcond if s.shape[-1] else s.sum(-1, keepdim=True)
        rank = (s > tol).sum(-1)
    residuals = empty
    if driver != "gelsy" and m > n and bool((rank == n).all()):
        # As LAPACK reports them: the squared norm of each column of A X - B.
        r = A @ X.unsqueeze(-1) - B2 if vector else A @ X - B2
        residuals = (r * r).sum(-2)  # a vector B gives one residual, shape (..., 1)
    if driver == "gels":
        return linalg_lstsq((X, residuals, bw.zeros(0, dtype=bw.int64, device=A.device), empty))
    sv = s if driver in ("gelsd", "gelss") else empty
    return linalg_lstsq((X, residuals, rank, sv))


# -- LU --------------------------------------------------------------------------------------------
class LuFactor(Function):
    """Packed LU factors with getrf's partial pivoting. Backward: PyTorch's
    ``linalg_lu_backward`` (square, wide and tall cases) on the unpacked L and U."""

    _array_level = True
    _backward_name = "LinalgLuFactorExBackward0"

    @staticmethod
    def forward(ctx, A):
        if _lifted(A):
            LU, piv, info = _replay(LuFactor.apply, A)
            ctx.LU, ctx.piv = LU, piv.t._data
            return LU, piv, info
        xp = xp_of(A)
        LU, piv, info = lu_host(host(A))
        if xp is not np:
            LU, piv, info = xp.asarray(LU), xp.asarray(piv), xp.asarray(info)
        if ctx.needs_input_grad[0]:
            ctx.LU, ctx.piv = LU, piv
        return LU, piv, info

    @staticmethod
    def backward(ctx, gLU, _gpiv, _ginfo):
        LU = ctx.LU
        m, n = LU.shape[-2:]
        k = min(m, n)
        xp = xp_of(gLU)
        raw = LU.t._data if _lifted(LU) else LU
        L = xp.tril(LU, -1)[..., :, :k] + xp_of(raw).eye(m, k, dtype=raw.dtype)
        U = xp.triu(LU)[..., :k, :]
        gL, gU = xp.tril(gLU, -1)[..., :, :k], xp.triu(gLU)[..., :k, :]
        if m == n:
            # gA = P L^{-H} (tril(L^H gL, -1) + triu(gU U^H)) U^{-H}
            X = xp.tril(mH(L) @ gL, -1) + xp.triu(gU @ mH(U))
            X = solve_tri_arr(mH(U), X, upper=False, left=False)
            X = solve_tri_arr(mH(L), X, upper=True, left=True, unitriangular=True)
        elif m < n:
            X = mH(L) @ gL - xp.triu(gU) @ mH(U)
            X = solve_tri_arr(mH(U[..., :k]), xp.tril(X, -1), upper=False, left=False)
            X = xp.concatenate([X + xp.triu(gU[..., :k]), gU[..., k:]], axis=-1)
            X = solve_tri_arr(mH(L), X, upper=True, left=True, unitriangular=True)
        else:
            X = gU @ mH(U) - mH(L) @ xp.tril(gL, -1)
            X = solve_tri_arr(mH(L[..., :k, :]), xp.triu(X), upper=True, left=True,
                              unitriangular=True)
            X = xp.concatenate([X + xp.tril(gL[..., :k, :], -1), gL[..., k:, :]], axis=-2)
            X = solve_tri_arr(mH(U), X, upper=False, left=False)
        return _perm_matrix(host(ctx.piv), m, raw.dtype, xp_of(raw)) @ X


def _perm_matrix(piv: np.ndarray, m: int, dtype, xp):
    """P with ``A = P L U`` from getrf's 1-based row swaps."""
    batch = piv.shape[:-1]
    perm = np.broadcast_to(np.arange(m), batch + (m,)).copy()
    flat = perm.reshape(-1, m)
    fp = piv.reshape(-1, piv.shape[-1]) - 1
    rows = np.arange(flat.shape[0])
    for j in range(fp.shape[1]):
        p = fp[:, j]
        a, b = flat[rows, j].copy(), flat[rows, p].copy()
        flat[rows, j], flat[rows, p] = b, a
    # Row i of P^T A is row perm[i] of A, so P[perm[i], i] = 1.
    P = np.zeros(batch + (m, m), dtype)
    idx = np.indices(batch + (m,))
    P[(*idx[:-1], perm, idx[-1])] = 1
    return P if xp is np else xp.asarray(P)


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False):
    """Packed LU, 1-based pivots (int32) and ``info``. See: torch.linalg.lu_factor_ex."""
    fn = "torch.linalg.lu_factor_ex"
    check_matrix(A, fn)
    check_float(A, fn)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    LU, piv, info = LuFactor.apply(A)
    if check_errors:
        _raise_lu(info, A, fn)
    return linalg_lu_factor_ex((LU, piv, info))


def _raise_lu(info: Tensor, A: Tensor, fn: str) -> None:
    flat = host(info._data).reshape(-1)
    bad = np.flatnonzero(flat)
    if bad.size:
        b = int(bad[0])
        prefix = f"(Batch element {b}): " if A.ndim > 2 else ""
        raise RuntimeError(f"{fn}: {prefix}U[{flat[b]},{flat[b]}] is zero and using it on "
                           f"lu_solve would result in a division by zero. If you still want to "
                           f"perform the factorization, consider calling linalg.lu(A, pivot) or "
                           f"linalg.lu_factor_ex(A, pivot)")


def lu_factor(A: Tensor, *, pivot: bool = True):
    """Packed LU and pivots; raises for a singular matrix. See: torch.linalg.lu_factor."""
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    _raise_lu(info, A, "torch.linalg.lu_factor")
    return linalg_lu_factor((LU, piv))


def lu(A: Tensor, *, pivot: bool = True):
    """``A = P L U`` with unit lower-triangular L. See: torch.linalg.lu."""
    check_matrix(A, "linalg.lu")
    check_float(A, "linalg.lu")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    bw = _bw()
    LU, piv, _ = LuFactor.apply(A)
    m, n = A.shape[-2:]
    k = min(m, n)
    P = wrap(_perm_matrix(host(piv._data), m, A._data.dtype, xp_of(A._data)), A)
    L = LU[..., :, :k].tril(-1) + bw.eye(m, k, dtype=A.dtype, device=A.device)
    U = LU[..., :k, :].triu()
    return linalg_lu((P, L, U))


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False) -> Tensor:
    """Solve ``A X = B`` from :func:`lu_factor`'s output (``adjoint``: ``A^H X = B``;
    ``left=False``: ``X A = B``). See: torch.linalg.lu_solve."""
    n = LU.shape[-1]
    P = wrap(_perm_matrix(host(pivots._data), n, LU._data.dtype, xp_of(LU._data)), LU)
    L, U = LU, LU
    if left and not adjoint:  # A X = P L U X = B
        Y = solve_triangular(L, P.mT @ B, upper=False, unitriangular=True)
        return solve_triangular(U, Y, upper=True)
    if left:  # U^H L^H P^T X = B
        Y = solve_triangular(U.mH, B, upper=False)
        return P @ solve_triangular(L.mH, Y, upper=True, unitriangular=True)
    if not adjoint:  # X P L U = B
        Y = solve_triangular(U, B, upper=True, left=False)
        return solve_triangular(L, Y, upper=False, left=False, unitriangular=True) @ P.mT
    # X U^H L^H P^T = B
    Y = solve_triangular(L.mH, B @ P, upper=True, left=False, unitriangular=True)
    return solve_triangular(U.mH, Y, upper=False, left=False)


def householder_vector(A: Tensor, i: int, unit: Tensor) -> Tensor:
    """The i-th Householder vector stored below A's diagonal (LAPACK's geqrf layout): zeros
    above position i, one at i, A's entries below. ``unit`` is the m x m identity."""
    m = A.shape[-2]
    mask = _bw().tensor((np.arange(m) > i).astype(A._data.dtype.name), device=A.device)
    return A[..., :, i] * mask + unit[i]


def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^H`` with the
    Householder vectors stored below A's diagonal. See: torch.linalg.householder_product."""
    bw = _bw()
    fn = "torch.linalg.householder_product"
    check_matrix(A, fn)
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if n > m:
        raise RuntimeError(f"{fn}: input.shape[-2] must be greater than or equal to "
                           f"input.shape[-1]")
    if k > n:
        raise RuntimeError(f"{fn}: input.shape[-1] must be greater than or equal to "
                           f"tau.shape[-1]")
    Q = bw.eye(m, n, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], m, n)
    unit = bw.eye(m, dtype=A.dtype, device=A.device)
    for i in range(k - 1, -1, -1):
        v = householder_vector(A, i, unit)
        vh = v.conj() if v.is_complex() else v  # H_i = I - tau_i v v^H
        t = tau[..., i, None, None]
        Q = Q - t * v.unsqueeze(-1) @ (vh.unsqueeze(-2) @ Q)
    return Q


__all__ = ["matrix_norm", "norm", "cond", "pinv", "pinverse", "matrix_rank", "matrix_power",
           "matrix_exp", "multi_dot", "cross", "vecdot", "vander", "diagonal", "tensorinv",
           "tensorsolve", "lstsq", "lu_factor", "lu_factor_ex", "lu", "lu_solve",
           "householder_product"]

from ..device import guard_functions  # noqa: E402

guard_functions(globals(), [n for n in __all__ if n != "LinAlgError"])  # on the input's GPU
