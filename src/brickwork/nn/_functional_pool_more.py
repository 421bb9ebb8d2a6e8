"""``max_pool1d_with_indices`` / ``max_pool2d_with_indices``: PyTorch's always-a-pair forms of
max pooling (the 3-d one lives in ``ops/_spatial_pool.py``)."""
from __future__ import annotations

from ..ops.pooling import max_pool1d, max_pool2d
from ..tensor import Tensor


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """1-d max pooling returning ``(values, indices)``.

    ``return_indices`` is accepted for PyTorch's signature; the pair is always returned.

    See: torch.nn.functional.max_pool1d_with_indices.
    """
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode,
                      return_indices=True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """2-d max pooling returning ``(values, indices)``; indices are flat over (H, W).

    ``return_indices`` is accepted for PyTorch's signature; the pair is always returned.

    Example:
        >>> y, i = max_pool2d_with_indices(brickwork.randn(1, 1, 4, 4), 2)

    See: torch.nn.functional.max_pool2d_with_indices.
    """
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode,
                      return_indices=True)


__all__ = ["max_pool1d_with_indices", "max_pool2d_with_indices"]
