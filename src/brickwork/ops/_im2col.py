"""The convolution kernels on backend arrays: im2col / col2im around one large GEMM.

Layout (chosen by measurement, see ``benchmarks/conv.py``): the windows of the padded NCHW input
are gathered channels-last into one ``(N*OH*OW, C*kh*kw)`` matrix, so each group's forward and
weight gradient is a single GEMM over the whole batch. For 1-3 input channels the columns are
gathered offset-major instead, and the forward runs per image as one stacked ``matmul``
(LeNet's 6x25 @ 25x784): there the one tall product has an output only O wide, slow in BLAS,
and must be transposed to NCHW afterwards. (A plain convolution of so few channels runs block
by block in ``_conv_few.py``; these serve the transposed convolutions' gradients.) col2im loops
over the kh*kw kernel offsets only (never over pixels or batch items), adding one contiguous
slab per offset.

Shapes: ``x`` (N, C, H, W), ``w`` (O, C // groups, kh, kw); ``pad`` is (top, bottom, left,
right); ``stride`` and ``dilation`` are pairs.
"""
from __future__ import annotations

from .._parallel import run_jobs
from ._util import xp_of


def out_size(size: int, k: int, s: int, p_lo: int, p_hi: int, d: int) -> int:
    """Output length of a convolution/pooling along one axis."""
    return (size + p_lo + p_hi - d * (k - 1) - 1) // s + 1


def pad_nchw(x, pad, value=0):
    """Pad the two spatial axes of an NCHW array (a no-op when every pad is zero)."""
    t, b, left, r = pad
    if not (t or b or left or r):
        return x
    xp = xp_of(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + t + b, w + left + r), value, dtype=x.dtype)
    out[:, :, t:t + h, left:left + w] = x
    return out


def windows(xp_arr, kh: int, kw: int, stride, dilation, oh: int, ow: int):
    """A strided view (N, C, OH, OW, kh, kw) of the windows of a padded NCHW array."""
    xp = xp_of(xp_arr)
    sn, sc, sh, sw = xp_arr.strides
    n, c = xp_arr.shape[:2]
    # Never written through: every consumer copies or reduces the view.
    return xp.lib.stride_tricks.as_strided(
        xp_arr, shape=(n, c, oh, ow, kh, kw),
        strides=(sn, sc, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1]))


def block_columns(win, parts, step: int, fn) -> list:
    """Columns made block by block, never whole: for each slice in ``parts`` of axis 3 of the
    windows view ``win`` (one thread each), blocks of ``step``, each copied in one go into a
    buffer the thread reuses and handed to ``fn(a, b, cols)`` while it is in cache. Returns
    each thread's list of ``fn``'s results, in order."""
    xp = xp_of(win)

    def job(part):
        buf = xp.empty(win.shape[:3] + (min(step, part.stop - part.start),) + win.shape[4:],
                       dtype=win.dtype)
        out = []
        for a in range(part.start, part.stop, step):
            b = min(a + step, part.stop)
            cols = buf[:, :, :, :b - a]
            cols[...] = win[:, :, :, a:b]
            out.append(fn(a, b, cols))
        return out

    return run_jobs(job, [(part,) for part in parts])


def padded_as(x, pad, axes):
    """x (N, C, H, W) with H and W zero-padded, its axes in the order ``axes`` (as for
    ``transpose``: (0, 2, 3, 1) is channels-last): one copy does both."""
    xp = xp_of(x)
    n, c, h, w = x.shape
    t, b, left, r = pad
    shape = (n, c, h + t + b, w + left + r)
    out = xp.zeros(tuple(shape[a] for a in axes), dtype=x.dtype)
    back = sorted(range(4), key=lambda i: axes[i])  # out's axes back in (N, C, H, W) order
    out.transpose(back)[:, :, t:t + h, left:left + w] = x
    return out


def im2col(x, kh, kw, stride, pad, dilation, groups, out_hw=None):
    """Per-group column matrices (N*OH*OW, kh*kw*C/g) of ``x`` and the output size (OH, OW).

    The rows are channels-last windows: copying them reads runs of C contiguous values, where
    an NCHW gather would jump a whole image between neighbouring entries. ``out_hw`` limits
    the windows (a transposed convolution's far-side output padding adds rows none reaches).
    """
    n, c, h, w = x.shape
    if out_hw is None:
        oh = out_size(h, kh, stride[0], pad[0], pad[1], dilation[0])
        ow = out_size(w, kw, stride[1], pad[2], pad[3], dilation[1])
    else:
        oh, ow = out_hw
    xp = xp_of(x)
    if groups == 1 and c <= _FEW_CHANNELS:
        return [_im2col_offset_major(x, kh, kw, stride, pad, dilation, oh, ow)], oh, ow
    xh = padded_as(x, pad, (0, 2, 3, 1))
    sn, sh, sw, sc = xh.strides
    win = xp.lib.stride_tricks.as_strided(
        xh, shape=(n, oh, ow, kh, kw, c),
        strides=(sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc))
    cg = c // groups
    cols = [xp.ascontiguousarray(win[..., i * cg:(i + 1) * cg])
            .reshape(n * oh * ow, kh * kw * cg) for i in range(groups)]
    return cols, oh, ow


# Up to this many input channels, gathering columns one kernel offset at a time wins (the
# channels-last gather copies runs of only C values): 2.2x faster for LeNet's 1-channel input,
# slower from 6 channels on (measured).
_FEW_CHANNELS = 3


