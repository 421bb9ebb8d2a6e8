"""The convolution kernels agree with each other and with PyTorch: the (C, H, W, N) kernels (the
shifted-view GEMMs, the column matrix for small images) and the few-channel blocked kernels
against the (N, C, H, W) im2col kernels, over kernel sizes, dilations and asymmetric padding,
forward and both gradients."""
import numpy as np
import pytest
from helpers import check_op, rand_array

from brickwork import _parallel
from brickwork.ops import _conv_chwn as CHWN
from brickwork.ops import _conv_few as few_kernels
from brickwork.ops import _conv_shifted as shifted_kernels
from brickwork.ops import _conv_winograd as winograd_kernels
from brickwork.ops import _im2col as K

CASES = [  # (C, O, H, W, kernel, stride, pad (t, b, l, r), dilation)
    (5, 4, 7, 6, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    (6, 3, 8, 9, (2, 5), (1, 1), (0, 2, 1, 0), (1, 1)),
    (4, 7, 9, 8, (3, 2), (1, 1), (2, 0, 0, 3), (2, 3)),
    (8, 2, 5, 5, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)),
    (4, 4, 9, 9, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
    (5, 3, 10, 7, (3, 3), (2, 1), (0, 1, 1, 0), (1, 2)),
    (64, 128, 6, 5, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),  # a weight of 64K+ values
    (3, 2, 4, 5, (1, 2), (1, 1), (2, 1, 0, 3), (1, 1)),  # padding wider than the kernel
    (4, 3, 8, 9, (1, 2), (3, 2), (0, 1, 0, 0), (1, 1)),  # phases no offset reads
    (3, 4, 9, 10, (3, 3), (2, 3), (2, 1, 1, 2), (2, 2)),  # stride with dilation
]


def _im2col_grads(x, wt, gy, cols, stride, pad, dil):
    """The reference gradients ``(gx, gw)`` from ``_im2col.py``'s kernels; ``cols`` is what
    its forward returned."""
    gm = K.gy_matrix(gy)
    gx = K.conv_input_grad(gm, wt, x.shape, gy.shape[2], gy.shape[3], stride, pad, dil, 1)
    return gx, K.conv_weight_grad(gm, cols, wt.shape, 1).reshape(wt.shape)


@pytest.mark.parametrize("shifted", ["stacked", "stacked in chunks", False, "rows"],
                         ids=["stacked", "stacked in chunks", "columns", "columns by row"])
@pytest.mark.parametrize("case", CASES, ids=[str(c[:5]) for c in CASES])
def test_chwn_kernels_match_im2col_without_torch(case, shifted, monkeypatch):
    # both paths, whatever the channel count and image size pick in use; the shifted gradients
    # with the stacked output gradient whole and cut into chunks of a few columns, the
    # shifted forward in one block or in blocks of a few columns, and the columns made in one
    # block or one output row at a time on threads
    chunks = shifted == "stacked in chunks"
    if shifted == "rows":
        shifted = False
        monkeypatch.setattr(CHWN, "BLOCK_BYTES", 1)
        monkeypatch.setattr(CHWN, "BLOCK_MIN", 1)
        monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 1)
    monkeypatch.setattr(CHWN, "SHIFTED_MIN_CHANNELS", 0 if shifted else 10 ** 9)
    monkeypatch.setattr(CHWN, "SHIFTED_MAX_WASTE", float("inf"))
    monkeypatch.setattr(shifted_kernels, "STACK_BYTES", 200 if chunks else 1 << 30)
    monkeypatch.setattr(shifted_kernels, "STACK_MIN", 7 if chunks else 1)
    monkeypatch.setattr(shifted_kernels, "BLOCK_BYTES", 200 if chunks else 1 << 30)
    monkeypatch.setattr(shifted_kernels, "BLOCK_MIN", 7 if chunks else 1)
    c, o, h, w, k, stride, pad, dil = case
    x = rand_array((3, c, h, w), "float64", seed=1)
    wt = rand_array((o, c) + k, "float64", seed=2)
    want, cols = K.conv_forward(x, wt, stride, pad, dil, 1)
    got, saved = CHWN.conv_forward(x, wt, stride, pad, dil)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    gy = rand_array(want.shape, "float64", seed=3)
    want_gx, want_gw = _im2col_grads(x, wt, gy, cols, stride, pad, dil)
    gx, gw = CHWN.conv_backward(gy, wt, saved, x.shape, stride, pad, dil, True, True)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, want_gw, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(padding=1), dict(padding=(0, 2), dilation=(2, 1)),
                                dict(padding="same", dilation=2), dict(stride=2, padding=1)])
