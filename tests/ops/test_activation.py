"""relu, sigmoid, softmax and log_softmax against PyTorch, NumPy and finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork.autograd import gradcheck
from helpers import check_error, check_op, rand_array, to_brick

SHAPES = [(), (0,), (5,), (2, 3), (2, 3, 4), (2, 0, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["relu", "sigmoid"])
def test_relu_sigmoid(shape, name):
    out = check_op(lambda lib, x: getattr(lib, name)(x), [rand_array(shape, low=-3, high=3)])
    check_op(lambda lib, x: getattr(x, name)(), [rand_array(shape, "float64", -3, 3)])
    if out[0].requires_grad:
        assert type(out[0].grad_fn).__name__ == f"{name.capitalize()}Backward0"


def test_relu_gradient_at_zero_and_ints():
    check_op(lambda lib, x: lib.relu(x), [np.array([-1.0, 0.0, 2.0], dtype="float32")])
    check_op(lambda lib, x: lib.relu(x), [rand_array((2, 3), "int64", -3, 3)])
    check_op(lambda lib, x: lib.sigmoid(x), [rand_array((2, 3), "int64", -3, 3)])


@pytest.mark.parametrize("size", [32767, 32768, 3 * 32768 + 5, (1 << 20) + 7])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_relu_rows_of_zeros_and_threads(size, dtype):
    # relu takes the maximum against rows of 32768 zeros (a tail after them) and splits arrays
    # of 2**20 values over threads: every boundary, NaN and both zeros as NumPy computes them
    a = rand_array((size,), dtype, -3, 3)
    a[[0, 1, 2, size // 2, size - 1]] = [np.nan, -0.0, 0.0, np.nan, -2.0]
    y = brickwork.relu(to_brick(a))._host()
    expected = np.maximum(a, 0)
    assert y.dtype == expected.dtype
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(np.signbit(y), np.signbit(expected))
    check_op(lambda lib, x: lib.relu(x), [a.reshape(-1, 1)[: 40000 + size % 2]])


@pytest.mark.parametrize("size", [7, (1 << 20) + 3])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_relu_gradient_selects_whatever_g_holds(size, dtype):
    # an inf or NaN output gradient where relu is blocked gives 0 (a select, as PyTorch's
    # threshold_backward; multiplying by a 0/1 mask gave NaN there); g passes where the output
    # is NaN; in one piece and in slices on threads
    a = rand_array((size,), dtype, -3, 3)
    g = rand_array((size,), dtype, seed=5)
    a[:7] = [-1.0, -1.0, 0.0, 2.0, 2.0, np.nan, -0.0]
    g[:7] = [np.inf, np.nan, -np.inf, np.inf, np.nan, 3.0, np.nan]
    x = to_brick(a, True)
    brickwork.relu(x).backward(to_brick(g))
    want = np.where((a > 0) | np.isnan(a), g, np.zeros((), dtype))
    np.testing.assert_array_equal(x.grad._host(), want)
    assert x.grad.dtype == x.dtype
    torch = pytest.importorskip("torch")
    t = torch.tensor(a, requires_grad=True)
    torch.relu(t).backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad._host(), t.grad.numpy())


def test_sigmoid_extremes_stay_finite():
    a = np.array([-1000.0, -80.0, 0.0, 80.0, 1000.0], dtype="float32")
    check_op(lambda lib, x: lib.sigmoid(x), [a])


@pytest.mark.parametrize("size", [13, (1 << 20) + 5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_tails_as_torch(size, dtype):
    # PyTorch computes 1 / (1 + exp(-x)): where exp(-x) overflows (float32 below about -88.7)
    # the result is 0, above it a subnormal. Compared with no absolute tolerance, so a tiny
    # value where PyTorch has 0 fails; in one piece and in slices on threads.
    torch = pytest.importorskip("torch")
    a = rand_array((size,), dtype, -30, 30)
    a[:13] = [-1000.0, -745.0, -100.0, -90.0, -88.0, -20.0, -1e-3, 0.0, 5.0, 100.0, np.nan,
              -np.inf, np.inf]
    x = to_brick(a, True)
    y = brickwork.sigmoid(x)
    t = torch.tensor(a, requires_grad=True)
    ty = torch.sigmoid(t)
    np.testing.assert_allclose(y._host(), ty.detach().numpy(), rtol=1e-6, atol=0)
    g = rand_array((size,), dtype, seed=3)
    y.backward(to_brick(g))
    ty.backward(torch.tensor(g))
    # y(1 - y) near y = 1 magnifies the last bit of y, where NumPy's exp and PyTorch's differ
    np.testing.assert_allclose(x.grad._host(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_inplace_forms():
    check_op(lambda lib, x: (x * 1).relu_(), [(2, 3)])
    check_op(lambda lib, x: (x * 1).sigmoid_(), [(2, 3)])


@pytest.mark.parametrize("shape,dim", [((5,), 0), ((2, 3), 1), ((2, 3), 0), ((2, 3, 4), -1),
                                       ((2, 3, 4), 1), ((), 0), ((0, 3), 1), ((3, 0), 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax(shape, dim, name):
    out = check_op(lambda lib, x: getattr(lib, name)(x, dim), [shape])
    check_op(lambda lib, x: getattr(x, name)(dim=dim), [rand_array(shape, "float64")])
    if out[0].requires_grad:
        expect = "SoftmaxBackward0" if name == "softmax" else "LogSoftmaxBackward0"
        assert type(out[0].grad_fn).__name__ == expect


@pytest.mark.parametrize("shape,dim", [((64, 40, 128), -1), ((64, 40, 128), 1),
                                       ((3, 300000), 1), ((300000, 3), 0)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_in_blocks_on_threads(shape, dim, name):
    # rows cut into blocks of 256K values and shared over threads (_rowwise.py); rows of -inf
    # give NaN, a row holding +inf NaN and 0, as PyTorch's
    a = rand_array(shape, "float32", -5, 5)
    a.reshape(-1)[:5] = [-np.inf, np.inf, np.nan, 80.0, -80.0]
    if dim in (-1, 1) and len(shape) == 3:
        a[1, 2, :] = -np.inf
    check_op(lambda lib, x: getattr(lib, name)(x, dim), [a], second_order=False)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_large_inputs_stay_finite(name):
    a = np.array([[1000.0, 0.0, -1000.0], [-5000.0, -5000.0, -5001.0]], dtype="float32")
    out = check_op(lambda lib, x: getattr(lib, name)(x, 1), [a])
    assert np.isfinite(out[0]._host()).all()
    check_op(lambda lib, x: getattr(lib, name)(x, -1), [a * 100])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dtype_argument_and_errors(name):
    check_op(lambda lib, x: getattr(lib, name)(x, 1, dtype=lib.float64), [(2, 3)])
    check_op(lambda lib, x: getattr(x, name)(0, dtype=lib.float32),
             [rand_array((3,), "int64")])
    check_error(lambda lib, x: getattr(lib, name)(x, 2), [(2, 3)])
    check_error(lambda lib, x: getattr(lib, name)(x, 0), [rand_array((3,), "int64")],
                match_message=False)


# -- without torch ----------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda x: brickwork.relu(x - 1.0), lambda x: brickwork.sigmoid(x),
    lambda x: brickwork.softmax(x, 1), lambda x: brickwork.log_softmax(x, 0),
    lambda x: brickwork.softmax(x * 50.0, -1),
], ids=["relu", "sigmoid", "softmax", "log_softmax", "softmax_large"])
def test_gradcheck(fn):
    x = brickwork.tensor(rand_array((2, 3), "float64", 0.1, 2.0), requires_grad=True)
    assert gradcheck(fn, (x,))


def test_numpy_expectations():
    a = rand_array((3, 4), "float64")
    x = to_brick(a)
    e = np.exp(a - a.max(1, keepdims=True))
    np.testing.assert_allclose(brickwork.softmax(x, 1)._host(), e / e.sum(1, keepdims=True))
    np.testing.assert_allclose(brickwork.log_softmax(x, 1)._host(),
                               np.log(e / e.sum(1, keepdims=True)))
    np.testing.assert_allclose(brickwork.sigmoid(x)._host(), 1 / (1 + np.exp(-a)))
    np.testing.assert_allclose(brickwork.relu(x)._host(), np.maximum(a, 0))


_POINTWISE = {
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x, 0.1),
    "leaky_relu_0": lambda L, x: L.nn.functional.leaky_relu(x, 0.0),
    # slopes in (0, 1] take max(x, x * slope) and a 0/1-mask factor; the others the select
    "leaky_relu_third": lambda L, x: L.nn.functional.leaky_relu(x, 1 / 3),
    "leaky_relu_1": lambda L, x: L.nn.functional.leaky_relu(x, 1.0),
    "leaky_relu_big": lambda L, x: L.nn.functional.leaky_relu(x, 1.7),
    "leaky_relu_neg": lambda L, x: L.nn.functional.leaky_relu(x, -0.3),
    "elu": lambda L, x: L.nn.functional.elu(x, 1.3),
    "silu": lambda L, x: L.nn.functional.silu(x),
    "softplus": lambda L, x: L.nn.functional.softplus(x, 2.0, 10.0),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x, -1.0, 1.0),
    "relu6": lambda L, x: L.nn.functional.relu6(x),
    "mish": lambda L, x: L.nn.functional.mish(x),
}
# the selects and clamps: bit for bit; the rest through exp, whose last bit differs
_BITWISE = {"leaky_relu", "leaky_relu_0", "leaky_relu_third", "leaky_relu_1", "leaky_relu_big",
            "leaky_relu_neg", "hardtanh", "relu6"}


@pytest.mark.parametrize("size", [40, 600_000])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(_POINTWISE))
def test_pointwise_activations_special_values_as_torch(name, dtype, size):
    # branches as exact selects by bits (no 0 * inf): NaN, inf and signed zeros, in the input
    # and in the incoming gradient, land where PyTorch's kernels put them; 600K values run on
    # threads
    torch = pytest.importorskip("torch")
    a = rand_array((size,), dtype, -6, 6)
    g = rand_array((size,), dtype, seed=4)
    a[:20] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 88.0, -89.0, 100.0, -100.0,
              20.0, 5.0, -1.0, 1.0, -1.0, 1.0, 0.5, -0.5, 6.0]
    g[:20] = [np.inf, np.nan, 1.0, -np.inf, 2.0, np.inf, np.nan, -np.inf, np.nan, 1.0, 1.0,
              1.0, 1.0, np.inf, -np.inf, np.nan, 3.0, 1.0, 1.0, 1.0]
    x = to_brick(a, True)
    y = _POINTWISE[name](brickwork, x)
    y.backward(to_brick(g))
    t = torch.tensor(a, requires_grad=True)
    ty = _POINTWISE[name](torch, t)
    ty.backward(torch.tensor(g))
    for got, want in ((y._host(), ty.detach().numpy()), (x.grad._host(), t.grad.numpy())):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0]))
        if name in _BITWISE:
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 18), (3, 7, 5), (100, 600), (200, 400)])
def test_small_softmax_path_equals_blocks(shape, monkeypatch):
    # below SMALL_VALUES over the last dimension the whole array goes through the same
    # operations as the block path: the same bits, forward and backward
    from brickwork.ops import _rowwise

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    for log in (True, False):
        y = _rowwise.softmax(x, x.ndim - 1, log)
        gx = _rowwise.softmax_backward(g, y, x.ndim - 1, log)
        with monkeypatch.context() as m:
            m.setattr(_rowwise, "SMALL_VALUES", 0)
            np.testing.assert_array_equal(_rowwise.softmax(x, x.ndim - 1, log), y)
            np.testing.assert_array_equal(_rowwise.softmax_backward(g, y, x.ndim - 1, log), gx)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_leaky_relu_fast_kernels_equal_the_select(dtype):
    # the factor mask * (1 - s) + s is exactly 1 or s for every slope in [0, 1], so the fast
    # kernels give the select's values bit for bit (no torch needed)
    from brickwork.ops.activation_extra import _leaky_fast, _leaky_grad_fast

    rng = np.random.default_rng(3)
    x = rand_array((4000,), dtype, -3, 3)
    g = rand_array((4000,), dtype, seed=5)
    slopes = np.concatenate([rng.random(300), [0.0, 1.0, 0.5, 1e-8, 1 - 1e-8, 0.01, 0.2]])
    for s in slopes.astype(dtype):
        s = float(s)
        np.testing.assert_array_equal(_leaky_fast(x, s), np.where(x > 0, x, x * x.dtype.type(s)))
        np.testing.assert_array_equal(_leaky_grad_fast(g, x, s),
                                      np.where(x > 0, g, g * g.dtype.type(s)))
