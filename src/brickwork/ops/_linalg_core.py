"""The primitive decompositions and solves behind ``brickwork.linalg``.

Each primitive is an array-level ``Function`` whose forward calls NumPy's (or CuPy's) LAPACK
wrappers and whose backward is PyTorch's formula (``FunctionsManual.cpp``) written with matrix
products, transposes and the other primitives. Everything else in ``linalg`` (norms, pinv,
matrix_exp, ...) is composed from these with differentiable ops.

Higher-order gradients: under ``create_graph=True`` the engine re-runs forward and backward on
``Lifted`` values (see ``autograd/_lifted.py``), which have no ``linalg`` namespace. The
``*_arr`` helpers below therefore dispatch: on plain arrays they call the backend's LAPACK
routine, on Lifted values they call the primitive Function itself on the wrapped tensors, so a
solve inside a backward is recorded as a differentiable solve.
"""
from __future__ import annotations

import numpy as np

from ..autograd._lifted import Lifted, _tensor
from ..autograd.function import Function
from ._complex_grad import cj
from ._util import unbroadcast, xp_of


from ._linalg_checks import host


# -- helpers that work on arrays and on Lifted values ---------------------------------------------
def _lifted(*xs) -> bool:
    return any(x.__class__ is Lifted for x in xs)


def _replay(fn, *args):
    """``fn`` on the tensors behind Lifted args (constants become tensors); Lifted results."""
    like = next(a.t for a in args if a.__class__ is Lifted)
    targs = [_tensor(a, like) if a.__class__ is Lifted or hasattr(a, "shape") else a
             for a in args]
    out = fn(*targs)
    if isinstance(out, tuple):
        return tuple(Lifted(o) for o in out)
    return Lifted(out)


def mT(x):
    return x.swapaxes(-1, -2)


def mH(x):
    """The conjugate transpose of the last two dims (the transpose for real arrays): PyTorch's
    backward formulas are written with ``mH`` so that they hold for complex matrices too."""
    return cj(x.swapaxes(-1, -2))


def _check_phase(VhgV, message: str) -> None:
    """PyTorch's refusal of a loss that depends on the arbitrary phase of complex singular or
    eigen-vectors: ``Im(diag(V^H gV))`` must be ~0 (same lax tolerances as PyTorch)."""
    if VhgV.dtype.kind != "c" or _lifted(VhgV):
        return
    im = host(VhgV.diagonal(0, -2, -1).imag)
    if not np.allclose(im, 0, rtol=1e-2, atol=1e-2):
        raise RuntimeError(message)


def eye_like(x, n: int):
    """An ``n x n`` identity (a constant) in ``x``'s array module and dtype."""
    raw = x.t._data if x.__class__ is Lifted else x
    return xp_of(raw).eye(n, dtype=raw.dtype)


def diag_embed(d):
    return d[..., :, None] * eye_like(d, d.shape[-1])


def _broadcast_batch(A, B):
    xp = xp_of(A)
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    return (xp.broadcast_to(A, batch + A.shape[-2:]), xp.broadcast_to(B, batch + B.shape[-2:]))


def solve_arr(A, B):
    """``A^{-1} B`` for matrices ``B`` (batch dimensions broadcast)."""
    if _lifted(A, B):
        return _replay(Solve.apply, A, B)
    A2, B2 = _broadcast_batch(A, B)
    if A2.shape[-1] == 0 or B2.shape[-1] == 0:
        return xp_of(A).zeros(B2.shape, B2.dtype)
    return _nan_where_singular(xp_of(A).linalg.solve, A2, B2)


def inv_arr(A):
    if _lifted(A):
        return _replay(Inv.apply, A)
    if A.shape[-1] == 0:
        return A.copy()
    return _nan_where_singular(xp_of(A).linalg.inv, A)


