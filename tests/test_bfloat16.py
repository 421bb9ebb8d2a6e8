"""bfloat16 through the framework, compared with PyTorch on the CPU.

PyTorch stores bfloat16 but computes each op in float32 and rounds its result once; brickwork
does the same (``ops/_bf16.py``), so most results here are compared bit for bit (``exact``),
the rest within one unit in the last place (``ulp``), where PyTorch itself does not round once.
A few checks need no torch: they compare with the same op run in float32 and rounded.
"""
import ml_dtypes
import numpy as np
import pytest

import brickwork
from helpers import check_error, check_op, requires_torch, torch

BF16 = np.dtype(ml_dtypes.bfloat16)
bw = brickwork


def bf16_array(shape, low=-2.0, high=2.0, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32).astype(BF16)


def to_torch(arr):
    return torch.from_numpy(np.ascontiguousarray(arr).view(np.uint16).copy()).view(torch.bfloat16)


def ulps(b, t) -> int:
    """The largest distance, in bfloat16 units in the last place, between two results (NaNs in
    the same places count as equal)."""
    bi = b.detach()._host().view(np.int16).astype(np.int64)
    ti = t.detach().view(torch.int16).numpy().astype(np.int64)
    bn = np.isnan(b.detach()._host().astype(np.float32))
    d = np.where(bn & np.isnan(t.detach().float().numpy()), 0, np.abs(bi - ti))
    return int(d.max()) if d.size else 0


def compare(fn, *arrays, max_ulp=0):
    """Run ``fn(lib, *tensors)`` on both libraries with bfloat16 inputs and compare every
    output's dtype and values (within ``max_ulp``)."""
    b = fn(bw, *[bw.tensor(a.copy()) for a in arrays])
    t = fn(torch, *[to_torch(a) for a in arrays])
    b, t = (b, t) if isinstance(t, tuple) else ((b,), (t,))
    for x, y in zip(b, t):
        assert x.dtype.name == str(y.dtype)[6:], (x.dtype, y.dtype)
        assert tuple(x.shape) == tuple(y.shape)
        if y.dtype == torch.bfloat16:
            assert ulps(x, y) <= max_ulp, f"{ulps(x, y)} ulp apart"
        else:
            np.testing.assert_array_equal(x._host(), y.numpy())


A, B = bf16_array((4, 5)), bf16_array((4, 5), seed=1)
POS = bf16_array((4, 5), 0.1, 3.0, seed=2)
UNIT = bf16_array((4, 5), -0.9, 0.9, seed=3)
BIG, BIG2 = bf16_array((8, 300), seed=5), bf16_array((300, 16), seed=6)
IMG, KERNEL, BIAS = bf16_array((2, 3, 10, 10), seed=10), bf16_array((4, 3, 3, 3), seed=11), \
    bf16_array((4,), seed=12)
TARGET = np.array([1, 2, 3, 4])
F = "nn.functional."


def _get(lib, name):
    for part in name.split("."):
        lib = getattr(lib, part)
    return lib


# -- factories and conversions -----------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("make", [
    lambda L: L.zeros(2, 3, dtype=L.bfloat16), lambda L: L.ones(4, dtype=L.bfloat16),
    lambda L: L.full((3,), 1.3, dtype=L.bfloat16), lambda L: L.arange(5, dtype=L.bfloat16),
    lambda L: L.arange(0, 1, 0.1, dtype=L.bfloat16),
    lambda L: L.tensor([1.1, 2.2, 1e10, -3e-5], dtype=L.bfloat16),
    lambda L: L.linspace(0, 1, 7, dtype=L.bfloat16),
    lambda L: L.zeros_like(L.ones(2), dtype=L.bfloat16),
    lambda L: L.full_like(L.ones(2, dtype=L.bfloat16), 2.7),
    lambda L: L.tensor([0.3, 1.7, -2.5]).to(L.bfloat16), lambda L: L.tensor([0.3, 1.7]).bfloat16(),
    lambda L: L.tensor([0.3, 1.7]).bfloat16().float(),
    lambda L: L.tensor([0.3, 1.7], dtype=L.float64).bfloat16().double(),
    lambda L: L.tensor([2.7, -2.7]).bfloat16().long(),
    lambda L: L.tensor([300, -7]).to(L.bfloat16), lambda L: L.tensor([0.3]).bfloat16().half(),
    lambda L: L.BFloat16Tensor([1.1, 2]), lambda L: L.ones(2).type(L.BFloat16Tensor),
    lambda L: L.ones(2).type("torch.BFloat16Tensor"),
], ids=["zeros", "ones", "full", "arange", "arange_float", "tensor", "linspace", "zeros_like",
        "full_like", "to", "bfloat16", "float", "double", "long", "from_int", "half", "legacy",
        "type_class", "type_name"])
