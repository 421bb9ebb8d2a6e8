"""Convolutions as one GEMM per kernel offset on shifted views: no column matrix.

The images are laid end to end per channel as one (C, L) matrix, each row followed by zero
columns and each image by zero rows (``_layout``). The input that kernel offset (i, j) meets
at output position (n, oh, ow) then sits at flat index ``base + (n*hs + oh)*ws + ow`` plus the
offset's constant shift. So the convolution is kh*kw GEMMs of (O, C) with (C, L) windows of
that one matrix, added into one (O, L) output by BLAS's ``beta`` (``_blas.gemm_into``).
Positions in the zero columns and rows are computed and dropped: 6% extra work for a 3x3
convolution at 32x32, 27% at 8x8. The im2col matrix (kh*kw times the input) is never written.

A stride-s convolution is split by phase: offset i along an axis reads input ``s*o + p`` for a
fixed phase p, so each phase's subsampled image ``x[..., p::s]`` gets its own matrix in the same
layout, and each offset is a shift within its phase's matrix, exactly as for stride 1.

Channel-major with each image's rows contiguous, this layout reaches NCHW and back by copies
that move whole image rows; batch-innermost (C, H, W, N) layouts need element-wise gathers
there. Measured on 2 cores, 64->64 3x3 at (16, 64, 56, 56): the output's conversion to NCHW
1.4 ms against 9.1 ms, the input's padding 1.2 ms against 2.9 ms.

Shapes: ``x`` (N, C, H, W), ``w`` (O, C, kh, kw); ``pad`` is (top, bottom, left, right).
"""
from __future__ import annotations

from typing import NamedTuple

from .._blas import gemm_into
from ._im2col import out_size
from ._util import xp_of


class Layout(NamedTuple):
    """Where everything sits: image n's row i of phase f starts at ``base + (n*hs + i)*ws`` of
    matrix f; ``phases`` lists each matrix's (row, column) phase and ``images`` its subsampled
    image size; tap k = i*kw + j reads matrix ``taps[k][0]`` from ``taps[k][1]`` on; ``length``
    is the last output position plus one."""
    hs: int
    ws: int
    base: int
    oh: int
    ow: int
    length: int
    phases: list
    images: list
    taps: list


