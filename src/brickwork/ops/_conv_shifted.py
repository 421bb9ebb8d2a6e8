"""Stride-1 convolutions as one GEMM per kernel offset on shifted views: no column matrix.

The images are laid end to end per channel as one (C, L) matrix, each row followed by zero
columns and each image by zero rows (``_geometry``). The input that kernel offset (i, j) meets
at output position (n, oh, ow) then sits at flat index ``base + (n*hs + oh)*ws + ow`` plus the
offset's constant shift ``i*dh*ws + j*dw``. So the convolution is kh*kw GEMMs of (O, C) with
(C, L) windows of that one matrix, added into one (O, L) output by BLAS's ``beta``
(``_blas.gemm_into``). Positions in the zero columns and rows are computed and dropped: 6%
extra work for a 3x3 convolution at 32x32, 27% at 8x8. The im2col matrix (kh*kw times the
input) is never written.

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
    """The layout and the GEMMs' extent: ``(hs, ws, base, oh, ow, length, shifts)``.

    Image n's row i starts at flat index ``base + (n*hs + i)*ws``; the ``ws - W`` columns after
    each row and the ``hs - H`` rows after each image are zeros, and serve as the right padding
    of one row and the left padding of the next (the top padding of the next image): a window
    reaching left of column 0 lands in the previous row's trailing zeros. So each image costs
    (H + max(t, b)) * (W + max(l, r)) positions instead of (H + t + b) * (W + l + r): a 3x3
    convolution at 8x8 computes 1.27x its output instead of 1.56x. ``length`` is the last
    output position plus one, and offset (i, j) reads the window that starts ``shifts[i*kw+j]``
    positions on.
    """
    n, _, h, wd = x_shape
    _, _, kh, kw = w_shape
    t, b, left, r = pad
    oh = h + t + b - (kh - 1) * dilation[0]
    ow = wd + left + r - (kw - 1) * dilation[1]
    hs, ws = max(h + max(t, b), oh), max(wd + max(left, r), ow)
    base = t * ws + left
    length = (n - 1) * hs * ws + (oh - 1) * ws + ow
    shifts = [i * dilation[0] * ws + j * dilation[1] for i in range(kh) for j in range(kw)]
    return hs, ws, base, oh, ow, length, shifts


def work_ratio(x_shape, w_shape, pad, dilation) -> float:
    """The positions the shifted GEMMs compute per output position (1.0 is no waste)."""
    hs, ws, _, oh, ow, _, _ = _geometry(x_shape, w_shape, pad, dilation)
    return hs * ws / (oh * ow)


def _offset_weights(xp, w):
    """w (O, C, kh, kw) as (kh*kw, O, C): one contiguous (O, C) matrix per kernel offset."""
    o, c, kh, kw = w.shape
    return xp.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(kh * kw, o, c)


def _zero_border(buf4, h: int, wd: int) -> None:
    """Zero all but the leading (h, wd) corner of each image of a (C, N, hs, ws) buffer."""
    buf4[:, :, h:] = 0
    buf4[:, :, :h, wd:] = 0


def _images(buf, n: int, hs: int, ws: int, base: int):
    """The (C, N, hs, ws) images of a (C, base + N*hs*ws) layout buffer."""
    return buf[:, base:].reshape(buf.shape[0], n, hs, ws)


def conv_forward(x, w, pad, dilation, bias=None):
    """``(y, buf)``: y (N, O, OH, OW) with ``bias`` added when given, and the padded input
    (C, N * Hp * Wp), kept for the weight gradient."""
    xp = xp_of(x)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    hs, ws, base, oh, ow, length, shifts = _geometry(x.shape, w.shape, pad, dilation)
    buf = xp.empty((c, base + n * hs * ws), dtype=x.dtype)
    buf[:, :base] = 0
    buf4 = _images(buf, n, hs, ws, base)
    _zero_border(buf4, h, wd)
    buf4[:, :, :h, :wd] = x.transpose(1, 0, 2, 3)
    wt = _offset_weights(xp, w)
    y = xp.empty((o, n * hs * ws), dtype=x.dtype)
    for k, s in enumerate(shifts):
        gemm_into(wt[k], buf[:, s:s + length], y[:, :length], accumulate=k > 0)
    return to_nchw(y.reshape(o, n, hs, ws)[:, :, :oh, :ow].transpose(1, 0, 2, 3), bias), buf


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
    hs, ws, base, oh, ow, length, shifts = _geometry(x_shape, w.shape, pad, dilation)
    # the output gradient laid out like the forward's output, zero at the dropped positions
    # (the input gradient's GEMMs would otherwise add them in)
    g = xp.empty((o, n * hs * ws), dtype=gy.dtype)
    g4 = g.reshape(o, n, hs, ws)
    g4[:, :, :oh, :ow] = gy.transpose(1, 0, 2, 3)
    _zero_border(g4, oh, ow)
    g = g[:, :length]
    wt = _offset_weights(xp, w) if need_x else None
    gwk = xp.empty((kh * kw, o, c), dtype=gy.dtype) if need_w else None
    dbuf = xp.zeros(buf.shape, dtype=gy.dtype) if need_x else None
    if kw > 1:
        _stacked_gradients(g, buf, wt, gwk, dbuf, kh, kw, ws, dilation)
    else:
        for k, s in enumerate(shifts):
            _gradient_gemms(g, buf[:, s:s + length], wt[k] if need_x else None,
                            gwk[k] if need_w else None,
                            dbuf[:, s:s + length] if need_x else None, False)
    gx = gw = None
    if need_w:
        gw = xp.ascontiguousarray(gwk.reshape(kh, kw, o, c).transpose(2, 3, 0, 1))
    if need_x:
        dx = _images(dbuf, n, hs, ws, base)[:, :, :h, :wd]
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


def _stacked_gradients(g, buf, wt, gwk, dbuf, kh: int, kw: int, ws: int, dilation) -> None:
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
    rows = [i * dilation[0] * ws for i in range(kh)]
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
