"""``autograd.functional`` against PyTorch on the same functions, plus its errors."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from helpers import assert_close, requires_torch, torch

FUNCS = {
    "exp_reducer": (lambda lib: lambda x: x.exp().sum(1), [(2, 3)]),
    "pow_adder": (lambda lib: lambda x, y: (2 * x.pow(3) + 3 * y.pow(2)).sum(), [(3,), (3,)]),
    "softmax_mix": (lambda lib: lambda x, w: (x @ w).softmax(-1), [(2, 3), (3, 4)]),
    "tanh_scalar": (lambda lib: lambda x: (x.tanh() * x.sin()).sum(), [(4,)]),
}


def _inputs(lib, shapes, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(lib.tensor(rng.uniform(-1, 1, s)) for s in shapes)


def _pack(x):
    return x if len(x) > 1 else x[0]


def _compare(b, t):
    if isinstance(t, tuple):
        assert isinstance(b, tuple) and len(b) == len(t)
        for bi, ti in zip(b, t):
            _compare(bi, ti)
    else:
        assert_close(b, t, atol=1e-10, rtol=1e-8)


@requires_torch
@pytest.mark.parametrize("name", list(FUNCS))
@pytest.mark.parametrize("create_graph", [False, True])
def test_jacobian_and_vjp_match_torch(name, create_graph):
    make, shapes = FUNCS[name]
    res = {}
    for lib in (brickwork, torch):
        F = lib.autograd.functional
        f = make(lib)
        x = _inputs(lib, shapes)
        out = f(*x)
        v = lib.tensor(np.random.default_rng(5).uniform(-1, 1, tuple(out.shape)))
        res[lib] = [F.jacobian(f, _pack(x), create_graph=create_graph),
                    F.jacobian(f, _pack(x), vectorize=True),
                    F.vjp(f, _pack(x), v, create_graph=create_graph),
                    F.jvp(f, _pack(x), _pack(_inputs(lib, shapes, 7)))]
        if create_graph:
            jac = res[lib][0]
            first = jac[0] if isinstance(jac, tuple) else jac
            assert first.requires_grad
    for b, t in zip(res[brickwork], res[torch]):
        _compare(b, t)


@requires_torch
@pytest.mark.parametrize("name", ["pow_adder", "tanh_scalar"])
def test_hessian_hvp_vhp_match_torch(name):
    make, shapes = FUNCS[name]
    res = {}
    for lib in (brickwork, torch):
        F = lib.autograd.functional
        f = make(lib)
        x = _pack(_inputs(lib, shapes))
        v = _pack(_inputs(lib, shapes, 3))
        res[lib] = [F.hessian(f, x), F.hessian(f, x, vectorize=True), F.hvp(f, x, v),
                    F.vhp(f, x, v), F.hvp(f, x, v, create_graph=True)[1]]
    for b, t in zip(res[brickwork], res[torch]):
        _compare(b, t)


@requires_torch
@pytest.mark.parametrize("call", [
    lambda F, lib: F.vjp(lambda x: x * 2, lib.ones(3, dtype=lib.float64)),
    lambda F, lib: F.jvp(lambda x: x.sum(), lib.ones(3, dtype=lib.float64)),
    lambda F, lib: F.hvp(lambda x: x * 2, lib.ones(3, dtype=lib.float64),
                         lib.ones(3, dtype=lib.float64)),
    lambda F, lib: F.hessian(lambda x: (x, x), lib.ones(3, dtype=lib.float64)),
    lambda F, lib: F.vjp(lambda x: x.sum(), [lib.ones(2)]),
    lambda F, lib: F.vjp(lambda x: x * 2, lib.ones(3), lib.ones(2)),
    lambda F, lib: F.jacobian(lambda x: x.detach(), lib.ones(2), strict=True),
    lambda F, lib: F.jacobian(lambda x: x * 2, lib.ones(2), strict=True, vectorize=True),
    lambda F, lib: F.vjp(lambda x, y: x.sum(), (lib.ones(2), lib.ones(2)), strict=True),
    lambda F, lib: F.hessian(lambda x: (x * 2).sum(), lib.ones(2), strict=True),
], ids=range(10))
def test_errors_match_torch(call):
    with pytest.raises(Exception) as t_err:
        call(torch.autograd.functional, torch)
    with pytest.raises(Exception) as b_err:
        call(brickwork.autograd.functional, brickwork)
    assert type(b_err.value).__name__ == type(t_err.value).__name__
    assert str(b_err.value) == str(t_err.value).replace("torch.", "brickwork.")


def test_forward_mode_strategy_is_refused_by_name():
    F = brickwork.autograd.functional
    with pytest.raises(NotImplementedError, match="forward-mode"):
        F.jacobian(lambda x: x * 2, brickwork.ones(2), strategy="forward-mode", vectorize=True)
    with pytest.raises(NotImplementedError, match="forward-mode"):
        F.hessian(lambda x: x.sum(), brickwork.ones(2), outer_jacobian_strategy="forward-mode")


def test_hessian_of_a_quadratic_form_is_its_matrix():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    At = brickwork.tensor(A)
    H = brickwork.autograd.functional.hessian(lambda x: 0.5 * x @ At @ x,
                                              brickwork.ones(2, dtype=brickwork.float64))
    np.testing.assert_allclose(H.numpy(), A)
    assert not H.requires_grad
