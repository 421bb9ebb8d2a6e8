"""3-d convolutions, ``convolution``, ``conv_tbc``, 3-d / adaptive-max / power-average pooling,
max unpooling, ``grid_sample`` and ``affine_grid`` against PyTorch: values, dtypes, gradients
(to input, weight, bias, grid), second derivatives, and PyTorch's errors."""
import numpy as np
import pytest
from helpers import check_behaviour, check_error, check_op, rand_array

import brickwork
from brickwork.autograd import gradcheck

F64 = "float64"


def a64(shape, seed=0, low=-2.0, high=2.0):
    return rand_array(shape, F64, low=low, high=high, seed=seed)


# -- convolutions -------------------------------------------------------------------------------

CONV3D = {
    "plain": ((2, 2, 4, 5, 4), (3, 2, 2, 3, 2), {}),
    "strided_padded": ((1, 4, 5, 6, 4), (4, 2, 2, 3, 2),
                       dict(stride=(2, 1, 2), padding=(1, 2, 0), dilation=(2, 1, 1), groups=2)),
    "same": ((4, 5, 6, 4), (3, 4, 2, 3, 2), dict(padding="same", dilation=(2, 1, 1))),
    "valid": ((1, 2, 3, 3, 3), (2, 2, 3, 1, 2), dict(padding="valid")),
}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("case", sorted(CONV3D))
@pytest.mark.parametrize("bias", [True, False])
def test_conv3d(case, bias):
    x, w, kw = CONV3D[case]
    ins = [a64(x, 1), a64(w, 2)] + ([a64((w[0],), 3)] if bias else [])
    check_op(lambda L, x, w, *b: L.nn.functional.conv3d(x, w, *b, **kw), ins)


TCONV3D = {
    "plain": ((2, 2, 3, 4, 3), (2, 3, 2, 3, 2), {}),
    "strided": ((1, 4, 3, 2, 3), (4, 3, 2, 3, 2),
                dict(stride=(2, 1, 3), padding=(1, 0, 1), output_padding=(1, 0, 2), groups=2,
                     dilation=(1, 2, 1))),
    "unbatched": ((2, 2, 3, 2), (2, 1, 3, 1, 2), dict(stride=2, padding=1)),
}


@pytest.mark.parametrize("case", sorted(TCONV3D))
def test_conv_transpose3d(case):
    x, w, kw = TCONV3D[case]
    out_c = w[1] * kw.get("groups", 1)
    ins = [a64(x, 1), a64(w, 2), a64((out_c,), 3)]
    check_op(lambda L, x, w, b: L.conv_transpose3d(x, w, b, **kw), ins)


def test_conv3d_float32():
    check_op(lambda L, x, w: L.conv3d(x, w, stride=2, padding=1),
             [(1, 2, 5, 4, 4), (3, 2, 3, 3, 3)],
             second_order=False)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_convolution(nd, transposed):
    x = (2, 4) + (5, 4, 3)[:nd]
    w = (4, 2) + (2, 3, 2)[:nd]
    out_c = w[1] * 2 if transposed else w[0]
    stride, padding, dilation, out_pad = [2] * nd, [1] * nd, [1] * nd, [1 if transposed else 0] * nd

    def fn(L, x, w, b):
        return L.convolution(x, w, b, stride, padding, dilation, transposed, out_pad, 2)

    check_op(fn, [a64(x, 1), a64(w, 2), a64((out_c,), 3)], second_order=nd < 3)


def test_conv_tbc():
    check_op(lambda L, x, w, b: L.conv_tbc(x, w, b, 1), [a64((5, 2, 3), 1), a64((2, 3, 4), 2),
                                                         a64((4,), 3)])
    check_op(lambda L, x, w, b: L.conv_tbc(x, w, b), [a64((5, 2, 3), 1), a64((3, 3, 4), 2),
                                                      a64((4,), 3)])


