"""Convolution and padding forwards in differentiable Tensor ops, and the pooling windows.

The fast kernels (``_im2col.py``, ``_conv_chwn.py``, the pooling windows) use stride tricks and
writes into preallocated buffers, which a create_graph backward cannot record. For
``create_graph=True`` the engine differentiates these *composites* instead (see
``autograd/engine.py``, ``_composite_backward``), so each op keeps its one hand-written
first-order backward. A composite gathers the kh*kw kernel offsets of the padded input as
strided slices, stacked into columns, and contracts them with one matmul: the values of the
fast forward (up to summation order), built only from ops that differentiate to any order.

Shapes: ``x`` (N, C, H, W); ``w`` (O, C // groups, kh, kw) for a convolution and (C, O //
groups, kh, kw) for a transposed one; ``pad`` is (top, bottom, left, right).
"""
from __future__ import annotations

from ..factories import full
from ..tensor import Tensor
from ._im2col import out_size
from .join import cat, stack
from .linalg import matmul


def pad_constant(x: Tensor, pairs, value=0) -> Tensor:
    """``x`` padded along each axis by ``pairs[axis] = (lo, hi)``; negative amounts crop.

    Written as crops and a ``cat`` with constant blocks, whose gradients (slices, and slice
    assignments into zeros) have gradients of their own to any order.
    """
    for axis, (lo, hi) in enumerate(pairs):
        if lo < 0 or hi < 0:
            start, stop = max(-lo, 0), x.shape[axis] - max(-hi, 0)
            x = x[(slice(None),) * axis + (slice(start, stop),)]
        parts = []
        for amount in (lo, None, hi):
            if amount is None:
                parts.append(x)
            elif amount > 0:
                shape = tuple(x.shape[:axis]) + (amount,) + tuple(x.shape[axis + 1:])
                parts.append(full(shape, value, dtype=x.dtype, device=x.device))
        if len(parts) > 1:
            x = cat(parts, axis)
    return x


def _pad_nchw(x: Tensor, pad) -> Tensor:
    t, b, left, r = pad
    if not (t or b or left or r):
        return x
    return pad_constant(x, [(0, 0), (0, 0), (t, b), (left, r)])


def windows(xp: Tensor, kh: int, kw: int, stride, dilation, oh: int, ow: int) -> Tensor:
    """The kernel offsets of a padded (N, C, H, W) input as (N, C, kh*kw, OH, OW) columns.

    One strided slice per offset, as the fast kernels walk them (never per pixel).
    """
    sh, sw = stride
    slabs = []
    for i in range(kh):
        hi = i * dilation[0]
        for j in range(kw):
            wj = j * dilation[1]
            slabs.append(xp[:, :, hi:hi + sh * (oh - 1) + 1:sh, wj:wj + sw * (ow - 1) + 1:sw])
    return stack(slabs, 2)


def correlate(x: Tensor, w: Tensor, stride, pad, dilation, groups: int,
              out_hw=None) -> Tensor:
    """The (N, O, OH, OW) cross-correlation of ``x`` with ``w`` (no bias).

    ``out_hw`` limits the output to that many rows and columns of windows.
    """
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    if out_hw is None:
        oh = out_size(h, kh, stride[0], pad[0], pad[1], dilation[0])
        ow = out_size(wd, kw, stride[1], pad[2], pad[3], dilation[1])
    else:
        oh, ow = out_hw
    cols = windows(_pad_nchw(x, pad), kh, kw, stride, dilation, oh, ow)
    # Columns and weight both order their inner axis (channel, kernel offset), so each group
    # is one batched GEMM (BLAS); an einsum over the six axes ran NumPy's unoptimised loop,
    # several times slower (measured).
    cols = cols.reshape(n, groups, cg * kh * kw, oh * ow)
    wm = w.reshape(1, groups, o // groups, cg * kh * kw)
    return matmul(wm, cols).reshape(n, o, oh, ow)


def _upsample(x: Tensor, axis: int, s: int) -> Tensor:
    """``s - 1`` zeros between neighbouring elements along ``axis`` (a strided scatter)."""
    if s == 1:
        return x
    size = x.shape[axis]
    spread = x.unsqueeze(axis + 1)
    spread = pad_constant(spread, [(0, 0)] * (axis + 1) + [(0, s - 1)])
    shape = tuple(x.shape[:axis]) + (size * s,) + tuple(x.shape[axis + 1:])
    keep = max((size - 1) * s + 1, 0)
    return spread.reshape(shape)[(slice(None),) * axis + (slice(0, keep),)]


def transposed(x: Tensor, w: Tensor, stride, pad, dilation, groups: int, out_hw) -> Tensor:
    """The (N, O, *out_hw) transposed convolution of ``x`` with ``w`` (C, O // groups, kh, kw).

    The gradient of a convolution with respect to its input, rewritten as a convolution: the
    input spread out by the stride, padded by ``d * (k - 1) - pad`` (cropped where negative),
    correlated with the spatially flipped kernel whose in/out channels swap within each group.
    """
    c, og, kh, kw = w.shape
    up = _upsample(_upsample(x, 2, stride[0]), 3, stride[1])
    pads = []
    for axis, k, d, lo, out in ((2, kh, dilation[0], pad[0], out_hw[0]),
                                (3, kw, dilation[1], pad[2], out_hw[1])):
        reach = d * (k - 1)
        before = reach - lo
        pads += [before, out + reach - up.shape[axis] - before]
    wt = w.reshape(groups, c // groups, og, kh, kw).permute(0, 2, 1, 3, 4)
    wt = wt.reshape(groups * og, c // groups, kh, kw).flip((2, 3))
    return correlate(up, wt, (1, 1), tuple(pads), dilation, groups)
