"""The older linear-algebra names (torch.lu, lu_unpack, geqrf/orgqr/ormqr, svd_lowrank,
pca_lowrank, the removed torch.solve/lstsq/symeig/eig/matrix_rank) and linalg.ldl_factor /
ldl_solve, compared with PyTorch, plus NumPy checks that need no torch."""
import warnings

import numpy as np
import pytest

import brickwork
from helpers import check_error, check_op, rand_array, requires_torch

pytestmark = pytest.mark.filterwarnings("ignore:torch.lu is deprecated")

F64 = "float64"
A44 = rand_array((4, 4), F64)
B44 = rand_array((2, 4, 4), F64, seed=3)
A43 = rand_array((4, 3), F64, seed=5)


def _lu_parts(lib, A):
    LU, piv = lib.lu(A)
    P, L, U = lib.lu_unpack(LU, piv)
    return P, L, U


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (4, 3), (3, 5)])
def test_lu_and_lu_unpack(shape):
    check_op(_lu_parts, [rand_array(shape, F64, seed=len(shape))])


def test_lu_get_infos_and_unpack_flags():
    check_op(lambda lib, A: tuple(lib.lu(A, get_infos=True)), [A44], grad=[False])
    check_op(lambda lib, A: tuple(lib.lu_unpack(*lib.lu(A), unpack_data=False)), [A44],
             grad=[False])
    check_op(lambda lib, A: tuple(lib.lu_unpack(*lib.lu(A), unpack_pivots=False)), [A44])
    check_op(lambda lib, A: tuple(A.lu()), [A44])


def test_lu_warns_like_torch():
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        brickwork.lu(brickwork.eye(2))


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 5, 3)])
def test_geqrf_orgqr(shape):
    A = rand_array(shape, F64, seed=7)
    check_op(lambda lib, A: tuple(lib.geqrf(A)), [A], grad=[False])
    check_op(lambda lib, A: A.geqrf()[0].orgqr(A.geqrf()[1]), [A], grad=[False])
    check_op(lambda lib, a, t: lib.orgqr(a, t), [A, rand_array(shape[:-2] + (2,), F64)])


def test_geqrf_has_no_derivative():
    check_error(lambda lib, A: lib.geqrf(A.requires_grad_())[0].sum().backward(), [A44])


@pytest.mark.parametrize("left,transpose", [(True, False), (True, True), (False, False),
                                            (False, True)])
def test_ormqr(left, transpose):
    C = rand_array((4, 2) if left else (2, 4), F64, seed=9)

    def fn(lib, a, tau, C):
        return lib.ormqr(a, tau, C, left, transpose)

    a, tau = np.linalg.qr(A43, mode="raw")
    check_op(fn, [a.T.copy(), tau, C])


def test_ormqr_matches_numpy_q():
    a, tau = brickwork.geqrf(brickwork.tensor(A44))
    C = brickwork.tensor(rand_array((4, 3), F64, seed=1))
    Q = np.linalg.qr(A44, mode="complete")[0]
    # Householder QR fixes Q's signs, so Q equals NumPy's Q column for column up to sign.
    got = brickwork.ormqr(a, tau, brickwork.eye(4, dtype=brickwork.float64)).numpy()
    np.testing.assert_allclose(np.abs(got), np.abs(Q), atol=1e-12)
    np.testing.assert_allclose(brickwork.ormqr(a, tau, C).numpy(), got @ C.numpy(), atol=1e-12)


@pytest.mark.parametrize("q,center", [(2, True), (3, False)])
def test_lowrank_on_exactly_low_rank_matrices(q, center):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 2)) @ rng.standard_normal((2, 5))
    brickwork.manual_seed(0)
    if center:
        U, S, V = brickwork.pca_lowrank(brickwork.tensor(X), q=q)
        Xc = X - X.mean(0)
    else:
        U, S, V = brickwork.svd_lowrank(brickwork.tensor(X), q=q)
        Xc = X
    want = np.linalg.svd(Xc, compute_uv=False)[:q]
    np.testing.assert_allclose(S.numpy()[:2], want[:2], rtol=1e-10)
    np.testing.assert_allclose(((U * S) @ V.mT).numpy(), Xc, atol=1e-10)


@requires_torch
def test_lowrank_matches_torch_singular_values():
    import torch

    X = rand_array((6, 3), F64) @ rand_array((3, 8), F64, seed=2)  # rank 3, wide
    for lib in (brickwork, torch):
        lib.manual_seed(0)
    b = brickwork.svd_lowrank(brickwork.tensor(X), q=4)[1].numpy()
    t = torch.svd_lowrank(torch.tensor(X), q=4)[1].numpy()
    np.testing.assert_allclose(b[:3], t[:3], rtol=1e-9)


def test_lowrank_is_differentiable():
    def singular_values(X):
        brickwork.manual_seed(0)  # the same random basis on every evaluation
        return brickwork.pca_lowrank(X, q=3)[1]

    X = brickwork.tensor(rand_array((6, 3), F64), requires_grad=True)
    assert brickwork.autograd.gradcheck(singular_values, (X,))