def test_conv3d_matches_numpy_loop():
    """A direct sum over the kernel, needing no torch."""
    x, w = a64((1, 2, 4, 3, 3), 1), a64((2, 2, 2, 2, 2), 2)
    want = np.zeros((1, 2, 3, 2, 2))
    for o in range(2):
        for i in range(3):
            for j in range(2):
                for k in range(2):
                    want[0, o, i, j, k] = (x[0, :, i:i + 2, j:j + 2, k:k + 2] * w[o]).sum()
    got = brickwork.conv3d(brickwork.tensor(x), brickwork.tensor(w))
    np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
    args = [brickwork.tensor(a64(s, i), requires_grad=True)
            for i, s in enumerate([(1, 1, 2, 1, 2), (1, 1, 2, 1, 2)])]
    assert gradcheck(lambda x, w: brickwork.conv_transpose3d(x, w, stride=2), args)


@pytest.mark.parametrize("case", [
    lambda L: L.conv3d(L.ones(1, 2, 3, 3), L.ones(4, 2, 2, 2, 2)),
    lambda L: L.conv3d(L.ones(1, 2, 3, 3, 3), L.ones(4, 2, 4, 2, 2)),
    lambda L: L.conv3d(L.ones(1, 2, 3, 3, 3), L.ones(4, 2, 2, 2, 2), stride=(1, 1)),
    lambda L: L.conv_transpose3d(L.ones(1, 2, 3, 3, 3), L.ones(2, 2, 2, 2, 2), output_padding=2),
    lambda L: L.conv_tbc(L.ones(5, 2), L.ones(2, 3, 4), L.ones(4), 1),
    lambda L: L.conv_tbc(L.ones(5, 2, 3), L.ones(2, 4, 4), L.ones(4), 1),
    lambda L: L.conv_tbc(L.ones(5, 2, 3), L.ones(2, 3, 4), L.ones(5), 1),
    lambda L: L.conv_tbc(L.ones(5, 2, 3), L.ones(2, 3), L.ones(5), 1),
    lambda L: L.convolution(L.ones(1, 2, 5), L.ones(3, 2, 2), None, 1, [0], [1], False, [0], 1),
    lambda L: L.convolution(L.ones(2, 5), L.ones(3, 2, 2), None, [1], [0], [1], False, [0], 1),
    lambda L: L.convolution(L.ones(1, 2, 5), L.ones(3, 2, 2), None, [1], [0], [1], True, [0], 1),
])
def test_conv_errors(case):
    check_error(case)


# -- pooling ------------------------------------------------------------------------------------

MAXPOOL3D = {
    "plain": ((2, 2, 4, 5, 4), dict(kernel_size=2)),
    "strided": ((1, 2, 5, 6, 5), dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=1)),
    "dilated_ceil": ((2, 5, 7, 6), dict(kernel_size=2, stride=2, dilation=(1, 2, 1),
                                        ceil_mode=True)),
}


@pytest.mark.parametrize("case", sorted(MAXPOOL3D))
def test_max_pool3d(case):
    x, kw = MAXPOOL3D[case]
    check_op(lambda L, x: L.nn.functional.max_pool3d(x, return_indices=True, **kw), [a64(x)])
    check_op(lambda L, x: L.max_pool3d(x, **kw), [a64(x)], second_order=False)


def test_max_pool3d_ties_nan_inf_and_ints():
    x = np.zeros((1, 1, 2, 2, 4))
    x[0, 0, 0, 0, 1] = x[0, 0, 1, 1, 3] = np.nan  # a window with two NaNs: PyTorch's last
    x[0, 0, :, :, 2:] = -np.inf
    x[0, 0, 1, 1, 3] = np.nan
    check_op(lambda L, x: L.nn.functional.max_pool3d(x, 2, return_indices=True), [x])
    check_op(lambda L, x: L.nn.functional.max_pool3d(x, 2, padding=1, return_indices=True),
             [np.full((1, 1, 2, 2, 2), -np.inf)])
    ints = rand_array((1, 2, 3, 4, 4), "int64", -5, 5)
    check_op(lambda L, x: L.nn.functional.max_pool3d(x, 2, 1, 1, return_indices=True), [ints])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3, 2), stride=1,
                                                          padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False),
                                dict(kernel_size=2, divisor_override=3)])
