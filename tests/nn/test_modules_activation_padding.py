"""The activation_more, padding and pixelshuffle layers against PyTorch: values, gradients,
reprs, in-place behaviour and the errors for wrong inputs; plus NumPy-only expectations."""
import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from helpers import (assert_close, check_behaviour, check_error, check_op, rand_array,
                     requires_torch, torch)

ACTIVATIONS = [
    ("PReLU()", (3, 4)),
    ("PReLU(3, init=0.1)", (2, 3, 4)),
    ("RReLU().eval()", (3, 4)),
    ("RReLU(0.2, 0.4).eval()", (2, 5)),
    ("SELU()", (3, 4)),
    ("CELU()", (3, 4)),
    ("CELU(0.5)", (3, 4)),
    ("GLU()", (3, 4)),
    ("GLU(0)", (4, 3)),
    ("Hardswish()", (3, 4)),
    ("Hardsigmoid()", (3, 4)),
    ("Hardshrink()", (3, 4)),
    ("Hardshrink(1.2)", (3, 4)),
    ("Softshrink()", (3, 4)),
    ("Softshrink(0.9)", (3, 4)),
    ("Softsign()", (3, 4)),
    ("Tanhshrink()", (3, 4)),
    ("Threshold(0.3, -2.0)", (3, 4)),
    ("LogSigmoid()", (3, 4)),
    ("Softmax2d()", (3, 2, 2)),
    ("Softmax2d()", (2, 3, 2, 2)),
    ("PixelShuffle(2)", (1, 8, 2, 3)),
    ("PixelShuffle(3)", (2, 1, 9, 1, 2)),
    ("PixelUnshuffle(2)", (1, 2, 4, 6)),
    ("PixelUnshuffle(1)", (3, 2, 2)),
    ("ChannelShuffle(2)", (2, 4, 3)),
    ("ChannelShuffle(3)", (1, 6, 2, 2)),
]

PADDINGS = [
    ("ZeroPad1d(2)", (2, 3, 4)),
    ("ZeroPad1d((1, -1))", (3, 4)),
    ("ZeroPad2d((1, 0, 2, 1))", (1, 2, 3, 3)),
    ("ZeroPad3d(1)", (1, 2, 2, 2)),
    ("ConstantPad1d(3, 1.5)", (2, 4)),
    ("ConstantPad1d(1, 2.0)", (4,)),  # constant padding takes any rank
    ("ConstantPad2d((1, 2, 0, 1), -1.0)", (2, 2, 3)),
    ("ConstantPad3d((1, 0, 0, 1, 2, 0), 0.5)", (1, 1, 2, 2, 2)),
    ("ReflectionPad1d(2)", (2, 3, 4)),
    ("ReflectionPad1d((3, 1))", (3, 4)),
    ("ReflectionPad1d((-1, 2))", (1, 4)),
    ("ReflectionPad1d((3, -1))", (1, 4)),
    ("ReflectionPad2d(1)", (1, 2, 3, 3)),
    ("ReflectionPad2d((2, 0, 1, 2))", (2, 3, 4)),
    ("ReflectionPad2d((1, 1, -1, 2))", (1, 4, 4)),
    ("ReflectionPad2d(1)", (0, 2, 3, 3)),  # only the batch may be empty
    ("ReflectionPad3d(1)", (1, 1, 2, 3, 3)),
    ("ReflectionPad3d((1, 0, 0, 1, 1, 1))", (2, 3, 2, 2)),
    ("ReplicationPad1d(3)", (2, 3, 2)),
    ("ReplicationPad1d((2, -1))", (1, 4)),
    ("ReplicationPad2d((2, 1, 0, 3))", (1, 2, 3, 3)),
    ("ReplicationPad2d(2)", (2, 3, 3)),
    ("ReplicationPad3d(1)", (1, 2, 2, 2, 2)),
    ("ReplicationPad3d((0, 1, 2, 0, 1, 0))", (1, 2, 2, 2)),
    ("CircularPad1d(2)", (2, 3, 4)),
    ("CircularPad1d((4, 0))", (3, 4)),
    ("CircularPad1d((-1, 2))", (1, 4)),
    ("CircularPad1d((3, -1))", (1, 4)),
    ("CircularPad2d((1, 2, 0, 1))", (1, 2, 3, 3)),
    ("CircularPad2d(1)", (2, 3, 3)),
    ("CircularPad3d(1)", (1, 1, 2, 3, 3)),
    ("CircularPad3d((0, 1, 1, 0, 2, 2))", (2, 2, 2, 2)),
]


