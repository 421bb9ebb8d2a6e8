"""Adaptive average pooling (1-d and 2-d) as products with averaging matrices.

``out = A_h @ x @ A_w^T``, A's rows averaging PyTorch's bins ``[floor(i*n/o),
ceil((i+1)*n/o))``: two GEMMs forward, two backward. A product multiplies every input by
its row's zeros, which turns one inf or NaN into a row of NaN; arrays holding one (their sum
is not finite) are averaged window by window instead, as PyTorch does.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._util import sums_finite, xp_of


class AdaptiveAvgPool2d(Function):
    """out = A_h @ x @ A_w^T with averaging matrices: two GEMMs forward, two backward."""

    _array_level = True
    _backward_name = "AdaptiveAvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, out):
        # out[0] None: a 1-d pool, only the last axis is averaged.
        xp = xp_of(x)
        aw = xp.asarray(_avg_matrix(x.shape[-1], out[1]), dtype=x.dtype)
        ah = None if out[0] is None else xp.asarray(_avg_matrix(x.shape[-2], out[0]),
                                                    dtype=x.dtype)
        ctx.ah, ctx.aw = ah, aw
        if not sums_finite(x):
            return _by_windows(x, ah, aw)
        y = x @ aw.T
        return xp.ascontiguousarray(y if ah is None else ah @ y)

    @staticmethod
    def backward(ctx, g):
        # PyTorch's backward refuses what its forward let through: an empty channel axis.
        shape = tuple(g.shape) if ctx.ah is not None else g.shape[:-1] + (1,) + g.shape[-1:]
        for i in range(1, len(shape)):
            if shape[i] == 0:
                raise RuntimeError(f"adaptive_avg_pool2d_backward(): Expected grad_output to have "
                                   f"non-zero size for non-batch dimensions, but grad_output has "
                                   f"sizes {list(shape)} with dimension {i} being empty")
        if not sums_finite(g):
            return _by_windows(g, None if ctx.ah is None else ctx.ah.T, ctx.aw.T), None
        g = g @ ctx.aw
        return (g if ctx.ah is None else ctx.ah.T @ g), None


def _by_windows(x, ah, aw):
    """``ah @ x @ aw.T`` (``ah`` None: the identity) reading only each row's nonzero entries:
    a sum of weighted slices per output row and column, so inf and NaN stay in their
    windows."""
    def along(v, a, axis):
        xp = xp_of(v)
        shape = v.shape[:axis] + (a.shape[0],) + v.shape[axis + 1:]
        out = xp.zeros(shape, dtype=v.dtype)
        for i in range(a.shape[0]):
            cols = xp.flatnonzero(a[i])
            taken = xp.take(v, cols, axis=axis) * a[i, cols].reshape(
                (-1,) + (1,) * (v.ndim - axis - 1))
            out[(slice(None),) * axis + (i,)] = taken.sum(axis=axis)
        return out

    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf and inf * 0: NaN
        y = along(x, aw, x.ndim - 1)
        return y if ah is None else along(y, ah, x.ndim - 2)


def _check_adaptive_sizes(shape: tuple) -> None:
    """The spatial axes must be non-empty (the batch and channel axes may be empty)."""
    for i in (len(shape) - 2, len(shape) - 1):
        if shape[i] == 0:
            raise RuntimeError(f"adaptive_avg_pool2d(): Expected input to have non-zero size for "
                               f"non-batch dimensions, but input has sizes {list(shape)} with "
                               f"dimension {i} being empty")


def _avg_matrix(size: int, out: int) -> np.ndarray:
    """(out, size) rows averaging PyTorch's adaptive bins [floor(i*n/o), ceil((i+1)*n/o))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    cols = np.arange(size)
    m = (cols[None] >= start[:, None]) & (cols[None] < end[:, None])
    return m / (end - start)[:, None]


@float32_compute
def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (None keeps that axis). See:
    torch.nn.functional.adaptive_avg_pool2d."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    _check_adaptive_sizes(tuple(input.shape))
    out = (output_size,) * 2 if not isinstance(output_size, (tuple, list)) else output_size
    out = tuple(input.shape[-2 + i] if o is None else o for i, o in enumerate(out))
    if out == (1, 1):
        # PyTorch takes the mean here (grad_fn MeanBackward1); same numbers either way.
        return input.mean(dim=(-2, -1), keepdim=True)
    return AdaptiveAvgPool2d.apply(input, out)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-d adaptive average pooling. See: torch.nn.functional.adaptive_avg_pool1d."""
    o = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                           f"tensor for argument #1 'self' (while checking arguments for "
                           f"adaptive_avg_pool1d)")
    shape = tuple(input.shape)
    _check_adaptive_sizes(shape[:-1] + (1,) + shape[-1:])  # PyTorch's (N, C, 1, L) view
    # (..., L) is a 2-d pool over (1, L): the averaging matrix on the height axis is [[1]].
    return AdaptiveAvgPool2d.apply(input, (None, o))
