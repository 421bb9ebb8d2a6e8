"""Complex linear algebra against PyTorch: values and (phase-invariant) gradients, including
``linalg.eig``/``eigvals`` (complex results even for real matrices)."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from tests.helpers import check_behaviour, check_op, rand_array

C = rand_array((3, 3), "complex128", seed=11) + 3 * np.eye(3)
CB = rand_array((2, 3, 3), "complex64", seed=12) + 3 * np.eye(3, dtype=np.complex64)
R = rand_array((3, 3), "float64", seed=13)
RHS = rand_array((3, 2), "complex128", seed=14)
TALL = rand_array((4, 3), "complex128", seed=15)
WIDE = rand_array((3, 4), "complex128", seed=16)


def _herm(lib, a):
    return a + a.mH


def _hpd(lib, a):
    return a @ a.mH + lib.eye(a.shape[-1], dtype=a.dtype)


CASES = {
    "inv": (lambda lib, a: lib.linalg.inv(a), [C]),
    "inv_batch": (lambda lib, a: lib.linalg.inv(a), [CB]),
    "solve": (lambda lib, a, b: lib.linalg.solve(a, b), [C, RHS]),
    "det": (lambda lib, a: lib.linalg.det(a), [C]),
    "det_batch": (lambda lib, a: lib.linalg.det(a), [CB]),
    "slogdet": (lambda lib, a: lib.linalg.slogdet(a), [C]),
    "cholesky": (lambda lib, a: lib.linalg.cholesky(_hpd(lib, a)), [C]),
    "cholesky_upper": (lambda lib, a: lib.linalg.cholesky(_hpd(lib, a), upper=True), [C]),
    "solve_triangular": (lambda lib, a, b: lib.linalg.solve_triangular(
        lib.triu(a), b, upper=True), [C, RHS]),
    "eigvalsh": (lambda lib, a: lib.linalg.eigvalsh(_herm(lib, a)), [C]),
    # Phase-invariant functions of the eigenvectors: |V|^2 and the projectors V V^H.
    "eigh": (lambda lib, a: _phase_free(lib, *lib.linalg.eigh(_herm(lib, a))), [C]),
    "svdvals": (lambda lib, a: lib.linalg.svdvals(a), [TALL]),
    "svd_tall": (lambda lib, a: _svd_free(lib, a, False), [TALL]),
    "svd_wide": (lambda lib, a: _svd_free(lib, a, False), [WIDE]),
    "qr": (lambda lib, a: lib.linalg.qr(a), [TALL]),
    "qr_wide": (lambda lib, a: lib.linalg.qr(a), [WIDE]),
    "matrix_norm_fro": (lambda lib, a: lib.linalg.matrix_norm(a), [C]),
    "vector_norm": (lambda lib, a: lib.linalg.vector_norm(a, 3), [C]),
    "vector_norm_inf": (lambda lib, a: lib.linalg.vector_norm(a, float("inf"), dim=1), [C]),
    "norm": (lambda lib, a: lib.linalg.norm(a), [C]),
    "eigvals": (lambda lib, a: lib.linalg.eigvals(a), [C]),
    "eigvals_real": (lambda lib, a: lib.linalg.eigvals(a), [R]),
    "eig": (lambda lib, a: _phase_free(lib, *lib.linalg.eig(a)), [C]),
    "eig_real": (lambda lib, a: _phase_free(lib, *lib.linalg.eig(a)), [R]),
    "pinv": (lambda lib, a: lib.linalg.pinv(a), [TALL]),
    "pinv_hermitian": (lambda lib, a: lib.linalg.pinv(_hpd(lib, a), hermitian=True), [C]),
    "lstsq": (lambda lib, a, b: lib.linalg.lstsq(a, b).solution, [TALL, TALL[:, :2].copy()]),
    "cholesky_solve": (lambda lib, a, b: lib.cholesky_solve(
        b, lib.linalg.cholesky(_hpd(lib, a))), [C, RHS]),
    "cholesky_solve_upper": (lambda lib, a, b: lib.cholesky_solve(
        b, lib.linalg.cholesky(_hpd(lib, a), upper=True), upper=True), [C, RHS]),
    "lu_solve_adjoint": (lambda lib, a, b: lib.linalg.lu_solve(
        *lib.linalg.lu_factor(a), b, adjoint=True), [C, RHS]),
    "lu_solve_adjoint_right": (lambda lib, a, b: lib.linalg.lu_solve(
        *lib.linalg.lu_factor(a), b.mT, adjoint=True, left=False), [C, RHS]),
    "lu": (lambda lib, a: lib.linalg.lu(a), [C]),
    "lu_wide": (lambda lib, a: lib.linalg.lu(a)[1:], [WIDE]),
    "legacy_svd": (lambda lib, a: _svd_legacy_free(lib, a), [TALL]),
    "matrix_exp": (lambda lib, a: lib.linalg.matrix_exp(a * 0.3), [C]),
    "cov": (lambda lib, a: lib.cov(a), [WIDE]),
    "corrcoef": (lambda lib, a: lib.corrcoef(a), [WIDE]),
    "dist": (lambda lib, a, b: lib.dist(a, b), [C, C * 2]),
}


def _svd_legacy_free(lib, a):
    U, S, V = lib.svd(a)
    return S, U @ lib.diag_embed(S.to(U.dtype)) @ V.mH


def _phase_free(lib, L, V):
    return L, V.abs() ** 2, V @ V.mH


def _svd_free(lib, a, full):
    U, S, Vh = lib.linalg.svd(a, full_matrices=full)
    return S, U @ lib.diag_embed(S.to(U.dtype)) @ Vh, (U.abs() ** 2).sum(-1)


@pytest.mark.parametrize("name", list(CASES))
def test_complex_linalg_matches_torch(name):
    fn, inputs = CASES[name]
    second = name not in ("eig", "eig_real", "eigh", "svd_tall", "svd_wide", "legacy_svd",
                          "lu", "lu_wide", "corrcoef")
    check_op(fn, inputs, grad_atol=1e-6 if inputs[0].dtype == np.complex128 else 1e-3,
             grad_rtol=1e-5 if inputs[0].dtype == np.complex128 else 1e-3,
             second_order=second)


def test_eig_values_match_torch_and_dtypes():
    check_behaviour(lambda lib: list(lib.linalg.eig(lib.tensor([[0., -1.], [1., 0.]]))))
    check_behaviour(lambda lib: lib.linalg.eigvals(lib.tensor([[2., 0.], [0., 3.]],
                                                             dtype=lib.float64)))
    check_behaviour(lambda lib: lib.linalg.eigvals(lib.ones(2, 3)))
    check_behaviour(lambda lib: lib.linalg.eigvals(lib.ones(3)))


def test_eig_refuses_phase_dependent_losses_as_torch():
    def fn(lib):
        a = lib.tensor(C, requires_grad=True)
        return lib.linalg.eig(a)[1].real.sum().backward()
    check_behaviour(fn)

    def fn_h(lib):
        a = lib.tensor(C, requires_grad=True)
        return lib.linalg.eigh(a + a.mH)[1].real.sum().backward()
    check_behaviour(fn_h)

    def fn_svd(lib):
        a = lib.tensor(C, requires_grad=True)
        return lib.linalg.svd(a)[0].real.sum().backward()
    check_behaviour(fn_svd)


def test_torch_eig_is_removed_as_in_torch():
    check_behaviour(lambda lib: lib.eig(lib.eye(2)))


def test_eig_reconstructs_without_torch():
    a = brickwork.tensor(R)
    L, V = brickwork.linalg.eig(a)
    assert L.dtype is brickwork.complex128 and V.dtype is brickwork.complex128
    rebuilt = V @ brickwork.diag_embed(L) @ brickwork.linalg.inv(V)
    np.testing.assert_allclose(rebuilt.numpy(), R, atol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(V.numpy(), axis=0), 1.0, atol=1e-12)


def test_eigvals_gradient_by_finite_differences():
    # d/dA of sum(Re(L) + 2 Im(L)), no torch: central differences on each entry of A.
    a0 = R.copy()

    def loss(arr):
        L = np.linalg.eigvals(arr)
        return float((L.real + 2 * L.imag).sum())

    a = brickwork.tensor(a0, requires_grad=True)
    L = brickwork.linalg.eigvals(a)
    (L.real + 2 * L.imag).sum().backward()
    num = np.zeros_like(a0)
    eps = 1e-6
    for idx in np.ndindex(a0.shape):
        up, dn = a0.copy(), a0.copy()
        up[idx] += eps
        dn[idx] -= eps
        num[idx] = (loss(up) - loss(dn)) / (2 * eps)
    np.testing.assert_allclose(a.grad.numpy(), num, atol=1e-6)
