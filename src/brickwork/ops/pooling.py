"""Max, average and adaptive-average pooling (1-d and 2-d), vectorised over strided windows.

Windows are a zero-copy strided view of the (padded) input; backward walks the kh*kw kernel
offsets (never pixels or batch items), adding each offset's slab into the dense buffer of its
stride phase, and copies each phase into place once (``_scatter``).
1-d pooling is 2-d pooling of height 1, done on the arrays so that one node is recorded.
Max and average pooling also have a ``composite`` forward in differentiable Tensor ops, which
``create_graph=True`` differentiates (see ``_conv_composite.py``); adaptive pooling's matrix
products need none.
"""
from __future__ import annotations

import numpy as np

from .._parallel import run_slices
from ..autograd.function import Function
from ..device import guard_functions
from ..tensor import Tensor
from . import _conv_composite as C
from . import _im2col as K
from ._adaptive_pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from ._bf16 import float32_compute
from ._util import bits_mask, int_view, select_bits, wrap, xp_of
from .conv import scalar_name


def _pair(v, n: int = 2) -> tuple:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    return v * n if len(v) == 1 else v


def _geometry(op, x_shape, nd, kernel_size, stride, padding, dilation, ceil_mode):
    """Check arguments like PyTorch and return (kernel, stride, pad, dilation, out) pairs."""
    k = _pair(kernel_size, nd)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _pair(stride, nd)
    p, d = _pair(padding, nd), _pair(dilation, nd)
    if any(v == 0 for v in s):
        raise RuntimeError("stride should not be zero")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel_size must be greater than zero, but got {list(k)}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation must be greater than zero, but got {list(d)}")
    for pp, kk, dd in zip(p, k, d):
        if pp < 0 or pp > ((kk - 1) * dd + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={dd}")
    sizes = x_shape[-nd:]
    out = []
    for size, kk, ss, pp, dd in zip(sizes, k, s, p, d):
        span = size + 2 * pp - dd * (kk - 1) - 1
        o = (span + (ss - 1 if ceil_mode else 0)) // ss + 1
        if ceil_mode and (o - 1) * ss >= size + pp:
            o -= 1  # the last window must start inside the input or its left padding
        out.append(o)
    if any(o <= 0 for o in out):
        if op == "max_pool1d":
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {out[0]}")
        lead, calc = x_shape[-nd - 1:], (x_shape[-nd - 1],) + tuple(out)
        if nd == 1:  # PyTorch pools the (C, 1, L) view
            lead, calc = (lead[0], 1, lead[1]), (calc[0], 1, calc[1])
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, lead))}). Calculated output "
                           f"size: ({'x'.join(map(str, calc))}). Output size is too small")
    return k, s, p, d, out


def _to_nchw(x, nd):
    if nd == 1:
        x = x.reshape(x.shape[:-1] + (1,) + x.shape[-1:])
    return x if x.ndim == 4 else x[None]


def _padded(x, pad, extra, value):
    """Pad spatial axes by ``pad`` each side plus ``extra`` (ceil_mode overhang) at the end."""
    return K.pad_nchw(x, (pad[0], pad[0] + extra[0], pad[1], pad[1] + extra[1]), value)


def _slab(xpad, i: int, j: int, s, d, out):
    """The (N, C, OH, OW) strided view of kernel offset (i, j)'s inputs in the padded array."""
    hi, wj = i * d[0], j * d[1]
    return xpad[:, :, hi:hi + s[0] * (out[0] - 1) + 1:s[0], wj:wj + s[1] * (out[1] - 1) + 1:s[1]]


def _tiled(x4_shape, k, s, p, d, out, extra) -> bool:
    """Whether the windows tile the input exactly: stride = kernel, no padding, dilation or
    overhang, and sizes that are multiples of the kernel (every input in one window)."""
    return (tuple(s) == tuple(k) and tuple(d) == (1, 1) and not any(p) and not any(extra)
            and x4_shape[2] == out[0] * k[0] and x4_shape[3] == out[1] * k[1])