def test_avg_pool3d(kw):
    check_op(lambda L, x: L.nn.functional.avg_pool3d(x, **kw), [a64((2, 2, 4, 5, 5))])


def test_avg_pool3d_ints_and_unbatched():
    check_op(lambda L, x: L.nn.functional.avg_pool3d(x, 2, padding=1),
             [rand_array((1, 1, 3, 4, 4), "int64", -9, 9)])
    check_op(lambda L, x: L.nn.functional.avg_pool3d(x, 2), [a64((2, 4, 4, 4))])


@pytest.mark.parametrize("nd,shape,out", [
    (1, (2, 3, 7), 3), (1, (3, 5), 5), (2, (2, 2, 7, 5), (3, 2)), (2, (2, 5, 6), (None, 4)),
    (3, (1, 2, 5, 7, 3), (2, 3, 2)), (3, (2, 4, 3, 5), 1)])
def test_adaptive_max_pool(nd, shape, out):
    fname = f"adaptive_max_pool{nd}d"
    check_op(lambda L, x: getattr(L.nn.functional, fname)(x, out, return_indices=True),
             [a64(shape)])
    check_op(lambda L, x: getattr(L.nn.functional, fname)(x, out), [a64(shape)],
             second_order=False)


def test_torch_level_forms():
    check_op(lambda L, x: L.adaptive_max_pool1d(x, 3), [a64((2, 3, 7))])
    check_op(lambda L, x: L.max_pool3d(x, 2, [], 1), [a64((1, 2, 3, 4, 4))])


@pytest.mark.parametrize("out", [(2, 3, 2), (None, 2, 1), 1, (4, 5, 3)])
def test_adaptive_avg_pool3d(out):
    check_op(lambda L, x: L.nn.functional.adaptive_avg_pool3d(x, out), [a64((2, 2, 4, 5, 3))])


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("p", [2.0, 3, float("inf")])
def test_lp_pool(nd, p):
    fname = f"lp_pool{nd}d"
    shape = (2, 2) + (6, 5, 4)[:nd]
    data = rand_array(shape, F64, 0.1, 2.0)  # positive: odd powers of negatives are NaN-prone
    check_op(lambda L, x: getattr(L.nn.functional, fname)(x, p, 2), [data])
    check_op(lambda L, x: getattr(L.nn.functional, fname)(x, p, 3, stride=2, ceil_mode=True),
             [data])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool(nd):
    shape = (2, 2) + (6, 4, 4)[:nd]
    pool = {1: "max_pool1d", 2: "max_pool2d", 3: "max_pool3d"}[nd]

    def fn(L, x):
        y, idx = getattr(L.nn.functional, pool)(x, 2, return_indices=True)
        return getattr(L.nn.functional, f"max_unpool{nd}d")(y, idx, 2)

    check_op(fn, [a64(shape)])

    def sized(L, x):
        y, idx = getattr(L.nn.functional, pool)(x, 2, stride=2, padding=1, return_indices=True)
        size = tuple(s for s in x.shape[2:])
        return getattr(L.nn.functional, f"max_unpool{nd}d")(y, idx, 2, 2, 1, output_size=size)

    check_op(sized, [a64(shape)])


def test_adaptive_max_numpy():
    """PyTorch's bins [floor(i n / o), ceil((i + 1) n / o)), checked with NumPy alone."""
    x = a64((1, 1, 7))
    got = brickwork.nn.functional.adaptive_max_pool1d(brickwork.tensor(x), 3)
    want = [x[0, 0, 0:3].max(), x[0, 0, 2:5].max(), x[0, 0, 4:7].max()]
    np.testing.assert_allclose(got.numpy()[0, 0], want)