def test_conv2d_many_channels_against_torch(kw):
    check_op(lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, **kw),
             [rand_array((2, 17, 9, 8)), rand_array((5, 17, 3, 3)), rand_array((5,))],
             second_order=False)


@pytest.mark.parametrize("stacked", [True, False], ids=["3x3 stacked", "3x1 per offset"])
@pytest.mark.parametrize("need", [(True, False), (False, True)], ids=["dx only", "dw only"])
def test_shifted_gradients_one_at_a_time_match_both(need, stacked):
    # each gradient alone equals the one computed beside the other
    kernel = (3, 3) if stacked else (3, 1)
    x = rand_array((2, 17, 6, 5), "float64", seed=4)
    wt = rand_array((3, 17) + kernel, "float64", seed=5)
    pad = (1, 1, 1, 1) if stacked else (1, 1, 0, 0)
    y, saved = shifted_kernels.conv_forward(x, wt, (1, 1), pad, (1, 1))
    gy = rand_array(y.shape, "float64", seed=6)
    both = shifted_kernels.conv_backward(gy, wt, saved, x.shape, (1, 1), pad, (1, 1), True,
                                         True)
    one = shifted_kernels.conv_backward(gy, wt, saved, x.shape, (1, 1), pad, (1, 1), *need)
    for got, want, needed in zip(one, both, need):
        if needed:
            np.testing.assert_array_equal(got, want)
        else:
            assert got is None


def test_shifted_layout_shares_padding_between_rows_and_images():
    # a 3x3 pad-1 convolution of 8x8 images computes 9x9 positions per image (one zero column
    # after each row, one zero row after each image), not the 10x10 of padding every side
    assert shifted_kernels.work_ratio((32, 16, 8, 8), (16, 16, 3, 3), (1, 1), (1, 1, 1, 1),
                                      (1, 1)) == 81 / 64
    # the output is wider than the image plus its wider padding: rows are as long as the output
    assert shifted_kernels.work_ratio((1, 16, 4, 5), (2, 16, 1, 1), (1, 1), (0, 0, 1, 2),
                                      (1, 1)) == 1.0
    # stride 2: four 16x16 phase images, each with one zero row and column of its own
    assert shifted_kernels.work_ratio((32, 16, 32, 32), (16, 16, 3, 3), (2, 2), (1, 1, 1, 1),
                                      (1, 1)) == 17 * 17 / 256


WINOGRAD_CASES = [  # (N, C, O, H, W, pad (t, b, l, r))
    (2, 5, 4, 8, 8, (1, 1, 1, 1)),
    (3, 4, 6, 7, 5, (1, 1, 1, 1)),  # odd output sizes: the last tiles overhang
    (2, 3, 2, 6, 9, (0, 0, 0, 0)),
    (1, 4, 3, 5, 4, (2, 0, 1, 3)),
    (2, 3, 3, 3, 3, (0, 0, 0, 0)),  # one output
]


@pytest.mark.parametrize("case", WINOGRAD_CASES, ids=[str(c) for c in WINOGRAD_CASES])
def test_winograd_matches_im2col_without_torch(case):
    n, c, o, h, w, pad = case
    x = rand_array((n, c, h, w), "float64", seed=7)
    wt = rand_array((o, c, 3, 3), "float64", seed=8)
    want, cols = K.conv_forward(x, wt, (1, 1), pad, (1, 1), 1)
    got = winograd_kernels.conv_forward(x, wt, pad).transpose(3, 0, 1, 2)  # (O,OH,OW,N) view
    # float64 here so that only the algebra is tested: the transforms are exact adjoints
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    gy = rand_array(want.shape, "float64", seed=9)
    want_gx, want_gw = _im2col_grads(x, wt, gy, cols, (1, 1), pad, (1, 1))
    gx, gw = winograd_kernels.conv_backward(gy, wt, x, x.shape, pad, True, True)
    np.testing.assert_allclose(gx.transpose(3, 0, 1, 2), want_gx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, want_gw, rtol=1e-12, atol=1e-12)
    only_x, none_w = winograd_kernels.conv_backward(gy, wt, None, x.shape, pad, True, False)
    assert none_w is None
    np.testing.assert_array_equal(only_x, gx)


@pytest.mark.parametrize("kw", [dict(padding=1), dict(padding=0), dict(padding=(2, 0))])
def test_conv2d_winograd_float32_against_torch(kw, monkeypatch):
    monkeypatch.setattr(CHWN, "WINOGRAD_MIN_CHANNELS", 1)
    check_op(lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, **kw),
             [rand_array((2, 17, 7, 6), "float32"), rand_array((5, 17, 3, 3), "float32"),
              rand_array((5,), "float32")], second_order=False)


