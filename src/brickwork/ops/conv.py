"""Convolutions (1-d and 2-d, plain and transposed) and ``pad``, with their gradients.

All of them go through one Function, ``Convolution`` (grad_fn ``ConvolutionBackward0`` as in
PyTorch), whose kernels live in ``_im2col.py``. A 1-d convolution is a 2-d one of height 1.
A transposed convolution's forward is a plain convolution's input gradient, and vice versa.
For higher-order gradients each Function also has a ``composite``: its forward in
differentiable Tensor ops (``_conv_composite.py``), which ``create_graph=True`` differentiates.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..device import guard_functions
from ..tensor import Tensor
from . import _conv_chwn as CHWN
from . import _conv_composite as C
from . import _conv_few as FEW
from . import _im2col as K
from ._bf16 import float32_compute
from ._norm_stats import channel_sums
from ._pad_checks import checked_pad
from ._util import wrap, xp_of

# -- argument checking -------------------------------------------------------------------------


def _tuple(v, n: int, name: str) -> tuple:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={list(v)}")
    return v


_SCALAR_NAMES = {"float64": "Double", "float32": "Float", "float16": "Half",
                 "bfloat16": "BFloat16", "int64": "Long", "int32": "Int", "int16": "Short",
                 "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def scalar_name(dtype) -> str:
    """PyTorch's C++ name of a dtype, as its error messages print it ("Float", "Long")."""
    return _SCALAR_NAMES.get(dtype.name, dtype.name)


def _shape(t) -> list:
    return list(t.shape)


def _check_inputs(op: str, nd: int, input: Tensor, weight: Tensor, bias, groups: int,
                  transposed: bool) -> bool:
    """Validate ranks, channels, dtypes and bias; return whether input had a batch axis."""
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{op}, but got input of size: {_shape(input)}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"weight should have {nd + 2} dimensions for {op} (got weight of "
                           f"size {_shape(weight)})")
    batched = input.ndim == nd + 2
    in_shape = _shape(input) if batched else [1] + _shape(input)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    c = in_shape[1]
    if transposed:
        if c != weight.shape[0]:
            raise RuntimeError(f"Given transposed=1, weight of size {_shape(weight)}, expected "
                               f"input{in_shape} to have {weight.shape[0]} channels, but got "
                               f"{c} channels instead")
        out_channels = weight.shape[1] * groups
    else:
        if c != weight.shape[1] * groups:
            raise RuntimeError(f"Given groups={groups}, weight of size {_shape(weight)}, "
                               f"expected input{in_shape} to have {weight.shape[1] * groups} "
                               f"channels, but got {c} channels instead")
        if weight.shape[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                               f"{groups} at dimension 0, but got weight of size "
                               f"{_shape(weight)} instead")
        out_channels = weight.shape[0]
    if input.dtype != weight.dtype:
        raise RuntimeError(f"expected scalar type {scalar_name(input.dtype)} but found "
                           f"{scalar_name(weight.dtype)}")
    if not input.is_floating_point():
        raise RuntimeError(f'"slow_conv2d_cpu" not implemented for '
                           f"'{scalar_name(input.dtype)}'")
    if bias is not None:
        if bias.ndim != 1 or bias.shape[0] != out_channels:
            raise RuntimeError(f"Given weight of size {_shape(weight)}, expected bias to be "
                               f"1-dimensional with {out_channels} elements, but got bias of "
                               f"size {_shape(bias)} instead")
        if bias.dtype != input.dtype:
            raise RuntimeError(f"expected scalar type {scalar_name(input.dtype)} but "
                               f"found {scalar_name(bias.dtype)}")
    return batched


def _check_geometry(stride, padding, dilation):
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")


# -- the Function ------------------------------------------------------------------------------


