"""Convolutions against PyTorch (values, gradients, errors, modules) plus float64 gradchecks."""
from __future__ import annotations

import math

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from brickwork.nn import functional as F
from helpers import check_error, check_op, host, pick, rand_array, requires_torch

CONV2D_CASES = [
    ((2, 4, 9, 8), (6, 4, 3, 2), {}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"stride": 2, "padding": 1}),
    ((2, 4, 9, 8), (6, 4, 3, 2), {"dilation": 2, "padding": (1, 2)}),
    ((2, 4, 9, 8), (6, 4, 4, 3), {"padding": "same", "dilation": (1, 2)}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"padding": "valid"}),
    ((2, 4, 9, 8), (6, 2, 3, 2), {"groups": 2, "stride": (2, 1)}),
    ((2, 4, 7, 7), (4, 1, 3, 3), {"groups": 4, "padding": 1}),  # depthwise
    ((2, 1, 9, 8), (3, 1, 3, 3), {"stride": 2, "padding": 1, "dilation": (1, 2)}),  # few C
    ((4, 9, 8), (6, 4, 3, 2), {}),  # unbatched
    ((0, 4, 5, 5), (6, 4, 3, 3), {}),  # empty batch
]


@requires_torch
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV2D_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(x_shape, w_shape, kw, bias):
    inputs = [x_shape, w_shape] + ([(w_shape[0],)] if bias else [])
    check_op(lambda lib, x, w, *b: lib.nn.functional.conv2d(x, w, *b, **kw), inputs)


@requires_torch
@pytest.mark.parametrize("x_shape,w_shape,kw", [
    ((2, 4, 9), (6, 4, 3), {"stride": 2, "padding": 1}),
    ((4, 9), (6, 4, 4), {"padding": "same"}),
    ((2, 4, 9), (6, 2, 3), {"groups": 2, "dilation": 2}),
])
def test_conv1d_matches_torch(x_shape, w_shape, kw):
    check_op(lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, **kw),
             [x_shape, w_shape, (w_shape[0],)])


@requires_torch
@pytest.mark.parametrize("x_shape,w_shape,kw", [
    ((2, 4, 5, 6), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 4, 5, 6), (4, 3, 3, 2), {"dilation": 2, "padding": (1, 2)}),
    ((2, 4, 5, 6), (4, 3, 3, 3), {"stride": (2, 3), "output_padding": (1, 2), "groups": 2}),
    ((4, 5, 6), (4, 3, 2, 2), {"stride": 2}),
])
def test_conv_transpose2d_matches_torch(x_shape, w_shape, kw):
    c_out = w_shape[1] * kw.get("groups", 1)
    check_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, **kw),
             [x_shape, w_shape, (c_out,)])


# More than three output channels: the transposed convolution runs on _conv_chwn.py's
# kernels (the column matrix, the shifted layout by phase, Winograd), as the input gradient
# of the convolution whose weight it shares
TRANSPOSED_CHWN_CASES = [
    ((2, 5, 5, 6), (5, 4, 3, 3), {}),  # column matrix
    ((2, 4, 5, 6), (4, 6, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 3, 4, 5), (3, 8, 4, 4), {"stride": 2, "padding": 1}),  # DCGAN's generator
    ((2, 8, 12, 12), (8, 20, 3, 3), {"padding": 1}),  # shifted layout
    ((2, 6, 8, 7), (6, 16, 4, 4), {"stride": 2, "padding": 1}),  # shifted, by phase
    # an output padding of the stride (allowed under dilation 2) adds a row no window of
    # the input reaches back: the column kernels with their output size
    ((1, 4, 5, 5), (4, 5, 3, 3), {"dilation": 2, "output_padding": 1}),
]


@requires_torch
@pytest.mark.parametrize("x_shape,w_shape,kw", TRANSPOSED_CHWN_CASES)
@pytest.mark.parametrize("x_grad", [True, False])
def test_conv_transpose2d_many_channels_match_torch(x_shape, w_shape, kw, x_grad):
    check_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, **kw),
             [x_shape, w_shape, (w_shape[1],)], grad=[x_grad, True, True],
             second_order=False)


