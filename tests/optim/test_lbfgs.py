"""LBFGS against PyTorch: the parameter trajectory over several steps in float64 (with and
without the strong-Wolfe line search, a short history so old pairs are dropped), the state
keys, the errors; and convergence on a quadratic with no torch."""
import numpy as np
import pytest

import brickwork

torch = pytest.importorskip("torch")


def _problem(lib, seed=0):
    rng = np.random.default_rng(seed)
    X = lib.tensor(rng.standard_normal((60, 5)))
    y = lib.tensor((rng.random(60) > 0.5).astype(np.float64))
    w = lib.tensor(rng.standard_normal(5) * 0.1, requires_grad=True)
    b = lib.tensor(np.zeros(1), requires_grad=True)
    return X, y, w, b


def _run(lib, steps, **kw):
    X, y, w, b = _problem(lib)
    opt = lib.optim.LBFGS([w, b], **kw)

    def closure():
        opt.zero_grad()
        z = X @ w + b
        # logistic loss plus a little curvature so the minimum is finite
        loss = lib.nn.functional.binary_cross_entropy_with_logits(z, y) + 0.01 * (w * w).sum()
        loss.backward()
        return loss

    path, losses = [], []
    for _ in range(steps):
        losses.append(opt.step(closure).item())
        path.append(np.concatenate([w.detach().numpy().copy(), b.detach().numpy().copy()]))
    return np.array(path), losses, opt


@pytest.mark.parametrize("kw", [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"history_size": 2, "max_iter": 7},
    {"history_size": 3, "line_search_fn": "strong_wolfe", "max_iter": 5, "max_eval": 6},
    {"lr": 0.5, "tolerance_change": 1e-5},
])
def test_trajectory_matches_torch(kw):
    bp, bl, bopt = _run(brickwork, 4, **kw)
    tp, tl, topt = _run(torch, 4, **kw)
    np.testing.assert_allclose(bp, tp, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(bl, tl, rtol=1e-10, atol=1e-12)
    bs, ts = bopt.state_dict(), topt.state_dict()
    assert sorted(bs["state"][0]) == sorted(ts["state"][0])
    assert bs["state"][0]["n_iter"] == ts["state"][0]["n_iter"]
    assert bs["state"][0]["func_evals"] == ts["state"][0]["func_evals"]
    assert bs["param_groups"] == ts["param_groups"]


def test_errors_as_torch():
    for lib in (brickwork, torch):
        p, p2 = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
        with pytest.raises(ValueError, match="Invalid learning rate: -1"):
            lib.optim.LBFGS([p], lr=-1)
        with pytest.raises(ValueError, match="per-parameter options"):
            lib.optim.LBFGS([{"params": [p]}, {"params": [p2]}])
        opt = lib.optim.LBFGS([p], line_search_fn="armijo")

        def closure(opt=opt, p=p):
            opt.zero_grad()
            loss = ((p - 1) ** 2).sum()
            loss.backward()
            return loss
        with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
            opt.step(closure)


def test_signature_matches_torch():
    import inspect

    def shape(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]
    assert shape(brickwork.optim.LBFGS) == shape(torch.optim.LBFGS)


def test_quadratic_minimum_without_torch():
    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    c = np.array([1.0, -2.0])
    x = brickwork.zeros(2, dtype=brickwork.float64, requires_grad=True)
    opt = brickwork.optim.LBFGS([x], line_search_fn="strong_wolfe")
    At, ct = brickwork.tensor(A), brickwork.tensor(c)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (At @ x)) - ct @ x
        loss.backward()
        return loss
    opt.step(closure)
    # it stops once the loss changes by less than tolerance_change (1e-9)
    np.testing.assert_allclose(x.detach().numpy(), np.linalg.solve(A, c), rtol=1e-4)