class Convolution(Function):
    """2-d convolution on NCHW arrays; 1-d and unbatched inputs are viewed as 2-d batched ones.

    ``pad`` is (top, bottom, left, right). For ``transposed`` the weight is (C_in, C_out/g,
    kh, kw) and ``out_hw`` is the output's spatial size.
    """

    _array_level = True
    _backward_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride, pad, dilation, groups, transposed, out_hw):
        ctx.x_shape, ctx.w_shape = x.shape, w.shape
        x, w = _as_4d(x, w.ndim), w.reshape(w.shape[:2] + (-1,) + w.shape[-1:])
        ctx.cfg, ctx.w4_shape = (stride, pad, dilation, groups), w.shape
        ni = ctx.needs_input_grad
        if transposed:
            # y = conv's input gradient, with x in the role of the output gradient: the
            # convolution of y_shape's input whose weight (O, C, ...) is w (C_in, C_out, ...)
            y_shape = (x.shape[0], w.shape[1] * groups) + tuple(out_hw)
            ctx.chwn = _transposed_chwn(x.shape, y_shape, w.shape, stride, pad, dilation,
                                        groups)
            if ctx.chwn:
                y, _ = CHWN.conv_backward(x, w, None, y_shape, stride, pad, dilation, True,
                                          False)
                if ni[0] or ni[1]:
                    ctx.w = w
                if ni[1]:
                    ctx.x4 = x
            else:
                gm = K.gy_matrix(x)
                y = K.conv_input_grad(gm, w, y_shape, x.shape[2], x.shape[3], stride, pad,
                                      dilation, groups)
                if ni[0] or ni[1]:
                    ctx.w, ctx.gm, ctx.gm_hw = w, gm, x.shape[2:]
        else:
            ctx.chwn = groups == 1 and x.shape[1] > K._FEW_CHANNELS
            ctx.few = groups == 1 and not ctx.chwn
            # ``saved``: what the kernel's weight gradient reads (the columns, or the input in
            # the kernel's own layout, from which it makes them again)
            if ctx.chwn:
                y, saved = CHWN.conv_forward(x, w, stride, pad, dilation, b)
                b = None  # added on the way out of the kernel
            elif ctx.few:
                y, saved = FEW.conv_forward(x, w, stride, pad, dilation, b)
                b = None
            else:
                y, saved = K.conv_forward(x, w, stride, pad, dilation, groups)
            if ni[1]:
                ctx.saved = saved
            if ni[0] or (ni[1] and ctx.chwn):
                ctx.w = w
            ctx.x4_shape = x.shape
        ctx.transposed = transposed
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        ctx.y4_shape = y.shape
        return y.reshape(_out_shape(ctx.x_shape, ctx.w_shape, y.shape))

    @staticmethod
    def backward(ctx, gy):
        stride, pad, dilation, groups = ctx.cfg
        ni = ctx.needs_input_grad
        gy = gy.reshape(ctx.y4_shape)
        gx = gw = gb = None
        if ni[2]:
            # per-row sums in BLAS: 4x faster than sum(axis=(0, 2, 3)) (``_norm_stats.py``),
            # for contiguous gradients (a broadcast one, from ``sum()``, would be copied first)
            fast = gy.size and gy.flags.c_contiguous and gy.dtype.kind == "f" and \
                gy.dtype.itemsize >= 4
            gb = channel_sums(gy).astype(gy.dtype) if fast else gy.sum(axis=(0, 2, 3))
        if ctx.transposed and ctx.chwn:
            # the input gradient is that convolution's forward of gy; the weight gradient is
            # its weight gradient, with gy as its input and x as its output gradient
            w = ctx.w
            if ni[0]:
                gx, saved = CHWN.conv_forward(gy, w, stride, pad, dilation)
            elif ni[1]:
                saved = CHWN.input_layout(gy, w.shape, stride, pad, dilation)
            if ni[1]:
                _, gw = CHWN.conv_backward(ctx.x4, w, saved, gy.shape, stride, pad, dilation,
                                           False, True)
        elif ctx.transposed:
            w = ctx.w
            in_hw = ctx.gm_hw
            if ni[0]:
                gx, _ = K.conv_forward(gy, w, stride, pad, dilation, groups, in_hw)
            if ni[1]:
                # The weight gradient of the convolution this one transposes, whose input is
                # our output gradient and whose output gradient is our input.
                cols, _, _ = K.im2col(gy, w.shape[2], w.shape[3], stride, pad, dilation, groups,
                                      in_hw)
                gw = K.conv_weight_grad(ctx.gm, cols, w.shape, groups)
        elif ctx.chwn and (ni[0] or ni[1]):
            gx, gw = CHWN.conv_backward(gy, ctx.w, getattr(ctx, "saved", None), ctx.x4_shape,
                                        stride, pad, dilation, ni[0], ni[1])
        else:
            gm = K.gy_matrix(gy) if ni[0] or (ni[1] and not ctx.few) else None
            if ni[0]:
                gx = K.conv_input_grad(gm, ctx.w, ctx.x4_shape, gy.shape[2], gy.shape[3],
                                       stride, pad, dilation, groups)
            if ni[1] and ctx.few:
                gw = FEW.weight_grad(gy, ctx.saved, ctx.w4_shape, stride, dilation)
            elif ni[1]:
                gw = K.conv_weight_grad(gm, ctx.saved, ctx.w4_shape, groups)
        if gx is not None:
            gx = gx.reshape(ctx.x_shape)
        if gw is not None:
            gw = gw.reshape(ctx.w_shape)
        return gx, gw, gb, None, None, None, None, None, None

    @staticmethod
    def composite(x, w, b, stride, pad, dilation, groups, transposed, out_hw):
        """The forward in differentiable Tensor ops (``_conv_composite.py``).

        ``create_graph=True`` differentiates this instead of ``backward``, whose kernels
        cannot be recorded; the fast first-order path never runs it.
        """
        x4 = _as_4d(x, w.ndim)
        w4 = w.reshape(tuple(w.shape[:2]) + (-1,) + tuple(w.shape[-1:]))
        conv = C.transposed if transposed else C.correlate
        y = conv(x4, w4, stride, pad, dilation, groups, out_hw)
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1)
        return y.reshape(_out_shape(tuple(x.shape), tuple(w.shape), tuple(y.shape)))