@requires_torch
@pytest.mark.parametrize("x_grad", [True, False])
def test_conv_transpose2d_winograd_matches_torch(x_grad, monkeypatch):
    from brickwork.ops import _conv_chwn

    monkeypatch.setattr(_conv_chwn, "WINOGRAD_MIN_CHANNELS", 1)
    check_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, padding=1),
             [(2, 6, 7, 6), (6, 17, 3, 3), (17,)], grad=[x_grad, True, True],
             second_order=False)


def test_conv_transpose2d_many_channels_gradcheck():
    x, w, b = _f64((1, 2, 3, 3), 0), _f64((2, 5, 3, 3), 1), _f64((5,), 2)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                        output_padding=1), (x, w, b))


@requires_torch
def test_conv_transpose1d_matches_torch():
    check_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose1d(x, w, b, stride=2),
             [(2, 4, 9), (4, 3, 3), (3,)])


def test_conv2d_numpy_expectation_and_dtype():
    # A direct sum over the kernel, written without im2col.
    x = rand_array((2, 3, 6, 5), seed=3)
    w = rand_array((4, 3, 3, 2), seed=4)
    out = F.conv2d(brickwork.tensor(x), brickwork.tensor(w), stride=(2, 1), padding=1)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (6 + 2 - 3) // 2 + 1, 5 + 2 - 2 + 1
    expect = np.zeros((2, 4, oh, ow), np.float64)
    for i in range(3):
        for j in range(2):
            patch = xp[:, :, i:i + 2 * (oh - 1) + 1:2, j:j + ow]
            expect += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    assert out.dtype == brickwork.float32
    np.testing.assert_allclose(host(out), expect, rtol=1e-5, atol=1e-5)


def _f64(shape, seed):
    return brickwork.tensor(rand_array(shape, "float64", seed=seed), requires_grad=True)


@pytest.mark.parametrize("kw", [{"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2}])
def test_conv2d_gradcheck(kw):
    x, w, b = _f64((1, 2, 5, 5), 0), _f64((2, 2 // kw.get("groups", 1), 2, 2), 1), _f64((2,), 2)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))


def test_conv_transpose2d_gradcheck():
    x, w, b = _f64((1, 2, 3, 3), 0), _f64((2, 2, 2, 2), 1), _f64((2,), 2)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, output_padding=1),
                     (x, w, b))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck(mode):
    x = _f64((1, 2, 3, 3), 0)
    assert gradcheck(lambda x: F.pad(x, (1, 2, 2, 1), mode=mode), (x,))


@requires_torch
@pytest.mark.parametrize("mode,pad", [("constant", (1, 2, -1, 1)), ("reflect", (1, 2, 2, 1)),
                                      ("replicate", (1, 2, 2, 1)), ("circular", (1, 2, 2, 1)),
                                      ("constant", (1, 1))])
def test_pad_matches_torch(mode, pad):
    check_op(lambda lib, x: lib.nn.functional.pad(x, pad, mode=mode), [(2, 3, 4, 5)])


def test_conv_grad_fn_name():
    x = brickwork.randn(1, 2, 5, 5)
    w = brickwork.randn(3, 2, 3, 3, requires_grad=True)
    assert F.conv2d(x, w).grad_fn.name() == "ConvolutionBackward0"


@requires_torch
@pytest.mark.parametrize("fn,inputs", [
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w), [(2, 3, 28, 28), (6, 1, 5, 5)]),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w), [(28, 28), (6, 1, 5, 5)]),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, groups=2), [(2, 3, 8, 8), (6, 1, 5, 5)]),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w), [(2, 3, 3, 3), (6, 3, 5, 5)]),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, stride=2, padding="same"),
     [(2, 3, 8, 8), (6, 3, 3, 3)]),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding="foo"),
     [(2, 3, 8, 8), (6, 3, 3, 3)]),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, stride=0), [(2, 3, 8, 8), (6, 3, 3, 3)]),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=-1),
     [(2, 3, 8, 8), (6, 3, 3, 3)]),
    (lambda lib, x, w: lib.nn.functional.conv2d(x, w, w[0, 0, 0]), [(2, 3, 8, 8), (6, 3, 3, 3)]),
    (lambda lib, x, w: lib.nn.functional.conv2d(x.double(), w), [(2, 3, 8, 8), (6, 3, 3, 3)]),
    (lambda lib, x, w: lib.nn.functional.conv1d(x, w), [(2, 3, 10, 3), (6, 3, 3)]),
    (lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w), [(2, 3, 8, 8), (6, 3, 3, 3)]),
    (lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, stride=2, output_padding=2),
     [(2, 3, 8, 8), (3, 3, 3, 3)]),
])
def test_conv_errors_match_torch(fn, inputs):
    check_error(fn, inputs)