def _nan_where_singular(routine, A, *rest):
    """``routine(A, *rest)``; NumPy refuses a whole batch for one singular matrix, so then
    each matrix is done alone and the singular ones give NaN (the public ops raise or report
    ``info``, as PyTorch does)."""
    try:
        return routine(A, *rest)
    except np.linalg.LinAlgError:
        pass
    n = A.shape[-1]
    flat_a = A.reshape(-1, n, n)
    flat_r = [r.reshape((-1,) + r.shape[-2:]) for r in rest]
    outs = []
    for i in range(flat_a.shape[0]):
        try:
            outs.append(routine(flat_a[i], *[r[i] for r in flat_r]))
        except np.linalg.LinAlgError:
            shape = flat_r[0][i].shape if rest else (n, n)
            outs.append(np.full(shape, np.nan, A.dtype))
    shape = A.shape[:-2] + (outs[0].shape if outs else (n, n))
    return np.stack(outs).reshape(shape) if outs else np.zeros(shape, A.dtype)


def triangle(A, upper: bool, unitriangular: bool):
    """The triangle of ``A`` a triangular solve reads (unit diagonal if ``unitriangular``)."""
    xp = xp_of(A)
    T = xp.triu(A) if upper else xp.tril(A)
    if unitriangular:
        n = A.shape[-1]
        T = T - diag_embed(T.diagonal(0, -2, -1)) + eye_like(A, n)
    return T


def solve_tri_arr(A, B, upper: bool, left: bool = True, unitriangular: bool = False):
    """``X`` with ``A X = B`` (``left``) or ``X A = B``, reading one triangle of ``A``."""
    if _lifted(A, B):
        return _replay(lambda a, b: SolveTriangular.apply(a, b, upper, left, unitriangular),
                       A, B)
    T, B2 = _broadcast_batch(triangle(A, upper, unitriangular), B)
    if T.shape[-1] == 0 or B2.size == 0:
        return xp_of(A).zeros(B2.shape, B2.dtype)
    xp = xp_of(A)
    with np.errstate(all="ignore"):
        try:
            if left:
                return xp.linalg.solve(T, B2)
            return mT(xp.linalg.solve(mT(T), mT(B2)))
        except np.linalg.LinAlgError:
            # PyTorch's trsm divides by the zero diagonal: infinities, no error.
            return _back_substitute(host(T), host(B2), upper, left)


def _back_substitute(T, B, upper: bool, left: bool):
    """Row-by-row triangular solve (only for singular triangles, where LU refuses)."""
    if not left:
        return mT(_back_substitute(mT(T), mT(B), not upper, True))
    n = T.shape[-1]
    X = np.zeros(np.broadcast_shapes(T.shape[:-2], B.shape[:-2]) + B.shape[-2:], B.dtype)
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(all="ignore"):
        for i in order:
            acc = B[..., i, :] - (T[..., i, :, None] * X).sum(-2)
            X[..., i, :] = acc / T[..., i, i, None]
    return X


# -- the primitives --------------------------------------------------------------------------------
class Solve(Function):
    """``X = A^{-1} B`` with ``B`` a (batch of) matrices; gB = A^{-H} gX, gA = -gB X^H."""

    _array_level = True
    _backward_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, A, B):
        X = solve_arr(A, B)
        if any(ctx.needs_input_grad):
            ctx.A, ctx.X, ctx.B_shape = A, X, B.shape
        return X

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.A, ctx.X
        gB = solve_arr(mH(A), g)
        gA = unbroadcast(-(gB @ mH(X)), A.shape) if ctx.needs_input_grad[0] else None
        return gA, (unbroadcast(gB, ctx.B_shape) if ctx.needs_input_grad[1] else None)


class Inv(Function):
    """``A^{-1}``; gA = -A^{-H} g A^{-H}."""

    _array_level = True
    _backward_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A):
        out = inv_arr(A)
        if ctx.needs_input_grad[0]:
            ctx.out = out
        return out

    @staticmethod
    def backward(ctx, g):
        inv = mH(ctx.out)
        return -(inv @ g @ inv)