@pytest.mark.parametrize("case", [
    lambda L: L.nn.functional.max_pool3d(L.ones(2, 3, 3), 2),
    lambda L: L.nn.functional.max_pool3d(L.ones(1, 0, 3, 3, 3), 2),
    lambda L: L.nn.functional.max_pool3d(L.ones(1, 2, 1, 3, 3), 2),
    lambda L: L.nn.functional.avg_pool3d(L.ones(1, 2, 1, 3, 3), 2),
    lambda L: L.nn.functional.avg_pool3d(L.ones(1, 0, 3, 3, 3), 2),
    lambda L: L.nn.functional.avg_pool3d(L.ones(1, 1, 3, 3, 3), 2, divisor_override=0),
    lambda L: L.nn.functional.adaptive_max_pool3d(L.ones(2, 3, 3), 2),
    lambda L: L.nn.functional.adaptive_max_pool2d(L.ones(3, 3), 2),
    lambda L: L.nn.functional.adaptive_max_pool1d(L.ones(3), 2),
    lambda L: L.nn.functional.adaptive_max_pool1d(L.ones(2, 0), 2),
    lambda L: L.nn.functional.adaptive_max_pool2d(L.ones(1, 0, 3, 3), 2),
    lambda L: L.nn.functional.adaptive_max_pool2d(L.ones(1, 3, 3, 3, dtype=L.long), 2),
    lambda L: L.nn.functional.adaptive_avg_pool3d(L.ones(3, 3), 2),
    lambda L: L.nn.functional.adaptive_avg_pool3d(L.ones(1, 2, 0, 3, 3), 2),
    lambda L: L.adaptive_max_pool1d(L.ones(1, 2, 5), (2, 1)),
    lambda L: L.nn.functional.max_unpool2d(L.ones(1, 1, 2, 2), L.tensor([[[[0, 1], [2, 99]]]]),
                                           2),
    lambda L: L.nn.functional.max_unpool2d(L.ones(1, 1, 2, 2),
                                           L.tensor([[[[0, 1], [2, 3]]]], dtype=L.int32), 2),
    lambda L: L.nn.functional.max_unpool2d(L.ones(1, 1, 2, 2), L.tensor([[[0, 1], [2, 3]]]), 2),
    lambda L: L.nn.functional.max_unpool3d(L.ones(1, 1, 1, 2, 2),
                                           L.tensor([[[[[0, 1], [2, 99]]]]]), 2),
    lambda L: L.nn.functional.max_unpool1d(L.ones(1, 1, 2), L.tensor([[[0, 99]]]), 2),
    lambda L: L.nn.functional.max_unpool2d(L.ones(1, 1, 2, 2), L.tensor([[[[0, 1], [2, 3]]]]),
                                           2, output_size=(7, 7)),
])
def test_pool_errors(case):
    check_error(case)


def test_empty_batches():
    for fn in (lambda L: L.nn.functional.adaptive_max_pool2d(L.ones(0, 3, 3), 2),
               lambda L: L.nn.functional.adaptive_avg_pool3d(L.ones(0, 1, 3, 3, 3), 2),
               lambda L: L.nn.functional.max_pool3d(L.ones(0, 1, 3, 3, 3), 2),
               lambda L: L.nn.functional.avg_pool3d(L.ones(0, 1, 3, 3, 3), 2)):
        check_behaviour(fn)


# -- grid sampling ------------------------------------------------------------------------------


def _grid(shape, seed=5):
    return rand_array(shape, F64, -1.3, 1.3, seed=seed)  # a little outside [-1, 1] too


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_2d(mode, padding, align):
    grad = [True, mode != "nearest"]  # nearest: PyTorch's grid gradient is zero
    check_op(lambda L, x, g: L.nn.functional.grid_sample(x, g, mode, padding, align),
             [a64((2, 3, 5, 6)), _grid((2, 4, 3, 2))], grad=grad, second_order=False)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