# -- modules -----------------------------------------------------------------------------------


def _copy_params(src, dst):
    """Copy every parameter and buffer of a torch module into the brickwork one."""
    b_state = dict(dst.named_parameters())
    for name, t in src.named_parameters():
        b_state[name]._data[...] = t.detach().numpy()


MODULE_CASES = [
    ("Conv2d", (3, 6, 5), {}),
    ("Conv2d", (4, 6, (3, 5)), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2,
                                "bias": False}),
    ("Conv2d", (3, 6, 3), {"padding": "same"}),
    ("Conv2d", (3, 6, 3), {"padding": 1, "padding_mode": "reflect"}),
    ("Conv2d", (3, 6, 4), {"padding": "same", "padding_mode": "circular"}),
    ("Conv2d", (3, 6, 3), {"padding": (2, 1), "padding_mode": "replicate"}),
    ("Conv1d", (3, 6, 3), {"padding": 2}),
    ("ConvTranspose2d", (3, 6, 3), {"stride": 2, "output_padding": 1}),
    ("ConvTranspose1d", (3, 6, 3), {"stride": 2}),
]


@requires_torch
@pytest.mark.parametrize("name,args,kw", MODULE_CASES)
def test_conv_modules_match_torch(name, args, kw):
    import torch

    t_mod = getattr(torch.nn, name)(*args, **kw)
    b_mod = getattr(nn, name)(*args, **kw)
    assert repr(b_mod) == repr(t_mod)
    assert [(n, tuple(p.shape)) for n, p in b_mod.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t_mod.named_parameters()]
    _copy_params(t_mod, b_mod)
    nd = 1 if name.endswith("1d") else 2
    shape = (2, args[0]) + (9,) * nd
    check_op(lambda lib, x: pick(lib, b_mod, t_mod)(x), [shape])
    # Parameter gradients too (check_op compared the input's).
    for (n, bp), (_, tp) in zip(b_mod.named_parameters(), t_mod.named_parameters()):
        np.testing.assert_allclose(host(bp.grad), host(tp.grad), rtol=1e-4, atol=1e-4,
                                   err_msg=n)


def test_conv2d_init_bounds():
    brickwork.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3)
    fan_in = 8 * 9
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives the same bound as bias
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert w.dtype == np.float32 and w.shape == (16, 8, 3, 3)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound


@requires_torch
@pytest.mark.parametrize("kw,err", [
    ({"groups": 2}, "in_channels must be divisible by groups"),
    ({"padding": "foo"}, None),
    ({"padding": "same", "stride": 2},
     "padding='same' is not supported for strided convolutions"),
    ({"padding_mode": "foo"}, None),
])
def test_conv_module_errors(kw, err):
    import torch

    with pytest.raises(ValueError) as t_exc:
        torch.nn.Conv2d(3, 6, 3, **kw)
    with pytest.raises(ValueError) as b_exc:
        nn.Conv2d(3, 6, 3, **kw)
    if err:
        assert str(b_exc.value) == str(t_exc.value) == err
    else:  # PyTorch prints a set there, whose order changes with the hash seed
        assert str(b_exc.value).split(" {")[0] == str(t_exc.value).split(" {")[0]