def test_factories_and_conversions(make):
    compare(lambda L: make(L))


@requires_torch
def test_random_factories_give_bfloat16():
    for make in (lambda L: L.rand(3, 4, dtype=L.bfloat16), lambda L: L.randn(5, dtype=L.bfloat16),
                 lambda L: L.empty(2, dtype=L.bfloat16),
                 lambda L: L.rand_like(L.ones(2, dtype=L.bfloat16)),
                 lambda L: L.randn_like(L.ones(2), dtype=L.bfloat16),
                 lambda L: L.empty_like(L.ones(2, dtype=L.bfloat16)),
                 lambda L: L.ones(2).new_zeros(3, dtype=L.bfloat16)):
        b, t = make(bw), make(torch)
        assert b.dtype is bw.bfloat16 and t.dtype == torch.bfloat16
        assert tuple(b.shape) == tuple(t.shape)
    r = bw.rand(1000, dtype=bw.bfloat16)._host().astype(np.float32)
    assert 0 <= r.min() and r.max() <= 1 and 0.4 < r.mean() < 0.6


@requires_torch
def test_python_values_numpy_and_type_names():
    b, t = bw.tensor([1.1, 2.2]).bfloat16(), torch.tensor([1.1, 2.2]).bfloat16()
    assert b.tolist() == t.tolist() == [1.1015625, 2.203125]
    assert type(b[0].item()) is float and b[0].item() == t[0].item()
    assert float(b[1]) == float(t[1]) and int(b[1]) == int(t[1])
    for lib, x in ((bw, b), (torch, t)):
        with pytest.raises(TypeError, match="^Got unsupported ScalarType BFloat16$"):
            x.numpy()
        with pytest.raises(TypeError, match="^Got unsupported ScalarType BFloat16$"):
            x.numpy(force=True)
        with pytest.raises(RuntimeError, match="requires grad"):
            x.clone().requires_grad_().numpy()  # the grad check comes first, as in PyTorch
        assert x.is_floating_point() and lib.is_floating_point(x)
        assert lib.bfloat16.is_floating_point and lib.bfloat16.is_signed
        assert not lib.is_complex(x)
        assert x.element_size() == 2
    assert b.type() == "brickwork.BFloat16Tensor" and t.type() == "torch.BFloat16Tensor"
    for d in ("complex64", "complex128", "uint16", "uint32", "uint64"):
        tname = torch.zeros(1, dtype=getattr(torch, d)).type()
        assert bw.zeros(1, dtype=getattr(bw, d)).type() == tname.replace("torch.", "brickwork.")
    for lib in (bw, torch):
        with pytest.raises(ValueError, match="invalid type: 'BFloat16Tensor'"):
            lib.ones(2).type("BFloat16Tensor")
    assert repr(b) == repr(t).replace("torch.", "brickwork.")


@requires_torch
def test_finfo_matches_torch():
    b, t = bw.finfo(bw.bfloat16), torch.finfo(torch.bfloat16)
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(b, field) == getattr(t, field), field
    assert repr(b) == repr(t)
    for lib in (bw, torch):
        with pytest.raises(TypeError, match="iinfo"):
            lib.iinfo(lib.bfloat16)


def test_requires_grad_and_casting_rules():
    x = bw.ones(2, dtype=bw.bfloat16, requires_grad=True)
    assert x.requires_grad and bw.zeros(1, dtype=bw.bfloat16).requires_grad_().requires_grad
    assert (x * 2).grad_fn is not None  # a bfloat16 result carries a gradient
    with pytest.raises(RuntimeError, match="ComplexFloat can't be cast to the desired output "
                                           "type BFloat16"):
        bw.ones(2, dtype=bw.bfloat16).add_(bw.ones(2, dtype=bw.complex64))
    with pytest.raises(RuntimeError, match="BFloat16 can't be cast to the desired output type "
                                           "Long"):
        bw.ones(2, dtype=bw.int64).add_(bw.ones(2, dtype=bw.bfloat16))
    y = bw.ones(2, dtype=bw.bfloat16)
    y.add_(bw.tensor([0.1, 0.2]))  # a float32 operand may be written into bfloat16
    assert y.dtype is bw.bfloat16


