"""brickwork.utils.checkpoint: gradients equal the uncheckpointed run, exactly; memory drops."""
from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

import brickwork as bw
from brickwork.utils.checkpoint import (CheckpointError, check_backward_validity, checkpoint,
                                       checkpoint_sequential, detach_variable,
                                       set_checkpoint_debug_enabled)

from helpers import brickwork_device, requires_torch, torch


def _mlp(depth=4, width=8, p=0.3, seed=0):
    bw.manual_seed(seed)
    layers = []
    for _ in range(depth):
        layers += [bw.nn.Linear(width, width), bw.nn.Dropout(p), bw.nn.Tanh()]
    return bw.nn.Sequential(*layers)


def _grads(net, x, run, seed=1, via_grad=False):
    """Loss and gradients (input first, then parameters) of ``run(net, x)``."""
    x = x.detach().requires_grad_()
    bw.manual_seed(seed)
    loss = run(net, x).pow(2).sum()
    params = list(net.parameters())
    if via_grad:
        gs = bw.autograd.grad(loss, [x] + params)
    else:
        for p in params:
            p.grad = None
        loss.backward()
        gs = [x.grad] + [p.grad for p in params]
    return float(loss), [g.numpy().copy() for g in gs]


def _assert_same(a, b):
    assert a[0] == b[0]
    assert len(a[1]) == len(b[1])
    for ga, gb in zip(a[1], b[1]):
        np.testing.assert_array_equal(ga, gb)


@pytest.mark.parametrize("reentrant", [False, True])
@pytest.mark.parametrize("via_grad", [False, True])
def test_dropout_gradients_equal_exactly(reentrant, via_grad):
    net = _mlp()
    x = bw.randn(5, 8)
    plain = _grads(net, x, lambda n, v: n(v), via_grad=via_grad)
    ck = _grads(net, x, lambda n, v: checkpoint(n, v, use_reentrant=reentrant), via_grad=via_grad)
    seq = _grads(net, x, lambda n, v: checkpoint_sequential(n, 3, v, use_reentrant=reentrant),
                 via_grad=via_grad)
    _assert_same(plain, ck)
    _assert_same(plain, seq)


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
def test_nested_checkpoints_on_each_device(device):
    with brickwork_device(device) as dev:
        bw.manual_seed(0)
        l1, l2 = bw.nn.Linear(4, 4).to(dev), bw.nn.Linear(4, 4).to(dev)
        drop = bw.nn.Dropout(0.5)
        x = bw.randn(3, 4).to(dev)

        def inner(v, ck):
            return drop(l2(v).tanh())

        def outer(v, ck):
            h = drop(l1(v)).sin()
            return (checkpoint(inner, h, ck, use_reentrant=False) if ck else inner(h, ck)) * 2

        def run(ck):
            xx = x.detach().requires_grad_()
            params = [*l1.parameters(), *l2.parameters()]
            bw.manual_seed(5)
            y = checkpoint(outer, xx, ck, use_reentrant=False) if ck else outer(xx, ck)
            gs = bw.autograd.grad((y ** 2).sum(), [xx] + params)
            assert gs[0].device == xx.device
            return [g.cpu().numpy() for g in gs]

        for a, b in zip(run(True), run(False)):
            np.testing.assert_array_equal(a, b)


def test_without_preserved_rng_state_the_masks_differ():
    net = _mlp(p=0.5)
    x = bw.randn(5, 8)
    plain = _grads(net, x, lambda n, v: n(v))
    ck = _grads(net, x, lambda n, v: checkpoint(n, v, use_reentrant=False,
                                                  preserve_rng_state=False))
    assert plain[0] == ck[0]  # the forward is the same run
    assert not all(np.array_equal(a, b) for a, b in zip(plain[1], ck[1]))