def _axis(size: int, k: int, s: int, lo: int, hi: int, d: int):
    """One axis: the output size, each offset's (phase, shift in phase rows), the phase image
    size and the zeros needed before and after it."""
    out = out_size(size, k, s, lo, hi, d)
    taps = [((i * d - lo) % s, (i * d - lo) // s) for i in range(k)]
    shifts = [delta for _, delta in taps]
    full = -(-size // s)  # the largest phase image
    return out, taps, full, max(0, -min(shifts)), max(0, out - 1 + max(shifts) - (full - 1))


def _layout(x_shape, w_shape, stride, pad, dilation) -> Layout:
    """The layout of ``x_shape``'s images for this convolution.

    The ``ws - W`` zero columns after each row and the ``hs - H`` zero rows after each image
    serve as the right padding of one row and the left padding of the next (the top padding of
    the next image): a window reaching left of column 0 lands in the previous row's trailing
    zeros. So each image costs (H + max(t, b)) * (W + max(l, r)) positions instead of
    (H + t + b) * (W + l + r): a 3x3 convolution at 8x8 computes 1.27x its output, not 1.56x.
    """
    n, _, h, wd = x_shape
    _, _, kh, kw = w_shape
    oh, row_taps, hd, top, bottom = _axis(h, kh, stride[0], pad[0], pad[1], dilation[0])
    ow, col_taps, wdd, left, right = _axis(wd, kw, stride[1], pad[2], pad[3], dilation[1])
    hs, ws = max(hd + max(top, bottom), oh), max(wdd + max(left, right), ow)
    phases = sorted({(pr, pc) for pr, _ in row_taps for pc, _ in col_taps})
    images = [(-(-(h - pr) // stride[0]), -(-(wd - pc) // stride[1])) for pr, pc in phases]
    taps = [(phases.index((pr, pc)), (dr + top) * ws + dc + left)
            for pr, dr in row_taps for pc, dc in col_taps]
    length = (n - 1) * hs * ws + (oh - 1) * ws + ow
    return Layout(hs, ws, top * ws + left, oh, ow, length, phases, images, taps)


def work_ratio(x_shape, w_shape, stride, pad, dilation) -> float:
    """The positions the shifted GEMMs compute per output position (1.0 is no waste)."""
    lay = _layout(x_shape, w_shape, stride, pad, dilation)
    return lay.hs * lay.ws / (lay.oh * lay.ow)


def _offset_weights(xp, w):
    """w (O, C, kh, kw) as (kh*kw, O, C): one contiguous (O, C) matrix per kernel offset."""
    o, c, kh, kw = w.shape
    return xp.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(kh * kw, o, c)


def _place(buf4, src) -> None:
    """Write ``src`` (N, C, h, wd) into the leading (h, wd) corner of each image of a
    (C, N, hs, ws) buffer, and zeros around it."""
    h, wd = src.shape[2:]
    buf4[:, :, :h, :wd] = src.transpose(1, 0, 2, 3)
    buf4[:, :, h:] = 0
    buf4[:, :, :h, wd:] = 0


def _images(buf, n: int, lay: Layout):
    """The (C, N, hs, ws) images of a (C, base + N*hs*ws) layout matrix."""
    return buf[:, lay.base:].reshape(buf.shape[0], n, lay.hs, lay.ws)


# The forward's GEMMs run block by block of output positions, all kernel offsets over one block
# before the next, so the block's sums (at most this many bytes, at least BLOCK_MIN positions)
# stay in cache between the offsets' additions instead of making kh*kw round trips through
# memory. Forward of (16, 64, 56, 56) 29 -> 26 ms, of (32, 64, 32, 32) 19 -> 17 ms; 128 channels
# at 16x16 and the 5x5 96->256 layer at 26x26 unchanged.
BLOCK_BYTES = 4 << 20
BLOCK_MIN = 4096


def _blocks(length: int, rows: int, itemsize: int, most: int = BLOCK_BYTES,
            least: int = BLOCK_MIN) -> list:
    """``(start, stop)`` of equal blocks of ``length`` columns, each at most ``most`` bytes of
    ``rows`` rows (but at least ``least`` columns): no thin last block."""
    count = -(-length // max(least, most // (rows * itemsize)))
    step = -(-length // count)
    return [(a, min(a + step, length)) for a in range(0, length, step)]


def input_layout(x, w_shape, stride, pad, dilation) -> list:
    """x (N, C, H, W) laid out as one (C, base + N*hs*ws) matrix per phase (``_layout``)."""
    return _laid_out(x, _layout(x.shape, w_shape, stride, pad, dilation), stride)


def _laid_out(x, lay: Layout, stride) -> list:
    """``input_layout`` for a layout already made."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    bufs = []
    for pr, pc in lay.phases:
        buf = xp.empty((c, lay.base + n * lay.hs * lay.ws), dtype=x.dtype)
        buf[:, :lay.base] = 0
        _place(_images(buf, n, lay), x[:, :, pr::stride[0], pc::stride[1]])
        bufs.append(buf)
    return bufs


def conv_forward(x, w, stride, pad, dilation, bias=None):
    """``(y, bufs)``: y (N, O, OH, OW) with ``bias`` added when given, and the input laid out
    as one (C, base + N*hs*ws) matrix per phase, kept for the weight gradient."""
    xp = xp_of(x)
    n = x.shape[0]
    o = w.shape[0]
    lay = _layout(x.shape, w.shape, stride, pad, dilation)
    bufs = _laid_out(x, lay, stride)
    wt = _offset_weights(xp, w)
    y = xp.empty((o, n * lay.hs * lay.ws), dtype=x.dtype)
    for a, b in _blocks(lay.length, o, y.itemsize):
        for k, (f, s) in enumerate(lay.taps):
            gemm_into(wt[k], bufs[f][:, s + a:s + b], y[:, a:b], accumulate=k > 0)
    y = y.reshape(o, n, lay.hs, lay.ws)[:, :, :lay.oh, :lay.ow].transpose(1, 0, 2, 3)
    return to_nchw(y, bias), bufs


def to_nchw(y, bias=None):
    """A contiguous copy of the (N, O, OH, OW) view ``y``, with ``bias`` (O,) added on the way:
    no extra pass over the output for it."""
    xp = xp_of(y)
    if bias is None:
        return xp.ascontiguousarray(y)
    out = xp.empty(y.shape, dtype=y.dtype)
    xp.add(y, bias.reshape(1, -1, 1, 1), out=out)
    return out


def conv_backward(gy, w, bufs, x_shape, stride, pad, dilation, need_x: bool, need_w: bool):
    """``(gx, gw)`` for the convolution ``conv_forward`` computed (None where not needed)."""
    xp = xp_of(gy)
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    lay = _layout(x_shape, w.shape, stride, pad, dilation)
    # the output gradient laid out like the forward's output, zero at the dropped positions
    # (the input gradient's GEMMs would otherwise add them in)
    g = xp.empty((o, n * lay.hs * lay.ws), dtype=gy.dtype)
    _place(g.reshape(o, n, lay.hs, lay.ws), gy)
    g = g[:, :lay.length]
    wt = _offset_weights(xp, w) if need_x else None
    gwk = xp.empty((kh * kw, o, c), dtype=gy.dtype) if need_w else None
    dbufs = [xp.zeros((c, lay.base + n * lay.hs * lay.ws), dtype=gy.dtype)
             for _ in lay.phases] if need_x else None
    # the input layout (``bufs``) is only read for the weight gradient: None when that is not
    # needed
    groups = _column_groups(lay.taps, kh, kw)
    if any(len(taps) > 1 for taps in groups):
        _stacked_gradients(g, bufs if need_w else None, wt, gwk, dbufs, groups, c)
    else:
        for k, (f, s) in enumerate(lay.taps):
            _gradient_gemms(g, bufs[f][:, s:s + lay.length] if need_w else None,
                            wt[k] if need_x else None,
                            gwk[k] if need_w else None,
                            dbufs[f][:, s:s + lay.length] if need_x else None, False)
    gx = gw = None
    if need_w:
        gw = xp.ascontiguousarray(gwk.reshape(kh, kw, o, c).transpose(2, 3, 0, 1))
    if need_x:
        # input positions no offset reads (a stride past the kernel) get no gradient
        gx = (xp.empty if len(lay.phases) == stride[0] * stride[1] else xp.zeros)(
            x_shape, dtype=gy.dtype)
        for dbuf, (pr, pc), (ph, pw) in zip(dbufs, lay.phases, lay.images):
            gx[:, :, pr::stride[0], pc::stride[1]] = \
                _images(dbuf, n, lay)[:, :, :ph, :pw].transpose(1, 0, 2, 3)
    return gx, gw


def _column_groups(taps, kh: int, kw: int):
    """The offsets grouped for ``_stacked_gradients``: ``[[(k, matrix, shift), ...], ...]``,
    each group the offsets of one kernel row reading one phase's matrix, by shift."""
    groups = []
    for i in range(kh):
        by_matrix = {}
        for j in range(kw):
            f, s = taps[i * kw + j]
            by_matrix.setdefault(f, []).append((i * kw + j, f, s))
        groups.extend(sorted(g, key=lambda t: t[2]) for g in by_matrix.values())
    return groups


def _gradient_gemms(g, window, w, gw, dwindow, accumulate_w: bool) -> None:
    """One kernel offset's (or stacked group's) share of both gradients: ``gw (+)= g @
    window.T`` (both operands read along L: no transposed copy) and ``dwindow += w.T @ g``."""
    if gw is not None:
        gemm_into(g, window, gw, accumulate=accumulate_w, trans_b=True)
    if dwindow is not None:
        gemm_into(w, g, dwindow, accumulate=True, trans_a=True)


# Each chunk of the stacked output gradient takes at most this much memory (but spans at least
# STACK_MIN columns), and so does the chunk of stacked input windows beside it: both stay in
# cache between their copies and the GEMMs that read them. Backward of (16, 64, 56, 56), in
# process, medians: 65 ms in 16 MB chunks, 60 in 8 MB, 56-58 in 1-4 MB.
STACK_BYTES = 4 << 20
STACK_MIN = 2048


def _stacked_gradients(g, bufs, wt, gwk, dbufs, groups, c: int) -> None:
    """Both gradients with each group's offsets (one kernel row, one phase) in one GEMM.

    Offset k pairs output position q with input position q + s_k. Shifting g by s_k - s_0
    instead (s_0 the group's first shift), the group's offsets read one common window, so the
    shifted copies of g stacked as (m*O, span) make one GEMM per group: kh GEMMs with kw times
    the rows instead of kh*kw thin ones, for stride 1. Groups with the same relative shifts
    (every kernel row, for stride 1) share the stack.

    The weight gradient goes one step further: the sharing groups' input windows, stacked as
    (count*C, span), meet the stacked g in one GEMM whose (m*O, count*C) product holds every
    offset's (O, C) block: for a 64-channel 3x3 layer one 192x192 product instead of three
    192x64 ones (168 against 131 GFLOP/s measured at K = 53824). Backward, in-process A/B:
    (16, 64, 56, 56) 63 -> 54 ms, (32, 64, 32, 32) 42 -> 37 ms, 5x5 96->256 at 26x26 -6%;
    strided layers and 128 channels at 16x16 within +-3.5%.
    """
    xp = xp_of(g)
    o, length = g.shape
    by_pattern = {}
    for taps in groups:
        rel = tuple(s - taps[0][2] for _, _, s in taps)
        by_pattern.setdefault(rel, []).append(taps)
    for rel, members in by_pattern.items():
        m, count = len(rel), len(members)
        ks = [[k for k, _, _ in taps] for taps in members]
        w_rows = [xp.ascontiguousarray(wt[k]).reshape(m * o, c) for k in ks] \
            if wt is not None else None
        # every member's weight gradient from one GEMM: the members' input windows stacked
        # as (count*C, span) against the stacked output gradient
        gw_all = xp.empty((m * o, count * c), dtype=g.dtype) if gwk is not None else None
        chunks = _blocks(length + rel[-1], m * o, g.itemsize, STACK_BYTES, STACK_MIN)
        step = chunks[0][1]
        chunk = xp.empty((m, o, step), dtype=g.dtype)
        xs = xp.empty((count, c, step), dtype=g.dtype) if gwk is not None and count > 1 \
            else None
        for a, b in chunks:
            gs = chunk[:, :, :b - a]
            for j, e in enumerate(rel):  # gs[j, :, p - a] = g[:, p - e], zero outside g
                lo, hi = max(a, e), min(b, e + length)
                gs[j, :, :max(lo - a, 0)] = 0
                if hi > lo:
                    gs[j, :, lo - a:hi - a] = g[:, lo - e:hi - e]
                gs[j, :, max(hi - a, 0):] = 0
            gs2 = gs.reshape(m * o, b - a)  # a view: rows evenly spaced even when cut short
            if gwk is not None:
                if count == 1:  # one window: no copy
                    f, r = members[0][0][1], members[0][0][2]
                    xw = bufs[f][:, r + a:r + b]
                else:
                    xw = xs[:, :, :b - a]
                    for t, taps in enumerate(members):
                        f, r = taps[0][1], taps[0][2]
                        xw[t] = bufs[f][:, r + a:r + b]
                    xw = xw.reshape(count * c, b - a)
                gemm_into(gs2, xw, gw_all, accumulate=a > 0, trans_b=True)
            if dbufs is not None:
                for t, taps in enumerate(members):
                    f, r = taps[0][1], taps[0][2]
                    gemm_into(w_rows[t], gs2, dbufs[f][:, r + a:r + b], accumulate=True,
                              trans_a=True)
        if gwk is not None:
            parts = gw_all.reshape(m, o, count, c)
            for t, row in enumerate(ks):
                gwk[row] = parts[:, :, t]
