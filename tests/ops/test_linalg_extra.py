"""torch.linalg's inverses, solves, decompositions, norms and matrix functions, and the old
top-level names (torch.det, torch.svd...), compared with PyTorch (values, gradients, second
derivatives) plus NumPy and finite-difference checks that need no torch.

Sign-ambiguous factors (eigenvectors, singular vectors) are compared through gauge-invariant
functions of them (``V * V``, ``U @ Vh``), as PyTorch's own tests do.
"""
import math

import numpy as np
import pytest

import brickwork
from helpers import check_error, check_op, host, rand_array, to_brick

# PyTorch's deprecated names (torch.qr, torch.lu_solve...) warn; brickwork's do not.
pytestmark = pytest.mark.filterwarnings("ignore:torch.*deprecated")

F64 = "float64"
A33 = rand_array((2, 3, 3), F64)
A43 = rand_array((4, 3), F64)
A34 = rand_array((3, 4), F64, seed=2)


def spd(lib, X):
    """A symmetric positive-definite matrix built from X (differentiably)."""
    n = X.shape[-1]
    return X @ X.mT + n * lib.eye(n, dtype=X.dtype)


def shift(lib, A, k=3.0):
    return A + k * lib.eye(A.shape[-1], dtype=A.dtype)


def _svd_parts(r):
    return r[1], r[0] @ r[2], r[0] * r[0]


