"""Adaptive average pooling (1-d, 2-d and 3-d) as products with averaging matrices.

``out = A_h @ x @ A_w^T`` (and ``A_d`` along depth), A's rows averaging PyTorch's bins
``[floor(i*n/o), ceil((i+1)*n/o))``: one product per axis forward and backward. A product
multiplies every input by its row's zeros, which turns one inf or NaN into a row of NaN;
arrays holding one (their sum is not finite) are averaged window by window instead, as
PyTorch does.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._products import along_axis
from ._util import sums_finite, xp_of


class AdaptiveAvgPool2d(Function):
    """An averaging-matrix product along each trailing axis: ``out`` gives each axis's output
    size, None for an axis left as it is (a 1-d pool's height)."""

    _array_level = True
    _backward_name = "AdaptiveAvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, out):
        xp = xp_of(x)
        k = len(out)
        ctx.mats = [None if o is None else xp.asarray(_avg_matrix(x.shape[x.ndim - k + i], o),
                                                      dtype=x.dtype)
                    for i, o in enumerate(out)]
        if not sums_finite(x):
            return _by_windows(x, ctx.mats)
        return xp.ascontiguousarray(_products(x, ctx.mats))

    @staticmethod
    def backward(ctx, g):
        # PyTorch's 2-d backward refuses what its forward let through: an empty channel axis.
        shape = tuple(g.shape) if ctx.mats[0] is not None else \
            g.shape[:-1] + (1,) + g.shape[-1:]
        for i in range(1, len(shape) if len(ctx.mats) == 2 else 0):
            if shape[i] == 0:
                raise RuntimeError(f"adaptive_avg_pool2d_backward(): Expected grad_output to have "
                                   f"non-zero size for non-batch dimensions, but grad_output has "
                                   f"sizes {list(shape)} with dimension {i} being empty")
        mats = [None if a is None else a.T for a in ctx.mats]
        if not sums_finite(g):
            return _by_windows(g, mats), None
        return _products(g, mats), None


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    _backward_name = "AdaptiveAvgPool3DBackward0"


def _products(x, mats):
    """x with each trailing axis multiplied by its (o, n) matrix (None: left alone,
    ``_products.along_axis``); the last axis first, so that the stacked products of the others
    read the reduced array."""
    for i, a in reversed(list(enumerate(mats))):
        if a is not None:
            x = along_axis(x, x.ndim - len(mats) + i, a)
    return x


def _by_windows(x, mats):
    """``_products`` reading only each matrix row's nonzero entries: a sum of weighted slices
    per output position along each axis, so inf and NaN stay in their windows."""
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
        for i, a in reversed(list(enumerate(mats))):  # the last axis first, as _products
            if a is not None:
                x = along(x, a, x.ndim - len(mats) + i)
        return x


def refuse_integers(kernel: str, input: Tensor) -> None:
    """PyTorch's adaptive average pools have no integer or bool kernels."""
    if input._data.dtype.kind in "biu":
        from .conv import scalar_name

        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{scalar_name(input.dtype)}'")


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
    refuse_integers("adaptive_avg_pool2d", input)
    out = (output_size,) * 2 if not isinstance(output_size, (tuple, list)) else output_size
    out = tuple(input.shape[-2 + i] if o is None else o for i, o in enumerate(out))
    if out == (1, 1):
        # PyTorch takes the mean here (grad_fn MeanBackward1); same numbers either way.
        return input.mean(dim=(-2, -1), keepdim=True)
    return AdaptiveAvgPool2d.apply(input, out)


@float32_compute
def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-d adaptive average pooling. See: torch.nn.functional.adaptive_avg_pool1d."""
    o = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                           f"tensor for argument #1 'self' (while checking arguments for "
                           f"adaptive_avg_pool1d)")
    shape = tuple(input.shape)
    _check_adaptive_sizes(shape[:-1] + (1,) + shape[-1:])  # PyTorch's (N, C, 1, L) view
    refuse_integers("adaptive_avg_pool2d", input)
    # (..., L) is a 2-d pool over (1, L): the averaging matrix on the height axis is [[1]].
    return AdaptiveAvgPool2d.apply(input, (None, o))
