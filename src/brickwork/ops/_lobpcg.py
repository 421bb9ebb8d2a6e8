"""``lobpcg``: a few extreme eigenpairs of a symmetric (generalized) eigenproblem by LOBPCG.

A port of PyTorch's ``torch/_lobpcg.py`` (Pearu Peterson's implementation of Knyazev's method,
``method="basic"``, and of the variant with orthogonal basis selection of Stathopoulos & Wu /
Duersch et al., ``method="ortho"``), written on brickwork tensors so that it runs on NumPy and
CuPy alike. The iteration, its convergence test and its parameters follow PyTorch's line for
line, so a given start ``X`` takes the same steps. The backward is PyTorch's
``LOBPCGAutogradFunction``: the symmetric-eigenproblem gradient for dense ``A`` (``B`` must be
None), with the part outside the found eigenspace from the polynomial solution of a Sylvester
equation.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor


# -- small linear-algebra helpers (torch._linalg_utils) ------------------------------------------
def _is_sparse(A) -> bool:
    from ..factories import sparse_coo

    return A is not None and A.layout is sparse_coo


def _mm(A, B: Tensor) -> Tensor:
    """``A @ B`` where ``A`` may be None (the identity) or sparse."""
    if A is None:
        return B
    if _is_sparse(A):
        from .. import sparse

        return sparse.mm(A, B)
    return A.matmul(B)


def _qform(A, S: Tensor) -> Tensor:
    """``S^T A S``."""
    return S.mT.matmul(_mm(A, S))


def _symeig(A: Tensor, largest: bool | None = False):
    """Eigenpairs of symmetric ``A``, ascending (descending when ``largest``)."""
    from .. import linalg

    E, Z = linalg.eigh(A, UPLO="U")
    if largest:
        E, Z = E.flip(-1), Z.flip(-1)
    return E, Z


def _floating_dtype(A: Tensor):
    from .. import dtypes as _dt

    return A.dtype if A.dtype in (_dt.float16, _dt.float32, _dt.float64) else _dt.float32


# -- the worker ----------------------------------------------------------------------------------
class LOBPCG:
    """Worker of the LOBPCG methods; a ``tracker`` sees this object after each step.

    Its attributes are PyTorch's: ``iparams``/``fparams``/``bparams`` (parameters),
    ``ivars``/``fvars``/``bvars``/``tvars`` (iteration state; ``ivars["istep"]``,
    ``ivars["converged_count"]``, ``tvars["rerr"]``), ``A``/``B``/``iK`` and ``E``/``X``/``S``/
    ``R``. A tracker that sets ``bvars["force_stop"] = True`` stops the iteration.
    """

    def __init__(self, A, B, X, iK, iparams, fparams, bparams, method, tracker) -> None:
        from ..factories import zeros

        self.A, self.B, self.iK = A, B, iK
        self.iparams, self.fparams, self.bparams = iparams, fparams, bparams
        self.method, self.tracker = method, tracker
        m, n = iparams["m"], iparams["n"]
        self.X = X
        self.E = zeros((n,), dtype=X.dtype, device=X.device)
        self.R = zeros((m, n), dtype=X.dtype, device=X.device)
        self.S = zeros((m, 3 * n), dtype=X.dtype, device=X.device)
        self.tvars: dict = {}
        self.ivars: dict = {"istep": 0}
        self.fvars: dict = {"_": 0.0}
        self.bvars: dict = {"_": False}

    def update(self) -> None:
        """Set and update the iteration variables (one LOBPCG step)."""
        if self.ivars["istep"] == 0:
            X_norm = float(self.X.norm())
            A_norm = float(_mm(self.A, self.X).norm()) / X_norm
            B_norm = float(_mm(self.B, self.X).norm()) / X_norm
            self.fvars.update(X_norm=X_norm, A_norm=A_norm, B_norm=B_norm)
            self.ivars.update(iterations_left=self.iparams["niter"], converged_count=0,
                              converged_end=0)
        if self.method == "ortho":
            self._update_ortho()
        else:  # PyTorch runs the basic method for any other name
            self._update_basic()
        self.ivars["iterations_left"] -= 1
        self.ivars["istep"] += 1

    def update_residual(self) -> None:
        """``R = A X - B X E``."""
        self.R = _mm(self.A, self.X) - _mm(self.B, self.X) * self.E

    def update_converged_count(self) -> int:
        """Count the leading eigenpairs whose backward-stable residual is below ``tol``."""
        prev = self.ivars["converged_count"]
        E, X, R = self.E, self.X, self.R
        rerr = R.norm(2, (0,)) / (X.norm(2, (0,)) * (
            self.fvars["A_norm"] + E[:X.shape[-1]].abs() * self.fvars["B_norm"]))
        count = 0
        for ok in (rerr < self.fparams["tol"]).tolist():
            if not ok:
                break  # later pairs wait, so that the pairs converge in order
            count += 1
        if count < prev:
            raise AssertionError(f"the number of converged eigenpairs (was {prev}, got "
                                 f"{count}) cannot decrease")
        self.ivars["converged_count"] = count
        self.tvars["rerr"] = rerr
        return count

    def stop_iteration(self) -> bool:
        return bool(self.bvars.get("force_stop", False) or self.ivars["iterations_left"] == 0
                    or self.ivars["converged_count"] >= self.iparams["k"])

    def run(self) -> None:
        """Iterate until ``k`` pairs converged, ``niter`` steps ran, or a tracker stops it."""
        self.update()
        if self.tracker is not None:
            self.tracker(self)
        while not self.stop_iteration():
            self.update()
            if self.tracker is not None:
                self.tracker(self)

    # -- the two methods -------------------------------------------------------------------------
    def _update_basic(self) -> None:
        ns, nc = self.ivars["converged_end"], self.ivars["converged_count"]
        n, largest = self.iparams["n"], self.bparams["largest"]
        if self.ivars["istep"] == 0:
            Ri = self._get_rayleigh_ritz_transform(self.X)
            E, Z = _symeig(_qform(_qform(self.A, self.X), Ri), largest)
            self.X[:] = self.X.matmul(Ri.matmul(Z))  # in place, into the caller's X (PyTorch)
            self.E[:] = E
            np_ = 0
            self.update_residual()
            nc = self.update_converged_count()
            self.S[..., :n] = self.X
            W = _mm(self.iK, self.R)
        else:
            S_ = self.S[:, nc:ns]
            Ri = self._get_rayleigh_ritz_transform(S_)
            E_, Z = _symeig(_qform(_qform(self.A, S_), Ri), largest)
            self.X[:, nc:] = S_.matmul(Ri.matmul(Z[:, :n - nc]))
            self.E[nc:] = E_[:n - nc]
            P = S_.matmul(Ri.matmul(Z[:, n:2 * n - nc]))
            np_ = P.shape[-1]
            self.update_residual()
            nc = self.update_converged_count()
            self.S[..., :n] = self.X
            self.S[:, n:n + np_] = P
            W = _mm(self.iK, self.R[:, nc:])
        self.ivars["converged_end"] = ns = n + np_ + W.shape[-1]
        self.S[:, n + np_:ns] = W

    def _update_ortho(self) -> None:
        from .. import linalg

        ns, nc = self.ivars["converged_end"], self.ivars["converged_count"]
        n, largest = self.iparams["n"], self.bparams["largest"]
        if self.ivars["istep"] == 0:
            Ri = self._get_rayleigh_ritz_transform(self.X)
            _, Z = _symeig(_qform(_qform(self.A, self.X), Ri), largest)
            self.X = self.X.matmul(Ri.matmul(Z))
            self.update_residual()
            np_ = 0
            nc = self.update_converged_count()
            self.S[:, :n] = self.X
            W = self._get_ortho(self.R, self.X)
        else:
            S_ = self.S[:, nc:ns]
            E_, Z = _symeig(_qform(self.A, S_), largest)  # Rayleigh-Ritz
            self.X[:, nc:] = S_.matmul(Z[:, :n - nc])
            self.E[nc:] = E_[:n - nc]
            P = S_.matmul(Z[:, n - nc:].matmul(linalg.qr(Z[:n - nc, n - nc:].mT).Q))
            np_ = P.shape[-1]
            self.update_residual()
            nc = self.update_converged_count()
            self.S[:, :n] = self.X
            self.S[:, n:n + np_] = P
            W = self._get_ortho(self.R[:, nc:], self.S[:, :n + np_])
        ns = self.ivars["converged_end"] = n + np_ + W.shape[-1]
        self.S[:, n + np_:ns] = W

    def _get_rayleigh_ritz_transform(self, S: Tensor) -> Tensor:
        """The upper-triangular ``Ri`` reducing ``(S^T A S) C = (S^T B S) C E`` to the standard
        problem ``(Ri^T S^T A S Ri) Z = Z E`` with ``C = Ri Z`` (scaled Cholesky of S^T B S)."""
        from .. import linalg

        SBS = _qform(self.B, S)
        d_row = SBS.diagonal(0, -2, -1) ** -0.5
        d_col = d_row.reshape(d_row.shape[0], 1)
        R = linalg.cholesky((SBS * d_row) * d_col, upper=True)
        return linalg.solve_triangular(R, d_row.diag_embed(), upper=True, left=False)

    def _get_svqb(self, U: Tensor, drop: bool, tau: float) -> Tensor:
        """B-orthonormal columns spanning ``U`` (Algorithm 4 of Duersch's thesis); with
        ``drop``, the columns contributing less than ``tau`` are dropped."""
        if U.numel() == 0:
            return U
        UBU = _qform(self.B, U)
        d = UBU.diagonal(0, -2, -1)
        # Exact zero columns would make d ** -0.5 infinite: drop them first.
        nz = (d.abs() != 0).nonzero().reshape(-1)
        if nz.numel() < d.numel():
            U = U[:, nz]
            if U.numel() == 0:
                return U
            UBU = _qform(self.B, U)
            d = UBU.diagonal(0, -2, -1)
        d_col = (d ** -0.5).reshape(d.shape[0], 1)
        E, Z = _symeig((UBU * d_col) * d_col.mT)
        t = tau * float(E.abs().max())
        if drop:
            keep = (E > t).nonzero().reshape(-1)
            E, Z, d_col = E[keep], Z[:, keep], d_col[keep]
        else:
            E = E.clamp(min=t)
        return (U * d_col.mT).matmul(Z * E ** -0.5)

    def _get_ortho(self, U: Tensor, V: Tensor) -> Tensor:
        """B-orthonormal columns spanning ``U``, B-orthogonal to ``V`` (Algorithm 3, or 6 with
        ``ortho_use_drop``, of Duersch's thesis); empty when ``U`` lies in ``span(V)``."""
        from ..factories import eye

        m = self.iparams["m"]
        tau_ortho = self.fparams["ortho_tol"]
        tau_drop, tau_replace = self.fparams["ortho_tol_drop"], self.fparams["ortho_tol_replace"]
        i_max, j_max = self.iparams["ortho_i_max"], self.iparams["ortho_j_max"]
        use_drop = self.bparams["ortho_use_drop"]
        for key in [k for k in self.fvars if k.startswith("ortho_") and k.endswith("_rerr")]:
            self.fvars.pop(key)
        self.ivars.pop("ortho_i", 0)
        self.ivars.pop("ortho_j", 0)
        BV_norm = _mm(self.B, V).norm()
        VBU = V.mT.matmul(_mm(self.B, U))
        i = j = 0
        for i in range(i_max):
            U = U - V.matmul(VBU)
            drop, tau_svqb = False, tau_drop
            for j in range(j_max):
                if use_drop:
                    U = self._get_svqb(U, drop, tau_svqb)
                    drop, tau_svqb = True, tau_replace
                else:
                    U = self._get_svqb(U, False, tau_replace)
                if U.numel() == 0:  # every column of U was B-collinear to V
                    self.ivars["ortho_i"], self.ivars["ortho_j"] = i, j
                    return U
                BU = _mm(self.B, U)
                UBU = U.mT.matmul(BU)
                R = UBU - eye(UBU.shape[-1], dtype=UBU.dtype, device=UBU.device)
                rerr = float(R.norm()) / float(BU.norm() * U.norm())
                self.fvars[f"ortho_UBUmI_rerr[{i}, {j}]"] = rerr
                if rerr < tau_ortho:
                    break
            VBU = V.mT.matmul(BU)
            rerr = float(VBU.norm()) / float(BV_norm * U.norm())
            self.fvars[f"ortho_VBU_rerr[{i}]"] = rerr
            if rerr < tau_ortho:
                break
            if m < U.shape[-1] + V.shape[-1]:
                raise ValueError(f"Overdetermined shape of U: #B-cols(={self.B.shape[-1]}) >= "
                                 f"#U-cols(={U.shape[-1]}) + #V-cols(={V.shape[-1]}) must hold")
        self.ivars["ortho_i"], self.ivars["ortho_j"] = i, j
        return U


# -- the backward (PyTorch's _symeig_backward) ---------------------------------------------------
def _complete_eigenspace_grad(D_grad, U_grad, D, U):
    """``U (diag(D_grad) + (U^T U_grad) * F) U^T`` with ``F_ij = 1 / (d_j - d_i)``, 0 on the
    diagonal."""
    from ..factories import eye

    F = D.unsqueeze(-2) - D.unsqueeze(-1)
    on_diag = eye(F.shape[-1], dtype=F.dtype, device=F.device).bool()
    F = F.masked_fill(on_diag, float("inf")).reciprocal()
    Ut = U.mT
    return U.matmul((D_grad.diag_embed() + Ut.matmul(U_grad) * F).matmul(Ut))


def _poly_coefficients(roots: Tensor) -> Tensor:
    """``(a_0, ..., a_n = 1)`` of ``prod_i (x - r_i)``, batched over the leading dims
    (the product built factor by factor, so that it can be differentiated)."""
    from .join import stack

    coeffs = [roots.new_ones(roots.shape[:-1])]  # a_0 of the empty product
    for i in range(roots.shape[-1]):
        r = roots[..., i]
        lower = [-r * coeffs[0]] + [coeffs[j - 1] - r * coeffs[j] for j in range(1, len(coeffs))]
        coeffs = lower + [coeffs[-1]]
    return stack(coeffs, -1)


def _vector_poly(poly: Tensor, x: Tensor) -> Tensor:
    """``sum_k poly[..., k] x^k`` elementwise (Horner; ``poly[..., -1]`` is 1)."""
    res = x.new_ones(x.shape)
    for k in range(poly.shape[-1] - 2, -1, -1):
        res = poly[..., k].unsqueeze(-1) + x * res
    return res


def _matrix_poly(poly: Tensor, A: Tensor) -> Tensor:
    """``sum_k poly[..., k] A^k`` (Horner; ``poly[..., -1]`` is 1)."""
    from ..factories import eye

    I = eye(A.shape[-1], dtype=A.dtype, device=A.device)  # noqa: E741
    res = I.expand(A.shape)
    for k in range(poly.shape[-1] - 2, -1, -1):
        res = A.matmul(res) + poly[..., k].unsqueeze(-1).unsqueeze(-1) * I
    return res


def _partial_eigenspace_grad(D_grad, U_grad, A, D, U, largest: bool):
    """The gradient when ``U`` spans only part of the space: PyTorch's polynomial solution of
    the Sylvester equation ``U_o^T A U_o dX - dX D = -U_o^T A U`` on a basis ``U_o`` of the
    orthogonal complement (any basis gives the same result; PyTorch draws a random one)."""
    from .. import linalg
    from ..factories import eye
    from ..random import Generator
    from ..factories import randn
    from ._linalg_api import cholesky_solve

    Ut = U.mT
    proj = eye(A.shape[-1], dtype=A.dtype, device=A.device) - U.matmul(Ut)
    gen = Generator(A.device)  # a fixed generator: the same basis on every call
    U_ortho = proj.matmul(randn((*A.shape[:-1], A.shape[-1] - D.shape[-1]), dtype=A.dtype,
                                device=A.device, generator=gen))
    U_ortho_t = U_ortho.mT
    chr_poly = _poly_coefficients(D)
    projected, acc = U_grad, U_grad.new_zeros(U_grad.shape)
    for k in range(1, chr_poly.shape[-1]):
        acc = acc + projected * _vector_poly(chr_poly[..., k:], D).unsqueeze(-2)
        projected = A.matmul(projected)
    restricted = U_ortho_t.matmul(_matrix_poly(chr_poly, A).matmul(U_ortho))
    # chr_poly(A) on the complement is definite: negative when largest with an odd count.
    sign = -1 if (largest and D.shape[-1] % 2 == 1) else 1
    L = linalg.cholesky(sign * restricted)
    res = _complete_eigenspace_grad(D_grad, U_grad, D, U)
    return res - U_ortho.matmul(sign * cholesky_solve(U_ortho_t.matmul(acc), L)).matmul(Ut)


class _LOBPCGFunction(Function):
    """``lobpcg`` for dense ``A`` (and ``B``) that require grad (PyTorch's
    LOBPCGAutogradFunction)."""

    _backward_name = "LOBPCGAutogradFunctionBackward"

    @staticmethod
    def forward(ctx, A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                ortho_fparams, ortho_bparams):
        A = A if _is_sparse(A) else A.contiguous()
        if B is not None:
            B = B if _is_sparse(B) else B.contiguous()
        D, U = _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                       ortho_fparams, ortho_bparams)
        ctx.save_for_backward(A, B, D, U)
        ctx.largest = largest
        return D, U

    @staticmethod
    def backward(ctx, D_grad, U_grad):
        A, B, D, U = ctx.saved_tensors
        if _is_sparse(A) or (B is not None and _is_sparse(B) and ctx.needs_input_grad[2]):
            raise ValueError("lobpcg.backward does not support sparse input yet. Note that "
                             "lobpcg.forward does though.")
        if A.dtype.is_complex or (B is not None and B.dtype.is_complex):
            raise ValueError("lobpcg.backward does not support complex input yet. Note that "
                             "lobpcg.forward does though.")
        if B is not None:
            raise ValueError("lobpcg.backward does not support backward with B != I yet.")
        largest = True if ctx.largest is None else ctx.largest
        if U.shape[-1] == U.shape[-2]:
            A_grad = _complete_eigenspace_grad(D_grad, U_grad, D, U)
        else:
            A_grad = _partial_eigenspace_grad(D_grad, U_grad, A, D, U, largest)
        return (A_grad,) + (None,) * 13


# -- the front end -------------------------------------------------------------------------------
def lobpcg(A: Tensor, k: int | None = None, B: Tensor | None = None, X: Tensor | None = None,
           n: int | None = None, iK: Tensor | None = None, niter: int | None = None,
           tol: float | None = None, largest: bool | None = None, method: str | None = None,
           tracker=None, ortho_iparams: dict | None = None, ortho_fparams: dict | None = None,
           ortho_bparams: dict | None = None):
    """The ``k`` largest (or smallest) eigenpairs of the symmetric positive-definite
    generalized problem ``A x = lambda B x`` by LOBPCG.

    Args:
        A: ``(*, m, m)`` symmetric matrix (dense, sparse, or a batch of dense ones).
        k: number of eigenpairs (default: ``X``'s column count, else 1).
        B: ``(*, m, m)`` right-hand matrix (default the identity).
        X: ``(*, m, n)`` start for the eigenvectors (default random, ``n`` columns).
        n: columns of the random start when ``X`` is not given (default ``k``).
        iK: ``(*, m, m)`` preconditioner.
        niter: maximum iterations (default 1000; -1 iterates until convergence).
        tol: residual tolerance (default ``feps ** 0.5`` of A's dtype).
        largest: the largest eigenvalues (default True) or the smallest.
        method: ``"ortho"`` (default, robust) or ``"basic"``.
        tracker: called with the worker after each step (see :class:`LOBPCG`).
        ortho_iparams, ortho_fparams, ortho_bparams: settings of the ``"ortho"`` method
            (``ortho_i_max``, ``ortho_j_max``, ``ortho_tol``, ``ortho_tol_drop``,
            ``ortho_tol_replace``, ``ortho_use_drop``).

    Returns:
        ``(E, X)``: eigenvalues ``(*, k)`` and eigenvectors ``(*, m, k)``.

    The backward supports dense ``A`` without ``B``; when ``A`` requires grad it is first
    symmetrized as ``(A + A^T) / 2`` so that its gradient is symmetric.

    See: torch.lobpcg.
    """
    if A.requires_grad or (B is not None and B.requires_grad):
        A_sym = (A + A.mT) / 2
        B_sym = (B + B.mT) / 2 if B is not None else None
        return _LOBPCGFunction.apply(A_sym, k, B_sym, X, n, iK, niter, tol, largest, method,
                                     tracker, ortho_iparams, ortho_fparams, ortho_bparams)
    return _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                   ortho_fparams, ortho_bparams)