def _overhang(shape, k, s, p, d, out):
    """Rows/cols past the padded input that the ceil_mode last window reaches."""
    return tuple(max((o - 1) * ss + dd * (kk - 1) + 1 - (size + 2 * pp), 0)
                 for size, kk, ss, pp, dd, o in zip(shape[2:], k, s, p, d, out))


def _scatter(xp, gy, arg, x_shape, k, s, p, d, out, extra):
    """The input gradient of a pooling: each kernel offset's slab of ``gy`` (N, C, OH, OW),
    where ``arg`` (the offset each window took its maximum from) names that offset, or all of
    it when ``arg`` is None (average pooling, its 1/area already applied), added into a zero
    (N, C, H, W) array. Slices of the batch run on separate threads.

    Offset (i, j) writes input positions of one stride phase, ``(i*d % s, j*d % s)``, shifted
    by whole rows and columns of that phase. With ``gy`` laid out once at a phase's row
    pitch (zeros past each row and image), such a shift is a constant offset into the flat
    array, so each slab is added into a dense phase buffer by one contiguous addition, and the
    buffer goes to its strided positions by one copy. Adding into strided slabs directly cost
    2.3 ns per value, the flat addition 0.1 ns (3x3 stride-2 backward of (16, 96, 54, 54):
    11.1 -> 6.2 ms).
    """
    n, c = x_shape[:2]
    hp, wp = x_shape[2] + 2 * p[0] + extra[0], x_shape[3] + 2 * p[1] + extra[1]
    oh, ow = out
    ph, pw = -(-hp // s[0]), -(-wp // s[1])  # the largest phase, (0, 0)
    phases = {}
    for i in range(k[0]):
        for j in range(k[1]):
            (a, pr), (b, pc) = divmod(i * d[0], s[0]), divmod(j * d[1], s[1])
            phases.setdefault((pr, pc), []).append((a * pw + b, i * k[1] + j))
    gx = (xp.empty if len(phases) == s[0] * s[1] else xp.zeros)((n, c, hp, wp), dtype=gy.dtype)

    def part(sl):
        m = len(range(n)[sl])
        g = xp.zeros((m, c, ph, pw), dtype=gy.dtype)
        g[:, :, :oh, :ow] = gy[sl]
        g = g.reshape(-1)
        if arg is not None:
            codes = xp.full((m, c, ph, pw), -1, dtype=arg.dtype)
            codes[:, :, :oh, :ow] = arg[sl]
            codes = codes.reshape(-1)
        for (pr, pc), offsets in phases.items():
            buf = None
            for shift, offset in sorted(offsets):
                slab = g if arg is None else _select(xp, g, codes, offset)
                if buf is None and shift == 0:
                    buf = slab if arg is not None else slab.copy()
                    continue
                if buf is None:
                    buf = xp.zeros_like(g)
                buf[shift:] += slab[:len(slab) - shift]
            dest = gx[sl, :, pr::s[0], pc::s[1]]
            dest[...] = buf.reshape(m, c, ph, pw)[:, :, :dest.shape[2], :dest.shape[3]]
    run_slices(part, n, gx.size * k[0] * k[1], xp)
    return gx[:, :, p[0]:p[0] + x_shape[2], p[1]:p[1] + x_shape[3]]


def _tiled_grad(xp, gy, arg, x_shape, k, out, div=None):
    """A pooling's input gradient when the windows tile the input (``_tiled``): every input
    element is in exactly one window, so each offset's share is written straight into its
    strided positions, with no zero fill and no additions. Max pooling passes ``arg`` (the
    gradient goes where it names the offset), average pooling ``div`` (all of it, divided)."""
    n, c, h, w = x_shape
    (oh, ow), (kh, kw) = out, k
    gx = xp.empty(x_shape, dtype=gy.dtype)
    tiles = gx.reshape(n, c, oh, kh, ow, kw)  # a view: the windows cover the input exactly

    def part(sl):
        g = gy[sl] if arg is not None else (gy[sl] / div).astype(gy.dtype, copy=False)
        for i in range(kh):
            for j in range(kw):
                if arg is None:
                    tiles[sl, :, :, i, :, j] = g
                else:
                    _select(xp, g, arg[sl], i * kw + j, tiles[sl, :, :, i, :, j])
    run_slices(part, n, gx.size, xp)
    return gx


def _select(xp, g, arg, offset: int, out=None):
    """``g`` where ``arg == offset``, else 0, exactly (``_util.select_bits``): a NaN or
    infinite gradient goes to its window's argmax only, as in PyTorch, where multiplying by
    the 0/1 mask would spread NaN over the window (0 * inf). As fast as that multiplication."""
    if out is None:
        out = xp.empty(g.shape, dtype=g.dtype)
    bits = int_view(g)
    if bits is None:  # no integer of the width (float128): NumPy's branching select
        out[...] = xp.where(arg == offset, g, xp.zeros((), dtype=g.dtype))
        return out
    select_bits(bits_mask(xp.equal(arg, offset)), g, out)
    return out


def _max2x2(xp, a, b, c, e, top, arg):
    """The maximum of four slabs into ``top`` and the first offset (0-3, row-major) holding
    it into ``arg`` (int8), as a tournament: two pairs, then their winners. Strict comparisons
    keep the earlier offset on ties, as the one-offset-at-a-time sweep does. Fewer passes than
    the sweep, and none a masked copy (a 2x2 pool of (128, 6, 28, 28): 3.5 -> 1.7 ms as a
    tournament, 0.81 -> 0.49 ms for the forward with the lower pair's offsets taken by a
    maximum instead of a masked copy)."""
    xp.maximum(a, b, out=top)
    xp.greater(b, a, out=arg.view(xp.bool_))
    bottom = xp.maximum(c, e)
    arg_bottom = (e > c).view(xp.int8)
    arg_bottom += 2
    lower_wins = (bottom > top).view(xp.int8)
    xp.maximum(top, bottom, out=top)
    # arg_bottom (2, 3) exceeds every top offset (0, 1): where the lower pair wins, the
    # maximum takes it
    xp.multiply(arg_bottom, lower_wins, out=arg_bottom)
    xp.maximum(arg, arg_bottom, out=arg)


def _take_offset(xp, arg, better, offset: int) -> None:
    """``arg[better] = offset`` for an offset above every one ``arg`` holds so far: as
    ``arg = max(arg, better * offset)``, two passes without branches, where a masked copy
    ran about 10x slower per value on random masks."""
    if arg.dtype == np.int8:
        xp.maximum(arg, better.view(xp.int8) * xp.int8(offset), out=arg)
    else:
        xp.maximum(arg, better * offset, out=arg)


def _max_sweep(xp, slabs, k, y, arg):
    """The maximum over the kernel offsets' slabs (``slabs(i, j)``) into ``y`` and the first
    offset reaching it into ``arg``: an offset takes over only where strictly greater."""
    y[...] = slabs(0, 0)
    arg[...] = 0
    for i in range(k[0]):
        for j in range(k[1]):
            if i or j:
                cand = slabs(i, j)
                better = cand > y
                xp.maximum(y, cand, out=y)
                _take_offset(xp, arg, better, i * k[1] + j)


class MaxPool2d(Function):
    _array_level = True
    _backward_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, nd, k, s, p, d, out, with_indices):
        ctx.in_shape = x.shape
        x4 = _to_nchw(x, nd)
        extra = _overhang(x4.shape, k, s, p, d, out)
        neg = -np.inf if x.dtype.kind in "fV" else np.iinfo(x.dtype).min  # 'V': bfloat16
        xp_arr = _padded(x4, p, extra, neg)
        oh, ow = out

        def slab(i, j):
            return _slab(xp_arr, i, j, s, d, out)

        # kh*kw elementwise maxima over strided slabs: no window copy, no argmax over a tiny
        # trailing axis (both measured several times slower).
        xp = xp_of(x)
        # The maximum and the first offset reaching it (PyTorch's choice among ties), slices
        # of the batch on separate threads. int8 offsets when they fit: backward's
        # comparisons over them read an eighth of the bytes.
        y = xp.empty(x4.shape[:2] + (oh, ow), dtype=x.dtype)
        arg = xp.empty(y.shape, dtype=np.int8 if k[0] * k[1] <= 127 else np.int64)

        def sweep(sl):
            if tuple(k) == (2, 2):
                _max2x2(xp, slab(0, 0)[sl], slab(0, 1)[sl], slab(1, 0)[sl], slab(1, 1)[sl],
                        y[sl], arg[sl])
            else:
                _max_sweep(xp, lambda i, j: slab(i, j)[sl], k, y[sl], arg[sl])
        run_slices(sweep, len(y), y.size * k[0] * k[1], xp)
        nan = xp.isnan(y) if x.dtype.kind in "fV" else None
        if (p[0] or p[1] or extra[0] or extra[1]) and (y == neg).any():
            arg = _first_inside(xp, slab, y, x4.shape, k, s, p, d, out)
        if nan is not None and nan.any():
            # A NaN window points at its first NaN (the comparisons above never pick one)
            arg[nan] = -1
            for i in range(k[0] - 1, -1, -1):
                for j in range(k[1] - 1, -1, -1):
                    xp.copyto(arg, i * k[1] + j, where=(arg < 0) & np.isnan(slab(i, j)))
        ctx.cfg = (x4.shape, k, s, p, d, out, extra)
        ctx.arg = arg
        out_shape = x.shape[:-nd] + tuple(out[2 - nd:])
        y = y.reshape(out_shape)
        if not with_indices:
            return y
        arg = arg.astype(np.int64)  # int8 offsets times a dilation could overflow
        rows = (xp.arange(oh) * s[0])[:, None] + (arg // k[1]) * d[0] - p[0]
        cols = (xp.arange(ow) * s[1])[None, :] + (arg % k[1]) * d[1] - p[1]
        return y, (rows * x4.shape[3] + cols).reshape(out_shape)

    @staticmethod
    def backward(ctx, gy, _gidx=None):
        x4_shape, k, s, p, d, out, extra = ctx.cfg
        gy = gy.reshape(x4_shape[:2] + tuple(out))
        arg = ctx.arg
        xp = xp_of(gy)
        if _tiled(x4_shape, k, s, p, d, out, extra):
            return (_tiled_grad(xp, gy, arg, x4_shape, k, out).reshape(ctx.in_shape),) + \
                (None,) * 7
        # Each output's gradient goes to its window's argmax: one masked slab per offset.
        gx = _scatter(xp, gy, arg, x4_shape, k, s, p, d, out, extra)
        return (xp_of(gy).ascontiguousarray(gx).reshape(ctx.in_shape),) + (None,) * 7

    @staticmethod
    def composite(x, nd, k, s, p, d, out, with_indices):
        """The forward in differentiable Tensor ops, which ``create_graph=True`` differentiates
        instead of ``backward`` (see ``_conv_composite.py``).

        Each output reads the input at the index the fast forward chose, so that ties and
        NaNs resolve alike.
        """
        from ..autograd.grad_mode import no_grad

        with no_grad():
            _, idx = MaxPool2d.apply(x.detach(), nd, k, s, p, d, out, True)
        lead = tuple(x.shape[:-nd])
        # Sizes spelled out, not -1: an empty batch leaves -1 ambiguous.
        n_in, n_out = int(np.prod(x.shape[-nd:])), int(np.prod(idx.shape[-nd:]))
        y = x.reshape(lead + (n_in,)).take_along_dim(idx.reshape(lead + (n_out,)), -1)
        y = y.reshape(idx.shape)
        return (y, idx) if with_indices else y


def _first_inside(xp, slab, y, x4_shape, k, s, p, d, out):
    """The first offset reaching the maximum among those inside the input.

    Needed only where a window's maximum equals the padding value (-inf, or an integer
    type's minimum): the padding ties there, and PyTorch's index points into the input.
    """
    arg = xp.full(y.shape, -1, dtype=np.int64)
    rows = xp.arange(out[0]) * s[0] - p[0]
    cols = xp.arange(out[1]) * s[1] - p[1]
    for i in range(k[0] - 1, -1, -1):
        r = rows + i * d[0]
        r_in = (r >= 0) & (r < x4_shape[2])
        for j in range(k[1] - 1, -1, -1):
            c = cols + j * d[1]
            inside = r_in[:, None] & ((c >= 0) & (c < x4_shape[3]))[None, :]
            xp.copyto(arg, i * k[1] + j, where=(slab(i, j) == y) & inside)
    return arg


class AvgPool2d(Function):
    _array_level = True
    _backward_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, nd, k, s, p, d, out, count_include_pad, divisor_override):
        ctx.in_shape = x.shape
        x4 = _to_nchw(x, nd)
        extra = _overhang(x4.shape, k, s, p, d, out)
        xp = xp_of(x)
        if divisor_override:
            div = divisor_override
        else:
            div = (_counts(x4.shape[2], k[0], s[0], p[0], out[0], count_include_pad)[:, None]
                   * _counts(x4.shape[3], k[1], s[1], p[1], out[1], count_include_pad)[None])
            # one count for every window (no padding reached, or counted): a Python int,
            # which divides a float32 array without promoting it
            div = int(div.flat[0]) if div.size and (div == div.flat[0]).all() else \
                xp.asarray(div, dtype=x.dtype)
        ctx.cfg = (x4.shape, k, s, p, d, out, extra, div)
        xpad = _padded(x4, p, extra, 0)
        if x.dtype.kind != "f":
            total = K.windows(xpad, k[0], k[1], s, d, out[0], out[1]).sum(axis=(4, 5))
            y = (total / div).astype(x.dtype, copy=False)
        else:
            # the window's values added in PyTorch's order (row by row), one slab per kernel
            # offset, then divided: (128, 6, 24, 24) 2x2 2.6 -> 0.3 ms against summing the
            # (..., kh, kw) windows view, whose reduction runs over two-value inner loops
            offsets = [(i, j) for i in range(k[0]) for j in range(k[1])]
            y = xp.empty(x4.shape[:2] + tuple(out), dtype=x.dtype)

            def part(sl):
                ys = y[sl]
                ys[...] = _slab(xpad, *offsets[0], s, d, out)[sl]
                for i, j in offsets[1:]:
                    ys += _slab(xpad, i, j, s, d, out)[sl]
                ys /= div
            run_slices(part, len(y), y.size * len(offsets), xp)
        return y.reshape(x.shape[:-nd] + tuple(out[2 - nd:]))

    @staticmethod
    def backward(ctx, gy):
        x4_shape, k, s, p, d, out, extra, div = ctx.cfg
        gy = gy.reshape(x4_shape[:2] + tuple(out))
        if _tiled(x4_shape, k, s, p, d, out, extra):
            return (_tiled_grad(xp_of(gy), gy, None, x4_shape, k, out, div)
                    .reshape(ctx.in_shape),) + (None,) * 8
        g = (gy / div).astype(gy.dtype, copy=False)
        gx = _scatter(xp_of(gy), g, None, x4_shape, k, s, p, d, out, extra)
        return (xp_of(gy).ascontiguousarray(gx).reshape(ctx.in_shape),) + (None,) * 8

    @staticmethod
    def composite(x, nd, k, s, p, d, out, count_include_pad, divisor_override):
        """The forward in differentiable Tensor ops, for ``create_graph`` (see ``MaxPool2d``)."""
        x4 = _to_nchw(x, nd)
        extra = _overhang(x4.shape, k, s, p, d, out)
        padded = C.pad_constant(x4, [(0, 0), (0, 0), (p[0], p[0] + extra[0]),
                                     (p[1], p[1] + extra[1])])
        total = C.windows(padded, k[0], k[1], s, d, out[0], out[1]).sum(2)
        if divisor_override:
            y = total / divisor_override
        else:
            div = (_counts(x4.shape[2], k[0], s[0], p[0], out[0], count_include_pad)[:, None]
                   * _counts(x4.shape[3], k[1], s[1], p[1], out[1], count_include_pad)[None])
            y = total / wrap(div.astype(x.dtype.np), x)
        return y.reshape(tuple(x.shape[:-nd]) + tuple(out[2 - nd:]))