def build(lib, spec):
    """``lib.nn.<spec>``, e.g. ``build(torch, "GLU(0)")``."""
    return eval(f"lib.nn.{spec}", {"lib": lib})  # noqa: S307 - specs are the literals above


@pytest.mark.parametrize("spec,shape", ACTIVATIONS + PADDINGS, ids=lambda v: str(v))
def test_module_matches_torch(spec, shape):
    # PyTorch has no second derivative for hardsigmoid's backward.
    check_op(lambda lib, x: build(lib, spec)(x), [rand_array(shape, seed=3)],
             second_order=not spec.startswith("Hardsigmoid"))


@pytest.mark.parametrize("dtype", ["float64", "int64"])
@pytest.mark.parametrize("spec", ["ReflectionPad2d(2)", "ReplicationPad2d(1)", "CircularPad3d(1)",
                                  "ConstantPad1d(1, 3)", "ZeroPad2d(1)", "PixelShuffle(2)",
                                  "ChannelShuffle(2)"])
def test_layout_modules_keep_dtype(spec, dtype):
    check_op(lambda lib, x: build(lib, spec)(x), [rand_array((2, 4, 3, 4), dtype, seed=4)])


@requires_torch
@pytest.mark.parametrize("spec", [s for s, _ in ACTIVATIONS + PADDINGS] + [
    "PReLU(num_parameters=5)", "RReLU(inplace=True)", "SELU(inplace=True)",
    "CELU(2.0, inplace=True)", "Hardswish(inplace=True)", "Hardsigmoid(True)",
    "Threshold(0.1, 20, True)", "ZeroPad2d([1, 2, 3, 4])", "ConstantPad2d(2, 3)",
    "ReflectionPad3d((1, 2, 3, 4, 5, 6))", "CircularPad2d((1, 2, 3, 4))", "RReLU(0.1)"])
def test_repr_matches_torch(spec):
    assert repr(build(brickwork, spec)) == repr(build(torch, spec))


