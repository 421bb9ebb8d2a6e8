"""Higher-order gradients of convolution, pooling and pad, which go through their ``composite``
forwards: second and third derivatives against PyTorch, taken also with respect to the
upstream gradient (the only second derivative a linear op has), and finite-difference checks
of the second and third derivatives that need no PyTorch."""
from __future__ import annotations


import numpy as np
import pytest

import brickwork
from brickwork.autograd import gradgradcheck
from brickwork.nn import functional as F
from brickwork.ops.conv import Convolution
from brickwork.ops.pooling import AvgPool2d, MaxPool2d
from helpers import brickwork_device, assert_close, requires_torch, torch

DEVICES = ["cpu", "simcuda"]


_on = brickwork_device


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def _distinct(shape, seed):
    """Well-separated values, so that max pooling is differentiable around them."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 10.0 - 1.0


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, s) for s in shapes]


# (name, fn(lib, *inputs), input shapes); every input is float64 and requires grad.
CASES = [
    ("conv2d", lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, stride=2, padding=1),
     [(2, 3, 6, 5), (4, 3, 3, 2), (4,)]),
    ("conv2d_groups_dilation", lambda lib, x, w: lib.nn.functional.conv2d(
        x, w, stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=2),
     [(2, 4, 7, 6), (6, 2, 3, 3)]),
    ("conv2d_same", lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding="same",
                                                               dilation=(1, 2)),
     [(1, 2, 5, 6), (3, 2, 4, 3)]),
    ("conv2d_few_channels_unbatched", lambda lib, x, w: lib.nn.functional.conv2d(x, w),
     [(1, 6, 6), (2, 1, 3, 3)]),
    ("conv2d_many_channels", lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1),
     [(2, 5, 4, 4), (3, 5, 3, 3)]),
    ("conv1d", lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, stride=2, padding=1,
                                                             groups=2, dilation=2),
     [(2, 4, 9), (4, 2, 3), (4,)]),
    ("conv_transpose2d", lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(
        x, w, b, stride=(2, 3), padding=1, output_padding=(1, 2), groups=2, dilation=(1, 2)),
     [(2, 4, 3, 4), (4, 3, 3, 2), (6,)]),
    ("conv_transpose2d_padding", lambda lib, x, w: lib.nn.functional.conv_transpose2d(
        x, w, padding=(2, 0), dilation=2),
     [(1, 2, 4, 3), (2, 3, 3, 2)]),
    ("conv_transpose1d", lambda lib, x, w: lib.nn.functional.conv_transpose1d(
        x, w, stride=2, output_padding=1), [(2, 3, 5), (3, 2, 3)]),
    ("max_pool2d", lambda lib, x: lib.nn.functional.max_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True, return_indices=True), [(2, 3, 7, 6)]),
    ("max_pool2d_dilation", lambda lib, x: lib.nn.functional.max_pool2d(
        x, (2, 3), dilation=2, padding=1), [(3, 7, 8)]),
    ("max_pool2d_ties", lambda lib, x: lib.nn.functional.max_pool2d(x, 3, stride=1, padding=1),
     [(2, 2, 5, 5)]),
    ("max_pool1d", lambda lib, x: lib.nn.functional.max_pool1d(x, 3, 2, 1, ceil_mode=True),
     [(2, 3, 8)]),
    ("avg_pool2d", lambda lib, x: lib.nn.functional.avg_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), [(2, 3, 7, 6)]),
    ("avg_pool2d_divisor", lambda lib, x: lib.nn.functional.avg_pool2d(
        x, 2, divisor_override=3), [(3, 6, 5)]),
    ("avg_pool1d", lambda lib, x: lib.nn.functional.avg_pool1d(x, 3, 2, 1), [(2, 3, 8)]),
    ("adaptive_avg_pool2d", lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, (3, 4)),
     [(2, 3, 7, 9)]),
    ("adaptive_avg_pool1d", lambda lib, x: lib.nn.functional.adaptive_avg_pool1d(x, 4),
     [(2, 3, 9)]),
    ("pad_constant", lambda lib, x: lib.nn.functional.pad(x, (1, 2, -1, 1), value=0.5),
     [(2, 3, 4, 5)]),
    ("pad_reflect", lambda lib, x: lib.nn.functional.pad(x, (2, 1, 1, 3), mode="reflect"),
     [(2, 3, 4, 5)]),
    ("pad_replicate", lambda lib, x: lib.nn.functional.pad(x, (2, 1, 1, 3),
                                                           mode="replicate"), [(2, 3, 4, 5)]),
    ("pad_circular", lambda lib, x: lib.nn.functional.pad(x, (2, 1, 1, 3), mode="circular"),
     [(2, 3, 4, 5)]),
    ("conv2d_reflect_then_pool", lambda lib, x, w: lib.nn.functional.max_pool2d(
        lib.nn.functional.conv2d(lib.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), w)
        .tanh(), 2), [(2, 2, 6, 6), (3, 2, 3, 3)]),
]
IDS = [c[0] for c in CASES]
# PyTorch 2.13 itself fails the third derivative of a transposed convolution with
# output_padding ("output_padding is not supported for non-transposed convolutions"): those
# are compared up to the second order, and their third is checked by finite differences below.
TORCH_ORDERS = {"conv_transpose2d": 2, "conv_transpose1d": 2}


def _inputs(name, shapes):
    if name.endswith("ties"):  # a few levels only: the index of the first maximum must win
        return [np.round(a) for a in _arrays(shapes)]
    if "pool" in name:  # no ties, so the finite differences see one argmax
        return [_distinct(s, i) for i, s in enumerate(shapes)]
    return _arrays(shapes)


def _derivatives(lib, fn, arrays, device, orders=3):
    """First-, second- and third-order gradients of ``<v, fn(inputs)>``.

    From the second order on, the upstream gradient ``v`` is an input too, and each order
    differentiates the previous one contracted with fixed random vectors (drawn from the
    shapes alone, so that both libraries get the same ones).
    """
    rng = np.random.default_rng(7)
    xs = [lib.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = _first(fn(lib, *xs))
    v = lib.tensor(rng.uniform(-1, 1, tuple(out.shape)), requires_grad=True, device=device)
    wrt = xs + [v]
    shapes = [a.shape for a in arrays] + [tuple(out.shape)]
    grads = lib.autograd.grad(out, xs, v, create_graph=True, allow_unused=True)
    result = [grads]
    for order in range(2, orders + 1):
        loss = None
        for g, shape in zip(grads, shapes):
            r = lib.tensor(rng.uniform(-1, 1, shape), device=device)
            if g is not None and g.requires_grad:
                term = (g * r).sum()
                loss = term if loss is None else loss + term
        if loss is None:  # every remaining derivative is zero
            grads = [None] * len(wrt)
        else:
            grads = lib.autograd.grad(loss, wrt, create_graph=order < orders,
                                      allow_unused=True)
        result.append(grads)
    return result


@requires_torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,fn,shapes", CASES, ids=IDS)
def test_second_and_third_derivatives_match_torch(name, fn, shapes, device):
    arrays = _inputs(name, shapes)
    orders = TORCH_ORDERS.get(name, 3)
    with _on(device) as dev:
        got = _derivatives(brickwork, fn, arrays, dev, orders)
        want = _derivatives(torch, fn, arrays, "cpu", orders)
        for order, (b_grads, t_grads) in enumerate(zip(got, want), start=1):
            for i, (b, t) in enumerate(zip(b_grads, t_grads)):
                what = f"order {order}, input {i}"
                if t is None or not t.detach().numpy().any():
                    assert b is None or not b._host().any(), what
                    continue
                assert b is not None, f"{what}: brickwork produced no gradient"
                assert b.device == brickwork.device(dev), what
                assert_close(b, t, atol=1e-10, rtol=1e-8, what=what)


# -- finite differences, no PyTorch ----------------------------------------------------------


def _phi(fn, params, r, order, device):
    """``<r, first-order gradient>`` (order 1) or ``<r2, second-order gradient>`` (order 2)
    of ``<v, fn(x)>``, where ``params`` are the inputs followed by ``v``."""
    xs, v = params[:-1], params[-1]
    out = _first(fn(brickwork, *xs))
    grads = brickwork.autograd.grad(out, xs, v, create_graph=True, allow_unused=True)
    value = sum(((g * ri).sum() for g, ri in zip(grads, r[0]) if g is not None),
                brickwork.zeros((), dtype=brickwork.float64, device=device))
    if order == 2:
        grads = brickwork.autograd.grad(value, params, create_graph=True, allow_unused=True)
        value = sum(((g * ri).sum() for g, ri in zip(grads, r[1]) if g is not None),
                    brickwork.zeros((), dtype=brickwork.float64, device=device))
    return value


def _check_by_differences(fn, arrays, order, device, eps=1e-6, directions=3):
    """The gradient of ``_phi`` (a derivative of order + 1) along random directions against
    central differences of ``_phi`` itself, which only needs derivatives of order ``order``."""
    rng = np.random.default_rng(11)
    with brickwork.no_grad():
        out_shape = tuple(_first(fn(brickwork, *[brickwork.tensor(a, device=device)
                                                 for a in arrays])).shape)
    base = list(arrays) + [rng.uniform(-1, 1, out_shape)]

    def tensors(values, requires_grad=False):
        return [brickwork.tensor(a, requires_grad=requires_grad, device=device) for a in values]

    r = [tensors([rng.uniform(-1, 1, a.shape) for a in arrays]),
         tensors([rng.uniform(-1, 1, a.shape) for a in base])]
    params = tensors(base, True)
    value = _phi(fn, params, r, order, device)
    if value.requires_grad:
        analytic = brickwork.autograd.grad(value, params, allow_unused=True)
    else:  # a linear op's third derivative: zero, and no graph left to differentiate
        analytic = [None] * len(params)
    for _ in range(directions):
        d = [rng.uniform(-1, 1, a.shape) for a in base]
        along = sum(float((g._host() * di).sum()) for g, di in zip(analytic, d)
                    if g is not None)
        plus = _phi(fn, tensors([a + eps * di for a, di in zip(base, d)], True), r, order,
                    device).item()
        minus = _phi(fn, tensors([a - eps * di for a, di in zip(base, d)], True), r, order,
                     device).item()
        numeric = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(along, numeric, rtol=1e-5, atol=1e-7)


FD_CASES = [c for c in CASES if c[0] in (
    "conv2d", "conv2d_groups_dilation", "conv2d_few_channels_unbatched", "conv_transpose2d",
    "conv_transpose1d", "max_pool2d", "max_pool2d_dilation", "avg_pool2d", "pad_reflect",
    "conv2d_reflect_then_pool")]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name,fn,shapes", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_derivatives_match_finite_differences(name, fn, shapes, order, device):
    with _on(device) as dev:
        _check_by_differences(fn, _inputs(name, shapes), order, dev)


@pytest.mark.parametrize("fn,shapes", [
    (lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=2), [(1, 2, 4, 4), (2, 1, 2, 2)]),
    (lambda x: F.max_pool2d(x, 2, stride=1, padding=1), [(1, 1, 3, 3)]),
])
def test_gradgradcheck(fn, shapes):
    inputs = tuple(brickwork.tensor(_distinct(s, i), requires_grad=True)
                   for i, s in enumerate(shapes))
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("cls,call", [
    (Convolution, lambda x: F.conv2d(x, x[:2, :, :2, :2], groups=1)),
    (MaxPool2d, lambda x: F.max_pool2d(x, 2)),
    (AvgPool2d, lambda x: F.avg_pool2d(x, 2)),
])
def test_first_order_backward_never_runs_the_composite(cls, call, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("composite ran for a first-order gradient")

    monkeypatch.setattr(cls, "composite", staticmethod(refuse))
    x = brickwork.randn(3, 3, 4, 4, requires_grad=True)
    call(x).sum().backward()
    assert x.grad is not None