# -- arithmetic: bit-equal to PyTorch where it rounds once ---------------------------------------
ELEMENTWISE = {
    "neg": A, "abs": A, "exp": A, "log": POS, "sqrt": POS, "sin": A, "cos": A, "tanh": A,
    "sigmoid": A, "relu": A, "expm1": A, "log1p": POS, "rsqrt": POS, "reciprocal": POS,
    "floor": A, "round": A, "sign": A, "square": A, "erf": A, "erfinv": UNIT, "asin": UNIT,
    "atan": A, "sinh": A, "lgamma": POS, "digamma": POS, "sinc": A, "logit": UNIT,
    "deg2rad": A, "rad2deg": A, "isnan": A,
}


@requires_torch
@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_unary_ops_are_exact(name):
    compare(lambda L, x: getattr(L, name)(x), ELEMENTWISE[name])


@requires_torch
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "atan2", "fmod",
                                  "remainder", "hypot", "lt", "eq", "floor_divide", "xlogy",
                                  "logaddexp"])
def test_binary_ops_are_exact(name):
    x, y = (POS, POS) if name in ("pow", "fmod", "remainder", "div", "floor_divide") else (A, B)
    compare(lambda L, a, b: getattr(L, name)(a, b), x, y)


@requires_torch
@pytest.mark.parametrize("fn", [
    lambda L, a, b: L.lerp(a, b, 0.3), lambda L, a, b: L.addcmul(a, b, b, value=0.5),
    lambda L, a, b: L.addcdiv(a, b, b.abs() + 1, value=0.5), lambda L, a, b: L.clamp(a, -0.5, 0.7),
    lambda L, a, b: L.where(a > 0, a, b), lambda L, a, b: a + L.ones(5, dtype=L.int64),
    lambda L, a, b: a + 1.3, lambda L, a, b: a * b.float(),
], ids=["lerp", "addcmul", "addcdiv", "clamp", "where", "with_int", "with_scalar",
        "with_float32"])
def test_mixed_and_composite_elementwise_are_exact(fn):
    compare(fn, A, B)


@requires_torch
@pytest.mark.parametrize("fn", [
    lambda L, a, b: a * 0.1, lambda L, a, b: 0.7 * a, lambda L, a, b: a / 3.3,
    lambda L, a, b: 1.1 / (a.abs() + 1), lambda L, a, b: a + 0.1, lambda L, a, b: 0.3 - a,
    lambda L, a, b: a.clone().mul_(0.1), lambda L, a, b: a.clone().addcmul_(b, b, value=0.1),
], ids=["mul", "rmul", "div", "rdiv", "add", "rsub", "mul_", "addcmul_"])
def test_python_scalars_as_pytorch_uses_them(fn):
    # PyTorch multiplies and divides by a Python float in float32 but rounds a float it adds
    # (and alpha) to bfloat16 first; brickwork does the same.
    a, b = bf16_array((1000,), seed=7), bf16_array((1000,), seed=8)
    compare(fn, a, b)
    # Where cancellation makes the result tiny, alpha's rounding order can cost one ulp.
    compare(lambda L, x, y: L.sub(x, y, alpha=0.3), a, b, max_ulp=1)
    compare(lambda L, x, y: L.add(x, y, alpha=0.1), a, b, max_ulp=1)


ACTIVATIONS = ["gelu", "silu", "softplus", "elu", "mish", "leaky_relu", "hardtanh", "hardswish",
               "hardsigmoid", "selu", "logsigmoid"]


@requires_torch
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_are_exact(name):
    compare(lambda L, x: _get(L, F + name)(x), A)
    compare(lambda L, x: L.nn.functional.gelu(x, approximate="tanh"), A)


