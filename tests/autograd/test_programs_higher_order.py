"""Programs people write with higher-order gradients, run on brickwork and PyTorch alike:
a WGAN-GP gradient penalty, Hessian-vector products, a MAML inner step, Newton's method, and a
user Function whose backward is itself differentiable."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork.autograd.gradcheck import GradcheckError
from helpers import assert_close, requires_torch, torch


def _libs():
    return [brickwork] + ([torch] if torch is not None else [])


def _mlp(lib, seed=0, sizes=(4, 8, 1)):
    """A small MLP with the same weights on both libraries."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = lib.nn.Linear(a, b).double()
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(rng.standard_normal((b, a))))
            lin.bias.copy_(lib.tensor(rng.standard_normal(b)))
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(lib.nn.Tanh())
    return lib.nn.Sequential(*layers)


def _wgan_gp_step(lib):
    """One critic step with the gradient penalty of WGAN-GP (Gulrajani et al.)."""
    rng = np.random.default_rng(1)
    D = _mlp(lib)
    real = lib.tensor(rng.standard_normal((6, 4)))
    fake = lib.tensor(rng.standard_normal((6, 4)))
    eps = lib.tensor(rng.uniform(size=(6, 1)))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grads = lib.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)[0]
    penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
    loss = D(fake).mean() - D(real).mean() + 10 * penalty
    loss.backward()
    return [loss] + [p.grad for p in D.parameters()]


@requires_torch
def test_wgan_gp_gradient_penalty_matches_torch():
    for b, t in zip(_wgan_gp_step(brickwork), _wgan_gp_step(torch)):
        assert_close(b, t, atol=1e-10, rtol=1e-8)


def _hvp_of_loss(lib):
    rng = np.random.default_rng(2)
    net = _mlp(lib, sizes=(5, 6, 3))
    X = lib.tensor(rng.standard_normal((7, 5)))
    y = lib.tensor(rng.integers(0, 3, 7))
    params = list(net.parameters())
    loss = lib.nn.functional.cross_entropy(net(X), y)
    grads = lib.autograd.grad(loss, params, create_graph=True)
    vs = [lib.tensor(rng.standard_normal(tuple(p.shape))) for p in params]
    dot = sum((g * v).sum() for g, v in zip(grads, vs))
    return lib.autograd.grad(dot, params)


@requires_torch
def test_hessian_vector_product_of_a_network_loss_matches_torch():
    for b, t in zip(_hvp_of_loss(brickwork), _hvp_of_loss(torch)):
        assert_close(b, t, atol=1e-10, rtol=1e-8)


def _maml(lib):
    """One outer step of MAML: the inner update keeps its graph; the outer loss goes through it."""
    rng = np.random.default_rng(3)
    net = _mlp(lib, sizes=(3, 5, 1))
    xs, ys = lib.tensor(rng.standard_normal((4, 3))), lib.tensor(rng.standard_normal((4, 1)))
    xq, yq = lib.tensor(rng.standard_normal((4, 3))), lib.tensor(rng.standard_normal((4, 1)))
    params = dict(net.named_parameters())

    def forward(p, x):
        h = (x @ p["0.weight"].T + p["0.bias"]).tanh()
        return h @ p["2.weight"].T + p["2.bias"]

    inner = ((forward(params, xs) - ys) ** 2).mean()
    g = lib.autograd.grad(inner, list(params.values()), create_graph=True)
    fast = {k: p - 0.1 * gi for (k, p), gi in zip(params.items(), g)}
    outer = ((forward(fast, xq) - yq) ** 2).mean()
    outer.backward()
    return [outer] + [p.grad for p in params.values()]


@requires_torch
def test_maml_inner_step_matches_torch():
    for b, t in zip(_maml(brickwork), _maml(torch)):
        assert_close(b, t, atol=1e-10, rtol=1e-8)


def _newton(lib, steps=6):
    """Newton's method on a smooth convex function of 3 variables, Hessian from autograd."""
    A = lib.tensor([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.5]], dtype=lib.float64)
    x = lib.tensor([1.0, -1.0, 2.0], dtype=lib.float64)

    def f(x):
        return 0.5 * x @ A @ x + (x.exp()).sum() - x[0]

    for _ in range(steps):
        H = lib.autograd.functional.hessian(f, x)
        g = lib.autograd.functional.vjp(f, x)[1]
        x = x - lib.linalg.solve(H, g) if hasattr(lib.linalg, "solve") else \
            x - (lib.tensor(np.linalg.inv(H.numpy())) @ g)
    return x, lib.autograd.functional.vjp(f, x)[1]


def test_newtons_method_converges():
    x, g = _newton(brickwork)
    assert np.abs(g.numpy()).max() < 1e-10  # quadratic convergence: the gradient vanishes


@requires_torch
def test_newtons_method_matches_torch():
    for b, t in zip(_newton(brickwork), _newton(torch)):
        assert_close(b, t, atol=1e-9, rtol=1e-7)


class _Cube(brickwork.autograd.Function):
    """x^3 with a backward written in differentiable ops."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * g * x * x


def test_user_function_backward_is_differentiable():
    x = brickwork.tensor([1.0, -2.0, 0.5], dtype=brickwork.float64, requires_grad=True)
    (g,) = brickwork.autograd.grad(_Cube.apply(x).sum(), x, create_graph=True)
    (h,) = brickwork.autograd.grad(g.sum(), x, create_graph=True)
    (t,) = brickwork.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    np.testing.assert_allclose(h.detach().numpy(), 6 * x.detach().numpy())
    np.testing.assert_allclose(t.numpy(), [6.0, 6.0, 6.0])
    assert brickwork.autograd.gradgradcheck(_Cube.apply, (x,))


def test_third_order_of_a_composite_matches_numpy():
    x = brickwork.tensor([0.3, -0.7], dtype=brickwork.float64, requires_grad=True)
    y = (x.sin() * x.exp()).sum()
    (g,) = brickwork.autograd.grad(y, x, create_graph=True)
    (h,) = brickwork.autograd.grad(g.sum(), x, create_graph=True)
    (t,) = brickwork.autograd.grad(h.sum(), x)
    xn = x.detach().numpy()
    # d^3/dx^3 (sin x e^x) = 2 e^x (cos x - sin x)
    np.testing.assert_allclose(t.numpy(), 2 * np.exp(xn) * (np.cos(xn) - np.sin(xn)))


class _CubeLosingCurvature(_Cube):
    """Right first derivative, but the backward leaves the graph: no second derivative."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * g * x.detach() * x.detach() + 0 * x


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = brickwork.tensor([1.0, 2.0], dtype=brickwork.float64, requires_grad=True)
    bad = _CubeLosingCurvature.apply
    assert brickwork.autograd.gradcheck(bad, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        brickwork.autograd.gradgradcheck(bad, (x,))
    assert not brickwork.autograd.gradgradcheck(bad, (x,), raise_exception=False)


@requires_torch
def test_create_graph_refuses_an_input_changed_in_place_after_use():
    # tanh saves only its output, so first order is fine, but the second derivative of
    # x * tanh(x) replays with x: a changed x would give a silently wrong Hessian.
    for lib in (brickwork, torch):
        a = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True)
        x = a * 1
        y = (x * x.tanh()).sum()
        x.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            lib.autograd.grad(y, a, create_graph=True)
