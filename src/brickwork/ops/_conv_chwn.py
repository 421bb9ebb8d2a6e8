"""Convolution kernels in the (C, H, W, N) layout, for ungrouped convolutions of many channels.

With the batch innermost, every im2col/col2im step copies or adds whole rows of ``OW * N``
contiguous values, where the NCHW and NHWC layouts move runs of only ``OW`` or ``C`` values
(10 and 6 in LeNet's second convolution). Measured on 2 cores against ``_im2col.py``'s layouts:
LeNet's conv2 forward+backward 9.4 ms -> 4.4 ms, the 64->64 3x3 56x56 convolution 166 ms ->
147 ms. For 1-3 input channels ``_im2col.py``'s offset-major forward stays faster.

Shapes: ``x`` (N, C, H, W), ``w`` (O, C, kh, kw); ``pad`` is (top, bottom, left, right).
"""
from __future__ import annotations

from .._blas import gemm_into
from ._im2col import out_size
from ._util import xp_of


# Below this many input channels each offset's GEMM is too thin (K = C) and the column matrix's
# one GEMM with K = kh*kw*C wins.
SHIFTED_MIN_CHANNELS = 16


def _slab(i: int, j: int, oh: int, ow: int, stride, dilation):
    """The (H, W) slices of kernel offset (i, j) in the padded input."""
    hi, wj = i * dilation[0], j * dilation[1]
    return (slice(hi, hi + stride[0] * (oh - 1) + 1, stride[0]),
            slice(wj, wj + stride[1] * (ow - 1) + 1, stride[1]))