def _counts(size, k, s, p, out, include_pad):
    """PyTorch's per-window divisor along one axis (windows clipped to the padded input)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if not include_pad:
        start, end = np.maximum(start, 0), np.minimum(end, size)
    return end - start


def _check_rank(op, input, nd):
    """PyTorch's checks of rank and emptiness, each op in its own words.

    A batch of 0 is fine (the result is empty too); an empty channel or spatial axis is not.
    1-d average pooling, and 1-d max pooling with indices, are PyTorch's 2-d pooling of the
    (N, C, 1, L) view, so their messages show that view.
    """
    shape = tuple(input.shape)
    rank_ok = input.ndim in (nd + 1, nd + 2)
    empty_axis = rank_ok and 0 in shape[-(nd + 1):]
    if op == "max_pool2d":
        if not rank_ok:
            raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    elif op == "max_pool1d":  # without indices: a kernel of its own
        if not rank_ok or empty_axis:
            raise RuntimeError(f"max_pool1d: Expected 2D or 3D (batch mode) tensor with optional "
                               f"0 dim batch size for input, but got:{list(shape)}")
    elif op == "avg_pool2d":
        if input.ndim < 3:  # PyTorch reads size(-3) first
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(input.ndim, 1)}, {max(input.ndim, 1) - 1}], but got -3)")
        if not rank_ok:
            empty_axis = True
    else:  # avg_pool1d, max_pool1d_with_indices
        if not rank_ok:
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                               f"tensor for argument #1 'self' (while checking arguments for "
                               f"{op[:10]})")
        shape = shape[:-1] + (1,) + shape[-1:]
    if empty_axis:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                           f"size for input, but got:{list(shape)}")


@float32_compute
def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-d max pooling over (N, C, H, W) or (C, H, W).

    Example:
        >>> y = max_pool2d(brickwork.randn(1, 1, 4, 4), 2)  # (1, 1, 2, 2)

    See: torch.nn.functional.max_pool2d.
    """
    return _max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-d max pooling over (N, C, L) or (C, L). See: torch.nn.functional.max_pool1d."""
    return _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _max_pool(input, nd, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = f"max_pool{nd}d" + ("_with_indices" if nd == 1 and return_indices else "")
    _check_rank(op, input, nd)
    k, s, p, d, out = _geometry(op, tuple(input.shape), nd, kernel_size, stride,
                                padding, dilation, ceil_mode)
    if nd == 1:
        k, s, p, d, out = (1,) + k, (1,) + s, (0,) + p, (1,) + d, [1] + out
    # The indices are an integer output, so autograd leaves them out of the graph.
    return MaxPool2d.apply(input, nd, k, s, p, d, out, bool(return_indices))


@float32_compute
def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-d average pooling. See: torch.nn.functional.avg_pool2d."""
    return _avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling. See: torch.nn.functional.avg_pool1d."""
    return _avg_pool(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def _avg_pool(input, nd, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    op = f"avg_pool{nd}d"
    _check_rank(op, input, nd)
    if not input.is_floating_point():
        raise RuntimeError(f'"avg_pool2d" not implemented for '
                           f"'{scalar_name(input.dtype)}'")
    k, s, p, d, out = _geometry(op, tuple(input.shape), nd, kernel_size, stride,
                                padding, 1, ceil_mode)
    if nd == 1:
        k, s, p, d, out = (1,) + k, (1,) + s, (0,) + p, (1,) + d, [1] + out
    return AvgPool2d.apply(input, nd, k, s, p, d, out, bool(count_include_pad),
                           divisor_override)


TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
