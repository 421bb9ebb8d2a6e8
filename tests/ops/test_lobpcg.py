"""``lobpcg`` against PyTorch and ``linalg.eigh``: eigenvalues, the eigenvector subspace, the
generalized problem, batches, sparse ``A``, the tracker, PyTorch's errors, and the backward
for dense ``A`` (checked against PyTorch and by finite differences)."""
import numpy as np
import pytest

import brickwork
from helpers import torch


def _spd(m, seed, shift=1.0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, m))
    return M @ M.T + shift * np.eye(m)


def _start(m, n, seed):
    return np.random.default_rng(seed + 1000).standard_normal((m, n))


def _projector(U):
    """The projector onto span(U) (the eigenvector signs and rotations do not matter)."""
    U = np.asarray(U)
    return U @ np.linalg.pinv(U)


def _expected(A, k, largest, B=None):
    if B is None:
        w, V = np.linalg.eigh(A)
    else:  # B^-1/2 A B^-1/2 has the same eigenvalues; its vectors map back by B^-1/2
        lb, Vb = np.linalg.eigh(B)
        Bmh = Vb @ np.diag(lb ** -0.5) @ Vb.T
        w, V = np.linalg.eigh(Bmh @ A @ Bmh)
        V = Bmh @ V
    order = np.argsort(w)[::-1] if largest else np.argsort(w)
    return w[order[:k]], V[:, order[:k]]


CASES = [(m, k, largest, method) for m, k in [(12, 1), (20, 3), (30, 4)]
         for largest in (True, False) for method in ("ortho", "basic")]


@pytest.mark.parametrize("m,k,largest,method", CASES)
def test_eigenpairs_match_eigh_and_torch(m, k, largest, method):
    A, X = _spd(m, seed=m + k), _start(m, k, seed=m)
    E, U = brickwork.lobpcg(brickwork.tensor(A), k=k, X=brickwork.tensor(X.copy()),
                            largest=largest, method=method)
    assert E.shape == (k,) and U.shape == (m, k) and E.dtype == brickwork.float64
    w, V = _expected(A, k, largest)
    np.testing.assert_allclose(E.numpy(), w, rtol=1e-8)
    np.testing.assert_allclose(_projector(U.numpy()), _projector(V), atol=1e-6)
    if torch is not None:
        Et, Ut = torch.lobpcg(torch.tensor(A), k=k, X=torch.tensor(X.copy()), largest=largest,
                              method=method)
        np.testing.assert_allclose(E.numpy(), Et.numpy(), rtol=1e-10)
        np.testing.assert_allclose(_projector(U.numpy()), _projector(Ut.numpy()), atol=1e-7)


@pytest.mark.parametrize("method", ["ortho", "basic"])
@pytest.mark.parametrize("largest", [True, False])
def test_generalized_problem(method, largest):
    m, k = 18, 2
    A, B, X = _spd(m, 1), _spd(m, 2, shift=m), _start(m, k, 3)
    E, U = brickwork.lobpcg(brickwork.tensor(A), k=k, B=brickwork.tensor(B),
                            X=brickwork.tensor(X.copy()), largest=largest, method=method)
    # The basic method is the less robust one: on this problem it returns the top pair twice,
    # in PyTorch too, so for it only the comparison with PyTorch applies.
    if not (method == "basic" and largest):
        w, V = _expected(A, k, largest, B)
        np.testing.assert_allclose(E.numpy(), w, rtol=1e-8)
        np.testing.assert_allclose(_projector(U.numpy()), _projector(V), atol=1e-6)
        # the eigenvectors come B-orthonormal
        np.testing.assert_allclose(U.numpy().T @ B @ U.numpy(), np.eye(k), atol=1e-6)
    if torch is not None:
        Et, _ = torch.lobpcg(torch.tensor(A), k=k, B=torch.tensor(B), X=torch.tensor(X.copy()),
                             largest=largest, method=method)
        np.testing.assert_allclose(E.numpy(), Et.numpy(), rtol=1e-10)


