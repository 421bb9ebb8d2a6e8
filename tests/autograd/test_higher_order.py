"""Third derivatives of representative ops against PyTorch, on the CPU and the simulated GPU.

``check_op`` already compares every op's second derivative; this goes one order further for
a sample that exercises each part of the mechanism: results a backward reads (sigmoid, tanh,
exp, softmax), broadcasting (mul/div), products (matmul), reductions, indexing (``add.at``
gradients), fused losses, normalization, an in-place update, a ``composite`` (batch norm in
training) and a fused element-wise kernel run through its NumPy fallbacks.
"""
from __future__ import annotations


import numpy as np
import pytest

import brickwork
from helpers import brickwork_device, assert_close, requires_torch, torch

DEVICES = ["cpu", "simcuda"]


def _xent(lib, x):
    target = lib.tensor([2, 0, 1, 2], device=x.device)
    return lib.nn.functional.cross_entropy(x, target, label_smoothing=0.1)


def _norm(x, dims):
    """Layer/batch normalization from primitives: the reference for third derivatives.

    PyTorch's fused kernels treat the saved mean and inverse std as constants in their double
    backward, so its third derivatives of ``layer_norm``/``batch_norm`` differ from the exact
    ones (by up to ~1.7 here), which the composition gives and brickwork matches.
    """
    xc = x - x.mean(dims, keepdim=True)
    return xc / ((xc * xc).mean(dims, keepdim=True) + 1e-5).sqrt()


def _inplace_sigmoid(lib, x):
    y = x * 1
    return y.sigmoid_() * x


_swish = brickwork.cuda.elementwise(
    "swish_third_order", "y = x / (1 + exp(-x))",
    "T s = 1 / (1 + exp(-x)); gx = gy * s * (1 + x * (1 - s))",
    cpu_forward=lambda x: x / (1 + np.exp(-x)),
    cpu_backward=lambda gy, x: gy / (1 + np.exp(-x)) * (1 + x * (1 - 1 / (1 + np.exp(-x)))))


# (name, fn(lib, *inputs), input shapes, value range); inputs are float64 and require grad.
CASES = [
    ("sigmoid", lambda lib, x: lib.sigmoid(x), [(3, 4)], (-3, 3)),
    ("tanh", lambda lib, x: lib.tanh(x), [(3, 4)], (-2, 2)),
    ("exp", lambda lib, x: lib.exp(x), [(5,)], (-1, 1)),
    ("log", lambda lib, x: lib.log(x), [(2, 3)], (0.5, 2)),
    ("pow", lambda lib, x, y: lib.pow(x, y), [(2, 3), (3,)], (0.5, 2)),
    ("pow_scalar", lambda lib, x: x ** 3, [(4,)], (-2, 2)),
    ("mul_div_broadcast", lambda lib, a, b: a * b / (b * b + 1), [(2, 3, 4), (3, 1)], (-2, 2)),
    ("matmul", lambda lib, a, b: lib.matmul(a, b).tanh(), [(2, 3, 4), (4, 5)], (-1, 1)),
    ("softmax", lambda lib, x: lib.softmax(x, 1), [(3, 4)], (-2, 2)),
    ("log_softmax", lambda lib, x: lib.log_softmax(x, -1), [(3, 4)], (-2, 2)),
    ("cross_entropy", _xent, [(4, 3)], (-2, 2)),
    ("mse_loss", lambda lib, x, y: lib.nn.functional.mse_loss(x.tanh(), y), [(3, 4), (3, 4)],
     (-2, 2)),
    ("layer_norm", lambda lib, x, w, b: (lib.nn.functional.layer_norm(x, (4,), w, b)
                                         if lib is brickwork else _norm(x, (1,)) * w + b),
     [(3, 4), (4,), (4,)], (-2, 2)),
    ("batch_norm_training", lambda lib, x, w: (lib.nn.functional.batch_norm(
        x, None, None, w, None, training=True) if lib is brickwork
        else _norm(x, (0, 2)) * w[:, None]), [(4, 3, 2), (3,)], (-2, 2)),
    ("sum_mean", lambda lib, x: (x * x).sum(0) * (x * x * x).mean((0, 1), keepdim=True),
     [(2, 3, 2)], (-2, 2)),
    ("getitem", lambda lib, x: (x[[0, 2, 0]] ** 3)[:, 1:] * x[1, None, :3], [(3, 4)], (-2, 2)),
    ("std_max", lambda lib, x: x.std(1) * x.max(1).values ** 2, [(3, 4)], (-2, 2)),
    ("inplace_sigmoid", _inplace_sigmoid, [(2, 3)], (-2, 2)),
    ("elementwise_kernel", lambda lib, x: (_swish(x) if lib is brickwork
                                           else x * lib.sigmoid(x)), [(2, 5)], (-4, 4)),
]
IDS = [c[0] for c in CASES]


_on = brickwork_device


def _derivatives(lib, fn, arrays, device, orders=3):
    """The gradients of ``<v, fn(x)>`` and, for each higher order, the gradient of the
    previous order's gradients contracted with fixed random vectors (the same on both
    libraries)."""
    rng = np.random.default_rng(3)
    xs = [lib.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = fn(lib, *xs)
    v = lib.tensor(rng.uniform(-1, 1, tuple(out.shape)), device=device)
    grads = lib.autograd.grad(out, xs, v, create_graph=True, allow_unused=True)
    found = [grads]
    for order in range(2, orders + 1):
        terms = [(g * lib.tensor(rng.uniform(-1, 1, a.shape), device=device)).sum()
                 for g, a in zip(grads, arrays) if g is not None and g.requires_grad]
        if not terms:
            break
        grads = lib.autograd.grad(sum(terms[1:], terms[0]), xs, create_graph=order < orders,
                                  allow_unused=True)
        found.append(grads)
    return found


@requires_torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,fn,shapes,bounds", CASES, ids=IDS)
def test_third_derivatives_match_torch(name, fn, shapes, bounds, device):
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(*bounds, size=s) for s in shapes]
    with _on(device) as dev:
        got = _derivatives(brickwork, fn, arrays, dev)
        want = _derivatives(torch, fn, arrays, "cpu")
        assert len(got) == len(want) == 3, f"{name}: derivatives stopped before the third"
        for order, (b_grads, t_grads) in enumerate(zip(got, want), start=1):
            for i, (b, t) in enumerate(zip(b_grads, t_grads)):
                what = f"{name}: order {order}, input {i}"
                if t is None:
                    assert b is None or not b._host().any(), what
                    continue
                assert b is not None, f"{what}: brickwork produced no gradient"
                assert b.device == brickwork.device(dev), what
                assert_close(b, t, atol=1e-10, rtol=1e-8, what=what)


def test_third_derivative_of_a_polynomial_without_torch():
    x = brickwork.tensor([0.5, -1.5, 2.0], dtype=brickwork.float64, requires_grad=True)
    y = (x ** 4 + x.sin()).sum()
    (g1,) = brickwork.autograd.grad(y, x, create_graph=True)
    (g2,) = brickwork.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = brickwork.autograd.grad(g2.sum(), x)
    xs = x.detach().numpy()
    np.testing.assert_allclose(g3.numpy(), 24 * xs - np.cos(xs), rtol=1e-12)