def test_winograd_is_float32_small_images_many_channels_only():
    ok = CHWN._use_winograd
    assert ok((32, 256, 8, 8), np.float32, (256, 256, 3, 3), (1, 1), (1, 1))
    assert not ok((32, 256, 8, 8), np.float64, (256, 256, 3, 3), (1, 1), (1, 1))
    assert not ok((32, 256, 8, 8), np.float32, (256, 256, 3, 3), (2, 2), (1, 1))
    assert not ok((32, 256, 8, 8), np.float32, (256, 256, 3, 3), (1, 1), (2, 2))
    assert not ok((32, 256, 8, 8), np.float32, (256, 256, 5, 5), (1, 1), (1, 1))
    assert not ok((32, 64, 32, 32), np.float32, (64, 64, 3, 3), (1, 1), (1, 1))


@pytest.mark.parametrize("path", ["shifted", "winograd", "columns"])
def test_frozen_weight_input_gradient(path, monkeypatch):
    # a convolution whose weight needs no gradient keeps nothing for it, and its input
    # gradient must not need it either (fine-tuning with frozen layers)
    import brickwork

    monkeypatch.setattr(CHWN, "WINOGRAD_MIN_CHANNELS", 1 if path == "winograd" else 10 ** 9)
    monkeypatch.setattr(CHWN, "SHIFTED_MIN_CHANNELS", 0 if path == "shifted" else 10 ** 9)
    monkeypatch.setattr(CHWN, "SHIFTED_MAX_WASTE", float("inf"))
    x = brickwork.tensor(rand_array((2, 17, 6, 5), "float32"), requires_grad=True)
    conv = brickwork.nn.Conv2d(17, 4, 3, padding=1)
    g = brickwork.tensor(rand_array((2, 4, 6, 5), "float32", seed=3))
    conv(x).backward(g)
    full = x.grad.clone()
    x.grad = None
    conv.requires_grad_(False)
    conv(x).backward(g)
    np.testing.assert_allclose(x.grad.numpy(), full.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("blocks", ["one block", "blocks of one image on threads"])
@pytest.mark.parametrize("case", [c for c in CASES if c[0] <= 3],
                         ids=[str(c[:5]) for c in CASES if c[0] <= 3])
@pytest.mark.parametrize("channels", [1, 3])
def test_few_channel_blocks_match_im2col_without_torch(case, channels, blocks, monkeypatch):
    # the forward (with its bias) and the weight gradient made again block by block equal the
    # whole column matrix's, in one block and in blocks of one image split over the threads
    if blocks != "one block":
        monkeypatch.setattr(few_kernels, "BLOCK_BYTES", 1)
        monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 1)
    _, o, h, w, k, stride, pad, dil = case
    x = rand_array((5, channels, h, w), "float64", seed=1)
    wt = rand_array((o, channels) + k, "float64", seed=2)
    bias = rand_array((o,), "float64", seed=4)
    want, cols = K.conv_forward(x, wt, stride, pad, dil, 1)
    got, saved = few_kernels.conv_forward(x, wt, stride, pad, dil, bias)
    np.testing.assert_allclose(got, want + bias.reshape(1, -1, 1, 1), rtol=1e-12, atol=1e-12)
    gy = rand_array(want.shape, "float64", seed=3)
    _, want_gw = _im2col_grads(x, wt, gy, cols, stride, pad, dil)
    gw = few_kernels.weight_grad(gy, saved, wt.shape, stride, dil)
    np.testing.assert_allclose(gw, want_gw, rtol=1e-12, atol=1e-12)


def test_few_channel_empty_batch():
    x = np.zeros((0, 2, 5, 5))
    wt = rand_array((3, 2, 3, 3), "float64")
    y, saved = few_kernels.conv_forward(x, wt, (1, 1), (1, 1, 1, 1), (1, 1))
    assert y.shape == (0, 3, 5, 5)
    gw = few_kernels.weight_grad(np.zeros((0, 3, 5, 5)), saved, wt.shape, (1, 1), (1, 1))
    np.testing.assert_array_equal(gw, np.zeros(wt.shape))


@pytest.mark.parametrize("channels", [2, 6, 17])
def test_conv2d_bias_only_gradient(channels):
    # frozen weights with a trainable bias (BitFit-style fine-tuning): the kernels are asked for
    # neither the input nor the weight gradient
    check_op(lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1),
             [rand_array((2, channels, 6, 5)), rand_array((4, channels, 3, 3)),
              rand_array((4,))], grad=[False, False, True], second_order=False)