def test_lazy_conv2d_materializes_on_first_forward():
    conv = nn.LazyConv2d(4, 3, padding=1)
    assert repr(conv) == "LazyConv2d(0, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    out = conv(brickwork.randn(2, 5, 6, 6))
    assert type(conv) is nn.Conv2d
    assert conv.in_channels == 5 and tuple(conv.weight.shape) == (4, 5, 3, 3)
    assert tuple(out.shape) == (2, 4, 6, 6)
    out.sum().backward()
    assert conv.weight.grad is not None


def test_conv_transpose_output_size():
    up = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = brickwork.randn(1, 2, 4, 4)
    assert tuple(up(x).shape) == (1, 3, 7, 7)
    assert tuple(up(x, output_size=[8, 8]).shape) == (1, 3, 8, 8)
    with pytest.raises(ValueError):
        up(x, output_size=[10, 10])


def test_dropout2d_zeroes_whole_channels():
    brickwork.manual_seed(0)
    x = brickwork.ones(8, 16, 3, 3)
    y = F.dropout2d(x, 0.5).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8
    drop = nn.Dropout2d(0.5)
    assert repr(drop) == "Dropout2d(p=0.5, inplace=False)"
    assert drop.eval()(x) is x


@requires_torch
def test_small_cnn_training_follows_torch():
    """Five SGD steps of conv/batch-norm/pool/linear from identical weights: same losses."""
    import torch

    def build(lib):
        m = lib.nn
        return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                            m.MaxPool2d(2), m.Conv2d(4, 8, 3), m.ReLU(),
                            m.AdaptiveAvgPool2d(2), m.Flatten(), m.Linear(32, 10))

    b_net, t_net = build(brickwork), build(torch)
    _copy_params(t_net, b_net)
    rng = np.random.default_rng(0)
    losses = {"brickwork": [], "torch": []}
    for step in range(5):
        x = rng.standard_normal((8, 1, 12, 12)).astype(np.float32)
        y = rng.integers(0, 10, 8)
        for lib, net in ((brickwork, b_net), (torch, t_net)):
            loss = lib.nn.functional.cross_entropy(net(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            with lib.no_grad():
                for p in net.parameters():
                    p -= 0.1 * p.grad
                    p.grad = None
            losses[lib.__name__].append(loss.item())
    np.testing.assert_allclose(losses["brickwork"], losses["torch"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("output_size", [[12, 12], [1, 3, 9, 9, 9], [9], [3, 10, 9]])
def test_conv_transpose_output_size_checked_as_torch(output_size):
    # at most stride - 1 extra (dilation does not widen it), 2 or 2+2 entries
    def fn(lib, x):
        lib.manual_seed(0)
        return lib.nn.ConvTranspose2d(2, 3, 3, stride=2, dilation=3)(x, output_size=output_size)
    err = check_error(fn, [np.ones((1, 2, 4, 4), np.float32)], match_message=False)
    assert "output size" in str(err) or "output_size" in str(err)


@pytest.mark.parametrize("mode,pad,shape", [
    ("reflect", (3, 3), (1, 2, 3)),            # padding not smaller than the dimension
    ("reflect", (1, 1), (1, 0, 4)),            # an empty non-batch dimension
    ("circular", (5, 0), (1, 2, 4)),           # wraps around more than once
    ("replicate", (1, 1), (2, 3, 4, 5, 6)),    # 2 pads for a 5-d input: not supported
    ("replicate", (-3, -2), (1, 2, 4)),        # the output would be empty
])
def test_functional_pad_checks_as_torch(mode, pad, shape):
    # F.pad itself runs the kernels' checks (the padding layers call it)
    check_error(lambda lib, x: lib.nn.functional.pad(x, pad, mode=mode),
                [np.ones(shape, np.float32)])


def test_functional_pad_negative_reflect_crops_as_torch():
    check_op(lambda lib, x: lib.nn.functional.pad(x, (2, -1), mode="reflect"),
             [rand_array((1, 2, 5))])