REDUCTIONS = {
    "sum": lambda L, x: x.sum(), "sum_dim": lambda L, x: x.sum(1),
    "mean": lambda L, x: x.mean(), "mean_dim": lambda L, x: x.mean(1, keepdim=True),
    "var": lambda L, x: x.var(1), "std": lambda L, x: x.std(),
    "var_mean": lambda L, x: L.var_mean(x, 1),
    "nansum": lambda L, x: L.nansum(x, 1), "nanmean": lambda L, x: L.nanmean(x, 1),
    "amax": lambda L, x: x.amax(1), "max": lambda L, x: tuple(x.max(1)),
    "argmax": lambda L, x: x.argmax(1), "sort": lambda L, x: tuple(x.sort(dim=1, stable=True)),
    "vector_norm": lambda L, x: L.linalg.vector_norm(x, dim=1), "norm": lambda L, x: x.norm(),
    "logsumexp": lambda L, x: L.logsumexp(x, 1), "softmax": lambda L, x: L.softmax(x, 1),
    "cumsum": lambda L, x: L.cumsum(x, 1), "cumprod": lambda L, x: L.cumprod(x[:, :10], 1),
    "prod": lambda L, x: x[:, :10].prod(1), "logcumsumexp": lambda L, x: L.logcumsumexp(x, 1),
    "layer_norm": lambda L, x: L.nn.functional.layer_norm(x, (300,)),
    "trace": lambda L, x: L.trace(x),
    "rms_norm": lambda L, x: L.nn.functional.rms_norm(x, (300,)),
    "glu": lambda L, x: L.nn.functional.glu(x),
}


@requires_torch
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions_accumulate_in_float32(name):
    compare(REDUCTIONS[name], BIG)


@requires_torch
def test_log_softmax_within_one_ulp():
    # PyTorch's kernel rounds x - max - log(sum) in two steps; brickwork rounds once.
    compare(lambda L, x: L.log_softmax(x, 1), BIG, max_ulp=1)


PRODUCTS = {
    "matmul": lambda L, x, y: x @ y, "mm": lambda L, x, y: L.mm(x, y),
    "linear": lambda L, x, y: L.nn.functional.linear(x, y.T, y[0, :].reshape(16) * 0 + 0.5),
    "bmm": lambda L, x, y: L.bmm(x.reshape(2, 4, 300), L.stack([y, y])),
    "dot": lambda L, x, y: L.dot(x[0], x[1]), "mv": lambda L, x, y: L.mv(y.T, x[0]),
    "einsum": lambda L, x, y: L.einsum("ij,jk->ik", x, y),
    "addmm": lambda L, x, y: L.addmm(y[:8, :], x, y),
    "tensordot": lambda L, x, y: L.tensordot(x, y, dims=([1], [0])),
    "baddbmm": lambda L, x, y: L.baddbmm(L.ones(2, 4, 16, dtype=x.dtype), x.reshape(2, 4, 300),
                                         L.stack([y, y])),
}


@requires_torch
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_products_accumulate_in_float32(name):
    compare(PRODUCTS[name], BIG, BIG2)


@requires_torch
@pytest.mark.parametrize("fn", [
    lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1),
    lambda L, x, w, b: L.nn.functional.conv1d(x[:, :, 0], w[:, :, 0], stride=2),
    lambda L, x, w, b: L.nn.functional.conv_transpose2d(x[:, :, :4, :4], w.transpose(0, 1)),
    lambda L, x, w, b: L.nn.functional.max_pool2d(x, 2),
    lambda L, x, w, b: L.nn.functional.avg_pool2d(x, 2),
    lambda L, x, w, b: L.nn.functional.adaptive_avg_pool2d(x, 3),
    lambda L, x, w, b: L.nn.functional.group_norm(x, 1),
], ids=["conv2d", "conv1d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg",
        "group_norm"])
def test_convolutions_pooling_and_norms(fn):
    compare(fn, IMG, KERNEL, BIAS)


LOSSES = {
    "cross_entropy": lambda L, x, y: L.nn.functional.cross_entropy(x, L.tensor(TARGET)),
    "mse": lambda L, x, y: L.nn.functional.mse_loss(x, y),
    "mse_none": lambda L, x, y: L.nn.functional.mse_loss(x, y, reduction="none"),
    "l1": lambda L, x, y: L.nn.functional.l1_loss(x, y),
    "smooth_l1": lambda L, x, y: L.nn.functional.smooth_l1_loss(x, y),
    "huber": lambda L, x, y: L.nn.functional.huber_loss(x, y, reduction="sum"),
    "bce": lambda L, x, y: L.nn.functional.binary_cross_entropy(L.sigmoid(x), L.sigmoid(y)),
    "bce_logits": lambda L, x, y: L.nn.functional.binary_cross_entropy_with_logits(
        x, L.sigmoid(y)),
}


@requires_torch
@pytest.mark.parametrize("name", list(LOSSES))
def test_losses(name):
    compare(LOSSES[name], A, B)