def _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
            ortho_fparams, ortho_bparams):
    from .. import dtypes as _dt
    from ..factories import empty, randn

    # PyTorch checks these with AssertionError.
    if A.shape[-2] != A.shape[-1]:
        raise AssertionError(f"A must be square, got shape {A.shape}")
    if B is not None and A.shape != B.shape:
        raise AssertionError(f"A and B must have same shape, got {A.shape} vs {B.shape}")
    dtype, device = _floating_dtype(A), A.device
    if tol is None:
        feps = {_dt.float32: 1.2e-07, _dt.float64: 2.23e-16}
        if dtype not in feps:
            raise KeyError(dtype)  # PyTorch has no default tol for float16 either
        tol = feps[dtype] ** 0.5
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m}) "
                         f"is smaller than 3 x the number of requested eigenpairs (={n})")
    method = "ortho" if method is None else method
    iparams = {"m": m, "n": n, "k": k, "niter": 1000 if niter is None else niter}
    fparams = {"tol": tol}
    bparams = {"largest": True if largest is None else largest}
    if method == "ortho":
        iparams.update(ortho_iparams or {})
        fparams.update(ortho_fparams or {})
        bparams.update(ortho_bparams or {})
        iparams.setdefault("ortho_i_max", 3)
        iparams.setdefault("ortho_j_max", 3)
        for key in ("ortho_tol", "ortho_tol_drop", "ortho_tol_replace"):
            fparams.setdefault(key, tol)
        bparams.setdefault("ortho_use_drop", False)

    if A.dim() > 2:
        batch = tuple(A.shape[:-2])
        N = 1
        for b in batch:
            N *= b
        bA = A.reshape((N,) + tuple(A.shape[-2:]))
        bB = B.reshape((N,) + tuple(A.shape[-2:])) if B is not None else None
        bX = X.reshape((N,) + tuple(X.shape[-2:])) if X is not None else None
        bE = empty((N, k), dtype=dtype, device=device)
        bXret = empty((N, m, k), dtype=dtype, device=device)
        for i in range(N):
            X_ = randn((m, n), dtype=dtype, device=device) if bX is None else bX[i]
            if not (X_.dim() == 2 and tuple(X_.shape) == (m, n)):
                raise AssertionError(f"X_ shape mismatch: got {X_.shape}, expected {(m, n)}")
            iparams["batch_index"] = i
            worker = LOBPCG(bA[i], bB[i] if bB is not None else None, X_, iK, iparams,
                            fparams, bparams, method, tracker)
            worker.run()
            bE[i] = worker.E[:k]
            bXret[i] = worker.X[:, :k]
        return bE.reshape(batch + (k,)), bXret.reshape(batch + (m, k))

    X = randn((m, n), dtype=dtype, device=device) if X is None else X
    if not (X.dim() == 2 and tuple(X.shape) == (m, n)):
        raise AssertionError(f"X shape mismatch: got {X.shape}, expected {(m, n)}")
    worker = LOBPCG(A, B, X, iK, iparams, fparams, bparams, method, tracker)
    worker.run()
    return worker.E[:k], worker.X[:, :k]


__all__ = ["lobpcg"]
