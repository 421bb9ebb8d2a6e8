"""Stride-1 convolutions as one GEMM per kernel offset on shifted views: no column matrix.

Each image is zero-padded and the padded images are laid end to end per channel, as a
(C, N * Hp * Wp) matrix. The input that kernel offset (i, j) meets at output position
(n, oh, ow) then sits at flat index ``n*Hp*Wp + oh*Wp + ow`` plus the offset's constant shift
``i*dh*Wp + j*dw``. So the convolution is kh*kw GEMMs of (O, C) with (C, L) windows of that one
matrix, added into one (O, L) output by BLAS's ``beta`` (``_blas.gemm_into``). Positions past
the output's width or height (in the padding) are computed and dropped: 7% extra work for a
3x3 convolution at 56x56. The im2col matrix (kh*kw times the input) is never written.

Channel-major with each image's rows contiguous, this layout reaches NCHW and back by copies
that move whole image rows; batch-innermost (C, H, W, N) layouts need element-wise gathers
there. Measured on 2 cores, 64->64 3x3 at (16, 64, 56, 56): the output's conversion to NCHW
1.4 ms against 9.1 ms, the input's padding 1.2 ms against 2.9 ms.

Shapes: ``x`` (N, C, H, W), ``w`` (O, C, kh, kw); ``pad`` is (top, bottom, left, right).
"""
from __future__ import annotations

from .._blas import gemm_into
from ._util import xp_of


def _geometry(x_shape, w_shape, pad, dilation):
    """Padded size, output size, the computed length L and the kernel offsets' shifts."""
    n, _, h, wd = x_shape
    _, _, kh, kw = w_shape
    t, b, left, r = pad
    hp, wp = h + t + b, wd + left + r
    oh, ow = hp - (kh - 1) * dilation[0], wp - (kw - 1) * dilation[1]
    # the last output position plus one: every window then ends inside the padded input
    length = (n - 1) * hp * wp + (oh - 1) * wp + ow
    shifts = [i * dilation[0] * wp + j * dilation[1] for i in range(kh) for j in range(kw)]
    return hp, wp, oh, ow, length, shifts


def _offset_weights(xp, w):
    """w (O, C, kh, kw) as (kh*kw, O, C): one contiguous (O, C) matrix per kernel offset."""
    o, c, kh, kw = w.shape
    return xp.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(kh * kw, o, c)


def _zero_border(buf4, pad, h: int, wd: int) -> None:
    """Zero the padding ``pad`` (top, bottom, left, right) of a (C, N, Hp, Wp) buffer around
    its (h, wd) interior, which is written separately."""
    t, b, left, r = pad
    if t:
        buf4[:, :, :t] = 0
    if b:
        buf4[:, :, t + h:] = 0
    if left:
        buf4[:, :, t:t + h, :left] = 0
    if r:
        buf4[:, :, t:t + h, left + wd:] = 0


def conv_forward(x, w, pad, dilation, bias=None):
    """``(y, buf)``: y (N, O, OH, OW) with ``bias`` added when given, and the padded input
    (C, N * Hp * Wp), kept for the weight gradient."""
    xp = xp_of(x)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    hp, wp, oh, ow, length, shifts = _geometry(x.shape, w.shape, pad, dilation)
    buf = xp.empty((c, n * hp * wp), dtype=x.dtype)
    buf4 = buf.reshape(c, n, hp, wp)
    _zero_border(buf4, pad, h, wd)
    buf4[:, :, pad[0]:pad[0] + h, pad[2]:pad[2] + wd] = x.transpose(1, 0, 2, 3)
    wt = _offset_weights(xp, w)
    y = xp.empty((o, n * hp * wp), dtype=x.dtype)
    for k, s in enumerate(shifts):
        gemm_into(wt[k], buf[:, s:s + length], y[:, :length], accumulate=k > 0)
    return to_nchw(y.reshape(o, n, hp, wp)[:, :, :oh, :ow].transpose(1, 0, 2, 3), bias), buf


def to_nchw(y, bias=None):
    """A contiguous copy of the (N, O, OH, OW) view ``y``, with ``bias`` (O,) added on the way:
    no extra pass over the output for it."""
    xp = xp_of(y)
    if bias is None:
        return xp.ascontiguousarray(y)
    out = xp.empty(y.shape, dtype=y.dtype)
    xp.add(y, bias.reshape(1, -1, 1, 1), out=out)
    return out