def test_grid_sample_3d(mode, padding):
    check_op(lambda L, x, g: L.nn.functional.grid_sample(x, g, mode, padding, True),
             [a64((2, 2, 4, 5, 3)), _grid((2, 3, 2, 4, 3))], grad=[True, mode != "nearest"],
             second_order=False)


def test_grid_sampler_torch_level_and_float32():
    check_op(lambda L, x, g: L.grid_sampler(x, g, 0, 2, False), [(1, 2, 4, 4), (1, 3, 3, 2)],
             second_order=False)
    check_op(lambda L, x, g: L.grid_sampler_2d(x, g, 2, 1, True), [a64((1, 2, 4, 4)),
                                                                   _grid((1, 3, 3, 2))],
             second_order=False)
    check_op(lambda L, x, g: L.grid_sampler_3d(x, g, 0, 0, False), [a64((1, 2, 3, 4, 4)),
                                                                    _grid((1, 2, 3, 3, 3))],
             second_order=False)


def test_grid_sample_identity_numpy():
    """The identity affine grid with align_corners=True reproduces the input (no torch)."""
    x = a64((1, 2, 4, 5))
    theta = brickwork.tensor(np.array([[[1.0, 0, 0], [0, 1, 0]]]))
    g = brickwork.nn.functional.affine_grid(theta, [1, 2, 4, 5], align_corners=True)
    for mode in ("bilinear", "bicubic", "nearest"):
        y = brickwork.nn.functional.grid_sample(brickwork.tensor(x), g, mode,
                                                align_corners=True)
        np.testing.assert_allclose(y.numpy(), x, atol=1e-12)
    args = [brickwork.tensor(a64((1, 1, 3, 3)), requires_grad=True),
            brickwork.tensor(_grid((1, 2, 2, 2)), requires_grad=True)]
    assert gradcheck(lambda x, g: brickwork.grid_sampler(x, g, 0, 2, False), args)


@pytest.mark.parametrize("align", [False, True])
def test_affine_grid(align):
    check_op(lambda L, t: L.nn.functional.affine_grid(t, [2, 1, 3, 4], align), [a64((2, 2, 3))])
    check_op(lambda L, t: L.nn.functional.affine_grid(t, [2, 1, 3, 4, 2], align),
             [a64((2, 3, 4))])
    check_op(lambda L, t: L.affine_grid_generator(t, [1, 1, 1, 3], align), [a64((1, 2, 3))])