def _im2col_offset_major(x, kh, kw, stride, pad, dilation, oh, ow):
    """Columns built as (kh, kw, C, N*OH*OW), one contiguous slab copy per kernel offset.

    Returned transposed, as the (N*OH*OW, kh*kw*C) view the GEMMs expect (BLAS takes either
    memory order), so callers cannot tell the two layouts apart.
    """
    xp = xp_of(x)
    n, c = x.shape[:2]
    xt = pad_nchw(x, pad).transpose(1, 0, 2, 3)
    cols = xp.empty((kh, kw, c, n, oh, ow), dtype=x.dtype)
    sh, sw = stride
    for i in range(kh):
        hi = i * dilation[0]
        for j in range(kw):
            wj = j * dilation[1]
            cols[i, j] = xt[:, :, hi:hi + sh * (oh - 1) + 1:sh, wj:wj + sw * (ow - 1) + 1:sw]
    return cols.reshape(kh * kw * c, n * oh * ow).T


def _w_matrix(w, i, groups):
    """Group ``i`` of w (O, cg, kh, kw) as (O/g, kh*kw*cg), matching the column order."""
    og = w.shape[0] // groups
    return w[i * og:(i + 1) * og].transpose(0, 2, 3, 1).reshape(og, w[0].size)


def conv_forward(x, w, stride, pad, dilation, groups, out_hw=None):
    """``y = conv(x, w)`` (no bias); returns ``(y, cols)`` so backward can reuse the columns."""
    xp = xp_of(x)
    o = w.shape[0]
    og = o // groups
    n = x.shape[0]
    cols, oh, ow = im2col(x, w.shape[2], w.shape[3], stride, pad, dilation, groups, out_hw)
    if offset_major(x.shape[1], groups):
        # per image, (O, K) @ (K, OH*OW) straight into NCHW: one tall GEMM would need the
        # output transposed afterwards, and its 6-wide product is slow in BLAS (LeNet's first
        # convolution 1.5 -> 0.76 ms, AlexNet's 14 -> 7.3 ms, measured)
        y = xp.matmul(_w_matrix(w, 0, 1), _per_image(cols[0], n, oh * ow))
        return y.reshape(n, o, oh, ow), cols
    if groups == 1:
        y = cols[0] @ _w_matrix(w, 0, 1).T
    else:
        y = xp.empty((n * oh * ow, o), dtype=x.dtype)
        for i in range(groups):
            y[:, i * og:(i + 1) * og] = cols[i] @ _w_matrix(w, i, groups).T
    y = y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)
    return xp.ascontiguousarray(y), cols


def offset_major(c: int, groups: int) -> bool:
    """Whether ``im2col`` builds this convolution's columns offset-major."""
    return groups == 1 and c <= _FEW_CHANNELS


def _per_image(cols, n: int, p: int):
    """The (N*P, K) offset-major columns as N (K, P) matrices: a view."""
    return cols.T.reshape(cols.shape[1], n, p).transpose(1, 0, 2)


def gy_matrix(gy):
    """(N, O, OH, OW) -> contiguous (N*OH*OW, O): the GEMM operand of both gradients."""
    n, o = gy.shape[:2]
    return xp_of(gy).ascontiguousarray(gy.transpose(0, 2, 3, 1)).reshape(gy.size // o, o)


def conv_weight_grad(gm, cols, w_shape, groups):
    """dL/dw from the output gradient matrix and the input's columns: one GEMM per group.

    Computed as ``cols.T @ gy`` (then transposed): OpenBLAS runs ``gy.T @ cols``, whose short
    output has a huge inner dimension, about 5x slower on the same numbers (measured).
    """
    o, cg, kh, kw = w_shape
    og = o // groups
    xp = xp_of(gm)
    parts = [(cols[i].T @ gm[:, i * og:(i + 1) * og]).reshape(kh, kw, cg, og)
             for i in range(groups)]
    gw = parts[0] if groups == 1 else xp.concatenate(parts, axis=3)
    return xp.ascontiguousarray(gw.transpose(3, 2, 0, 1))


def conv_input_grad(gm, w, x_shape, oh, ow, stride, pad, dilation, groups):
    """dL/dx: the column gradient ``w.T @ gy.T`` (one GEMM per group), then col2im.

    The column gradient is produced offset-major, (kh, kw, C, N, OH, OW), so col2im adds one
    contiguous slab per kernel offset into a (C, N, H, W) buffer. Measured against the
    alternatives: one small GEMM per offset suffers badly from OpenBLAS threading on thin
    matrices (10x slower for LeNet's 6 channels), and channels-last slabs add 2-3x slower.
    """
    xp = xp_of(gm)
    o, cg, kh, kw = w.shape
    og = o // groups
    n, c, h, wd = x_shape
    hp, wp = h + pad[0] + pad[1], wd + pad[2] + pad[3]
    dx = xp.zeros((c, n, hp, wp), dtype=gm.dtype)
    sh, sw = stride
    for gi in range(groups):
        wm = _w_matrix(w, gi, groups)  # (og, kh*kw*cg)
        dcols = (wm.T @ gm[:, gi * og:(gi + 1) * og].T).reshape(kh, kw, cg, n, oh, ow)
        dst = dx[gi * cg:(gi + 1) * cg]
        for i in range(kh):
            hi = i * dilation[0]
            for j in range(kw):
                wj = j * dilation[1]
                dst[:, :, hi:hi + sh * (oh - 1) + 1:sh, wj:wj + sw * (ow - 1) + 1:sw] += \
                    dcols[i, j]
    dx = dx[:, :, pad[0]:pad[0] + h, pad[2]:pad[2] + wd]
    return xp.ascontiguousarray(dx.transpose(1, 0, 2, 3))
