"""Pooling against PyTorch (values, indices, gradients, errors, modules) plus gradchecks."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from brickwork.nn import functional as F
from helpers import check_error, check_op, host, pick, rand_array, requires_torch, torch

MAX_CASES = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": (2, 3), "dilation": 2, "padding": 1},
    {"kernel_size": 3, "stride": 1},  # overlapping windows
    {"kernel_size": 2, "stride": 3},  # input positions no window reads
    {"kernel_size": (3, 2), "stride": (2, 1), "dilation": (1, 2)},
]


@requires_torch
@pytest.mark.parametrize("kw", MAX_CASES)
@pytest.mark.parametrize("shape", [(2, 3, 9, 8), (3, 7, 7)])
def test_max_pool2d_matches_torch(kw, shape):
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, return_indices=True, **kw), [shape])


AVG_CASES = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": 2, "divisor_override": 3},
    {"kernel_size": 2, "stride": 3},
]


@requires_torch
@pytest.mark.parametrize("kw", AVG_CASES)
@pytest.mark.parametrize("shape", [(2, 3, 9, 8), (3, 7, 7)])
def test_avg_pool2d_matches_torch(kw, shape):
    check_op(lambda lib, x: lib.nn.functional.avg_pool2d(x, **kw), [shape])


@requires_torch
@pytest.mark.parametrize("kw", AVG_CASES + [{"kernel_size": 5, "stride": 1, "padding": 2}])
def test_avg_pool2d_forward_sums_in_torch_order(kw):
    # each window's values added row by row, then divided, as PyTorch's CPU kernel does:
    # bit for bit the same (threads split the batch of 40)
    import torch

    x = rand_array((40, 3, 28, 30), "float32", -3, 3)
    want = torch.nn.functional.avg_pool2d(torch.tensor(x), **kw).numpy()
    got = F.avg_pool2d(brickwork.tensor(x), **kw)._host()
    np.testing.assert_array_equal(got, want)


@requires_torch
@pytest.mark.parametrize("out", [(3, 4), (5, None), 7, 1, (9, 8)])
def test_adaptive_avg_pool2d_matches_torch(out):
    check_op(lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, out), [(2, 3, 9, 8)])


@requires_torch
@pytest.mark.parametrize("name,shape", [("max_pool1d", (2, 3, 9)), ("avg_pool1d", (3, 9))])
def test_pool1d_matches_torch(name, shape):
    check_op(lambda lib, x: getattr(lib.nn.functional, name)(x, 3, 2, 1), [shape])


@requires_torch
@pytest.mark.parametrize("name,shape,out", [("adaptive_avg_pool2d", (2, 3, 7, 6), (3, 4)),
                                            ("adaptive_avg_pool1d", (2, 3, 7), 3),
                                            ("adaptive_avg_pool3d", (2, 2, 5, 7, 6), (2, 3, 4)),
                                            ("adaptive_avg_pool3d", (2, 5, 7, 6), (None, 3, 6))])
def test_adaptive_avg_pool_keeps_inf_and_nan_in_their_windows(name, shape, out):
    # an averaging-matrix product would multiply an inf by its row's zeros: NaN everywhere
    a = rand_array(shape)
    a.reshape(-1)[8], a.reshape(-1)[-5] = np.inf, np.nan
    res = []
    for lib in (brickwork, torch):
        x = lib.tensor(a, requires_grad=True)
        y = getattr(lib.nn.functional, name)(x, out)
        up = np.ones(tuple(y.shape), np.float32)
        up.reshape(-1)[4] = np.inf
        y.backward(lib.tensor(up))
        res.append((y.detach().numpy(), x.grad.numpy()))
    (by, bg), (ty, tg) = res
    assert 0 < np.isnan(ty).sum() + np.isinf(ty).sum() < ty.size // 2
    np.testing.assert_allclose(by, ty, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bg, tg, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,shape,out,grad_fn", [
    ("adaptive_avg_pool3d", (2, 3, 4, 5, 6), (2, 3, 4), "AdaptiveAvgPool3DBackward0"),
    ("adaptive_avg_pool3d", (2, 3, 4, 5, 6), (4, 5, 6), "AdaptiveAvgPool3DBackward0"),
    ("adaptive_avg_pool3d", (3, 4, 5, 6), 1, "MeanBackward1"),
    ("adaptive_avg_pool2d", (2, 3, 4, 5), (2, 3), "AdaptiveAvgPool2DBackward0")])
def test_adaptive_avg_pool_dtypes_and_grad_fn(name, shape, out, grad_fn):
    # PyTorch's names and dtypes: bfloat16 stays bfloat16 (computed in float32), integers and
    # bool have no kernel
    fn = getattr(F, name)
    x = brickwork.ones(*shape, requires_grad=True)
    assert type(fn(x, out).grad_fn).__name__ == grad_fn
    assert fn(x.to(brickwork.bfloat16), out).dtype == brickwork.bfloat16
    kernel = "adaptive_avg_pool3d_cpu" if name.endswith("3d") else "adaptive_avg_pool2d"
    for dtype, title in ((brickwork.int64, "Long"), (brickwork.bool, "Bool")):
        with pytest.raises(NotImplementedError, match=f'"{kernel}" not implemented for '
                                                      f"'{title}'"):
            fn(brickwork.ones(*shape, dtype=dtype), out)
    assert F.adaptive_avg_pool1d(brickwork.ones(2, 5, dtype=brickwork.bfloat16), 2).dtype == \
        brickwork.bfloat16


@requires_torch
def test_adaptive_avg_pool1d_matches_torch():
    check_op(lambda lib, x: lib.nn.functional.adaptive_avg_pool1d(x, 4), [(2, 3, 9)])


@requires_torch
@pytest.mark.parametrize("kw", [{"kernel_size": 3, "padding": 1},
                                {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}])
def test_max_pool2d_minus_inf_windows_index_the_input(kw):
    # There the -inf padding ties with the maximum; PyTorch's index (and gradient) stay inside.
    x = rand_array((2, 3, 5, 4), seed=3)
    x[:, :, :3, :3] = -np.inf
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, return_indices=True, **kw), [x])


@requires_torch
@pytest.mark.parametrize("kw", [{"kernel_size": 3, "stride": 2}, {"kernel_size": 2},
                                {"kernel_size": 12, "stride": 5, "padding": 2}])
def test_max_pool2d_ties_and_threads_match_torch(kw):
    # Few distinct values tie in most windows (the first offset wins, and shared positions of
    # overlapping windows add up); the batch is big enough to be split over threads, and the
    # 12x12 kernel's 144 offsets outgrow the int8 offset codes.
    x = rand_array((8, 16, 40, 40), seed=7).round()
    x[0, 0, :3, :3] = np.nan
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, return_indices=True, **kw), [x])


@requires_torch
@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}])
def test_max_pool2d_nan_and_inf_gradients_reach_the_argmax_only(kw):
    # multiplying by a 0/1 mask would spread them over each window (0 * inf is NaN)
    scale = np.ones((2, 3, 4, 4), dtype="float32")
    scale[0, 0, 0, 0], scale[1, 2, 1, 1], scale[0, 1, 2, 2] = np.nan, np.inf, -np.inf
    check_op(lambda lib, x, u: lib.nn.functional.max_pool2d(x, **kw) * u,
             [rand_array((2, 3, 8, 8), seed=4), scale], grad=[True, False], second_order=False)


def test_max_pool2d_numpy_expectation():
    x = rand_array((2, 3, 6, 4), seed=5)
    out, idx = F.max_pool2d(brickwork.tensor(x), 2, return_indices=True)
    expect = x.reshape(2, 3, 3, 2, 2, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(host(out), expect)
    assert out.dtype == brickwork.float32 and idx.dtype == brickwork.int64
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, host(idx).reshape(2, 3, -1), -1),
                                  expect.reshape(2, 3, -1))


def test_max_pool2d_integer_input():
    x = brickwork.tensor(np.arange(16).reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(F.max_pool2d(x, 2).numpy(), [[[[5, 7], [13, 15]]]])


def _f64(shape, seed=0):
    # Distinct values so that max pooling is differentiable at the sample point.
    rng = np.random.default_rng(seed)
    arr = rng.permutation(int(np.prod(shape))).reshape(shape) / 10.0
    return brickwork.tensor(arr, requires_grad=True)


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2,
                                                     "padding": 1, "ceil_mode": True}])
def test_max_pool2d_gradcheck(kw):
    assert gradcheck(lambda x: F.max_pool2d(x, **kw), (_f64((1, 2, 5, 5)),))


@pytest.mark.parametrize("kw", AVG_CASES)
def test_avg_pool2d_gradcheck(kw):
    assert gradcheck(lambda x: F.avg_pool2d(x, **kw), (_f64((1, 2, 5, 5)),))


def test_adaptive_avg_pool2d_gradcheck():
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (_f64((1, 2, 5, 5)),))


@requires_torch
@pytest.mark.parametrize("fn,shape", [
    (lambda lib, x: lib.nn.functional.max_pool2d(x, 3, padding=2), (2, 3, 7, 7)),
    (lambda lib, x: lib.nn.functional.max_pool2d(x, 3), (7, 7)),
    (lambda lib, x: lib.nn.functional.max_pool2d(x, 3), (2, 3, 2, 2)),
    (lambda lib, x: lib.nn.functional.max_pool2d(x, 2, stride=0), (2, 3, 4, 4)),
    (lambda lib, x: lib.nn.functional.avg_pool2d(x, 3, padding=2), (2, 3, 7, 7)),
])
def test_pool_errors_match_torch(fn, shape):
    check_error(fn, [shape])


@requires_torch
@pytest.mark.parametrize("name,args,kw", [
    ("MaxPool2d", (2,), {}), ("MaxPool2d", (3, 2, 1), {"ceil_mode": True}),
    ("AvgPool2d", (2,), {}), ("AvgPool2d", (3, 2, 1), {"count_include_pad": False}),
    ("AdaptiveAvgPool2d", ((5, 7),), {}), ("AdaptiveAvgPool2d", (1,), {}),
    ("MaxPool1d", (3,), {}), ("AvgPool1d", (3,), {}), ("AdaptiveAvgPool1d", (4,), {}),
])
def test_pool_modules_match_torch(name, args, kw):
    import torch

    t_mod, b_mod = getattr(torch.nn, name)(*args, **kw), getattr(nn, name)(*args, **kw)
    assert repr(b_mod) == repr(t_mod)
    shape = (2, 3, 9) if name.endswith("1d") else (2, 3, 9, 8)
    check_op(lambda lib, x: pick(lib, b_mod, t_mod)(x), [shape])


def test_max_pool_module_return_indices():
    out, idx = nn.MaxPool2d(2, return_indices=True)(brickwork.randn(1, 2, 4, 4))
    assert tuple(out.shape) == tuple(idx.shape) == (1, 2, 2, 2)


def _ties_and_nans(shape, seed=0):
    """Values from a few levels (many ties within windows) and a few NaNs."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(np.float32)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, 5, replace=False)] = np.nan
    return x


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3)),
                                dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, dilation=3, stride=1)])
def test_max_pool_ties_nans_and_indices_as_torch(kw):
    # windows that tile the input take the direct-write backward; the index of the first
    # maximum (or first NaN) must match PyTorch's, also through the returned indices
    x = _ties_and_nans((2, 3, 12, 12))
    check_op(lambda L, t: L.nn.functional.max_pool2d(t, return_indices=True, **kw), [x],
             second_order=False)
    clean = np.random.default_rng(1).integers(0, 3, (2, 3, 12, 12)).astype(np.float32)
    check_op(lambda L, t: L.nn.functional.max_pool2d(t, **kw), [clean])
