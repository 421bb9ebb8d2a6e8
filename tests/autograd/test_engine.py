"""The backward engine: gradients, accumulation, retain_graph, autograd.grad, hooks."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from helpers import check_op, rand_array, requires_torch, torch


def both_errors(fn):
    """Run ``fn(lib)`` on both libraries; both must raise the same type and text."""
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as b_err:
        fn(brickwork)
    assert str(b_err.value) == str(t_err.value).replace("torch.", "brickwork.")


def _diamond(lib, x, w):
    a = x * w
    b = a.exp()
    c = a * b + a  # `a` reaches the output along three paths
    return c.tanh()


def _shared_leaf(lib, x):
    return x * x * x + x


@requires_torch
@pytest.mark.parametrize("fn,shapes", [(_diamond, [(3, 4), (4,)]), (_shared_leaf, [(5,)]),
                                       (_diamond, [(), ()])])
def test_graph_gradients_match_torch(fn, shapes):
    check_op(fn, shapes)


def _run(lib, data, gradient, n_calls, retain):
    x = lib.tensor(data, requires_grad=True)
    y = x * x + 2 * x
    for _ in range(n_calls):
        y.backward(lib.tensor(gradient), retain_graph=retain)
    return x.grad


@requires_torch
@pytest.mark.parametrize("n_calls", [1, 2, 3])
def test_backward_with_gradient_and_accumulation_match_torch(n_calls):
    data, up = rand_array((2, 3)), rand_array((2, 3), seed=7)
    b = _run(brickwork, data, up, n_calls, True)
    t = _run(torch, data, up, n_calls, True)
    np.testing.assert_allclose(b.numpy(), t.numpy(), rtol=1e-6)


def test_accumulation_across_separate_graphs():
    x = brickwork.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward(brickwork.ones(2))
    (x * x).backward(brickwork.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), 3 + 2 * np.array([1.0, 2.0]))
    x.grad.zero_()
    (x * 2).backward(brickwork.ones(2))
    assert x.grad.tolist() == [2.0, 2.0]


def test_grad_is_not_the_users_gradient_array():
    x = brickwork.ones(2, requires_grad=True)
    g = brickwork.tensor([1.0, 2.0])
    (x * 1).backward(g)
    g.add_(10)
    assert x.grad.tolist() == [1.0, 2.0]


@requires_torch
@pytest.mark.parametrize("code", [
    lambda lib: _second_backward(lib, retain=False),
    lambda lib: (lib.ones(2, requires_grad=True) * 2).backward(),
    lambda lib: lib.ones(2).backward(),
    lambda lib: (lib.ones(2, requires_grad=True) * 2).backward(lib.ones(3)),
    lambda lib: lib.autograd.grad(_square_sum(lib)[1], [lib.ones(2)]),
    lambda lib: lib.autograd.grad(_square_sum(lib)[1],
                                  [_square_sum(lib)[0], lib.ones(2, requires_grad=True)]),
])
def test_engine_errors_match_torch(code):
    both_errors(code)


def _square_sum(lib):
    x = lib.ones(2, requires_grad=True)
    return x, (x * x).sum()


def _second_backward(lib, retain):
    x = lib.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=retain)
    y.backward()
    return x.grad


def test_retain_graph_allows_a_second_backward():
    g = _second_backward(brickwork, retain=True)
    assert g.tolist() == [4.0, 4.0]


@requires_torch
def test_autograd_grad_matches_torch_and_leaves_grad_alone():
    def fn(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        w = lib.tensor([0.5, 0.25, 2.0], requires_grad=True)
        y = (x * w).exp() * x
        gx, gw = lib.autograd.grad(y, (x, w), lib.ones(3))
        assert x.grad is None and w.grad is None
        return gx, gw

    check_op(lambda lib: fn(lib), [])


def test_autograd_grad_unused_inputs():
    x = brickwork.ones(2, requires_grad=True)
    z = brickwork.ones(2, requires_grad=True)
    y = (x * 2).sum()
    gx, gz = brickwork.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gx.tolist() == [2.0, 2.0] and gz is None
    gx, gz = brickwork.autograd.grad(y, [x, z], materialize_grads=True)
    assert gz.tolist() == [0.0, 0.0]


def test_autograd_backward_function_form():
    x = brickwork.ones(2, requires_grad=True)
    brickwork.autograd.backward([x * 2, x * 3], [brickwork.ones(2), brickwork.ones(2)])
    assert x.grad.tolist() == [5.0, 5.0]


@requires_torch
def test_tensor_hooks_match_torch():
    def fn(lib, x):
        seen = []
        y = x * 2
        y.register_hook(lambda g: seen.append(g.clone()))
        h = y.register_hook(lambda g: g * 10)
        z = y * y
        z.retain_grad()
        out = z.sum()
        out.backward()
        assert len(seen) == 1
        h.remove()
        return x.grad, z.grad, seen[0]

    b = fn(brickwork, brickwork.tensor([1.0, 2.0], requires_grad=True))
    t = fn(torch, torch.tensor([1.0, 2.0], requires_grad=True))
    for bb, tt in zip(b, t):
        np.testing.assert_allclose(bb.numpy(), tt.numpy())


def test_leaf_hook_changes_accumulated_grad_and_can_be_removed():
    x = brickwork.ones(2, requires_grad=True)
    h = x.register_hook(lambda g: g * 3)
    (x * 2).backward(brickwork.ones(2))
    assert x.grad.tolist() == [6.0, 6.0]
    h.remove()
    x.grad = None
    (x * 2).backward(brickwork.ones(2))
    assert x.grad.tolist() == [2.0, 2.0]


def test_retain_grad_on_non_leaf():
    x = brickwork.ones(2, requires_grad=True)
    y = x * 3
    assert not y.retains_grad
    y.retain_grad()
    assert y.retains_grad
    (y * y).backward(brickwork.ones(2))
    assert y.grad.tolist() == [6.0, 6.0]
    x.retain_grad()  # a no-op on leaves
    assert not x.retains_grad


def test_non_leaf_grad_is_none_without_retain_grad():
    x = brickwork.ones(2, requires_grad=True)
    y = x * 3
    (y * 2).backward(brickwork.ones(2))
    assert y.grad is None and x.grad.tolist() == [6.0, 6.0]


def test_integer_branches_carry_no_gradient():
    x = brickwork.tensor([1.5, -2.0], requires_grad=True)
    mask = x > 0
    y = x * mask
    assert not mask.requires_grad
    y.backward(brickwork.ones(2))
    assert x.grad.tolist() == [1.0, 0.0]


def test_create_graph_backward_leaves_differentiable_grad():
    x = brickwork.tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    g = x.grad
    x.grad = None
    g.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]  # d/dx of 3x^2


def _graph_names(lib):
    """Each node's name and its next_functions' names, for a few ops with non-tensor
    arguments (an exponent, a dim, bounds, a reduction) and a user Function."""
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, None

    x = lib.ones(3, requires_grad=True)
    outs = [x ** 2, lib.cat((x, x), 0), lib.clamp(x, 0, 1), Scale.apply(x, 2.0),
            lib.nn.functional.mse_loss(x * 2, lib.zeros(3)), x.sum(dim=0),
            lib.nn.functional.linear(x[None], lib.ones(2, 3))]
    return [(type(o.grad_fn).__name__,
             [type(f).__name__ for f, _ in o.grad_fn.next_functions]) for o in outs]


@requires_torch
def test_next_functions_list_tensor_inputs_only():
    # PyTorch lists one edge per tensor input ((None, 0) for one without a gradient), none
    # for a dim, an exponent or a flag
    got = _graph_names(brickwork)
    want = _graph_names(torch)
    assert [names for _, names in got] == [names for _, names in want]