def test_several_inputs_outputs_and_non_tensor_arguments():
    w = bw.randn(4, 4, requires_grad=True)
    a0, b0, c0 = bw.randn(3, 4), bw.randn(3, 4), bw.randn(4)

    def f(a, b, scale, c, flag=True):
        h = (a @ w).sin() * scale
        return {"h": h, "pair": (h * b, b.exp() + c), "n": 3, "flag": flag}

    def run(ck):
        a, b = a0.detach().requires_grad_(), b0.detach().requires_grad_()
        c = c0.detach()  # needs no gradient
        w.grad = None
        out = checkpoint(f, a, b, 2.5, c, use_reentrant=False, flag=False) if ck \
            else f(a, b, 2.5, c, flag=False)
        assert out["n"] == 3 and out["flag"] is False and not c.requires_grad
        loss = out["h"].sum() + (out["pair"][0] ** 2).sum() + out["pair"][1].mean()
        loss.backward()
        return [a.grad.numpy(), b.grad.numpy(), w.grad.numpy()]

    for g1, g2 in zip(run(False), run(True)):
        np.testing.assert_array_equal(g1, g2)


def test_inputs_not_requiring_grad_still_reach_parameters():
    lin = bw.nn.Linear(4, 3)
    x = bw.randn(2, 4)
    out = checkpoint(lin, x, use_reentrant=False)
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), np.tile(x.numpy().sum(0), (3, 1)),
                               rtol=1e-6)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(lin, x, use_reentrant=True)
    assert not out.requires_grad  # PyTorch's reentrant variant: nothing to backprop


def test_saved_values_are_dropped_and_memory_is_lower():
    net = bw.nn.Sequential(*[m for _ in range(12) for m in (bw.nn.Linear(128, 128),
                                                            bw.nn.ReLU())])
    x = bw.randn(256, 128, requires_grad=True)
    held = {}
    for ck in (False, True):
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            y = checkpoint_sequential(net, 4, x, use_reentrant=False) if ck else net(x)
            held[ck] = tracemalloc.get_traced_memory()[0] - base
            y.sum().backward()
            del y
        finally:
            tracemalloc.stop()
    # 24 saved activations of 128 KiB without; 4 segment boundaries + the last segment with.
    assert held[True] < 0.5 * held[False], held


def test_finite_differences_through_checkpoint():
    x = bw.tensor(np.linspace(-1, 1, 5), dtype=bw.float64, requires_grad=True)
    y = checkpoint(lambda v: (v.sin() * v).exp(), x, use_reentrant=False)
    (g,) = bw.autograd.grad(y.sum(), x)
    xs = np.linspace(-1, 1, 5)
    f = lambda v: np.exp(np.sin(v) * v)  # noqa: E731
    eps = 1e-6
    np.testing.assert_allclose(g.numpy(), (f(xs + eps) - f(xs - eps)) / (2 * eps), rtol=1e-6)


def test_second_order_and_retain_graph():
    x = bw.randn(6, dtype=bw.float64, requires_grad=True)
    y = checkpoint(lambda v: v.sin() * v, x, use_reentrant=False).sum()
    (g,) = bw.autograd.grad(y, x, create_graph=True)
    (gg,) = bw.autograd.grad(g.sum(), x)
    v = x.detach().numpy()
    np.testing.assert_allclose(g.detach().numpy(), np.sin(v) + v * np.cos(v), rtol=1e-12)
    np.testing.assert_allclose(gg.numpy(), 2 * np.cos(v) - v * np.sin(v), rtol=1e-12)
    z = checkpoint(lambda v: v.exp(), x, use_reentrant=False).sum()
    z.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()


def test_nondeterministic_function_is_caught():
    calls = []

    def f(v):
        calls.append(1)
        return v.exp() if len(calls) == 1 else v.sin().cos()

    x = bw.randn(3, requires_grad=True)
    y = checkpoint(f, x, use_reentrant=False, debug=True)
    with pytest.raises(CheckpointError, match="Ops recorded by the forward"):
        y.sum().backward()

    shapes = iter([(3,), (2,)])

    def g(v):
        n = next(shapes)[0]
        return (v[:n].exp()).sum()

    y = checkpoint(g, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="different metadata"):
        y.backward()