def conv_forward(x, w, stride, pad, dilation):
    """``(y, cols)``: y (N, O, OH, OW) and the columns (kh*kw*C, OH*OW*N) kept for backward
    (for stride 1, the padded input instead: see ``_shifted_forward``)."""
    if tuple(stride) == (1, 1) and x.shape[1] >= SHIFTED_MIN_CHANNELS:
        return _shifted_forward(x, w, pad, dilation)
    xp = xp_of(x)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    t, b, left, r = pad
    oh = out_size(h, kh, stride[0], t, b, dilation[0])
    ow = out_size(wd, kw, stride[1], left, r, dilation[1])
    xt = xp.zeros((c, h + t + b, wd + left + r, n), dtype=x.dtype)
    xt[:, t:t + h, left:left + wd] = x.transpose(1, 2, 3, 0)
    cols = xp.empty((kh, kw, c, oh, ow, n), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            hs, ws = _slab(i, j, oh, ow, stride, dilation)
            cols[i, j] = xt[:, hs, ws]
    cols = cols.reshape(kh * kw * c, oh * ow * n)
    y = w.transpose(0, 2, 3, 1).reshape(o, -1) @ cols
    return xp.ascontiguousarray(y.reshape(o, oh, ow, n).transpose(3, 0, 1, 2)), cols


def conv_backward(gy, w, cols, x_shape, stride, pad, dilation, need_x: bool, need_w: bool):
    """``(gx, gw)`` for the convolution ``conv_forward`` computed (None where not needed)."""
    if tuple(stride) == (1, 1) and x_shape[1] >= SHIFTED_MIN_CHANNELS:
        return _shifted_backward(gy, w, cols, x_shape, pad, dilation, need_x, need_w)
    xp = xp_of(gy)
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    gt = xp.ascontiguousarray(gy.transpose(1, 2, 3, 0)).reshape(o, oh * ow * n)
    gx = gw = None
    if need_w:
        # cols @ gt.T keeps the long dimension inner to the GEMM's operands, where gt @ cols.T
        # (short output, huge inner dimension) is several times slower in OpenBLAS.
        gw = xp.ascontiguousarray((cols @ gt.T).reshape(kh, kw, c, o).transpose(3, 2, 0, 1))
    if need_x:
        t, b, left, r = pad
        dcols = (w.transpose(0, 2, 3, 1).reshape(o, -1).T @ gt).reshape(kh, kw, c, oh, ow, n)
        dx = xp.zeros((c, h + t + b, wd + left + r, n), dtype=gy.dtype)
        for i in range(kh):
            for j in range(kw):
                hs, ws = _slab(i, j, oh, ow, stride, dilation)
                dx[:, hs, ws] += dcols[i, j]
        gx = xp.ascontiguousarray(dx[:, t:t + h, left:left + wd].transpose(3, 0, 1, 2))
    return gx, gw


# -- stride 1: one GEMM per kernel offset on shifted views, no column matrix ---------------------
# With stride 1 and the padded input flattened per channel as (Hp * Wp * N), the input that
# kernel offset (i, j) meets at every output position (oh, ow) for ow over the *whole* padded
# width is one contiguous run starting at (i*dh*Wp + j*dw) * N. So the convolution is kh*kw
# GEMMs of (O, C) with (C, OH*Wp*N) views, summed; the Wp - OW extra columns per row are
# computed and dropped. The im2col matrix (kh*kw times the input) is never written: for a 3x3
# convolution of 96 channels at 64x64, batch 8, that was 113 MB per call.


def _padded_flat(xp, x, pad, extra: int):
    """The zero-padded input as (C, Hp * Wp * N + extra) and its (C, Hp, Wp, N) view."""
    n, c, h, wd = x.shape
    t, b, left, r = pad
    hp, wp = h + t + b, wd + left + r
    buf = xp.zeros((c, hp * wp * n + extra), dtype=x.dtype)
    xt = buf[:, :hp * wp * n].reshape(c, hp, wp, n)
    xt[:, t:t + h, left:left + wd] = x.transpose(1, 2, 3, 0)
    return buf, hp, wp


def _offsets(kh: int, kw: int, wp: int, n: int, dilation):
    return [(i, j, (i * dilation[0] * wp + j * dilation[1]) * n)
            for i in range(kh) for j in range(kw)]


def _shifted_forward(x, w, pad, dilation):
    xp = xp_of(x)
    n = x.shape[0]
    o, _, kh, kw = w.shape
    extra = (kw - 1) * dilation[1] * n  # the last offset's run reaches past the padded image
    buf, hp, wp = _padded_flat(xp, x, pad, extra)
    oh = hp - (kh - 1) * dilation[0]
    ow = wp - (kw - 1) * dilation[1]
    length = oh * wp * n
    # Each offset's GEMM adds into y in place (BLAS's beta): no temporary per offset.
    wt = xp.ascontiguousarray(w.transpose(2, 3, 0, 1))
    y = xp.empty((o, length), dtype=x.dtype)
    for k, (i, j, start) in enumerate(_offsets(kh, kw, wp, n, dilation)):
        gemm_into(wt[i, j], buf[:, start:start + length], y, accumulate=k > 0)
    y = y.reshape(o, oh, wp, n)[:, :, :ow]
    return xp.ascontiguousarray(y.transpose(3, 0, 1, 2)), buf


def _shifted_backward(gy, w, buf, x_shape, pad, dilation, need_x: bool, need_w: bool):
    xp = xp_of(gy)
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    t, b, left, r = pad
    hp, wp = h + t + b, wd + left + r
    length = oh * wp * n
    # the output gradient over the whole padded width: zeros where forward dropped columns
    g = xp.zeros((o, oh, wp, n), dtype=gy.dtype)
    g[:, :, :ow] = gy.transpose(1, 2, 3, 0)
    g = g.reshape(o, length)
    gw = xp.empty(w.shape, dtype=gy.dtype) if need_w else None
    dbuf = xp.zeros((c, hp * wp * n + (kw - 1) * dilation[1] * n), dtype=gy.dtype) \
        if need_x else None
    # g^T made contiguous once: each weight gradient is (C, L) @ (L, O), the long dimension
    # inner to both operands (see conv_backward), without a transposed copy per offset
    gt = xp.ascontiguousarray(g.T) if need_w else None
    wt = xp.ascontiguousarray(w.transpose(2, 3, 0, 1)) if need_x else None
    for i, j, start in _offsets(kh, kw, wp, n, dilation):
        if need_w:
            gw[:, :, i, j] = (buf[:, start:start + length] @ gt).T
        if need_x:  # added in place into the window (BLAS's beta), no temporary
            gemm_into(wt[i, j], g, dbuf[:, start:start + length], accumulate=True, trans_a=True)
    gx = None
    if need_x:
        dx = dbuf[:, :hp * wp * n].reshape(c, hp, wp, n)
        gx = xp.ascontiguousarray(dx[:, t:t + h, left:left + wd].transpose(3, 0, 1, 2))
    return gx, gw