@requires_torch
def test_prelu_weight_state_dict_and_gradient():
    t = torch.nn.PReLU(3, init=0.3)
    b = nn.PReLU(3, init=0.3)
    assert list(b.state_dict()) == list(t.state_dict()) == ["weight"]
    assert [n for n, _ in b.named_parameters()] == ["weight"]
    w = rand_array((3,), seed=5)
    t.load_state_dict({"weight": torch.from_numpy(w.copy())})
    b.load_state_dict({k: brickwork.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = rand_array((2, 3, 5), seed=6)
    bx, tx = brickwork.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    bo, to = b(bx), t(tx)
    assert_close(bo, to)
    up = rand_array((2, 3, 5), seed=7)
    (bo * brickwork.tensor(up)).sum().backward()
    (to * torch.from_numpy(up)).sum().backward()
    assert_close(bx.grad, tx.grad, what="input grad")
    assert_close(b.weight.grad, t.weight.grad, what="weight grad")
    b.reset_parameters()
    assert b.weight.tolist() == pytest.approx([0.3] * 3)


@requires_torch
def test_prelu_factory_kwargs():
    def fn(lib):
        m = lib.nn.PReLU(2, device="cpu", dtype=lib.float64)
        return [m.weight.dtype == lib.float64, m.weight.requires_grad, m.weight.detach()]
    check_behaviour(fn)


@requires_torch
@pytest.mark.parametrize("spec", ["SELU(inplace=True)", "CELU(0.7, inplace=True)",
                                  "Hardswish(inplace=True)", "Hardsigmoid(inplace=True)",
                                  "Threshold(0.2, 5.0, inplace=True)",
                                  "RReLU(inplace=True).eval()"])
def test_inplace_modifies_input_and_backpropagates(spec):
    def fn(lib):
        leaf = lib.tensor(rand_array((3, 4), seed=8), requires_grad=True)
        x = leaf * 1.0
        y = build(lib, spec)(x)
        y.backward(lib.tensor(rand_array((3, 4), seed=9)))
        return [y is x, x.detach(), leaf.grad]
    check_behaviour(fn)


def test_rrelu_training_draws_slopes_in_range():
    x = brickwork.tensor(rand_array((200,), seed=10), requires_grad=True)
    m = nn.RReLU(0.1, 0.3)
    y = m(x)
    y.sum().backward()
    xn, yn, gn = x.detach().numpy(), y.detach().numpy(), x.grad.numpy()
    neg = xn < 0
    slopes = yn[neg] / xn[neg]
    assert ((slopes >= 0.1 - 1e-6) & (slopes <= 0.3 + 1e-6)).all()
    assert np.ptp(slopes) > 0.05  # really random, not the eval-mode mean
    np.testing.assert_allclose(gn[neg], slopes, rtol=1e-5)
    np.testing.assert_array_equal(yn[~neg], xn[~neg])
    np.testing.assert_array_equal(gn[~neg], 1.0)
    m.eval()
    np.testing.assert_allclose(m(x).detach().numpy()[neg], 0.2 * xn[neg], rtol=1e-6)


# --- errors -------------------------------------------------------------------------------------

RANK_ERRORS = [
    ("Softmax2d()", (3, 4)),
    ("Softmax2d()", (1, 2, 3, 4, 5)),
    ("ReflectionPad1d(1)", (4,)),
    ("ReflectionPad1d(1)", (1, 2, 3, 4)),
    ("ReflectionPad2d(1)", (3, 4)),
    ("ReflectionPad2d(1)", (1, 1, 1, 3, 4)),
    ("ReflectionPad3d(1)", (2, 3, 4)),
    ("ReflectionPad3d(1)", (1, 2, 2, 2, 2, 2)),
    ("ReplicationPad1d(1)", (4,)),
    ("ReplicationPad2d(1)", (2, 1, 2, 3, 4)),
    ("ReplicationPad3d(1)", (2, 3, 4)),
    ("CircularPad1d(1)", (4,)),
    ("CircularPad1d(1)", (1, 2, 3, 4)),
    ("CircularPad2d(1)", (3, 4)),
    ("CircularPad2d(1)", (1, 1, 1, 3, 4)),
    ("CircularPad3d(1)", (2, 3, 4)),
    ("CircularPad3d(1)", (1, 2, 2, 2, 2, 2)),
    ("ConstantPad3d(1, 0.0)", (2, 2)),  # six amounts for two dimensions
    ("ZeroPad2d(1)", (4,)),
]

BAD_INPUTS = [
    ("ReflectionPad1d(4)", (2, 3, 4)),  # as large as the dimension
    ("ReflectionPad2d((0, 0, 0, 4))", (1, 4, 4)),
    ("ReflectionPad3d((0, 0, 0, 0, 2, 0))", (1, 2, 4, 4)),
    ("ReflectionPad1d(1)", (2, 3, 0)),  # empty non-batch dimensions
    ("ReflectionPad1d(1)", (0, 3)),
    ("ReplicationPad2d(1)", (2, 0, 2, 2)),
    ("ReplicationPad3d(1)", (1, 2, 3, 0, 2)),
    ("ReflectionPad1d((-4, -1))", (1, 4)),  # nothing left
    ("ReplicationPad1d((-3, -1))", (1, 4)),
    ("ReflectionPad2d((-4, 0, -4, 0))", (1, 4, 4)),
    ("ReplicationPad2d((-4, 0, -5, 0))", (1, 4, 4)),
    ("ReplicationPad3d((-4, 0, -4, 0, -4, 0))", (1, 4, 4, 4)),
    ("CircularPad1d((5, 0))", (1, 4)),  # wraps around more than once
    ("CircularPad2d((0, 0, 0, 5))", (1, 4, 4)),
    ("CircularPad1d((-3, -2))", (1, 4)),
    ("ReflectionPad1d((1, 2, 3))", (2, 3, 4)),  # odd padding length
    ("GLU()", (3, 5)),  # odd size to halve
    ("GLU(2)", (3, 4)),
    ("PixelShuffle(2)", (2, 3)),
    ("PixelShuffle(2)", (1, 6, 2, 2)),
    ("PixelUnshuffle(2)", (1, 1, 3, 4)),
    ("PixelUnshuffle(2)", (4, 4)),
    ("ChannelShuffle(3)", (1, 4, 2)),
    ("ChannelShuffle(2)", (4,)),
]


@pytest.mark.parametrize("spec,shape", RANK_ERRORS + BAD_INPUTS, ids=lambda v: str(v))
def test_bad_input_raises_like_torch(spec, shape):
    check_error(lambda lib, x: build(lib, spec)(x), [shape])


# --- NumPy-only expectations (no torch needed) -------------------------------------------------

def test_prelu_gradcheck_float64():
    m = nn.PReLU(3, dtype=brickwork.float64)
    x = brickwork.tensor(rand_array((2, 3, 4), "float64", seed=11), requires_grad=True)
    w = brickwork.tensor([0.1, -0.2, 0.5], dtype=brickwork.float64, requires_grad=True)
    assert gradcheck(lambda a, b: nn.functional.prelu(a, b), (x, w))
    assert m.weight.dtype == brickwork.float64 and m.weight.tolist() == [0.25] * 3


@pytest.mark.parametrize("mode,cls", [("reflect", nn.ReflectionPad2d),
                                      ("edge", nn.ReplicationPad2d),
                                      ("wrap", nn.CircularPad2d)])
def test_padding_matches_numpy_pad(mode, cls):
    x = rand_array((2, 3, 4, 5), "float64", seed=12)
    out = cls((1, 2, 3, 0))(brickwork.tensor(x)).numpy()
    np.testing.assert_array_equal(out, np.pad(x, ((0, 0), (0, 0), (3, 0), (1, 2)), mode=mode))
    y = brickwork.tensor(x[:1, :1, :3, :4], requires_grad=True)  # small: gradcheck is O(n^2)
    assert gradcheck(lambda t: cls((1, 2, 2, 0))(t), (y,))


def test_constant_and_zero_padding_numpy():
    x = rand_array((2, 3), seed=13)
    out = nn.ConstantPad1d((2, 1), 7.0)(brickwork.tensor(x)).numpy()
    np.testing.assert_array_equal(out, np.pad(x, ((0, 0), (2, 1)), constant_values=7.0))
    out = nn.ZeroPad2d(1)(brickwork.tensor(x)).numpy()
    np.testing.assert_array_equal(out, np.pad(x, 1))
    assert nn.ZeroPad3d(2).padding == (2,) * 6 and nn.ZeroPad2d([1, 2, 3, 4]).padding == (1, 2, 3,
                                                                                          4)


def test_pixel_shuffle_numpy_and_roundtrip():
    x = rand_array((2, 12, 3, 4), seed=14)
    out = nn.PixelShuffle(2)(brickwork.tensor(x)).numpy()
    want = x.reshape(2, 3, 2, 2, 3, 4).transpose(0, 1, 4, 2, 5, 3).reshape(2, 3, 6, 8)
    np.testing.assert_array_equal(out, want)
    back = nn.PixelUnshuffle(2)(brickwork.tensor(out)).numpy()
    np.testing.assert_array_equal(back, x)
    shuffled = nn.ChannelShuffle(3)(brickwork.tensor(x)).numpy()
    np.testing.assert_array_equal(shuffled, x.reshape(2, 3, 4, 3, 4).transpose(0, 2, 1, 3, 4)
                                  .reshape(2, 12, 3, 4))


def test_activation_formulas_numpy():
    x = rand_array((50,), "float64", low=-4, high=4, seed=15)
    t = brickwork.tensor(x)
    np.testing.assert_allclose(nn.Hardswish()(t).numpy(), x * np.clip(x + 3, 0, 6) / 6)
    np.testing.assert_allclose(nn.Hardsigmoid()(t).numpy(), np.clip(x + 3, 0, 6) / 6)
    np.testing.assert_allclose(nn.Softsign()(t).numpy(), x / (1 + np.abs(x)))
    np.testing.assert_allclose(nn.Tanhshrink()(t).numpy(), x - np.tanh(x))
    np.testing.assert_allclose(nn.LogSigmoid()(t).numpy(), -np.log1p(np.exp(-x)))
    np.testing.assert_allclose(nn.Softshrink(1.0)(t).numpy(),
                               np.where(np.abs(x) > 1, x - np.sign(x), 0.0))
    np.testing.assert_allclose(nn.Threshold(0.5, -3.0)(t).numpy(), np.where(x > 0.5, x, -3.0))
    a, g = x[:25], x[25:]
    np.testing.assert_allclose(nn.GLU()(t).numpy(), a / (1 + np.exp(-g)))
    sm = nn.Softmax2d()(brickwork.tensor(rand_array((2, 3, 4, 5), "float64", seed=16))).numpy()
    np.testing.assert_allclose(sm.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="expected input to be 3D or 4D, got 2D instead"):
        nn.Softmax2d()(brickwork.zeros(3, 4))