def test_debug_override_and_helpers():
    calls = []

    def f(v):
        calls.append(1)
        return v.exp() if len(calls) == 1 else v.sin()

    x = bw.randn(3, requires_grad=True)
    with set_checkpoint_debug_enabled(True):
        y = checkpoint(f, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="Ops recorded by the recomputation"):
        y.sum().backward()
    a, n = detach_variable((x, 3))
    assert a is not x and a.requires_grad and a.grad_fn is None and n == 3
    with pytest.raises(RuntimeError, match="Only tuple of tensors is supported"):
        detach_variable([x])
    with pytest.warns(UserWarning, match="None of the inputs"):
        check_backward_validity((bw.ones(1), 2))


def test_input_modified_in_place_after_forward_is_refused():
    x = bw.randn(3, requires_grad=True)
    a = x * 1
    y = checkpoint(lambda v: v.exp(), a, use_reentrant=False).sum()
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_argument_errors():
    x = bw.randn(2, requires_grad=True)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: k"):
        checkpoint(lambda v, k=1: v, x, use_reentrant=True, k=2)
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        checkpoint(lambda v: v, x, use_reentrant=True, debug=True)
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        checkpoint(lambda v: v, x, use_reentrant=False, determinism_check="strict")
    with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
        checkpoint_sequential([bw.nn.Tanh()], 1, x, use_reentrant=False, foo=1)


def test_context_fn_wraps_both_runs():
    import contextlib

    log = []

    @contextlib.contextmanager
    def tag(name):
        log.append(name)
        yield

    x = bw.randn(2, requires_grad=True)
    y = checkpoint(lambda v: v.exp(), x, use_reentrant=False,
                   context_fn=lambda: (tag("forward"), tag("recompute")))
    assert log == ["forward"]
    y.sum().backward()
    assert log == ["forward", "recompute"]


def test_under_no_grad_it_just_runs():
    x = bw.randn(2, requires_grad=True)
    with bw.no_grad():
        y = checkpoint(lambda v: v * 2, x, use_reentrant=False)
    assert not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), x.detach().numpy() * 2)


@requires_torch
@pytest.mark.parametrize("fn", [checkpoint, checkpoint_sequential])
def test_missing_use_reentrant_warns_like_pytorch(fn):
    import torch.utils.checkpoint as tc

    def call(lib_fn, lib, x):
        if lib_fn.__name__ == "checkpoint":
            return lib_fn(lambda v: v * 2, x)
        return lib_fn([lib.nn.Tanh()], 1, x)

    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        call(fn, bw, bw.ones(2, requires_grad=True))
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        call(getattr(tc, fn.__name__), torch, torch.ones(2, requires_grad=True))
    want = [str(w.message) for w in theirs if "use_reentrant" in str(w.message)]
    got = [str(w.message) for w in ours if "use_reentrant" in str(w.message)]
    assert got == want and len(got) == 1
    assert ours[0].filename == __file__  # stacklevel points at the caller


@requires_torch
def test_gradients_match_pytorch():
    import torch.utils.checkpoint as tc

    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((6, 5)), rng.standard_normal((5, 6))
    xv = rng.standard_normal((4, 6))

    def run(lib, ck_mod):
        a = lib.tensor(w1, requires_grad=True)
        b = lib.tensor(w2, requires_grad=True)
        x = lib.tensor(xv, requires_grad=True)
        f = lambda v: ((v @ a).tanh() @ b).sigmoid()  # noqa: E731
        y = ck_mod.checkpoint(f, x, use_reentrant=False)
        y = ck_mod.checkpoint(f, y, use_reentrant=False)
        y.pow(3).sum().backward()
        return [t.grad.detach().numpy() for t in (a, b, x)]

    for ours, ref in zip(run(bw, bw.utils.checkpoint), run(torch, tc)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
