"""The nn-function family (ops/nn_extra.py and its _nn_* files), part 1: activations,
dropouts and rearrangements, at torch level and in nn.functional, against PyTorch; plus
NumPy expectations and finite-difference checks that need no PyTorch.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import brickwork
import brickwork.nn.functional as BF
from brickwork.autograd import gradcheck, gradgradcheck
from helpers import check_behaviour, check_error, check_op, rand_array, requires_torch


def F(lib):
    """``nn.functional`` of ``lib``."""
    return lib.nn.functional


F64 = "float64"


def _x(shape=(3, 4), dtype=F64, seed=0, low=-3.0, high=3.0):
    return rand_array(shape, dtype, low, high, seed)


# (id, fn(lib, *tensors), inputs): values, dtypes, gradients and second derivatives
CASES = [
    ("selu", lambda L, x: L.selu(x), [_x()]),
    ("selu_f32", lambda L, x: L.selu(x), [_x((5,), "float32")]),
    ("selu_F", lambda L, x: F(L).selu(x), [_x((2, 3, 2))]),
    ("selu_0d", lambda L, x: L.selu(x), [_x(())]),
    ("selu_empty", lambda L, x: L.selu(x), [_x((0, 3))]),
    ("selu_", lambda L, x: L.selu_(x * 1), [_x()]),
    ("F_selu_inplace", lambda L, x: F(L).selu(x * 1, inplace=True), [_x()]),
    ("celu", lambda L, x: L.celu(x), [_x()]),
    ("celu_alpha", lambda L, x: L.celu(x, 0.7), [_x()]),
    ("celu_", lambda L, x: L.celu_(x * 1, 2.0), [_x()]),
    ("F_celu", lambda L, x: F(L).celu(x, alpha=1.5), [_x()]),
    ("F_celu_", lambda L, x: F(L).celu_(x * 1), [_x()]),
    ("prelu_1", lambda L, x, w: L.prelu(x, w), [_x((2, 3, 4)), np.array([0.25])]),
    ("prelu_c", lambda L, x, w: L.prelu(x, w), [_x((2, 3, 4)), _x((3,), seed=5)]),
    ("prelu_2d", lambda L, x, w: F(L).prelu(x, w), [_x((4, 3)), _x((3,), seed=5)]),
    ("prelu_1d", lambda L, x, w: x.prelu(w), [_x((4,)), np.array([0.1])]),
    ("prelu_0d_w", lambda L, x, w: L.prelu(x, w), [_x((2, 3)), np.array(0.3)]),
    ("hardshrink", lambda L, x: L.hardshrink(x), [_x()]),
    ("hardshrink_l", lambda L, x: x.hardshrink(1.2), [_x()]),
    ("F_hardshrink", lambda L, x: F(L).hardshrink(x, 0.1), [_x((5,), "float32")]),
    ("softshrink", lambda L, x: F(L).softshrink(x), [_x()]),
    ("softshrink_l", lambda L, x: F(L).softshrink(x, 1.0), [_x()]),
    ("threshold", lambda L, x: L.threshold(x, 0.5, -2.0), [_x()]),
    ("threshold_", lambda L, x: L.threshold_(x * 1, 0.5, -2.0), [_x()]),
    ("F_threshold", lambda L, x: F(L).threshold(x, 0.1, 20), [_x()]),
    ("F_threshold_inplace", lambda L, x: F(L).threshold(x * 1, 0.1, 2, True), [_x()]),
    ("F_threshold_", lambda L, x: F(L).threshold_(x * 1, 0.1, 2), [_x()]),
    ("threshold_int", lambda L, x: L.threshold(x, 0.5, 2.5),
     [np.arange(-3, 3).astype("int64")]),
    ("softsign", lambda L, x: F(L).softsign(x), [_x()]),
    ("softsign_int", lambda L, x: F(L).softsign(x), [np.arange(-3, 3)]),
    ("tanhshrink", lambda L, x: F(L).tanhshrink(x), [_x()]),
    ("logsigmoid", lambda L, x: F(L).logsigmoid(x), [_x()]),
    ("logsigmoid_big", lambda L, x: F(L).logsigmoid(x),
     [np.array([-200.0, -30.0, 0.0, 30.0, 200.0])]),
    ("hardsigmoid", lambda L, x: F(L).hardsigmoid(x), [_x(low=-5, high=5)]),
    ("hardsigmoid_", lambda L, x: F(L).hardsigmoid(x * 1, inplace=True), [_x(low=-5, high=5)]),
    ("hardswish", lambda L, x: F(L).hardswish(x), [_x(low=-5, high=5)]),
    ("hardswish_", lambda L, x: F(L).hardswish(x * 1, True), [_x(low=-5, high=5)]),
    ("glu", lambda L, x: F(L).glu(x), [_x((3, 4))]),
    ("glu_dim", lambda L, x: F(L).glu(x, 0), [_x((4, 3))]),
    ("glu_f32", lambda L, x: F(L).glu(x, -2), [_x((2, 6, 3), "float32")]),
    ("rrelu_eval", lambda L, x: L.rrelu(x), [_x()]),
    ("rrelu_eval_b", lambda L, x: L.rrelu(x, 0.1, 0.5, False), [_x()]),
    ("rrelu__eval", lambda L, x: L.rrelu_(x * 1, 0.2, 0.4), [_x()]),
    ("F_rrelu_eval", lambda L, x: F(L).rrelu(x, training=False), [_x()]),
    ("F_rrelu__eval", lambda L, x: F(L).rrelu_(x * 1), [_x()]),
    ("alpha_dropout_eval", lambda L, x: L.alpha_dropout(x, 0.5, False), [_x()]),
    ("alpha_dropout_p0", lambda L, x: L.alpha_dropout(x, 0.0, True), [_x()]),
    ("F_alpha_dropout", lambda L, x: F(L).alpha_dropout(x, 0.3), [_x()]),
    ("feature_alpha_dropout_eval", lambda L, x: L.feature_alpha_dropout(x, 0.5, False),
     [_x((2, 3, 4))]),
    ("F_feature_alpha_dropout", lambda L, x: F(L).feature_alpha_dropout(x, 0.5, False),
     [_x((2, 3, 4))]),
    ("alpha_dropout_p1", lambda L, x: L.alpha_dropout(x, 1.0, True), [_x()]),
    ("feature_alpha_dropout_p1", lambda L, x: L.feature_alpha_dropout(x, 1.0, True),
     [_x((2, 3))]),
    ("pixel_shuffle", lambda L, x: L.pixel_shuffle(x, 2), [_x((2, 8, 3, 2))]),
    ("pixel_shuffle_3d", lambda L, x: F(L).pixel_shuffle(x, 3), [_x((9, 2, 2))]),
    ("pixel_shuffle_5d", lambda L, x: L.pixel_shuffle(x, 2), [_x((2, 1, 4, 2, 3))]),
    ("pixel_unshuffle", lambda L, x: L.pixel_unshuffle(x, 2), [_x((2, 2, 4, 6))]),
    ("pixel_unshuffle_3d", lambda L, x: F(L).pixel_unshuffle(x, 3), [_x((1, 3, 6))]),
    ("pixel_roundtrip", lambda L, x: L.pixel_unshuffle(L.pixel_shuffle(x, 2), 2),
     [_x((1, 4, 2, 3))]),
    ("channel_shuffle", lambda L, x: L.channel_shuffle(x, 3), [_x((2, 6, 2))]),
    ("channel_shuffle_4d", lambda L, x: F(L).channel_shuffle(x, 2), [_x((1, 4, 2, 3))]),
    ("pixel_shuffle_int", lambda L, x: L.pixel_shuffle(x, 2),
     [np.arange(16).reshape(1, 4, 2, 2)]),
]


# PyTorch has no second derivative for these (brickwork's is the exact one: 0).
NO_SECOND_ORDER = {"hardsigmoid", "hardsigmoid_"}


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, fn, inputs):
    check_op(fn, inputs, second_order=name not in NO_SECOND_ORDER)


def test_pixel_shuffle_empty():
    # (PyTorch's own backward fails on an empty batch, so values only.)
    check_op(lambda L, x: L.pixel_shuffle(x, 2), [_x((0, 4, 3, 4))], grad=[False])


def test_grad_fn_names():
    x = brickwork.tensor([1.0, -1.0], requires_grad=True)
    assert type(brickwork.selu(x).grad_fn).__name__ == "EluBackward0"
    assert type(brickwork.hardshrink(x).grad_fn).__name__ == "HardshrinkBackward0"
    assert type(BF.logsigmoid(x).grad_fn).__name__ == "LogSigmoidBackward0"


ERRORS = [
    ("selu_int", lambda L, x: L.selu(x), [np.arange(3)]),
    ("celu_zero", lambda L, x: L.celu(x, 0.0), [_x()]),
    ("hardshrink_int", lambda L, x: L.hardshrink(x), [np.arange(3)]),
    ("softshrink_neg", lambda L, x: F(L).softshrink(x, -1), [_x((3,), "float32")]),
    ("softshrink_neg64", lambda L, x: F(L).softshrink(x, -1), [_x((3,))]),
    ("logsigmoid_int", lambda L, x: F(L).logsigmoid(x), [np.arange(3)]),
    ("threshold_bool", lambda L, x: L.threshold(x, 0, 1), [np.array([True, False])]),
    ("glu_odd", lambda L, x: F(L).glu(x), [_x((3,))]),
    ("glu_0d", lambda L, x: F(L).glu(x), [_x(())]),
    ("prelu_mismatch", lambda L, x, w: L.prelu(x, w), [_x((2, 3)), _x((2,))]),
    ("prelu_2d_w", lambda L, x, w: L.prelu(x, w), [_x((2, 3)), _x((1, 3))]),
    ("prelu_int", lambda L, x, w: L.prelu(x, w), [np.arange(3), np.array([1])]),
    ("rrelu_bounds", lambda L, x: L.rrelu(x, 0.5, 0.2, True), [_x()]),
    ("alpha_dropout_p", lambda L, x: L.alpha_dropout(x, 1.5, True), [_x()]),
    ("F_alpha_dropout_p", lambda L, x: F(L).alpha_dropout(x, -0.5, True), [_x()]),
    ("feature_alpha_dropout_1d", lambda L, x: L.feature_alpha_dropout(x, 0.5, True), [_x((3,))]),
    ("F_feature_alpha_dropout_1d", lambda L, x: F(L).feature_alpha_dropout(x, 0.5, True),
     [_x((3,))]),
    ("pixel_shuffle_2d", lambda L, x: L.pixel_shuffle(x, 2), [_x((3, 4))]),
    ("pixel_shuffle_channels", lambda L, x: L.pixel_shuffle(x, 2), [_x((5, 3, 4))]),
    ("pixel_shuffle_zero", lambda L, x: L.pixel_shuffle(x, 0), [_x((4, 3, 4))]),
    ("pixel_unshuffle_h", lambda L, x: L.pixel_unshuffle(x, 2), [_x((4, 3, 4))]),
    ("pixel_unshuffle_w", lambda L, x: L.pixel_unshuffle(x, 2), [_x((4, 4, 3))]),
    ("pixel_unshuffle_zero", lambda L, x: L.pixel_unshuffle(x, 0), [_x((4, 4, 3))]),
    ("channel_shuffle_groups", lambda L, x: L.channel_shuffle(x, 4), [_x((2, 6, 3))]),
    ("channel_shuffle_2d", lambda L, x: L.channel_shuffle(x, 3), [_x((2, 6))]),
    ("channel_shuffle_neg", lambda L, x: L.channel_shuffle(x, -1), [_x((2, 6, 3))]),
]


@pytest.mark.parametrize("fn,inputs", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_like_torch(fn, inputs):
    check_error(fn, inputs)


# -- random activations: the statistics and bounds, since the draws differ from PyTorch's ----
def test_rrelu_training_slopes_in_bounds_and_gradient():
    brickwork.manual_seed(0)
    x = brickwork.tensor(-np.linspace(0.5, 2.0, 4000), requires_grad=True)
    y = brickwork.rrelu(x, 0.1, 0.3, True)
    slope = (y / x).detach().numpy()
    assert slope.min() >= 0.1 and slope.max() <= 0.3
    assert abs(slope.mean() - 0.2) < 0.01 and slope.std() > 0.05  # uniform: std 0.058
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slope)  # the gradient is the drawn slope
    pos = brickwork.tensor([1.0, 2.0])
    assert brickwork.rrelu(pos, training=True).tolist() == [1.0, 2.0]
    # in place, and repeatable with a seed
    brickwork.manual_seed(3)
    a = BF.rrelu(brickwork.tensor([-1.0] * 5), training=True)
    brickwork.manual_seed(3)
    b = brickwork.tensor([-1.0] * 5)
    BF.rrelu_(b, training=True)
    assert a.tolist() == b.tolist()


def test_rrelu_generator():
    g = brickwork.Generator().manual_seed(7)
    a = brickwork.rrelu(-brickwork.ones(6), training=True, generator=g)
    g.manual_seed(7)
    b = brickwork.rrelu(-brickwork.ones(6), training=True, generator=g)
    assert a.tolist() == b.tolist()


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_keeps_mean_and_variance(feature):
    brickwork.manual_seed(0)
    x = brickwork.randn(200, 100, 4, dtype=brickwork.float64) if feature else \
        brickwork.randn(200_000, dtype=brickwork.float64)
    fn = brickwork.feature_alpha_dropout if feature else brickwork.alpha_dropout
    y = fn(x, 0.3, True)
    assert abs(float(y.mean())) < 0.02 and abs(float(y.std()) - 1) < 0.02
    # dropped units all take the same value a * (-alpha) + b
    a = 1 / math.sqrt((1.7580993408473766 ** 2 * 0.3 + 1) * 0.7)
    dropped = -1.7580993408473766 * a + 1.7580993408473766 * a * 0.3
    frac = float((y - dropped).abs().lt(1e-12).double().mean())
    assert abs(frac - 0.3) < 0.03
    if feature:  # whole channels are dropped together
        hit = (y - dropped).abs().lt(1e-12)
        assert bool((hit.all(2) | ~hit.any(2)).all())


def test_alpha_dropout_gradient_and_inplace():
    brickwork.manual_seed(1)
    x = brickwork.randn(50, dtype=brickwork.float64, requires_grad=True)
    y = BF.alpha_dropout(x, 0.4, True)
    y.sum().backward()
    a = 1 / math.sqrt((1.7580993408473766 ** 2 * 0.4 + 1) * 0.6)
    kept = x.grad.numpy() != 0
    np.testing.assert_allclose(x.grad.numpy()[kept], a)
    z = brickwork.randn(10, 3)
    r = brickwork.alpha_dropout_(z, 0.5, True)
    assert r is z
    w = brickwork.randn(4, 3, 2)
    assert brickwork.feature_alpha_dropout_(w, 0.5, True) is w


def test_gumbel_softmax():
    brickwork.manual_seed(0)
    logits = brickwork.tensor([[0.0, 1.0, 2.0]], dtype=brickwork.float64, requires_grad=True)
    y = BF.gumbel_softmax(logits.expand(20000, 3), tau=0.5)
    assert y.shape == (20000, 3)
    np.testing.assert_allclose(y.sum(1).detach().numpy(), 1.0)
    # the argmax of a Gumbel-softmax sample follows softmax(logits)
    freq = np.bincount(y.argmax(1).numpy(), minlength=3) / 20000
    p = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    np.testing.assert_allclose(freq, p, atol=0.02)
    h = BF.gumbel_softmax(logits, hard=True)
    assert sorted(h.detach().numpy().ravel().tolist()) == [0.0, 0.0, 1.0]
    h.sum().backward()  # straight-through: the gradient of the soft sample (sums to 0)
    assert abs(float(logits.grad.sum())) < 1e-12


# -- without PyTorch: NumPy expectations and finite differences -----------------------------
def test_numpy_expectations():
    v = np.array([-2.0, -0.5, 0.0, 0.3, 2.0])
    x = brickwork.tensor(v)
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    np.testing.assert_allclose(brickwork.selu(x).numpy(),
                               scale * np.where(v > 0, v, alpha * np.expm1(v)))
    np.testing.assert_allclose(brickwork.celu(x, 2.0).numpy(),
                               np.where(v > 0, v, 2 * np.expm1(v / 2)))
    np.testing.assert_allclose(BF.logsigmoid(x).numpy(), np.log(1 / (1 + np.exp(-v))))
    np.testing.assert_allclose(BF.hardswish(x).numpy(), v * np.clip(v + 3, 0, 6) / 6)
    np.testing.assert_allclose(BF.softshrink(x, 0.4).numpy(),
                               np.sign(v) * np.maximum(np.abs(v) - 0.4, 0))
    assert brickwork.pixel_shuffle(brickwork.arange(4).reshape(1, 4, 1, 1), 2).tolist() == \
        [[[[0, 1], [2, 3]]]]
    assert brickwork.channel_shuffle(brickwork.arange(6).reshape(1, 6, 1), 2) \
        .reshape(-1).tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.parametrize("fn", [
    lambda x: brickwork.selu(x), lambda x: brickwork.celu(x, 0.5), lambda x: BF.logsigmoid(x),
    lambda x: BF.softsign(x), lambda x: BF.tanhshrink(x), lambda x: BF.glu(x, 0),
    lambda x: brickwork.prelu(x, brickwork.tensor([0.2, -0.3], dtype=brickwork.float64)),
    lambda x: BF.hardswish(x), lambda x: brickwork.pixel_shuffle(x.reshape(1, 4, 1, 1), 2),
])
def test_gradcheck(fn):
    x = brickwork.tensor([[-1.3, 0.7], [2.1, -0.4]], dtype=brickwork.float64,
                         requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_prelu_weight_gradcheck():
    x = brickwork.tensor(_x((2, 3, 2)))
    w = brickwork.tensor([0.2, -0.1, 0.5], dtype=brickwork.float64, requires_grad=True)
    assert gradcheck(lambda w: brickwork.prelu(x, w), (w,))


@requires_torch
def test_functional_signatures_match_torch():
    import inspect

    import torch

    from brickwork.nn import _functional_more

    checked = 0
    for name in _functional_more.__all__:
        try:
            want = inspect.signature(getattr(torch.nn.functional, name))
        except (TypeError, ValueError):  # a builtin: no Python signature to compare
            continue
        got = inspect.signature(getattr(BF, name))
        assert [(p.name, p.default, p.kind) for p in got.parameters.values()] == \
            [(p.name, p.default, p.kind) for p in want.parameters.values()], name
        checked += 1
    assert checked >= 25
    assert inspect.signature(brickwork.Tensor.hardshrink).parameters["lambd"].default == 0.5


def test_inplace_returns_input_and_bumps_version():
    def run(lib):
        x = lib.tensor([-1.0, 0.5, 2.0])
        v = x._version
        outs = [lib.selu_(x) is x, lib.celu_(x) is x, lib.threshold_(x, 0.0, 0.0) is x,
                lib.rrelu_(x) is x]
        return outs, x._version > v, x

    check_behaviour(run)