def _transposed_chwn(x_shape, y_shape, w_shape, stride, pad, dilation, groups) -> bool:
    """Whether a transposed convolution runs on ``_conv_chwn.py``'s kernels: ungrouped, more
    than a few output channels, and an output whose convolution gives back x's size exactly
    (an output padding of a stride or more, possible under dilation, adds windows beyond
    x's; the column kernels' ``out_hw`` limits them)."""
    if groups != 1 or y_shape[1] <= K._FEW_CHANNELS:
        return False
    return all(K.out_size(y_shape[2 + i], w_shape[2 + i], stride[i], pad[2 * i],
                          pad[2 * i + 1], dilation[i]) == x_shape[2 + i] for i in range(2))


def _as_4d(x, w_ndim):
    """(C, L) / (N, C, L) / (C, H, W) -> (N, C, H, W); w_ndim tells 1-d (3) from 2-d (4)."""
    if w_ndim == 3:
        x = x.reshape(x.shape[:-1] + (1,) + x.shape[-1:])
    return x if x.ndim == 4 else x[None]


def _out_shape(x_shape, w_shape, y4_shape):
    batched = len(x_shape) == len(w_shape)
    shape = y4_shape if batched else y4_shape[1:]
    if len(w_shape) == 3:
        shape = shape[:-2] + shape[-1:]
    return shape


# -- public functions --------------------------------------------------------------------------


