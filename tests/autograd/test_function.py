"""Custom ``autograd.Function``: the same mechanism as the built-in ops, PyTorch's contract."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork.autograd import Function, gradcheck
from helpers import requires_torch, torch


def make_exp(lib):
    class MyExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    return MyExp


def make_scale(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, factor):
            ctx.save_for_backward(x, w)
            ctx.factor = factor
            return x * w * factor

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            gx = grad * w * ctx.factor if ctx.needs_input_grad[0] else None
            gw = grad * x * ctx.factor if ctx.needs_input_grad[1] else None
            return gx, gw, None

    return Scale


def make_sort_like(lib):
    class TwoOut(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = (x > 0).long()
            ctx.mark_non_differentiable(idx)
            return x * 2, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g * 2

    return TwoOut


@requires_torch
def test_custom_function_values_grads_and_names_match_torch():
    results = []
    for lib in (brickwork, torch):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        w = lib.tensor([1.5, 2.0, -0.5])
        y = make_exp(lib).apply(x)
        z = make_scale(lib).apply(y, w, 3.0)
        z.backward(lib.ones(3))
        results.append((z.detach().numpy().copy(), x.grad.numpy().copy(),
                        type(y.grad_fn).__name__, type(z.grad_fn).__name__,
                        repr(y).replace("torch.", "brickwork.")))
    b, t = results
    np.testing.assert_allclose(b[0], t[0], rtol=1e-6)
    np.testing.assert_allclose(b[1], t[1], rtol=1e-6)
    assert b[2:] == t[2:]


def test_needs_input_grad_skips_unneeded_work():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            seen["needs"] = ctx.needs_input_grad
            return grad, None

    a = brickwork.ones(2, requires_grad=True)
    Probe.apply(a, brickwork.ones(2)).backward(brickwork.ones(2))
    assert seen["needs"] == (True, False)
    assert a.grad.tolist() == [1.0, 1.0]


def test_mark_non_differentiable_output():
    x = brickwork.tensor([1.0, -2.0], requires_grad=True)
    y, idx = make_sort_like(brickwork).apply(x)
    assert y.requires_grad and not idx.requires_grad and idx.dtype is brickwork.int64
    y.backward(brickwork.ones(2))
    assert x.grad.tolist() == [2.0, 2.0]


def test_forward_runs_without_recording():
    class Inner(Function):
        @staticmethod
        def forward(ctx, x):
            inner = x * 2
            ctx.inner_requires_grad = inner.requires_grad
            return inner

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = brickwork.ones(2, requires_grad=True)
    y = Inner.apply(x)
    assert y.grad_fn.inner_requires_grad is False
    assert type(y.grad_fn).__name__ == "InnerBackward"


def test_custom_function_gradcheck():
    x = brickwork.tensor([0.3, -0.7, 1.1], dtype=brickwork.float64, requires_grad=True)
    w = brickwork.tensor([1.2, 0.5, -2.0], dtype=brickwork.float64, requires_grad=True)
    assert gradcheck(lambda a, b: make_scale(brickwork).apply(make_exp(brickwork).apply(a), b,
                                                              0.5), (x, w))


@requires_torch
def test_wrong_number_of_gradients_matches_torch():
    msgs = []
    for lib in (brickwork, torch):
        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g, g

        with pytest.raises(RuntimeError) as err:
            F.apply(lib.ones(2, requires_grad=True)).backward(lib.ones(2))
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


def test_wrong_gradient_shape_is_reported():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return brickwork.ones(5)

    with pytest.raises(RuntimeError, match="returned an invalid gradient at index 0"):
        Bad.apply(brickwork.ones(2, requires_grad=True)).backward(brickwork.ones(2))


def test_saved_tensors_are_freed_after_backward():
    x = brickwork.ones(2, requires_grad=True)
    y = make_exp(brickwork).apply(x)
    y.backward(brickwork.ones(2))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.grad_fn.saved_tensors


def test_unimplemented_forward_and_backward_raise():
    class Empty(Function):
        pass

    with pytest.raises(NotImplementedError):
        Empty.apply(brickwork.ones(1))