@pytest.mark.parametrize("name", ["solve", "lstsq"])
def test_removed_binary_functions_raise_like_torch(name):
    check_error(lambda lib, A, B: getattr(lib, name)(A, B), [A44, A44])
    check_error(lambda lib, A, B: getattr(A, name)(B), [A44, A44])


@pytest.mark.parametrize("name", ["symeig", "eig", "matrix_rank"])
def test_removed_unary_functions_raise_like_torch(name):
    check_error(lambda lib, A: getattr(lib, name)(A), [A44])
    if name != "matrix_rank":
        check_error(lambda lib, A: getattr(A, name)(), [A44])


def test_pca_lowrank_rejects_bad_q():
    check_error(lambda lib, A: lib.pca_lowrank(A, q=9), [A44])


# -- LDL^T ----------------------------------------------------------------------------------------
def _ldl_inputs():
    rng = np.random.default_rng(0)
    out = []
    for n in (1, 2, 3, 5, 8):
        for trial in range(6):
            a = rng.standard_normal((n, n))
            if trial % 3 == 0:
                a[np.diag_indices(n)] = 0  # forces 2x2 pivots and interchanges
            out.append(a)
    out.append(np.array([[0.0, 1, 2], [1, 0, 3], [2, 3, 1]]))
    out.append(np.array([[4.0, 100], [1, 3]]))  # the upper triangle is never read
    return out


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ldl_factor_equals_lapack(dtype):
    import torch

    for a in _ldl_inputs():
        a = a.astype(dtype)
        t = torch.linalg.ldl_factor_ex(torch.tensor(a))
        b = brickwork.linalg.ldl_factor_ex(brickwork.tensor(a))
        np.testing.assert_array_equal(b.pivots.numpy(), t.pivots.numpy())
        assert int(b.info) == int(t.info) and b.pivots.dtype is brickwork.int32
        tol = 1e-4 if dtype == "float32" else 1e-10
        np.testing.assert_allclose(b.LD.numpy(), t.LD.numpy(), rtol=tol, atol=tol)


@requires_torch
def test_ldl_solve_matches_torch_both_ways():
    import torch

    A = rand_array((3, 5, 5), F64)
    A = A + A.transpose(0, 2, 1)
    B = rand_array((3, 5, 2), F64, seed=4)
    LDt, pt = torch.linalg.ldl_factor(torch.tensor(A))
    LDb, pb = brickwork.linalg.ldl_factor(brickwork.tensor(A))
    xb = brickwork.linalg.ldl_solve(LDb, pb, brickwork.tensor(B)).numpy()
    xt = torch.linalg.ldl_solve(LDt, pt, torch.tensor(B)).numpy()
    np.testing.assert_allclose(xb, xt, rtol=1e-9, atol=1e-12)
    # torch's factors work in brickwork's solve, as the formats are LAPACK's
    xbt = brickwork.linalg.ldl_solve(brickwork.tensor(LDt.numpy()),
                                     brickwork.tensor(pt.numpy()), brickwork.tensor(B))
    np.testing.assert_allclose(xbt.numpy(), xt, rtol=1e-9, atol=1e-12)


def test_ldl_reconstructs_a_without_torch():
    for a in _ldl_inputs():
        sym = np.tril(a) + np.tril(a, -1).T
        LD, piv, info = brickwork.linalg.ldl_factor_ex(brickwork.tensor(a))
        if int(info):
            continue
        B = np.eye(a.shape[0])
        X = brickwork.linalg.ldl_solve(LD, piv, brickwork.tensor(B)).numpy()
        np.testing.assert_allclose(X @ sym, B, atol=1e-8)


def test_ldl_errors_like_torch():
    check_error(lambda lib, A: lib.linalg.ldl_factor(A), [rand_array((2, 3), F64)])
    check_error(lambda lib, A: lib.linalg.ldl_factor(A), [np.zeros((2, 2), np.int64)])
    check_error(lambda lib, A, p, B: lib.linalg.ldl_solve(A, p, B),
                [np.eye(2), np.ones(2, np.int32), np.ones((3, 1))])
    check_error(lambda lib, A, p, B: lib.linalg.ldl_solve(A, p, B),
                [np.eye(2), np.ones(2, np.int32), np.ones(2)])


def test_ldl_singular_reports_info():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LD, piv, info = brickwork.linalg.ldl_factor_ex(brickwork.zeros(2, 2))
    assert int(info) == 1 and piv.tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="singular"):
        brickwork.linalg.ldl_factor_ex(brickwork.zeros(2, 2), check_errors=True)


def test_complex_householder_product_and_ormqr():
    # H_i = I - tau_i v_i v_i^H: the conjugate transpose, not the transpose.
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    tau = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    C = rng.standard_normal((4, 2)) + 1j * rng.standard_normal((4, 2))
    check_op(lambda lib, a, t: lib.linalg.householder_product(a, t), [A, tau[:2]])
    check_op(lambda lib, a, t, c: lib.ormqr(a, t, c, True, True), [A, tau, C])


@pytest.mark.parametrize("left", [True, False])
def test_ormqr_tau_length_checked_like_torch(left):
    C = rand_array((4, 2) if left else (2, 4), F64)
    check_error(lambda lib, a, t, c: lib.ormqr(a, t, c, left), [A43, rand_array((2,), F64), C])