@requires_torch
def test_losses_over_log_softmax_within_one_ulp():
    # Their input is log_softmax's, itself within one ulp of PyTorch's (see above).
    compare(lambda L, x, y: L.nn.functional.nll_loss(L.log_softmax(x, 1), L.tensor(TARGET)), A, B,
            max_ulp=1)
    compare(lambda L, x, y: L.nn.functional.kl_div(L.log_softmax(x, 1), L.softmax(y, 1),
                                                   reduction="batchmean"), A, B, max_ulp=1)


@requires_torch
def test_batch_norm_within_bfloat16_tolerance():
    # PyTorch's bfloat16 batch norm mixes float32 statistics with bfloat16 arithmetic.
    b = bw.nn.functional.batch_norm(bw.tensor(IMG), None, None, training=True)
    t = torch.nn.functional.batch_norm(to_torch(IMG), None, None, training=True)
    assert b.dtype is bw.bfloat16
    np.testing.assert_allclose(b._host().astype(np.float32), t.float().numpy(), atol=2e-2)


@requires_torch
@pytest.mark.parametrize("fn", [
    lambda L, a, b: L.bitwise_and(a, b), lambda L, a, b: ~a, lambda L, a, b: L.gcd(a, b),
    lambda L, a, b: a[b], lambda L, a, b: L.linalg.inv(a[:4, :4]),
    lambda L, a, b: L.histogramdd(a, 3),
], ids=["bitwise_and", "invert", "gcd", "index", "inv", "histogramdd"])
def test_refusals_name_bfloat16_as_pytorch(fn):
    check_error(fn, [A, B])


@requires_torch
def test_cdist_is_refused_as_in_pytorch():
    for lib, x in ((bw, bw.tensor(A)), (torch, to_torch(A))):
        with pytest.raises(NotImplementedError, match="\"cdist\" not implemented for 'BFloat16'"):
            lib.cdist(x, x)


def test_float32_inside_without_torch():
    """The rule itself, with no reference library: one rounding of the float32 result."""
    x, w = bw.tensor(BIG), bw.tensor(BIG2)
    for op in (lambda a: a.sum(1), lambda a: a.softmax(1), lambda a: a.var(1),
               lambda a: bw.nn.functional.gelu(a), lambda a: bw.cumsum(a, 1),
               lambda a: a @ w.to(a.dtype)):
        got, want = op(x), op(x.float()).bfloat16()
        assert got.dtype is bw.bfloat16
        np.testing.assert_array_equal(got._host().view(np.int16), want._host().view(np.int16))
    # The result keeps the dtype the arguments ask for: dtype=, a float32 operand.
    assert x.sum(dtype=bw.float32).dtype is bw.float32
    assert bw.softmax(x, 1, dtype=bw.float64).dtype is bw.float64
    # dtype=bfloat16 on bfloat16 input changes nothing: still one rounding.
    for got in (x.sum(1, dtype=bw.bfloat16), bw.softmax(x, 1, bw.bfloat16)):
        assert got.dtype is bw.bfloat16
    np.testing.assert_array_equal(x.sum(1, dtype=bw.bfloat16)._host().view(np.int16),
                                  x.float().sum(1).bfloat16()._host().view(np.int16))


# -- gradients -----------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("fn", [
    lambda L, x: L.sigmoid(x) * x, lambda L, x: (x @ x.T).sum(0),
    lambda L, x: L.softmax(x, 1), lambda L, x: L.nn.functional.layer_norm(x, (5,)),
    lambda L, x: L.nn.functional.gelu(x).mean(1), lambda L, x: x.var(0),
], ids=["sigmoid", "matmul", "softmax", "layer_norm", "gelu_mean", "var"])
def test_gradients_with_check_op(fn):
    check_op(fn, [A], second_order=False)


