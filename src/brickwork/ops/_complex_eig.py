"""``linalg.eig`` and ``linalg.eigvals``: the eigen-decomposition of a general square matrix.

Its results are complex even for a real matrix, so it needed complex dtypes. The forward is
LAPACK's ``geev`` through NumPy (as PyTorch's CPU version): eigenvectors of unit norm, in
LAPACK's order. CuPy has no general eigensolver, so a GPU matrix is decomposed on the host and
the results go back to its GPU. The backward is PyTorch's ``linalg_eig_backward``
(``FunctionsManual.cpp``), with its refusal of losses that depend on the eigenvectors' phase.
"""
from __future__ import annotations

import numpy as np

from ..autograd._lifted import Lifted
from ..autograd.function import Function
from ..tensor import Tensor
from ._complex_grad import real_part
from ._linalg_checks import check_float, check_square, host, named_tuple
from ._linalg_core import _PHASE_EIG, _check_phase, _lifted, _replay, diag_embed, eye_like, mH
from ._linalg_core import solve_arr
from ._util import xp_of

linalg_eig = named_tuple("linalg_eig", ("eigenvalues", "eigenvectors"))

_COMPLEX_OF = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128,
               np.dtype(np.complex64): np.complex64, np.dtype(np.complex128): np.complex128}


def _eig_arrays(A):
    """``(L, V)`` of a batch of square matrices, complex, on ``A``'s device."""
    cdt = _COMPLEX_OF[A.dtype]
    xp = xp_of(A)
    if A.shape[-1] == 0:
        return xp.zeros(A.shape[:-1], cdt), xp.zeros(A.shape, cdt)
    a = host(A)
    if not np.isfinite(a).all():  # LAPACK's geev does not return on inf/nan input
        raise RuntimeError("brickwork.linalg.eig: input tensor should not contain infs or NaNs.")
    L, V = np.linalg.eig(a)
    # NumPy returns real arrays when every eigenvalue of a real matrix is real.
    L, V = L.astype(cdt, copy=False), V.astype(cdt, copy=False)
    if xp is not np:
        L, V = xp.asarray(L), xp.asarray(V)
    return L, V


class Eig(Function):
    """``A V = V diag(L)``; PyTorch's ``linalg_eig_backward`` (non-Hermitian case)."""

    _array_level = True
    _backward_name = "LinalgEigBackward0"

    @staticmethod
    def forward(ctx, A):
        if _lifted(A):
            L, V = _replay(Eig.apply, A)
        else:
            L, V = _eig_arrays(A)
        if ctx.needs_input_grad[0]:
            ctx.L, ctx.V, ctx.real_input = L, V, A.dtype.kind != "c"
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.L, ctx.V
        Vh = mH(V)
        VhgV = Vh @ gV
        _check_phase(VhgV, _PHASE_EIG.format("linalg_eig_backward"))
        # Project onto the tangent space of matrices with unit-norm columns.
        VhgV = VhgV - Vh @ (V * real_part(VhgV.diagonal(0, -2, -1))[..., None, :])
        # E*[i, j] = conj(L[j] - L[i]), ones on the diagonal, which gL then replaces.
        Lc = _conj(L)
        n = L.shape[-1]
        eye = eye_like(L, n)
        E = Lc[..., None, :] - Lc[..., :, None] + eye
        gA = VhgV / E
        gA = gA - diag_embed(gA.diagonal(0, -2, -1)) + diag_embed(gL)
        gA = solve_arr(Vh, gA @ Vh)
        if ctx.real_input:  # a real matrix gets the real part (PyTorch's handle_r_to_c)
            gA = real_part(gA)
        return gA


def _conj(x):
    if x.__class__ is Lifted:
        from .complex_ops import conj_physical

        return Lifted(conj_physical(x.t))
    return x.conj()


def eig(A: Tensor):
    """Eigenvalues and eigenvectors of a general square matrix, complex (``cfloat`` for
    float32 input, ``cdouble`` for float64). See: torch.linalg.eig.

    Example:
        >>> L, V = brickwork.linalg.eig(brickwork.tensor([[0., -1.], [1., 0.]]))
        >>> L
        tensor([0.+1.j, 0.-1.j])
    """
    _square(A, "linalg.eig")
    return linalg_eig(Eig.apply(A))


def eigvals(A: Tensor) -> Tensor:
    """Eigenvalues of a general square matrix, complex. See: torch.linalg.eigvals."""
    _square(A, "linalg.eigvals")
    return Eig.apply(A)[0]


def _square(A: Tensor, fn: str) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(A).__name__}")
    check_square(A, fn)
    check_float(A, fn)