def test_float32_random_start_and_defaults():
    A = _spd(24, 5).astype(np.float32)
    brickwork.manual_seed(0)
    E, U = brickwork.lobpcg(brickwork.tensor(A), k=2, niter=-1)
    assert E.dtype == brickwork.float32 and U.shape == (24, 2)
    w, _ = _expected(A.astype(np.float64), 2, True)
    np.testing.assert_allclose(E.numpy(), w, rtol=1e-4)
    E1, _ = brickwork.lobpcg(brickwork.tensor(A))  # k defaults to 1, largest to True
    np.testing.assert_allclose(E1.numpy(), w[:1], rtol=1e-4)


def test_batched_and_n_larger_than_k():
    As = np.stack([_spd(15, s) for s in range(3)]).reshape(3, 1, 15, 15)
    X = np.stack([_start(15, 3, s) for s in range(3)]).reshape(3, 1, 15, 3)
    E, U = brickwork.lobpcg(brickwork.tensor(As), k=2, X=brickwork.tensor(X), largest=False)
    assert E.shape == (3, 1, 2) and U.shape == (3, 1, 15, 2)
    for i in range(3):
        w, V = _expected(As[i, 0], 2, False)
        np.testing.assert_allclose(E.numpy()[i, 0], w, rtol=1e-8)
        np.testing.assert_allclose(_projector(U.numpy()[i, 0]), _projector(V), atol=1e-6)


def test_preconditioner_and_sparse_input():
    m = 20
    A = _spd(m, 7)
    iK = np.diag(1 / np.diag(A))
    X = _start(m, 2, 7)
    E, _ = brickwork.lobpcg(brickwork.tensor(A), k=2, X=brickwork.tensor(X.copy()),
                            iK=brickwork.tensor(iK))
    w, _ = _expected(A, 2, True)
    np.testing.assert_allclose(E.numpy(), w, rtol=1e-8)
    As = brickwork.tensor(A).to_sparse()
    Es, _ = brickwork.lobpcg(As, k=2, X=brickwork.tensor(X.copy()))
    np.testing.assert_allclose(Es.numpy(), w, rtol=1e-8)


def test_tracker_sees_the_iteration_and_can_stop_it():
    seen = []

    def tracker(worker):
        seen.append((worker.ivars["istep"], worker.ivars["converged_count"]))
        if worker.ivars["istep"] == 3:
            worker.bvars["force_stop"] = True

    brickwork.lobpcg(brickwork.tensor(_spd(30, 9)), k=3, X=brickwork.tensor(_start(30, 3, 9)),
                     tracker=tracker, tol=1e-14)
    assert [s for s, _ in seen] == [1, 2, 3]


def test_ortho_parameters_are_used():
    A, X = _spd(30, 4), _start(30, 3, 4)
    steps = {}
    for drop in (False, True):
        count = []
        E, _ = brickwork.lobpcg(brickwork.tensor(A), k=3, X=brickwork.tensor(X.copy()),
                                ortho_bparams={"ortho_use_drop": drop},
                                ortho_iparams={"ortho_i_max": 2},
                                tracker=lambda w: count.append(dict(w.iparams)))
        steps[drop] = count
        np.testing.assert_allclose(E.numpy(), _expected(A, 3, True)[0], rtol=1e-8)
    assert steps[False][0]["ortho_i_max"] == 2


def test_niter_limits_the_steps():
    seen = []
    brickwork.lobpcg(brickwork.tensor(_spd(30, 3)), k=3, X=brickwork.tensor(_start(30, 3, 3)),
                     niter=2, tol=1e-15, tracker=lambda w: seen.append(w.ivars["istep"]))
    assert seen == [1, 2]