def _same_padding(k, dilation) -> list:
    """PyTorch's 'same': total d*(k-1), the odd extra element on the far side."""
    out = []
    for kk, d in zip(k, dilation):
        total = d * (kk - 1)
        out.append((total // 2, total - total // 2))
    return out


def _checked_pads(padding, spatial, k, stride, dilation) -> list:
    """(lo, hi) per spatial axis from an int/tuple or 'same'/'valid' ``padding``, checked.

    Refuses, in PyTorch's words, bad geometry and a dilated kernel larger than the padded input.
    """
    nd = len(k)
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_padding(k, dilation)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = [(i, i) for i in _tuple(padding, nd, "padding")]
    _check_geometry(stride, [q for pr in pads for q in pr], dilation)
    padded = [s + lo + hi for s, (lo, hi) in zip(spatial, pads)]
    eff = [d * (kk - 1) + 1 for kk, d in zip(k, dilation)]
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater than "
                           f"actual input size")
    return pads


def _convnd(op, nd, input, weight, bias, stride, padding, dilation, groups):
    _check_inputs(op, nd, input, weight, bias, groups, False)
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    pads = _checked_pads(padding, tuple(input.shape[-nd:]), tuple(weight.shape[2:]), stride,
                         dilation)
    if nd == 1:
        stride, dilation, pads = (1,) + stride, (1,) + dilation, [(0, 0)] + pads
    pad4 = (pads[0][0], pads[0][1], pads[1][0], pads[1][1])
    return _apply(input, weight, bias, stride, pad4, dilation, groups, False, None)


def _apply(x, weight, bias, stride, pad4, dilation, groups, transposed, out_hw):
    return Convolution.apply(x, weight, bias, stride, pad4, dilation, groups, transposed,
                             out_hw)


@float32_compute
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-d cross-correlation over an (N, C, L) input. See: torch.nn.functional.conv1d."""
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@float32_compute
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-d cross-correlation over an (N, C, H, W) input.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_out, C_in / groups, kH, kW).
        bias: optional (C_out,).
        stride, padding, dilation: an int or a pair; padding may be 'same' or 'valid'.
        groups: split the channels into this many independent convolutions.

    Example:
        >>> y = conv2d(brickwork.randn(1, 3, 8, 8), brickwork.randn(4, 3, 3, 3), padding=1)

    See: torch.nn.functional.conv2d.
    """
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _transposed_geometry(input, weight, stride, padding, dilation, output_padding):
    """A transposed convolution's int-or-tuple arguments as tuples, and its output size per
    spatial axis, refusing bad geometry in PyTorch's words."""
    k = tuple(weight.shape[2:])
    nd = len(k)
    stride = _tuple(stride, nd, "stride")
    padding = _tuple(padding, nd, "padding")
    dilation = _tuple(dilation, nd, "dilation")
    output_padding = _tuple(output_padding, nd, "output_padding")
    _check_geometry(stride, padding, dilation)
    if any(op_ >= s and op_ >= d for op_, s, d in zip(output_padding, stride, dilation)):
        names = ("depth", "height", "width")[-nd:]
        parts = " ".join([f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)]
                         + [f"stride_{n}: {v}" for n, v in zip(names, stride)]
                         + [f"dilation_{n}: {v}" for n, v in zip(names, dilation)])
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, "
                           f"but got {parts}")
    spatial = tuple(input.shape[-nd:])
    out = [(s - 1) * st - 2 * p + d * (kk - 1) + op_ + 1 for s, st, p, d, kk, op_ in
           zip(spatial, stride, padding, dilation, k, output_padding)]
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, spatial))})"
                           f". Calculated output size per channel: "
                           f"({' x '.join(map(str, out))}). Output size is too small")
    return stride, padding, dilation, output_padding, out


def _conv_transposend(op, nd, input, weight, bias, stride, padding, output_padding, groups,
                      dilation):
    _check_inputs(op, nd, input, weight, bias, groups, True)
    stride, padding, dilation, output_padding, out = _transposed_geometry(
        input, weight, stride, padding, dilation, output_padding)
    # The forward scatters into a buffer padded by `padding` (plus output_padding at the far
    # side, which no window reaches) and crops; col2im does exactly that given these pads.
    pads = [(p, p + op_) for p, op_ in zip(padding, output_padding)]
    if nd == 1:
        stride, dilation, pads, out = (1,) + stride, (1,) + dilation, [(0, 0)] + pads, [1] + out
    pad4 = (pads[0][0], pads[0][1], pads[1][0], pads[1][1])
    return _apply(input, weight, bias, stride, pad4, dilation, groups, True, tuple(out))


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-d transposed convolution. See: torch.nn.functional.conv_transpose1d."""
    return _conv_transposend("conv_transpose1d", 1, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


@float32_compute
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-d transposed convolution ("deconvolution"): the gradient of conv2d w.r.t. its input.

    ``weight`` is (C_in, C_out / groups, kH, kW).
    See: torch.nn.functional.conv_transpose2d.
    """
    return _conv_transposend("conv_transpose2d", 2, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


# -- pad ---------------------------------------------------------------------------------------


class ConstantPad(Function):
    _array_level = True
    _backward_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pairs, value):
        # Negative amounts crop: slice first, then pad the positive parts.
        crop = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for (lo, hi), s in zip(pairs, x.shape))
        xc = x[crop]
        pos = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
        xp = xp_of(x)
        out = xp.full(tuple(s + lo + hi for s, (lo, hi) in zip(xc.shape, pos)), value,
                      dtype=x.dtype)
        out[tuple(slice(lo, lo + s) for s, (lo, _) in zip(xc.shape, pos))] = xc
        ctx.pos, ctx.crop, ctx.in_shape, ctx.inner = pos, crop, x.shape, xc.shape
        return out

    @staticmethod
    def backward(ctx, g):
        inner = g[tuple(slice(lo, lo + s) for s, (lo, _) in zip(ctx.inner, ctx.pos))]
        if inner.shape == ctx.in_shape:
            return inner, None, None
        gx = xp_of(g).zeros(ctx.in_shape, dtype=g.dtype)
        gx[ctx.crop] = inner
        return gx, None, None

    @staticmethod
    def composite(x, pairs, value):
        """The forward as crops and a ``cat``, for ``create_graph`` (see ``Convolution``)."""
        return C.pad_constant(x, pairs, value)


