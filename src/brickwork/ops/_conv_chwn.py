"""Convolution kernels in the (C, H, W, N) layout, for ungrouped convolutions of many channels.

With the batch innermost, every im2col/col2im step copies or adds whole rows of ``OW * N``
contiguous values, where the NCHW and NHWC layouts move runs of only ``OW`` or ``C`` values
(10 and 6 in LeNet's second convolution). Measured on 2 cores against ``_im2col.py``'s layouts:
LeNet's conv2 forward+backward 9.4 ms -> 4.4 ms. 1-3 input channels go to ``_conv_few.py``.
Many channels go to ``_conv_shifted.py`` (any stride) where its layout wastes little, and
float32 3x3 ones on small images to ``_conv_winograd.py``; the column matrix here takes the
rest (strided layers on small images, few channels), made block by block of output rows
(``_by_rows``) and never kept whole.

Shapes: ``x`` (N, C, H, W), ``w`` (O, C, kh, kw); ``pad`` is (top, bottom, left, right).
"""
from __future__ import annotations

import numpy as np

from .._blas import gemm_into
from .._parallel import bounds, num_parts, run_jobs
from . import _conv_shifted as shifted
from . import _conv_winograd as winograd
from ._im2col import block_columns, out_size, padded_as, windows
from ._util import xp_of


# Below this many input channels each offset's GEMM is too thin (K = C) and the column matrix's
# one GEMM with K = kh*kw*C wins.
SHIFTED_MIN_CHANNELS = 16
# Above this ratio of computed to output positions (``_conv_shifted.work_ratio``), the column
# matrix wins. Measured forward+backward at batch 16, column matrix / shifted, interleaved
# medians: 1.31-1.36 (3x3 at 6x6 and 7x7, 5x5 at 12x12, 16-128 channels) 0.72-0.90; 1.27
# (3x3 at 8x8, 5x5 at 16x16) 0.85-1.12, either way (at batch 32 a 3x3 at 8x8 ran 26% faster
# shifted); 1.06-1.17 0.98-1.18 against; 1.56 (4x4) 0.61.
SHIFTED_MAX_WASTE = 1.3


def _to_nchw(v, bias=None):
    """A (C, H, W, N) view as a contiguous (N, C, H, W) array, with ``bias`` (C,) added.

    From 64 positions per image in two copies: to (C, N, H, W) (one 2-d transpose per
    channel), then whole images' planes into place. The one-step gather reads a new cache line
    for every value: (128, 16, 16, 32) took 4.8 ms that way, 1.1 ms in two steps.
    """
    if v.shape[1] * v.shape[2] >= 64:
        v = xp_of(v).ascontiguousarray(v.transpose(0, 3, 1, 2)).transpose(1, 0, 2, 3)
    else:
        v = v.transpose(3, 0, 1, 2)
    return shifted.to_nchw(v, bias)


def _use_shifted(x_shape, w_shape, stride, pad, dilation) -> bool:
    """Whether ``_conv_shifted.py`` runs this convolution: many channels, and an output that
    covers most of the layout (the shifted GEMMs also compute the positions in
    its zero rows and columns). See SHIFTED_MAX_WASTE for the measurements."""
    if x_shape[1] < SHIFTED_MIN_CHANNELS:
        return False
    return shifted.work_ratio(x_shape, w_shape, stride, pad, dilation) <= SHIFTED_MAX_WASTE


# Winograd F(2x2, 3x3) runs float32 3x3 stride-1 convolutions of at least this many input and
# output channels on images of at most this many positions: there its 16 GEMMs of (O, C) by
# (C, tiles) beat the shifted GEMMs, which also pay for the padding (1.17x-1.27x the work at
# 12x12-8x8). Measured forward+backward on 2 cores: (32, 256, 8, 8) 57 -> 39 ms,
# (16, 384, 12, 12) 97 -> 74 ms; at 16x16 with 128 channels it was 25% slower.
WINOGRAD_MIN_CHANNELS = 128
WINOGRAD_MAX_AREA = 144