def conv_backward(gy, w, buf, x_shape, pad, dilation, need_x: bool, need_w: bool):
    """``(gx, gw)`` for the convolution ``conv_forward`` computed (None where not needed)."""
    xp = xp_of(gy)
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    hp, wp, oh, ow, length, shifts = _geometry(x_shape, w.shape, pad, dilation)
    # the output gradient laid out like the forward's output, zero at the dropped positions
    # (the input gradient's GEMMs would otherwise add them in)
    g = xp.empty((o, n * hp * wp), dtype=gy.dtype)
    g4 = g.reshape(o, n, hp, wp)
    g4[:, :, :oh, :ow] = gy.transpose(1, 0, 2, 3)
    _zero_border(g4, (0, hp - oh, 0, wp - ow), oh, ow)
    g = g[:, :length]
    wt = _offset_weights(xp, w) if need_x else None
    gwk = xp.empty((kh * kw, o, c), dtype=gy.dtype) if need_w else None
    dbuf = xp.zeros((c, n * hp * wp), dtype=gy.dtype) if need_x else None
    if kw > 1:
        _stacked_gradients(g, buf, wt, gwk, dbuf, kh, kw, wp, dilation)
    else:
        for k, s in enumerate(shifts):
            _gradient_gemms(g, buf[:, s:s + length], wt[k] if need_x else None,
                            gwk[k] if need_w else None,
                            dbuf[:, s:s + length] if need_x else None, False)
    gx = gw = None
    if need_w:
        gw = xp.ascontiguousarray(gwk.reshape(kh, kw, o, c).transpose(2, 3, 0, 1))
    if need_x:
        dx = dbuf.reshape(c, n, hp, wp)[:, :, pad[0]:pad[0] + h, pad[2]:pad[2] + wd]
        gx = xp.ascontiguousarray(dx.transpose(1, 0, 2, 3))
    return gx, gw


def _gradient_gemms(g, window, w, gw, dwindow, accumulate_w: bool) -> None:
    """One kernel offset's (or stacked kernel row's) share of both gradients: ``gw (+)= g @
    window.T`` (both operands read along L: no transposed copy) and ``dwindow += w.T @ g``."""
    if gw is not None:
        gemm_into(g, window, gw, accumulate=accumulate_w, trans_b=True)
    if dwindow is not None:
        gemm_into(w, g, dwindow, accumulate=True, trans_a=True)


# Each chunk of the stacked output gradient takes at most this much memory: under glibc's
# mmap threshold (see ``_malloc.py``), so the buffer comes back from the heap on every call
# instead of being faulted in afresh (41 MB unchunked for the 56x56 64-channel layer, which
# then gained nothing).
STACK_BYTES = 16 << 20


def _stacked_gradients(g, buf, wt, gwk, dbuf, kh: int, kw: int, wp: int, dilation) -> None:
    """Both gradients with the kw offsets of each kernel row in one GEMM.

    Offset (i, j) pairs output position q with input position q + s_i + j*dw. Shifting g by
    j*dw instead, the kw offsets of row i read one common window of the input, so the kw
    shifted copies of g stacked as (kw*O, span) make one GEMM per kernel row: kh GEMMs with kw
    times the rows instead of kh*kw thin ones. The weight gradient's GEMMs (M = N = C, K = L)
    were the slow ones: at (32, 64, 32, 32) forward+backward 73 -> 61 ms, at (32, 256, 8, 8)
    70 -> 54 ms. The span is cut into chunks of at most ``STACK_BYTES``.
    """
    xp = xp_of(g)
    o, length = g.shape
    c = buf.shape[0]
    dw = dilation[1]
    span = length + (kw - 1) * dw
    step = max(1, STACK_BYTES // (kw * o * g.itemsize))
    chunk = xp.empty((kw, o, min(step, span)), dtype=g.dtype)
    rows = [i * dilation[0] * wp for i in range(kh)]
    w_rows = wt.reshape(kh, kw * o, c) if wt is not None else None
    gw_rows = gwk.reshape(kh, kw * o, c) if gwk is not None else None
    for a in range(0, span, step):
        b = min(a + step, span)
        gs = chunk[:, :, :b - a]
        for j in range(kw):  # gs[j, :, p - a] = g[:, p - j*dw], zero outside g
            lo, hi = max(a, j * dw), min(b, j * dw + length)
            gs[j, :, :max(lo - a, 0)] = 0
            if hi > lo:
                gs[j, :, lo - a:hi - a] = g[:, lo - j * dw:hi - j * dw]
            gs[j, :, max(hi - a, 0):] = 0
        gs2 = gs.reshape(kw * o, b - a)  # a view: rows evenly spaced even when cut short
        for i, r in enumerate(rows):
            _gradient_gemms(gs2, buf[:, r + a:r + b],
                            w_rows[i] if w_rows is not None else None,
                            gw_rows[i] if gw_rows is not None else None,
                            dbuf[:, r + a:r + b] if dbuf is not None else None, a > 0)