CASES = {
    # inverses and solves
    "inv": (lambda lib, A: lib.linalg.inv(A), [A33]),
    "inv_f32": (lambda lib, A: lib.linalg.inv(A), [rand_array((3, 3))]),
    "inv_ex": (lambda lib, A: tuple(lib.linalg.inv_ex(A)), [A33]),
    "inverse": (lambda lib, A: (lib.inverse(A), A.inverse()), [A33]),
    "solve": (lambda lib, A, B: lib.linalg.solve(A, B), [A33, rand_array((3, 2), F64, seed=3)]),
    "solve_vec": (lambda lib, A, B: lib.linalg.solve(A, B), [A33, rand_array((2, 3), F64, seed=3)]),
    "solve_1d": (lambda lib, A, B: lib.linalg.solve(A, B), [A33, rand_array((3,), F64, seed=3)]),
    "solve_right": (lambda lib, A, B: lib.linalg.solve(A, B, left=False),
                    [A33[0], rand_array((2, 3), F64, seed=3)]),
    "solve_ex": (lambda lib, A, B: tuple(lib.linalg.solve_ex(A, B)),
                 [A33, rand_array((3, 2), F64, seed=3)]),
    # determinants
    "det": (lambda lib, A: (lib.linalg.det(A), lib.det(A), A.det()), [A33]),
    "det_f32": (lambda lib, A: lib.linalg.det(A), [rand_array((3, 3))]),
    "slogdet": (lambda lib, A: tuple(lib.linalg.slogdet(A)) + tuple(A.slogdet()), [A33]),
    "logdet": (lambda lib, X: (lib.logdet(spd(lib, X)), X.logdet()), [A33]),
    # Cholesky and triangular solves
    "cholesky": (lambda lib, X: lib.linalg.cholesky(spd(lib, X)), [A33]),
    "cholesky_upper": (lambda lib, X: lib.linalg.cholesky(spd(lib, X), upper=True), [A33]),
    "cholesky_ex": (lambda lib, X: tuple(lib.linalg.cholesky_ex(spd(lib, X))), [A33]),
    "cholesky_old": (lambda lib, X: (lib.cholesky(spd(lib, X), True), spd(lib, X).cholesky()),
                     [A33]),
    "cholesky_solve": (lambda lib, B, X: lib.cholesky_solve(B, lib.linalg.cholesky(spd(lib, X))),
                       [rand_array((3, 2), F64), A33]),
    "cholesky_solve_upper": (lambda lib, B, X: B.cholesky_solve(
        lib.linalg.cholesky(spd(lib, X), upper=True), True), [rand_array((3, 2), F64), A33]),
    "cholesky_inverse": (lambda lib, X: lib.cholesky_inverse(lib.linalg.cholesky(spd(lib, X))),
                         [A33]),
    "solve_triangular": (lambda lib, A, B: lib.linalg.solve_triangular(shift(lib, A), B,
                                                                      upper=True),
                         [A33[0], rand_array((2, 3, 2), F64, seed=4)]),
    "solve_triangular_right_unit": (lambda lib, A, B: lib.linalg.solve_triangular(
        A, B, upper=False, left=False, unitriangular=True), [A33, rand_array((2, 3), F64)]),
    "triangular_solve": (lambda lib, b, A: tuple(lib.triangular_solve(b, shift(lib, A),
                                                                      transpose=True)),
                         [rand_array((3, 2), F64), A33[0]]),
    # decompositions
    "eigh": (lambda lib, X: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(
        lib.linalg.eigh(X + X.mT)), [A33]),
    "eigh_upper": (lambda lib, X: (lambda r: (r[0], r[1] @ r[1].mT))(
        lib.linalg.eigh(X, UPLO="U")), [A33]),
    "eigvalsh": (lambda lib, X: lib.linalg.eigvalsh(X + X.mT), [A33]),
    "svd_tall": (lambda lib, X: _svd_parts(lib.linalg.svd(X, full_matrices=False)), [A43]),
    "svd_wide": (lambda lib, X: _svd_parts(lib.linalg.svd(X, full_matrices=False)), [A34]),
    "svd_batch": (lambda lib, X: _svd_parts(lib.linalg.svd(X, full_matrices=False)), [A33]),
    "svd_full": (lambda lib, X: (lambda r: (r.S, r.U[..., :3] @ r.Vh[..., :3, :],
                                            r.U.shape, r.Vh.shape))(lib.linalg.svd(X)), [A43]),
    "svdvals": (lambda lib, X: lib.linalg.svdvals(X), [A43]),
    "svd_old": (lambda lib, X: (lambda r: (r.S, r.U @ r.V.mT))(lib.svd(X)), [A43]),
    "svd_old_method": (lambda lib, X: (lambda r: (r[1], r[0][:, :3] @ r[2][:, :3].mT,
                                                  r[2].shape))(X.svd(some=False)), [A34]),
    "svd_old_no_uv": (lambda lib, X: tuple(lib.svd(X, compute_uv=False)), [A43]),
    "qr": (lambda lib, X: tuple(lib.linalg.qr(X)), [A43]),
    "qr_wide": (lambda lib, X: tuple(lib.linalg.qr(X)), [A34]),
    "qr_complete": (lambda lib, X: tuple(lib.linalg.qr(X, mode="complete")), [A34]),
    "qr_r": (lambda lib, X: lib.linalg.qr(X.detach(), mode="r")[1], [A43]),
    "qr_old": (lambda lib, X: tuple(X.qr()), [A33]),
    # norms, rank, pseudo-inverse
    "matrix_norm_fro": (lambda lib, A: lib.linalg.matrix_norm(A), [A33]),
    "matrix_norm_dims": (lambda lib, A: lib.linalg.matrix_norm(A, 1, dim=(0, 2), keepdim=True),
                         [A33]),
    "norm_default": (lambda lib, A: lib.linalg.norm(A), [A33]),
    "norm_2d_ord": (lambda lib, A: lib.linalg.norm(A, "nuc"), [A43]),
    "norm_dim": (lambda lib, A: lib.linalg.norm(A, 3, dim=1), [A33]),
    "norm_dims": (lambda lib, A: lib.linalg.norm(A, -2, dim=(1, 2)), [A33]),
    "vector_norm": (lambda lib, A: lib.linalg.vector_norm(A, 1), [A33]),
    "pinv": (lambda lib, A: lib.linalg.pinv(A), [A43]),
    "pinv_hermitian": (lambda lib, A: lib.linalg.pinv(A + A.mT, hermitian=True), [A33]),
    "pinverse": (lambda lib, A: (lib.pinverse(A), A.pinverse()), [A34]),
    "matrix_rank": (lambda lib, A: lib.linalg.matrix_rank(A), [A33]),
    "matrix_rank_low": (lambda lib, A: lib.linalg.matrix_rank(A @ A.mT), [A34.T.copy()]),
    "matrix_rank_tol": (lambda lib, A: lib.linalg.matrix_rank(A, atol=1.0, rtol=0.1), [A33]),
    "cond": (lambda lib, A: (lib.linalg.cond(A), lib.linalg.cond(A, -2)), [A33]),
    # matrix functions and products
    "matrix_power_0": (lambda lib, A: lib.linalg.matrix_power(A, 0), [A33]),
    "matrix_power_3": (lambda lib, A: (lib.linalg.matrix_power(A, 3), A.matrix_power(2)), [A33]),
    "matrix_power_neg": (lambda lib, A: lib.matrix_power(A, -2), [A33]),
    "matrix_exp": (lambda lib, A: (lib.linalg.matrix_exp(A), A.matrix_exp()), [A33]),
    "matrix_exp_large": (lambda lib, A: lib.matrix_exp(4 * A), [A33]),
    "matrix_exp_f32": (lambda lib, A: lib.linalg.matrix_exp(A), [rand_array((3, 3))]),
    "multi_dot": (lambda lib, a, B, C, d: lib.linalg.multi_dot([a, B, C, d]),
                  [rand_array((3,)), rand_array((3, 4)), rand_array((4, 2)), rand_array((2,))]),
    "multi_dot_mats": (lambda lib, A, B: lib.linalg.multi_dot((A, B, A)),
                       [rand_array((3, 3)), rand_array((3, 3), seed=4)]),
    "cross": (lambda lib, a, b: lib.linalg.cross(a, b), [rand_array((2, 3)), rand_array((1, 3))]),
    "cross_dim": (lambda lib, a, b: lib.linalg.cross(a, b, dim=0),
                  [rand_array((3, 2)), rand_array((3, 2), seed=5)]),
    "vecdot": (lambda lib, a, b: lib.linalg.vecdot(a, b, dim=0),
               [rand_array((3, 2)), rand_array((3, 2), seed=5)]),
    "vander": (lambda lib, x: lib.linalg.vander(x), [rand_array((2, 3))]),
    "vander_n": (lambda lib, x: lib.linalg.vander(x, N=5), [rand_array((3,))]),
    "vander_int": (lambda lib, x: lib.linalg.vander(x), [np.array([1, 2, 3])]),
    "diagonal": (lambda lib, A: lib.linalg.diagonal(A, offset=1), [rand_array((2, 3, 4))]),
    "matmul": (lambda lib, A, B: lib.linalg.matmul(A, B), [rand_array((2, 3)), rand_array((3,))]),
    "tensorinv": (lambda lib, A: lib.linalg.tensorinv(A, ind=2), [rand_array((2, 3, 6), F64)]),
    "tensorsolve": (lambda lib, A, B: lib.linalg.tensorsolve(A, B),
                    [rand_array((2, 3, 6), F64), rand_array((2, 3), F64)]),
    "tensorsolve_dims": (lambda lib, A, B: lib.linalg.tensorsolve(A, B, dims=(0,)),
                         [rand_array((6, 2, 3), F64), rand_array((2, 3), F64)]),
    "householder_product": (lambda lib, A, tau: lib.linalg.householder_product(A, tau),
                            [A43, rand_array((2,), F64, seed=9)]),
    # least squares and LU
    "lstsq": (lambda lib, A, B: tuple(lib.linalg.lstsq(A, B)), [A43, rand_array((4, 2), F64)]),
    "lstsq_gelsd": (lambda lib, A, B: tuple(lib.linalg.lstsq(A, B, driver="gelsd")),
                    [A43, rand_array((4, 2), F64)]),
    "lstsq_gels_vec": (lambda lib, A, B: tuple(lib.linalg.lstsq(A, B, driver="gels")),
                       [A43, rand_array((4,), F64)]),
    "lu_factor": (lambda lib, A: tuple(lib.linalg.lu_factor(A)), [A33]),
    "lu_factor_ex": (lambda lib, A: tuple(lib.linalg.lu_factor_ex(A)), [A33]),
    "lu": (lambda lib, A: tuple(lib.linalg.lu(A)), [A33]),
    "lu_tall": (lambda lib, A: tuple(lib.linalg.lu(A)), [A43]),
    "lu_factor_wide": (lambda lib, A: tuple(lib.linalg.lu_factor(A)), [A34]),
    "lu_solve": (lambda lib, A, B: lib.linalg.lu_solve(*lib.linalg.lu_factor(A), B),
                 [A33, rand_array((3, 2), F64)]),
    "lu_solve_adjoint": (lambda lib, A, B: lib.linalg.lu_solve(*lib.linalg.lu_factor(A), B,
                                                               adjoint=True),
                         [A33, rand_array((3, 2), F64)]),
    "lu_solve_right": (lambda lib, A, B: lib.linalg.lu_solve(*lib.linalg.lu_factor(A), B,
                                                             left=False),
                       [A33, rand_array((2, 3), F64)]),
    "lu_solve_old": (lambda lib, A, B: B.lu_solve(*lib.linalg.lu_factor(A)),
                     [A33, rand_array((3, 2), F64)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    fn, inputs = CASES[name]
    check_op(fn, inputs)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
def test_matrix_norm_orders(ord):
    check_op(lambda lib, A: lib.linalg.matrix_norm(A, ord), [A33])


def test_shapes_without_grad():
    # PyTorch defines no gradient for these (a complete QR of a tall matrix; cond's 1-norm
    # fails in PyTorch's own backward): values only.
    check_op(lambda lib, A: tuple(lib.linalg.qr(A, mode="complete")), [A43], grad=[False])
    check_op(lambda lib, A: lib.linalg.cond(A, 1), [A33], grad=[False])
    check_op(lambda lib, A: lib.linalg.inv(A), [np.zeros((0, 0))], grad=[False])


SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
ERRORS = {
    "inv_singular": (lambda lib, A: lib.linalg.inv(A), [SINGULAR]),
    "inv_singular_batch": (lambda lib, A: lib.linalg.inv(A), [np.stack([np.eye(2), SINGULAR])]),
    "inv_ex_check": (lambda lib, A: lib.linalg.inv_ex(A, check_errors=True), [SINGULAR]),
    "solve_singular": (lambda lib, A: lib.linalg.solve(A, A), [SINGULAR]),
    "cholesky_not_pd": (lambda lib, A: lib.linalg.cholesky(A), [-np.eye(3)]),
    "cholesky_minor_2": (lambda lib, A: lib.linalg.cholesky(A), [np.diag([1.0, -1.0, 1.0])]),
    "cholesky_batch": (lambda lib, A: lib.linalg.cholesky(A),
                       [np.stack([np.eye(2), np.diag([2.0, -1.0])])]),
    "lu_factor_singular": (lambda lib, A: lib.linalg.lu_factor(A), [SINGULAR]),
    "inv_int": (lambda lib, A: lib.linalg.inv(A), [np.eye(2, dtype=np.int64)]),
    "inv_half": (lambda lib, A: lib.linalg.inv(A), [np.eye(2, dtype=np.float16)]),
    "solve_singular_batch": (lambda lib, A, B: lib.linalg.solve(A, B),
                             [np.stack([np.eye(2), SINGULAR]), np.ones((2, 2, 1))]),
    "solve_ex_check": (lambda lib, A: lib.linalg.solve_ex(A, A, check_errors=True), [SINGULAR]),
    "cholesky_ex_check": (lambda lib, A: lib.linalg.cholesky_ex(A, check_errors=True),
                          [-np.eye(2)]),
    "lu_factor_singular_batch": (lambda lib, A: lib.linalg.lu_factor(A),
                                 [np.stack([np.eye(2), SINGULAR])]),
    "lu_factor_ex_check": (lambda lib, A: lib.linalg.lu_factor_ex(A, check_errors=True),
                           [SINGULAR]),
    "inv_not_square": (lambda lib, A: lib.linalg.inv(A), [np.ones((2, 3))]),
    "inv_1d": (lambda lib, A: lib.linalg.inv(A), [np.ones(3)]),
    "solve_dtypes": (lambda lib, A, B: lib.linalg.solve(A, B),
                     [np.eye(3, dtype=np.float32), np.ones(3)]),
    "solve_shapes": (lambda lib, A, B: lib.linalg.solve(A, B), [np.eye(3), np.ones((4, 1))]),
    "eigh_uplo": (lambda lib, A: lib.linalg.eigh(A, UPLO="X"), [np.eye(2)]),
    "qr_mode": (lambda lib, A: lib.linalg.qr(A, mode="full"), [np.eye(2)]),
    "multi_dot_one": (lambda lib, A: lib.linalg.multi_dot([A]), [np.eye(2)]),
    "norm_3d_ord": (lambda lib, A: lib.linalg.norm(A, 1), [np.ones((2, 2, 2))]),
    "svd_driver_cpu": (lambda lib, A: lib.linalg.svd(A, driver="gesvd"), [np.eye(2)]),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    fn, inputs = ERRORS[name]
    check_error(fn, inputs)


def test_det_gradient_of_singular_matrix():
    # det(A) A^{-T} is undefined there; the gradient is still the cofactor matrix. Compared
    # with the cofactors from NumPy minors, not with PyTorch: its singular route gave them on
    # one machine and all zeros on another (AMD EPYC, 2026-12).
    a = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
    A = to_brick(a).requires_grad_()
    brickwork.linalg.det(A).backward()
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                     for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(host(A.grad), cof, atol=1e-12)


def test_linalg_error_is_runtime_error():
    with pytest.raises(RuntimeError):
        brickwork.linalg.inv(brickwork.tensor(SINGULAR))
    assert issubclass(brickwork.linalg.LinAlgError, RuntimeError)
    info = brickwork.linalg.inv_ex(brickwork.tensor(np.stack([np.eye(2), SINGULAR]))).info
    assert info.tolist() == [0, 2]


def test_eig_gives_complex_results():
    # Complex dtypes exist now: eig/eigvals work (tested in tests/ops/test_complex_linalg.py).
    L, V = brickwork.linalg.eig(brickwork.eye(2))
    assert L.dtype is brickwork.complex64 and V.dtype is brickwork.complex64
    assert brickwork.linalg.eigvals(brickwork.eye(2)).tolist() == [1 + 0j, 1 + 0j]


# -- checks that need no torch ---------------------------------------------------------------------
def test_values_match_numpy():
    A = brickwork.tensor(A33)
    np.testing.assert_allclose(brickwork.linalg.inv(A).numpy(), np.linalg.inv(A33), rtol=1e-10)
    np.testing.assert_allclose(brickwork.det(A).numpy(), np.linalg.det(A33), rtol=1e-10)
    P, L, U = brickwork.linalg.lu(A)
    np.testing.assert_allclose((P @ L @ U).numpy(), A33, atol=1e-12)
    # exp of a diagonal matrix and of a nilpotent one have closed forms.
    d = np.diag([0.5, -2.0, 3.0])
    np.testing.assert_allclose(brickwork.linalg.matrix_exp(brickwork.tensor(d)).numpy(),
                               np.diag(np.exp([0.5, -2.0, 3.0])), rtol=1e-13)
    n = np.array([[0.0, 7.0], [0.0, 0.0]])
    np.testing.assert_allclose(brickwork.linalg.matrix_exp(brickwork.tensor(n)).numpy(),
                               np.eye(2) + n, atol=1e-14)


@pytest.mark.parametrize("op", ["det", "inv", "cholesky", "eigh", "svd", "qr", "solve_triangular"])
def test_gradcheck_finite_differences(op):
    fns = {
        "det": lambda X: brickwork.linalg.det(X),
        "inv": lambda X: brickwork.linalg.inv(X),
        "cholesky": lambda X: brickwork.linalg.cholesky(spd(brickwork, X)),
        "eigh": lambda X: (lambda r: (r[0], r[1] ** 2))(brickwork.linalg.eigh(X + X.mT)),
        "svd": lambda X: _svd_parts(brickwork.linalg.svd(X, full_matrices=False)),
        "qr": lambda X: tuple(brickwork.linalg.qr(X)),
        "solve_triangular": lambda X: brickwork.linalg.solve_triangular(
            shift(brickwork, X), X, upper=True),
    }
    X = brickwork.tensor(rand_array((3, 3), F64, seed=11), requires_grad=True)
    assert brickwork.autograd.gradcheck(fns[op], (X,))
    assert brickwork.autograd.gradgradcheck(fns[op], (X,))


# -- F.linear's graph reads as PyTorch's -----------------------------------------------------------
def _graph(fn, depth=3):
    """Node names of ``fn``'s graph, PyTorch's ``next_functions`` order, down to ``depth``."""
    if fn is None:
        return None
    if depth == 0:
        return type(fn).__name__
    # Edges without a node are left out: brickwork's reshape nodes also list their (constant)
    # shape argument, a trailing None that PyTorch's do not have.
    return (type(fn).__name__, [_graph(f, depth - 1) for f, _ in fn.next_functions
                                if f is not None])


@pytest.mark.parametrize("shape", [(2, 3), (5, 2, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_graph_matches_torch(shape, bias):
    from helpers import check_behaviour

    def fn(lib):
        lib.manual_seed(0)
        w = lib.randn(4, 3, requires_grad=True)
        b = lib.randn(4, requires_grad=True) if bias else None
        x = lib.randn(*shape, requires_grad=True)
        out = lib.nn.functional.linear(x, w, b)
        out.backward(lib.ones_like(out))
        return _graph(out.grad_fn), out.shape, x.grad.shape, w.grad.shape

    check_behaviour(fn)
    check_op(lambda lib, *a: lib.nn.functional.linear(*a),
             [rand_array(shape), rand_array((4, 3), seed=3)] +
             ([rand_array((4,), seed=4)] if bias else []))