# -- errors ------------------------------------------------------------------------------------
ERRORS = {
    "not_square": lambda L: L.lobpcg(L.ones(6, 7, dtype=L.float64)),
    "b_shape": lambda L: L.lobpcg(L.eye(9, dtype=L.float64), B=L.eye(8, dtype=L.float64)),
    "too_few_rows": lambda L: L.lobpcg(L.eye(8, dtype=L.float64), k=3),
    "x_shape": lambda L: L.lobpcg(L.eye(9, dtype=L.float64), k=2, X=L.ones(8, 2,
                                                                            dtype=L.float64)),
    "half_without_tol": lambda L: L.lobpcg(L.eye(9, dtype=L.float16)),
    "backward_with_b": lambda L: L.lobpcg(
        L.tensor(_spd(9, 0), requires_grad=True), B=L.eye(9, dtype=L.float64),
        X=L.tensor(_start(9, 1, 0)))[0].sum().backward(),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_torch(case):
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    with pytest.raises(Exception) as t_exc:
        ERRORS[case](torch)
    with pytest.raises(Exception) as b_exc:
        ERRORS[case](brickwork)
    assert type(b_exc.value).__name__ == type(t_exc.value).__name__, b_exc.value
    assert str(b_exc.value) == str(t_exc.value).replace("torch.", "brickwork.")


# -- backward ----------------------------------------------------------------------------------
def _loss_and_grad(lib, A, X, k, largest, w1, w2):
    a = lib.tensor(A.copy(), requires_grad=True)
    E, U = lib.lobpcg(a, k=k, X=lib.tensor(X.copy()), largest=largest)
    # Sign- and rotation-free functions of the result: E and the projector U U^T.
    loss = (E * lib.tensor(w1)).sum() + ((U @ U.mT) * lib.tensor(w2)).sum()
    loss.backward()
    return E.detach().numpy(), a.grad.numpy()


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("largest", [True, False])
def test_backward_matches_torch(k, largest):
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    m = 12
    rng = np.random.default_rng(k)
    A, X = _spd(m, 20 + k), _start(m, k, k)
    w1, w2 = rng.standard_normal(k), rng.standard_normal((m, m))
    e_b, g_b = _loss_and_grad(brickwork, A, X, k, largest, w1, w2)
    e_t, g_t = _loss_and_grad(torch, A, X, k, largest, w1, w2)
    np.testing.assert_allclose(e_b, e_t, rtol=1e-10)
    # the eigenvectors converge to the solver's tolerance (sqrt of float64's eps, 1.5e-8), not
    # to the last bit, so the projector's gradient agrees to about that: one rounding changed
    # (x ** -0.5 as PyTorch's 1 / sqrt(x)) moved one case by 4e-8
    np.testing.assert_allclose(g_b, g_t, atol=1e-7)
    np.testing.assert_allclose(g_b, g_b.T, atol=1e-10)  # symmetrized, as PyTorch's


def test_eigenvalue_gradient_by_finite_differences():
    # d(lambda_i)/dA = v_i v_i^T for a symmetric perturbation; no torch needed.
    m, k = 12, 2
    A, X = _spd(m, 31), _start(m, k, 31)
    a = brickwork.tensor(A, requires_grad=True)
    E, _ = brickwork.lobpcg(a, k=k, X=brickwork.tensor(X.copy()), largest=False, tol=1e-12)
    E.sum().backward()
    rng = np.random.default_rng(0)
    P = rng.standard_normal((m, m))
    P = (P + P.T) / 2
    h = 1e-6
    up = np.linalg.eigvalsh(A + h * P)[:k].sum()
    down = np.linalg.eigvalsh(A - h * P)[:k].sum()
    np.testing.assert_allclose((a.grad.numpy() * P).sum(), (up - down) / (2 * h), rtol=1e-6)


def test_simcuda(sim_cuda):
    A, X = _spd(15, 2), _start(15, 2, 2)
    a = brickwork.tensor(A, device="cuda:1", requires_grad=True)
    E, U = brickwork.lobpcg(a, k=2, X=brickwork.tensor(X, device="cuda:1"))
    assert E.device == brickwork.device("cuda:1") and U.device == E.device
    np.testing.assert_allclose(E.cpu().detach().numpy(), _expected(A, 2, True)[0], rtol=1e-8)
    E.sum().backward()
    assert a.grad.device == a.device


def test_namespace():
    assert "lobpcg" in dir(brickwork)