class Det(Function):
    """``det(A)``; gA = g det(A) A^{-H} (for invertible A)."""

    _array_level = True
    _backward_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, A):
        if _lifted(A):
            out = _replay(Det.apply, A)
        elif A.shape[-1] == 0:
            out = xp_of(A).ones(A.shape[:-2], A.dtype)
        else:
            out = xp_of(A).linalg.det(A)
        if ctx.needs_input_grad[0]:
            ctx.A, ctx.out = A, out
        return out

    @staticmethod
    def backward(ctx, g):
        A, det = ctx.A, ctx.out
        if not _lifted(A, g) and A.shape[-1] and not bool((det != 0).all()):
            return g[..., None, None] * _cofactor(A)
        return (g * cj(det))[..., None, None] * mH(inv_arr(A))


def _cofactor(A):
    """The conjugate of the cofactor matrix, ``conj(det(A)) A^{-H}``, also for singular A
    (PyTorch's SVD route): with ``A = U diag(s) Vh`` it is
    ``conj(det(U) det(Vh)) U diag(prod_{j != i} s_j) Vh``."""
    xp = xp_of(A)
    U, S, Vh = xp.linalg.svd(A)
    n = S.shape[-1]
    others = xp.stack([xp.prod(xp.concatenate([S[..., :i], S[..., i + 1:]], -1), -1)
                       for i in range(n)], -1)
    sign = cj(xp.linalg.det(U) * xp.linalg.det(Vh))
    return sign[..., None, None] * (U * others[..., None, :]) @ Vh


class Slogdet(Function):
    """``(sign, log|det A|)``; the sign is piecewise constant, g_logabsdet gives A^{-H}."""

    _array_level = True
    _backward_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, A):
        if _lifted(A):
            sign, logabs = _replay(Slogdet.apply, A)
        elif A.shape[-1] == 0:
            xp = xp_of(A)
            sign, logabs = xp.ones(A.shape[:-2], A.dtype), xp.zeros(A.shape[:-2], A.dtype)
        else:
            sign, logabs = xp_of(A).linalg.slogdet(A)
        if ctx.needs_input_grad[0]:
            ctx.A, ctx.sign = A, sign
        return sign, logabs

    @staticmethod
    def backward(ctx, g_sign, g_logabs):
        g = g_logabs
        if ctx.A.dtype.kind == "c":  # the complex sign carries a gradient too (PyTorch)
            from ._complex_grad import imag_part

            g = g.astype(ctx.A.dtype) - imag_part(cj(g_sign) * ctx.sign).astype(ctx.A.dtype) * 1j
        return g[..., None, None] * mH(inv_arr(ctx.A))


class Cholesky(Function):
    """Lower (or upper) Cholesky factor; PyTorch's ``cholesky_backward``."""

    _array_level = True
    _backward_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, A, upper):
        if _lifted(A):
            out = _replay(lambda a: Cholesky.apply(a, upper), A)
        else:
            xp = xp_of(A)
            out = _nan_where_singular(xp.linalg.cholesky, A) if A.size else A.copy()
            if upper:
                out = xp.ascontiguousarray(mH(out))
        if ctx.needs_input_grad[0]:
            ctx.out, ctx.upper = out, upper
        return out

    @staticmethod
    def backward(ctx, g):
        L = ctx.out
        if ctx.upper:
            L, g = mH(L), mH(g)
        xp = xp_of(g)
        gA = xp.tril(mH(L) @ g)
        gA = 0.5 * (gA + mH(xp.tril(gA, -1)))
        gA = solve_tri_arr(mH(L), gA, upper=True, left=True)
        return solve_tri_arr(L, gA, upper=False, left=False), None


