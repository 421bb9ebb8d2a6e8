"""The pooling modules of pooling_more.py (3-d, adaptive max, LP, fractional, unpooling) and
F.max_pool1d/2d_with_indices against PyTorch (values, indices, gradients, repr, errors),
plus NumPy expectations and gradchecks that need no torch."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from brickwork.nn import functional as F
from helpers import check_error, check_op, host, rand_array, requires_torch

try:
    import torch
except ImportError:  # pragma: no cover - the reference tests skip
    torch = None

# (module name, constructor args, constructor kwargs, input shape or array)
POSITIVE = rand_array((2, 3, 6, 5), low=0.1, high=2.0, seed=7)  # x ** 1.5 needs x > 0
CASES = [
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("MaxPool3d", ((1, 2, 2),), {"stride": 1, "padding": (0, 1, 1), "return_indices": True,
                                 "ceil_mode": True}, (2, 3, 4, 5)),
    ("MaxPool3d", (2,), {"stride": (1, 2, 1), "dilation": (1, 1, 2), "return_indices": True},
     (1, 2, 3, 5, 5)),
    ("AvgPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AvgPool3d", ((1, 2, 3),), {"stride": 1, "padding": (0, 1, 1), "ceil_mode": True,
                                 "count_include_pad": False}, (2, 3, 4, 5)),
    ("AvgPool3d", (2,), {"divisor_override": 3}, (1, 2, 3, 4, 4)),
    ("AdaptiveAvgPool3d", ((2, None, 3),), {}, (1, 2, 3, 5, 4)),
    ("AdaptiveAvgPool3d", (2,), {}, (2, 3, 5, 4)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 7)),
    ("AdaptiveMaxPool1d", (4,), {"return_indices": True}, (3, 9)),
    ("AdaptiveMaxPool2d", ((2, None),), {"return_indices": True}, (2, 3, 5, 4)),
    ("AdaptiveMaxPool2d", (3,), {}, (3, 7, 6)),
    ("AdaptiveMaxPool3d", (2,), {"return_indices": True}, (1, 2, 3, 5, 4)),
    ("AdaptiveMaxPool3d", ((None, 2, 1),), {}, (2, 3, 4, 5)),
    ("LPPool1d", (2, 3), {}, (2, 3, 8)),
    ("LPPool1d", (3, 2), {"stride": 1, "ceil_mode": True}, (3, 7)),
    ("LPPool2d", (2, 2), {}, (2, 3, 6, 5)),
    ("LPPool2d", (1.5, (2, 3)), {"stride": 1}, POSITIVE),
    ("LPPool2d", (float("inf"), 2), {}, (2, 3, 6, 5)),
    ("LPPool3d", (2, 2), {}, (1, 2, 4, 4, 4)),
    ("LPPool3d", (1, (1, 2, 2)), {"stride": (1, 2, 1), "ceil_mode": True}, (2, 3, 5, 5)),
]


def _ids(case):
    return f"{case[0]}-{case[2]}"


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_module_matches_torch(case):
    name, args, kwargs, shape = case
    check_op(lambda lib, x: getattr(lib.nn, name)(*args, **kwargs)(x), [shape])


# -- fractional max pooling with fixed samples --------------------------------------------------

SAMPLES_2D = np.array([[[0.1, 0.7], [0.5, 0.2], [0.9, 0.35]],
                       [[0.0, 0.99], [0.42, 0.6], [0.25, 0.8]]], dtype=np.float32)
SAMPLES_3D = np.array([[[0.1, 0.7, 0.3], [0.55, 0.2, 0.9]]], dtype=np.float32)

FRACTIONAL = [
    ("FractionalMaxPool2d", (2,), {"output_size": 3}, (2, 3, 7, 6), SAMPLES_2D),
    ("FractionalMaxPool2d", ((2, 3),), {"output_ratio": 0.5, "return_indices": True},
     (2, 3, 9, 10), SAMPLES_2D),
    ("FractionalMaxPool2d", (2,), {"output_size": (4, 2), "return_indices": True},
     (3, 7, 6), SAMPLES_2D[:1]),
    ("FractionalMaxPool3d", (2,), {"output_size": 2, "return_indices": True},
     (1, 2, 4, 5, 4), SAMPLES_3D),
    ("FractionalMaxPool3d", ((1, 2, 2),), {"output_ratio": (0.5, 0.5, 0.5)}, (2, 4, 6, 5),
     SAMPLES_3D),
]


@requires_torch
@pytest.mark.parametrize("case", FRACTIONAL, ids=[_ids(c) for c in FRACTIONAL])
def test_fractional_module_matches_torch(case):
    name, args, kwargs, shape, samples = case

    def fn(lib, x, s):
        return getattr(lib.nn, name)(*args, _random_samples=s, **kwargs)(x)

    check_op(fn, [rand_array(shape, seed=3), samples], grad=[True, False])


@requires_torch
def test_fractional_random_samples_buffer_state_dict():
    t = torch.nn.FractionalMaxPool2d(2, output_size=3, _random_samples=torch.tensor(SAMPLES_2D))
    b = nn.FractionalMaxPool2d(2, output_size=3, _random_samples=brickwork.zeros(2, 3, 2))
    assert list(nn.FractionalMaxPool2d(2, 3).state_dict()) == list(
        torch.nn.FractionalMaxPool2d(2, 3).state_dict()) == []
    assert list(b.state_dict()) == list(t.state_dict()) == ["_random_samples"]
    # The samples are a buffer: loading a checkpoint's fixes the placement to torch's.
    b.load_state_dict({k: brickwork.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = rand_array((2, 3, 7, 6), seed=4)
    np.testing.assert_array_equal(host(b(brickwork.tensor(x))), t(torch.tensor(x)).numpy())
    assert b.double()._random_samples.dtype == brickwork.float64  # follows the module


def test_fractional_fixed_samples_are_deterministic():
    x = brickwork.tensor(rand_array((2, 3, 8, 8), seed=2))
    m = nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True,
                               _random_samples=brickwork.tensor(SAMPLES_2D))
    (y1, i1), (y2, i2) = m(x), m(x)
    assert tuple(y1.shape) == (2, 3, 4, 4)
    np.testing.assert_array_equal(host(y1), host(y2))
    np.testing.assert_array_equal(host(i1), host(i2))
    flat = host(x).reshape(2, 3, -1)  # the values are the input read at the indices
    np.testing.assert_array_equal(np.take_along_axis(flat, host(i1).reshape(2, 3, -1), -1),
                                  host(y1).reshape(2, 3, -1))
    # Without samples each call draws its own placement; the shapes still agree.
    free = nn.FractionalMaxPool2d(3, output_size=(4, 4))
    assert tuple(free(x).shape) == (2, 3, 4, 4)


# -- max unpooling ---------------------------------------------------------------------------

UNPOOL = [
    (1, 2, {}, (2, 3, 8), None),
    (1, 3, {"stride": 2, "padding": 1}, (3, 9), [9]),
    (2, 2, {}, (2, 3, 6, 4), None),
    (2, (2, 3), {"stride": (2, 2), "padding": (1, 1)}, (2, 3, 6, 7), [6, 7]),
    (2, 2, {}, (3, 5, 5), [5, 5]),
    (3, 2, {}, (1, 2, 4, 4, 4), None),
    (3, (1, 2, 2), {"stride": (1, 2, 2)}, (2, 3, 5, 5), [1, 2, 3, 5, 5]),
]


@requires_torch
@pytest.mark.parametrize("nd,k,kw,shape,size", UNPOOL)
def test_max_unpool_module_matches_torch(nd, k, kw, shape, size):
    def fn(lib, x):
        y, idx = getattr(lib.nn, f"MaxPool{nd}d")(k, return_indices=True, **kw)(x)
        return getattr(lib.nn, f"MaxUnpool{nd}d")(k, **kw)(y, idx, output_size=size), idx

    check_op(fn, [shape])


def test_max_unpool2d_numpy_roundtrip():
    x = rand_array((2, 3, 4, 6), seed=9)
    y, idx = nn.MaxPool2d(2, return_indices=True)(brickwork.tensor(x))
    back = host(nn.MaxUnpool2d(2)(y, idx))
    expect = np.zeros_like(x).reshape(2, 3, -1)
    np.put_along_axis(expect, host(idx).reshape(2, 3, -1), host(y).reshape(2, 3, -1), -1)
    np.testing.assert_array_equal(back, expect.reshape(x.shape))
    # Every window keeps exactly its maximum.
    np.testing.assert_array_equal(back.reshape(2, 3, 2, 2, 3, 2).max(axis=(3, 5)),
                                  x.reshape(2, 3, 2, 2, 3, 2).max(axis=(3, 5)))


# -- functional with_indices -----------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("name,shape,kw", [
    ("max_pool1d_with_indices", (2, 3, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("max_pool1d_with_indices", (3, 8), {"kernel_size": 2, "dilation": 2, "ceil_mode": True}),
    ("max_pool2d_with_indices", (2, 3, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("max_pool2d_with_indices", (3, 6, 6), {"kernel_size": 2, "return_indices": False}),
])
def test_max_pool_with_indices_matches_torch(name, shape, kw):
    check_op(lambda lib, x: getattr(lib.nn.functional, name)(x, **kw), [shape])


# -- repr --------------------------------------------------------------------------------------

REPRS = [
    lambda lib: lib.nn.MaxPool3d(2),
    lambda lib: lib.nn.MaxPool3d((1, 2, 2), stride=1, padding=(0, 1, 1), dilation=2,
                                 return_indices=True, ceil_mode=True),
    lambda lib: lib.nn.AvgPool3d(2),
    lambda lib: lib.nn.AvgPool3d((1, 2, 3), stride=(1, 1, 1), padding=1, ceil_mode=True,
                                 count_include_pad=False, divisor_override=3),
    lambda lib: lib.nn.AdaptiveAvgPool3d((2, None, 3)),
    lambda lib: lib.nn.AdaptiveMaxPool1d(3),
    lambda lib: lib.nn.AdaptiveMaxPool2d((2, None), return_indices=True),
    lambda lib: lib.nn.AdaptiveMaxPool3d(2),
    lambda lib: lib.nn.LPPool1d(2, 3),
    lambda lib: lib.nn.LPPool2d(1.5, (2, 3), stride=1, ceil_mode=True),
    lambda lib: lib.nn.LPPool3d(2, 2),
    lambda lib: lib.nn.FractionalMaxPool2d(2, output_size=3),
    lambda lib: lib.nn.FractionalMaxPool3d(2, output_ratio=(0.5, 0.5, 0.5)),
    lambda lib: lib.nn.MaxUnpool1d(2),
    lambda lib: lib.nn.MaxUnpool2d((2, 2), stride=1, padding=1),
    lambda lib: lib.nn.MaxUnpool3d(2, padding=[0, 1, 0]),
    lambda lib: lib.nn.Sequential(lib.nn.MaxPool3d(2), lib.nn.LPPool2d(2, 2)),
]

ATTRS = ["kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode",
         "count_include_pad", "divisor_override", "output_size", "output_ratio", "norm_type"]


@requires_torch
@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_and_attributes_match_torch(i):
    b, t = REPRS[i](brickwork), REPRS[i](torch)
    assert repr(b) == repr(t)
    for a in ATTRS:
        assert getattr(b, a, "absent") == getattr(t, a, "absent"), a
    assert list(b.state_dict()) == list(t.state_dict())


# -- errors ----------------------------------------------------------------------------------

ERRORS = [
    (lambda lib, x: lib.nn.MaxPool3d(2)(x), (2, 3, 4)),
    (lambda lib, x: lib.nn.MaxPool3d(3)(x), (1, 2, 2, 4, 4)),
    (lambda lib, x: lib.nn.AvgPool3d(2)(x), (2, 4)),
    (lambda lib, x: lib.nn.AvgPool3d(3)(x), (1, 2, 2, 4, 4)),
    (lambda lib, x: lib.nn.AdaptiveAvgPool3d(2)(x), (2, 3, 4)),
    (lambda lib, x: lib.nn.AdaptiveMaxPool1d(2)(x), (4,)),
    (lambda lib, x: lib.nn.AdaptiveMaxPool2d(2)(x), (2, 3, 4, 5, 6)),
    (lambda lib, x: lib.nn.AdaptiveMaxPool3d(2)(x), (2, 3, 0, 4, 4)),
    (lambda lib, x: lib.nn.LPPool2d(2, 2)(x), (4,)),
    (lambda lib, x: lib.nn.LPPool3d(2, 3)(x), (1, 2, 2, 4, 4)),
    (lambda lib, x: lib.nn.FractionalMaxPool2d(3, output_size=4)(x), (1, 2, 5, 5)),
    (lambda lib, x: lib.nn.FractionalMaxPool2d(2, output_size=2)(x), (1, 1, 1, 5, 5)),
    (lambda lib, x: lib.nn.FractionalMaxPool3d(2, output_size=2)(x), (1, 3, 4, 4)),
    (lambda lib, x: lib.nn.FractionalMaxPool2d(2, output_size=2, _random_samples=lib.zeros(
        1, 2, 2))(x), (1, 3, 6, 6)),
    (lambda lib, x: lib.nn.FractionalMaxPool2d(2, output_size=2, _random_samples=lib.zeros(
        1, 3, 3))(x), (1, 3, 6, 6)),
    (lambda lib, x: lib.nn.MaxUnpool2d(2)(x, lib.zeros(2, 3, 2, 2, dtype=lib.int64),
                                          output_size=(9, 9)), (2, 3, 2, 2)),
    (lambda lib, x: lib.nn.MaxUnpool1d(2)(x, lib.zeros(2, 3, 2, dtype=lib.int64),
                                          output_size=[4, 4]), (2, 3, 2)),
    (lambda lib, x: lib.nn.MaxUnpool2d(2)(x, lib.zeros(1, 2, 1, 1, dtype=lib.int32)),
     (1, 2, 1, 1)),
    (lambda lib, x: lib.nn.MaxUnpool2d(2)(x, lib.full((1, 1, 2, 2), 16, dtype=lib.int64)),
     (1, 1, 2, 2)),
    (lambda lib, x: lib.nn.functional.max_pool1d_with_indices(x, 2), (5,)),
    (lambda lib, x: lib.nn.functional.max_pool2d_with_indices(x, 2), (5, 2)),
    (lambda lib: lib.nn.FractionalMaxPool2d(2), None),
    (lambda lib: lib.nn.FractionalMaxPool2d(2, output_size=2, output_ratio=0.5), None),
    (lambda lib: lib.nn.FractionalMaxPool2d(2, output_ratio=(0.5, 1.0)), None),
    (lambda lib: lib.nn.FractionalMaxPool3d(2, output_ratio=1.5), None),
    (lambda lib: lib.nn.FractionalMaxPool3d((2, 0, 2), output_size=2), None),
    (lambda lib: lib.nn.FractionalMaxPool3d(-1, output_size=2), None),
]


@requires_torch
@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    fn, shape = ERRORS[i]
    check_error(fn, [] if shape is None else [shape])


# -- without torch: NumPy expectations and gradchecks ------------------------------------------


def test_pool3d_numpy_expectation():
    x = rand_array((2, 3, 4, 6, 2), seed=5)
    blocks = x.reshape(2, 3, 2, 2, 3, 2, 1, 2)
    y, idx = nn.MaxPool3d(2, return_indices=True)(brickwork.tensor(x))
    np.testing.assert_array_equal(host(y), blocks.max(axis=(3, 5, 7)))
    assert idx.dtype == brickwork.int64
    np.testing.assert_array_equal(
        np.take_along_axis(x.reshape(2, 3, -1), host(idx).reshape(2, 3, -1), -1),
        host(y).reshape(2, 3, -1))
    avg = nn.AvgPool3d(2)(brickwork.tensor(x))
    np.testing.assert_allclose(host(avg), blocks.mean(axis=(3, 5, 7)), rtol=1e-5, atol=1e-6)
    ada = nn.AdaptiveAvgPool3d((2, None, 1))(brickwork.tensor(x))
    np.testing.assert_allclose(host(ada), x.reshape(2, 3, 2, 2, 6, 2).mean(axis=(3, 5))[
        ..., None], rtol=1e-5, atol=1e-6)


def test_adaptive_max_and_lp_numpy_expectation():
    x = rand_array((2, 3, 8), seed=6)
    y, idx = nn.AdaptiveMaxPool1d(4, return_indices=True)(brickwork.tensor(x))
    np.testing.assert_array_equal(host(y), x.reshape(2, 3, 4, 2).max(-1))
    np.testing.assert_array_equal(host(idx), x.reshape(2, 3, 4, 2).argmax(-1)
                                  + 2 * np.arange(4))
    lp = nn.LPPool1d(2, 2)(brickwork.tensor(x))
    np.testing.assert_allclose(host(lp), np.sqrt((x.reshape(2, 3, 4, 2) ** 2).sum(-1)),
                               rtol=1e-5)


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.LPPool2d(2, 2, stride=1), (1, 2, 3, 4)),
    (lambda: nn.AvgPool3d((1, 2, 2), stride=1, padding=(0, 1, 0),
                          count_include_pad=False), (1, 1, 2, 3, 3)),
    (lambda: nn.AdaptiveAvgPool3d((1, 2, 2)), (1, 2, 3, 3)),
    (lambda: nn.AdaptiveMaxPool2d((2, 3)), (1, 1, 4, 5)),
    (lambda: nn.MaxPool3d(2, stride=1), (1, 1, 3, 3, 3)),
    (lambda: nn.FractionalMaxPool2d(2, output_size=2, _random_samples=brickwork.tensor(
        SAMPLES_2D[:1, :2].astype(np.float64))), (1, 2, 5, 4)),
])
def test_gradcheck(make, shape):
    x = brickwork.tensor(rand_array(shape, "float64", low=0.5, high=2.0, seed=11),
                         requires_grad=True)
    assert gradcheck(make(), (x,))


def test_max_pool_with_indices_numpy_expectation():
    x = rand_array((2, 3, 8), seed=8)
    y, idx = F.max_pool1d_with_indices(brickwork.tensor(x), 2, return_indices=False)
    np.testing.assert_array_equal(host(y), x.reshape(2, 3, 4, 2).max(-1))
    np.testing.assert_array_equal(host(idx), x.reshape(2, 3, 4, 2).argmax(-1) + 2 * np.arange(4))
    y2, idx2 = F.max_pool2d_with_indices(brickwork.tensor(x.reshape(2, 3, 2, 4)), (1, 2))
    np.testing.assert_array_equal(host(y2).reshape(2, 3, 4), host(y))
    np.testing.assert_array_equal(host(idx2).reshape(2, 3, 4), host(idx))