def _use_winograd(x_shape, dtype, w_shape, stride, dilation) -> bool:
    """Whether ``_conv_winograd.py`` runs this convolution (see the thresholds above)."""
    return (dtype == np.float32 and tuple(w_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and min(x_shape[1], w_shape[0]) >= WINOGRAD_MIN_CHANNELS
            and x_shape[2] * x_shape[3] <= WINOGRAD_MAX_AREA)


def _slab(i: int, j: int, oh: int, ow: int, stride, dilation):
    """The (H, W) slices of kernel offset (i, j) in the padded input."""
    hi, wj = i * dilation[0], j * dilation[1]
    return (slice(hi, hi + stride[0] * (oh - 1) + 1, stride[0]),
            slice(wj, wj + stride[1] * (ow - 1) + 1, stride[1]))


# The column path makes its columns block by block of output rows, each block (about this many
# bytes, and at least BLOCK_MIN columns: a thinner GEMM runs slowly) copied in one go and read
# by its GEMM from cache, the blocks split over the cores; the weight gradient makes them again
# instead of keeping them. LeNet step 10% faster (7.7 MB of columns less to write and keep).
BLOCK_BYTES = 2 << 20
BLOCK_MIN = 1024


def _windows(xt, kh: int, kw: int, stride, dilation, oh: int, ow: int):
    """The (kh, kw, C, OH, OW, N) strided view of a padded (C, Hp, Wp, N) array's windows: the
    columns, unmade (read only)."""
    return windows(xt.transpose(3, 0, 1, 2), kh, kw, stride, dilation, oh, ow).transpose(
        4, 5, 1, 2, 3, 0)


def _by_rows(win, fn, split: bool = True) -> list:
    """``fn(span, cols)`` for blocks of output rows: ``span`` their positions' slice of the
    (OH*OW*N) axis, ``cols`` their (kh*kw*C, rows*OW*N) columns. With ``split`` each thread
    takes a share of the rows (``_im2col.block_columns``). Returns the results, in order."""
    xp = xp_of(win)
    kh, kw, c, oh, ow, n = win.shape
    k, per_row = kh * kw * c, ow * n
    step = max(1, max(BLOCK_MIN, BLOCK_BYTES // (k * win.itemsize)) // max(1, per_row))
    blocks = -(-oh // step)
    threads = min(blocks, num_parts(oh, k * oh * per_row)) if split and xp is np else 1
    # equal shares of rows, each cut into blocks: shares of whole blocks left LeNet's second
    # convolution (5 blocks of 2 rows) with 3 blocks on one thread and 2 on the other
    parts = bounds(oh, threads)

    def block(a, b, cols):
        return fn(slice(a * per_row, b * per_row), cols.reshape(k, (b - a) * per_row))

    return [r for thread in block_columns(win, parts, step, block) for r in thread]


def conv_forward(x, w, stride, pad, dilation, bias=None):
    """``(y, saved)``: y (N, O, OH, OW), with ``bias`` added when given, and what the weight
    gradient needs: the padded (C, Hp, Wp, N) input for the column path, the laid-out input for
    the shifted GEMMs (``_conv_shifted.py``), or the input itself for Winograd
    (``_conv_winograd.py``)."""
    if _use_winograd(x.shape, x.dtype, w.shape, stride, dilation):
        return _to_nchw(winograd.conv_forward(x, w, pad), bias), x
    if _use_shifted(x.shape, w.shape, stride, pad, dilation):
        return shifted.conv_forward(x, w, stride, pad, dilation, bias)
    xp = xp_of(x)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    t, b, left, r = pad
    oh = out_size(h, kh, stride[0], t, b, dilation[0])
    ow = out_size(wd, kw, stride[1], left, r, dilation[1])
    xt = padded_as(x, pad, (1, 2, 3, 0))
    y = xp.empty((o, oh * ow * n), dtype=x.dtype)
    if y.size:
        wm = xp.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(o, -1)
        _by_rows(_windows(xt, kh, kw, stride, dilation, oh, ow),
                 lambda span, cols: gemm_into(wm, cols, y[:, span], accumulate=False))
    return _to_nchw(y.reshape(o, oh, ow, n), bias), xt


def input_layout(x, w_shape, stride, pad, dilation):
    """What ``conv_forward(x, w, ...)`` returns beside its output, the input laid out for the
    weight gradient, without computing the output (a transposed convolution's weight gradient
    needs it where its input gradient is not wanted)."""
    if _use_winograd(x.shape, x.dtype, w_shape, stride, dilation):
        return x
    if _use_shifted(x.shape, w_shape, stride, pad, dilation):
        return shifted.input_layout(x, w_shape, stride, pad, dilation)
    return padded_as(x, pad, (1, 2, 3, 0))


def conv_backward(gy, w, xt, x_shape, stride, pad, dilation, need_x: bool, need_w: bool):
    """``(gx, gw)`` for the convolution ``conv_forward`` computed (None where not needed);
    ``xt`` is what it returned, or None when the weight gradient is not needed."""
    if _use_winograd(x_shape, gy.dtype, w.shape, stride, dilation):
        gx, gw = winograd.conv_backward(gy, w, xt, x_shape, pad, need_x, need_w)
        return (None if gx is None else _to_nchw(gx)), gw
    if _use_shifted(x_shape, w.shape, stride, pad, dilation):
        return shifted.conv_backward(gy, w, xt, x_shape, stride, pad, dilation, need_x,
                                      need_w)
    xp = xp_of(gy)
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    k = kh * kw * c
    gt = xp.ascontiguousarray(gy.transpose(1, 2, 3, 0)).reshape(o, oh * ow * n)

    def weight_grad(split: bool):
        # small weights: (K, L) @ (L, O), then the whole (K, O) product transposed; else
        # (O, L) @ (L, K) into (O, kh, kw, C): the reorder to (O, C, kh, kw) then moves short
        # rows, where transposing a (K, O) product took 7 ms at 512 channels, 3x3 (forward+
        # backward 45 -> 38 ms at (32, 512, 4, 4)); for LeNet's 16x150 weight it was 6% slower
        small = o * k < 1 << 16
        win = _windows(xt, kh, kw, stride, dilation, oh, ow)

        def block(span, cols):
            part = xp.empty((k, o) if small else (o, k), dtype=gy.dtype)
            if small:
                gemm_into(cols, gt[:, span], part, accumulate=False, trans_b=True)
            else:
                gemm_into(gt[:, span], cols, part, accumulate=False, trans_b=True)
            return part

        parts = _by_rows(win, block, split)
        gw = parts[0]
        for part in parts[1:]:
            gw += part
        if small:
            return xp.ascontiguousarray(gw.reshape(kh, kw, c, o).transpose(3, 2, 0, 1))
        return xp.ascontiguousarray(gw.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))

    def input_grad():
        t, b, left, r = pad
        dcols = (w.transpose(0, 2, 3, 1).reshape(o, -1).T @ gt).reshape(kh, kw, c, oh, ow, n)
        dx = xp.zeros((c, h + t + b, wd + left + r, n), dtype=gy.dtype)
        for i in range(kh):
            for j in range(kw):
                hs, ws = _slab(i, j, oh, ow, stride, dilation)
                dx[:, hs, ws] += dcols[i, j]
        return _to_nchw(dx[:, t:t + h, left:left + wd])

    if need_x and need_w and xp is np and num_parts(2, k * gt.size // o) == 2:
        # the two gradients side by side, one BLAS thread each: these GEMMs are too small for
        # OpenBLAS to split well, and the input gradient's slab adds run on one core. Sized by
        # the columns both read: LeNet's second convolution (output gradient 205K values,
        # columns 1.9M) went side by side this way, its step 3.5-4% faster (A/B, 2 rounds of 9)
        gx, gw = run_jobs(lambda f, *a: f(*a), [(input_grad,), (weight_grad, False)])
        return gx, gw
    gx = input_grad() if need_x else None
    gw = weight_grad(True) if need_w else None
    return gx, gw