class SolveTriangular(Function):
    """Triangular solve; gB = A^{-H} g (the other triangle), gA = -gB X^H (one triangle)."""

    _array_level = True
    _backward_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, A, B, upper, left, unitriangular):
        X = solve_tri_arr(A, B, upper, left, unitriangular)
        if any(ctx.needs_input_grad):
            ctx.A, ctx.X, ctx.flags = A, X, (upper, left, unitriangular)
            ctx.B_shape = B.shape
        return X

    @staticmethod
    def backward(ctx, g):
        A, X, (upper, left, unit) = ctx.A, ctx.X, ctx.flags
        gB = solve_tri_arr(mH(A), g, not upper, left, unit)
        gA = None
        if ctx.needs_input_grad[0]:
            xp = xp_of(gB)
            gA = -(gB @ mH(X)) if left else -(mH(X) @ gB)
            gA = xp.triu(gA, int(unit)) if upper else xp.tril(gA, -int(unit))
            gA = unbroadcast(gA, A.shape)
        gB = unbroadcast(gB, ctx.B_shape) if ctx.needs_input_grad[1] else None
        return gA, gB, None, None, None


class Eigh(Function):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix; PyTorch's
    ``linalg_eig_backward`` for the Hermitian case."""

    _array_level = True
    _backward_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, A, uplo):
        if _lifted(A):
            L, V = _replay(lambda a: Eigh.apply(a, uplo), A)
        elif A.shape[-1] == 0:
            xp = xp_of(A)
            L, V = xp.zeros(A.shape[:-1], A.real.dtype), A.copy()  # eigenvalues are real
        else:
            L, V = xp_of(A).linalg.eigh(A, UPLO=uplo)
        if ctx.needs_input_grad[0]:
            ctx.L, ctx.V = L, V
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.L, ctx.V
        VhgV = mH(V) @ gV
        _check_phase(VhgV, _PHASE_EIG.format("linalg_eigh_backward"))
        VhgV = 0.5 * (VhgV - mH(VhgV))
        if VhgV.dtype.kind == "c":  # PyTorch overwrites the (imaginary) diagonal with gL
            VhgV = VhgV - diag_embed(VhgV.diagonal(0, -2, -1))
        # E[i, j] = L[j] - L[i], with ones on the diagonal (where VhgV is zero).
        E = L[..., None, :] - L[..., :, None] + eye_like(L, L.shape[-1])
        gA = VhgV / E + diag_embed(gL)
        return V @ gA @ mH(V), None


class Svd(Function):
    """``A = U diag(S) Vh``; PyTorch's ``svd_backward`` (extra columns of a full
    factorization carry no information about A and are dropped first)."""

    _array_level = True
    _backward_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, A, full_matrices):
        if _lifted(A):
            U, S, Vh = _replay(lambda a: Svd.apply(a, full_matrices), A)
        else:
            U, S, Vh = _svd_raw(A, full_matrices)
        if ctx.needs_input_grad[0]:
            ctx.U, ctx.S, ctx.Vh, ctx.full = U, S, Vh, full_matrices
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.U, ctx.S, ctx.Vh
        k = S.shape[-1]
        if ctx.full:
            U, Vh, gU, gVh = U[..., :k], Vh[..., :k, :], gU[..., :k], gVh[..., :k, :]
        m, n = U.shape[-2], Vh.shape[-1]
        UhgU = mH(U) @ gU
        UhgU = UhgU - mH(UhgU)
        VhgV = Vh @ mH(gVh)
        VhgV = VhgV - mH(VhgV)
        complex_ = UhgU.dtype.kind == "c"
        if complex_ and not _lifted(UhgU, VhgV):
            # The loss must not depend on the phase: Im diag(U^H gU) = -Im diag(V^H gV).
            im_u = host(UhgU.diagonal(0, -2, -1).imag)
            im_v = host(VhgV.diagonal(0, -2, -1).imag)
            if not np.allclose(im_u, -im_v, rtol=1e-2, atol=1e-2):
                raise RuntimeError(_PHASE_SVD)
        S2 = S * S
        E = S2[..., None, :] - S2[..., :, None] + eye_like(S, k)
        gA = (UhgU * S[..., None, :] + S[..., :, None] * VhgV) / E + diag_embed(gS)
        if complex_:
            gA = gA + diag_embed(UhgU.diagonal(0, -2, -1) / (2 * S))
        if m > n:
            gA = U @ gA
            gUSinv = gU / S[..., None, :]
            gA = gA + gUSinv - U @ (mH(U) @ gUSinv)
            gA = gA @ Vh
        elif m < n:
            gA = gA @ Vh
            SinvgVh = gVh / S[..., :, None]
            gA = gA + SinvgVh - (SinvgVh @ mH(Vh)) @ Vh
            gA = U @ gA
        else:
            gA = U @ gA @ Vh
        return gA, None


def _svd_raw(A, full_matrices: bool):
    xp = xp_of(A)
    m, n = A.shape[-2:]
    if A.size == 0:
        k = min(m, n)
        batch = A.shape[:-2]
        eye_m = xp.broadcast_to(xp.eye(m, m if full_matrices else k, dtype=A.dtype),
                                batch + (m, m if full_matrices else k)).copy()
        eye_n = xp.broadcast_to(xp.eye(n if full_matrices else k, n, dtype=A.dtype),
                                batch + (n if full_matrices else k, n)).copy()
        return eye_m, xp.zeros(batch + (k,), A.real.dtype), eye_n
    return xp.linalg.svd(A, full_matrices=full_matrices)


class Qr(Function):
    """``A = Q R``; PyTorch's ``linalg_qr_backward``."""

    _array_level = True
    _backward_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, A, mode):
        if _lifted(A):
            Q, R = _replay(lambda a: Qr.apply(a, mode), A)
        else:
            xp = xp_of(A)
            if mode == "r":
                R = xp.linalg.qr(A, mode="r") if A.size else \
                    xp.zeros(A.shape[:-2] + (min(A.shape[-2:]), A.shape[-1]), A.dtype)
                Q = xp.zeros((0,), A.dtype)
            elif A.size == 0:
                m, n = A.shape[-2:]
                cols = m if mode == "complete" else min(m, n)
                Q = xp.broadcast_to(xp.eye(m, cols, dtype=A.dtype), A.shape[:-2] + (m, cols))
                Q, R = Q.copy(), xp.zeros(A.shape[:-2] + (cols, n), A.dtype)
            else:
                Q, R = xp.linalg.qr(A, mode=mode)
        if ctx.needs_input_grad[0]:
            ctx.Q, ctx.R, ctx.mode = Q, R, mode
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        Q, R, mode = ctx.Q, ctx.R, ctx.mode
        if mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        m, n = Q.shape[-2], R.shape[-1]
        if mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        xp = xp_of(gQ)
        gA = gR @ mH(R) - mH(Q) @ gQ
        if m >= n:
            sym = xp.triu(gA)
            sym = sym + mH(sym)  # its diagonal is real: halving it halves the real part
            sym = sym - 0.5 * diag_embed(sym.diagonal(0, -2, -1))
            gA = Q @ sym + gQ
            return solve_tri_arr(mH(R), gA, upper=False, left=False), None
        skew = xp.tril(-gA - mH(-gA))
        if skew.dtype.kind == "c":  # PyTorch halves the (imaginary) diagonal for complex
            skew = skew - 0.5 * diag_embed(skew.diagonal(0, -2, -1))
        gA = Q @ skew
        gA = solve_tri_arr(mH(R[..., :m]), gA, upper=False, left=False)
        raw = gA.t._data if _lifted(gA) else gA
        pad = xp_of(raw).zeros(gA.shape[:-1] + (n - m,), raw.dtype)
        gA = xp.concatenate([gA, pad], axis=-1)
        return gA + Q @ gR, None


_PHASE_EIG = ("{}: The eigenvectors in the complex case are specified up to multiplication "
              "by e^{{i phi}}. The specified loss function depends on this quantity, so it is "
              "ill-defined.")
_PHASE_SVD = ("svd_backward: The singular vectors in the complex case are specified up to "
              "multiplication by e^{i phi}. The specified loss function depends on this phase "
              "term, making it ill-defined.")