@requires_torch
def test_small_mlp_forward_and_backward():
    rng = np.random.default_rng(0)

    def arr(*shape, scale=0.3):
        return rng.normal(0, scale, shape).astype(np.float32).astype(BF16)

    weights = [arr(32, 16), arr(32, scale=0.1), arr(5, 32), arr(5, scale=0.1)]
    x = arr(8, 16, scale=1.0)
    y = rng.integers(0, 5, 8)

    def run(lib, convert):
        ps = [convert(w).requires_grad_() for w in weights]
        h = lib.nn.functional.gelu(lib.nn.functional.linear(convert(x), ps[0], ps[1]))
        h = lib.nn.functional.layer_norm(h, (32,))
        loss = lib.nn.functional.cross_entropy(lib.nn.functional.linear(h, ps[2], ps[3]),
                                               lib.tensor(y))
        loss.backward()
        return [loss] + [p.grad for p in ps]

    b = run(bw, lambda a: bw.tensor(a.copy()))
    t = run(torch, to_torch)
    assert ulps(b[0], t[0]) <= 1
    for gb, gt in zip(b[1:], t[1:]):
        assert gb.dtype is bw.bfloat16
        np.testing.assert_allclose(gb._host().astype(np.float32), gt.float().numpy(),
                                   atol=5e-3, rtol=2e-2)


def test_gradient_dtype_and_finite_differences_without_torch():
    x = bw.tensor(A[:2, :3].copy(), requires_grad=True)
    (bw.softmax(x, 1) * bw.arange(3, dtype=bw.bfloat16)).sum().backward()
    assert x.grad.dtype is bw.bfloat16
    # The same gradient computed in float64 and rounded: within a bfloat16 rounding.
    x64 = bw.tensor(A[:2, :3].astype(np.float64), requires_grad=True)
    (bw.softmax(x64, 1) * bw.arange(3, dtype=bw.float64)).sum().backward()
    np.testing.assert_allclose(x.grad._host().astype(np.float64), x64.grad._host(), atol=1e-2)


# -- the GPU backend ------------------------------------------------------------------------------
def test_gpu_with_bfloat16_support(sim_cuda):
    """The simulated CuPy computes on bfloat16 (as CuPy 14 does): tensors may live there."""
    x = bw.tensor(A.copy(), device="cuda:1")
    assert x.dtype is bw.bfloat16 and x.device == bw.device("cuda:1")
    np.testing.assert_array_equal((x.sum(1)).cpu()._host(), bw.tensor(A).sum(1)._host())
    assert bw.ones(2).cuda().bfloat16().dtype is bw.bfloat16
    assert bw.cuda.is_bf16_supported()


@requires_torch
def test_ops_on_the_simulated_gpu_match_pytorch(sim_cuda):
    from helpers import testing_on

    with testing_on("cuda:1"):
        check_op(lambda L, x, w: L.nn.functional.layer_norm(L.softmax(x @ w, 1), (16,)),
                 [BIG, BIG2], second_order=False)


def test_gpu_without_bfloat16_support_refuses_clearly(sim_cuda, monkeypatch):
    from brickwork.device import cupy_module
    from brickwork.ops import _bf16

    monkeypatch.setitem(_bf16._GPU_BF16, id(cupy_module()), False)
    assert not bw.cuda.is_bf16_supported()
    cpu = bw.ones(2, dtype=bw.bfloat16)
    for make in (lambda: cpu.cuda(), lambda: cpu.to("cuda:1"),
                 lambda: bw.ones(2, device="cuda").bfloat16(),
                 lambda: bw.zeros(2, dtype=bw.bfloat16, device="cuda"),
                 lambda: bw.tensor([1.0], dtype=bw.bfloat16, device="cuda:1"),
                 lambda: bw.rand(2, dtype=bw.bfloat16, device="cuda"),
                 lambda: bw.BFloat16Tensor([1.0], device="cuda")):
        with pytest.raises(TypeError, match=r"bfloat16 tensors are not supported on cuda:\d"):
            make()
    assert bw.ones(2, device="cuda").float().dtype is bw.float32  # other dtypes unaffected
    assert cpu.float().dtype is bw.float32


def test_is_bf16_supported_without_gpu():
    assert bw.cuda.is_bf16_supported() is (bw.cuda.is_available() and
                                           bw.ops._bf16.gpu_supports_bfloat16())
    if torch is not None and not torch.cuda.is_available() and not bw.cuda.is_available():
        assert bw.cuda.is_bf16_supported() == torch.cuda.is_bf16_supported() is False


def test_import_does_not_load_ml_dtypes_until_bfloat16_is_used():
    # ml_dtypes takes about a second to import; brickwork defers it to the first bfloat16.
    import subprocess
    import sys

    code = ("import sys, brickwork; a = 'ml_dtypes' in sys.modules; "
            "brickwork.ones(1, dtype=brickwork.bfloat16); print(a, 'ml_dtypes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["False", "True"]