def test_grid_sample_warns_without_align_corners():
    x, g = brickwork.ones(1, 1, 3, 3), brickwork.zeros(1, 2, 2, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        brickwork.nn.functional.grid_sample(x, g)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        brickwork.nn.functional.affine_grid(brickwork.zeros(1, 2, 3), [1, 1, 2, 2])


@pytest.mark.parametrize("case", [
    lambda L: L.nn.functional.grid_sample(L.ones(1, 1, 3, 3), L.ones(1, 2, 2, 2).double(),
                                          align_corners=False),
    lambda L: L.nn.functional.grid_sample(L.ones(1, 1, 3, 3, 3), L.ones(1, 2, 2, 2, 3),
                                          mode="bicubic", align_corners=False),
    lambda L: L.nn.functional.grid_sample(L.ones(1, 1, 3, 3), L.ones(1, 2, 2, 3),
                                          align_corners=False),
    lambda L: L.nn.functional.grid_sample(L.ones(2, 1, 3, 3), L.ones(1, 2, 2, 2),
                                          align_corners=False),
    lambda L: L.nn.functional.grid_sample(L.ones(1, 1, 0, 3), L.ones(1, 2, 2, 2),
                                          align_corners=False),
    lambda L: L.nn.functional.grid_sample(L.ones(1, 1, 3, 3), L.ones(1, 2, 2, 2), "area"),
    lambda L: L.nn.functional.grid_sample(L.ones(1, 1, 3, 3), L.ones(1, 2, 2, 2),
                                          padding_mode="wrap"),
    lambda L: L.grid_sampler_3d(L.ones(1, 1, 3, 3), L.ones(1, 2, 2, 2), 0, 0, False),
    lambda L: L.grid_sampler_2d(L.ones(1, 1, 3, 3, 3), L.ones(1, 2, 2, 2, 3), 0, 0, False),
    lambda L: L.grid_sampler_2d(L.ones(1, 1, 3, 3, dtype=L.long),
                                L.ones(1, 2, 2, 2, dtype=L.long), 0, 0, False),
    lambda L: L.affine_grid_generator(L.ones(1, 2, 3), [1, 1, 2, 2, 3], False),
    lambda L: L.affine_grid_generator(L.ones(2, 2, 3), [1, 1, 2, 2], False),
    lambda L: L.nn.functional.affine_grid(L.ones(1, 2, 3), [1, 1, 0, 2], False),
])
def test_grid_errors(case):
    check_error(case)


def test_affine_grid_shape_error():
    err = check_error(lambda L: L.nn.functional.affine_grid(L.ones(1, 2, 3), [1, 1, 2, 2, 2],
                                                            False), match_message=False)
    assert str(err) == ("Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                        "[1, 1, 2, 2, 2]. Got brickwork.Size([1, 2, 3]).")
    err = check_error(lambda L: L.nn.functional.affine_grid(L.ones(1, 2, 3, dtype=L.long),
                                                            [1, 1, 3, 2], False),
                      match_message=False)
    assert str(err) == "Expected theta to have floating point type, but got brickwork.int64"


# -- fractional max pooling ---------------------------------------------------------------------


@pytest.mark.parametrize("nd,shape,k,out", [
    (2, (2, 3, 7, 9), 2, (4, 5)), (2, (3, 8, 7), (3, 2), (3, 6)),
    (3, (2, 2, 5, 7, 6), 2, (3, 4, 3)),
    (3, (1, 4, 5, 4), (2, 1, 2), 2)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fractional_max_pool(nd, shape, k, out, dtype):
    n = shape[0] if len(shape) == nd + 2 else 1
    samples = rand_array((n, shape[-nd - 1], nd), dtype, 0, 1, seed=7)
    fname = f"fractional_max_pool{nd}d"
    check_op(lambda L, x, u: getattr(L.nn.functional, fname)(
        x, k, output_size=out, _random_samples=u, return_indices=True),
        [rand_array(shape, dtype), samples], grad=[True, False])


def test_fractional_max_pool_ratio_and_random():
    samples = rand_array((1, 2, 2), F64, 0, 1, seed=7)
    check_op(lambda L, x, u: L.nn.functional.fractional_max_pool2d(
        x, 2, output_ratio=(0.5, 0.7), _random_samples=u), [a64((1, 2, 6, 7)), samples],
        grad=[True, False])
    # Without samples: drawn from brickwork's generator, every window inside the input.
    brickwork.manual_seed(3)
    x = brickwork.tensor(a64((2, 3, 9, 8)))
    y, idx = brickwork.nn.functional.fractional_max_pool2d(x, 3, output_size=4,
                                                           return_indices=True)
    assert tuple(y.shape) == (2, 3, 4, 4) and int(idx.max()) < 72
    flat = x.numpy().reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.numpy().reshape(2, 3, -1), -1),
                                  y.numpy().reshape(2, 3, -1))


@pytest.mark.parametrize("case", [
    lambda L: L.nn.functional.fractional_max_pool2d(L.ones(1, 1, 4, 4), 3, output_size=3),
    lambda L: L.nn.functional.fractional_max_pool2d(L.ones(1, 1, 4, 4), 2),
    lambda L: L.nn.functional.fractional_max_pool3d(L.ones(1, 1, 4, 4, 4), 3, output_size=3),
    lambda L: L.nn.functional.fractional_max_pool3d(L.ones(1, 4, 5, 4), (2, 1, 2), output_size=3),
    lambda L: L.nn.functional.fractional_max_pool2d(L.ones(1, 1, 4, 4), 2, output_size=2,
                                                    _random_samples=L.ones(1, 1, 3)),
    lambda L: L.nn.functional.fractional_max_pool2d(L.ones(1, 1, 4, 4), 2, output_size=2,
                                                    _random_samples=L.ones(1, 2, 2)),
    lambda L: L.nn.functional.fractional_max_pool2d(L.ones(1, 1, 4, 4), 2, output_size=2,
                                                    _random_samples=L.ones(1, 1)),
    lambda L: L.nn.functional.fractional_max_pool2d(
        L.ones(1, 1, 4, 4), 2, output_size=2, _random_samples=L.ones(1, 1, 2).double()),
    lambda L: L.nn.functional.fractional_max_pool3d(
        L.ones(1, 1, 4, 4, 4, dtype=L.long), 2, output_size=2,
        _random_samples=L.ones(1, 1, 3, dtype=L.long)),
])
def test_fractional_errors(case):
    check_error(case)


@pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid")
@pytest.mark.parametrize("case", [
    lambda L: L.nn.functional.grid_sample(L.ones(1, 2, 3, 3), L.zeros(1, 0, 4, 2),
                                          align_corners=False),
    lambda L: L.nn.functional.grid_sample(L.ones(0, 2, 3, 3), L.zeros(0, 2, 4, 2),
                                          align_corners=False),
    lambda L: L.nn.functional.grid_sample(L.ones(1, 2, 1, 3), L.zeros(1, 2, 4, 2) + 0.3,
                                          padding_mode="reflection", align_corners=True),
    lambda L: L.nn.functional.max_pool3d(L.arange(64.0).reshape(1, 1, 4, 4, 4), 3, 2, 1,
                                         ceil_mode=True, return_indices=True),
    lambda L: L.nn.functional.adaptive_max_pool2d(L.arange(35.0).reshape(1, 5, 7), (3, 4),
                                                  return_indices=True),
    lambda L: L.conv3d(L.ones(0, 2, 3, 3, 3), L.ones(4, 2, 2, 2, 2)),
    lambda L: L.nn.functional.affine_grid(L.eye(2, 3)[None], [1, 1, 3, 1], True),
])
def test_edge_cases(case):
    check_behaviour(case)


@pytest.mark.parametrize("dtype", ["half", "bfloat16"])
@pytest.mark.parametrize("name", ["max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "grid",
                                  "conv3d", "fractional"])
def test_low_precision(dtype, name):
    """Half and bfloat16 give PyTorch's dtype and values, or its refusal (avg_pool3d)."""
    cases = {
        "max_pool3d": lambda L, d: L.nn.functional.max_pool3d(
            L.arange(64.0).reshape(1, 1, 4, 4, 4).to(d), 2, return_indices=True),
        "avg_pool3d": lambda L, d: L.nn.functional.avg_pool3d(
            L.arange(64.0).reshape(1, 1, 4, 4, 4).to(d), 2),
        "adaptive_avg_pool3d": lambda L, d: L.nn.functional.adaptive_avg_pool3d(
            L.arange(64.0).reshape(1, 1, 4, 4, 4).to(d) / 7, 3),
        "grid": lambda L, d: L.nn.functional.grid_sample(
            L.arange(18.0).reshape(1, 2, 3, 3).to(d) / 5, L.zeros(1, 2, 4, 2).to(d) + 0.3,
            align_corners=True),
        "conv3d": lambda L, d: L.conv3d(L.arange(54.0).reshape(1, 2, 3, 3, 3).to(d) / 9,
                                        L.ones(4, 2, 2, 2, 2).to(d)),
        "fractional": lambda L, d: L.nn.functional.fractional_max_pool2d(
            L.arange(36.0).reshape(1, 1, 6, 6).to(d), 2, output_size=3,
            _random_samples=L.full((1, 1, 2), 0.3).to(d)),
    }
    check_behaviour(lambda L: cases[name](L, getattr(L, dtype)))