class IndexPad(Function):
    """reflect / replicate / circular padding along each padded axis: the input copied into
    the middle, then each edge position copied from the input position it mirrors.

    ``indices`` holds ``(axis, idx, lo)`` per padded axis: ``idx`` (on the host) is the input
    position each output position reads, ``lo`` the count before the input's own span. Copying
    slabs moves whole rows, where a gather over all of ``idx`` (``take``) ran element by
    element: 66 of a U-Net step's 490 ms.
    """

    _array_level = True
    _backward_name = "ReflectionPad2DBackward0"

    @staticmethod
    def forward(ctx, x, indices):
        ctx.indices, ctx.in_shape = indices, x.shape
        shape, center = list(x.shape), [slice(None)] * x.ndim
        for axis, idx, lo in indices:
            shape[axis], center[axis] = len(idx), slice(lo, lo + x.shape[axis])
        out = xp_of(x).empty(tuple(shape), dtype=x.dtype)
        out[tuple(center)] = x
        # Axis by axis, each edge slab is copied from its mirror within what is filled so
        # far: the earlier axes whole (so the corners come out right), the later ones' middle.
        region = list(center)
        for axis, idx, lo in indices:
            for k in _edges(idx, lo, x.shape[axis]):
                out[_at(region, axis, k)] = out[_at(region, axis, lo + int(idx[k]))]
            region[axis] = slice(None)
        return out

    @staticmethod
    def backward(ctx, g):
        # The forward's copies undone in reverse: each edge slab is added onto its mirror
        # (several read the same input position; a fixed order), then the middle is the
        # gradient.
        work, region = g.copy(), [slice(None)] * g.ndim
        for axis, idx, lo in reversed(ctx.indices):
            size = ctx.in_shape[axis]
            for k in _edges(idx, lo, size):
                work[_at(region, axis, lo + int(idx[k]))] += work[_at(region, axis, k)]
            region[axis] = slice(lo, lo + size)
        return work[tuple(region)].copy(), None

    @staticmethod
    def composite(x, indices):
        """The forward as index reads, for ``create_graph`` (see ``Convolution``)."""
        for axis, idx, _ in indices:
            x = x[(slice(None),) * axis + (wrap(xp_of(x._data).asarray(idx), x),)]
        return x


def _at(region: list, axis: int, k: int) -> tuple:
    """``region`` with position ``k`` along ``axis``."""
    return tuple(region[:axis]) + (k,) + tuple(region[axis + 1:])


def _edges(idx, lo: int, size: int) -> list:
    """The padded positions of one axis: before and after the input's own span."""
    return list(range(lo)) + list(range(lo + size, len(idx)))


_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dimensions; ``pad`` lists (left, right) from the last.

    Modes: 'constant' (negative amounts crop), 'reflect', 'replicate', 'circular'.
    See: torch.nn.functional.pad.
    """
    if mode in _NP_MODES:
        return checked_pad(input, tuple(int(p) for p in pad), mode, _pad_raw)
    return _pad_raw(input, pad, mode, value)


def _pad_raw(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """``pad`` without the non-constant modes' checks (``_pad_checks`` calls it)."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    n = len(pad) // 2
    if n > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pairs = [(0, 0)] * (input.ndim - n) + [(pad[2 * i], pad[2 * i + 1])
                                            for i in reversed(range(n))]
    if mode == "constant":
        return ConstantPad.apply(input, pairs, 0 if value is None else value)
    if mode not in _NP_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    indices = []
    for axis, (lo, hi) in enumerate(pairs):
        if lo or hi:
            size = input.shape[axis]
            if mode == "reflect" and (lo >= size or hi >= size):
                raise RuntimeError(f"Argument #4: Padding size should be less than the "
                                   f"corresponding input dimension, but got: padding ({lo}, "
                                   f"{hi}) at dimension {axis} of input {list(input.shape)}")
            idx = np.pad(np.arange(size), (lo, hi), mode=_NP_MODES[mode])  # small, on host
            indices.append((axis, idx, lo))
    if not indices:
        return ConstantPad.apply(input, pairs, 0)
    return IndexPad.apply(input, indices)


TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "pad"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
