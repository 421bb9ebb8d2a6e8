"""More pooling layers: MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool1d/2d/3d,
LPPool1d/2d/3d, FractionalMaxPool2d/3d and MaxUnpool1d/2d/3d.

Thin wrappers around the functionals in ``ops/_spatial_pool.py`` and
``ops/_spatial_fractional.py``; the shared bases come from ``pooling.py``.
"""
from __future__ import annotations


from ...ops._spatial_fractional import fractional_max_pool2d, fractional_max_pool3d
from ...ops._spatial_pool import (adaptive_avg_pool3d, adaptive_max_pool1d, adaptive_max_pool2d,
                                  adaptive_max_pool3d, avg_pool3d, lp_pool1d, lp_pool2d,
                                  lp_pool3d, max_pool3d, max_unpool1d, max_unpool2d,
                                  max_unpool3d)
from ...tensor import Tensor
from ..module import Module
from .pooling import _AdaptiveAvgPoolNd, _AvgPoolNd, _MaxPoolNd
from ._utils import _ntuple


# -- 3-d max / average pooling -----------------------------------------------------------------


class MaxPool3d(_MaxPoolNd):
    """3-d max pooling over (N, C, D, H, W) or (C, D, H, W).

    Example:
        >>> nn.MaxPool3d(2)(brickwork.rand(1, 1, 4, 4, 4)).shape
        brickwork.Size([1, 1, 2, 2, 2])

    See: torch.nn.MaxPool3d.
    """

    __constants__ = ["kernel_size", "stride", "padding", "dilation", "return_indices",
                     "ceil_mode"]

    def forward(self, input: Tensor):
        return max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool3d(_AvgPoolNd):
    """3-d average pooling over (N, C, D, H, W) or (C, D, H, W). See: torch.nn.AvgPool3d."""

    __constants__ = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                     "divisor_override"]

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


# -- adaptive pooling ------------------------------------------------------------------------


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed (D, H, W); ``None`` keeps that size.

    See: torch.nn.AdaptiveAvgPool3d.
    """

    __constants__ = ["output_size"]

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool3d(input, self.output_size)


class _AdaptiveMaxPoolNd(Module):
    __constants__ = ["output_size", "return_indices"]

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed length; ``return_indices`` also gives the argmax positions.

    See: torch.nn.AdaptiveMaxPool1d.
    """

    def forward(self, input: Tensor):
        return adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed (H, W); ``None`` keeps that size.

    Example:
        >>> nn.AdaptiveMaxPool2d((2, None))(brickwork.rand(1, 3, 5, 4)).shape
        brickwork.Size([1, 3, 2, 4])

    See: torch.nn.AdaptiveMaxPool2d.
    """

    def forward(self, input: Tensor):
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed (D, H, W); ``None`` keeps that size.

    See: torch.nn.AdaptiveMaxPool3d.
    """

    def forward(self, input: Tensor):
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)


# -- power-average pooling -------------------------------------------------------------------


class _LPPoolNd(Module):
    __constants__ = ["norm_type", "kernel_size", "stride", "ceil_mode"]

    def __init__(self, norm_type: float, kernel_size, stride=None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """1-d power-average pooling: ``(sum over the window of x ** p) ** (1 / p)``.

    See: torch.nn.LPPool1d.
    """

    def forward(self, input: Tensor) -> Tensor:
        return lp_pool1d(input, float(self.norm_type), self.kernel_size, self.stride,
                         self.ceil_mode)


class LPPool2d(_LPPoolNd):
    """2-d power-average pooling.

    Example:
        >>> nn.LPPool2d(2, 2)(brickwork.rand(1, 1, 4, 4)).shape
        brickwork.Size([1, 1, 2, 2])

    See: torch.nn.LPPool2d.
    """

    def forward(self, input: Tensor) -> Tensor:
        return lp_pool2d(input, float(self.norm_type), self.kernel_size, self.stride,
                         self.ceil_mode)


class LPPool3d(_LPPoolNd):
    """3-d power-average pooling. See: torch.nn.LPPool3d."""

    def forward(self, input: Tensor) -> Tensor:
        return lp_pool3d(input, float(self.norm_type), self.kernel_size, self.stride,
                         self.ceil_mode)


# -- fractional max pooling ------------------------------------------------------------------


class _FractionalMaxPoolNd(Module):
    __constants__ = ["kernel_size", "return_indices", "output_size", "output_ratio"]
    _nd = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples=None) -> None:
        super().__init__()
        nd = self._nd
        self.kernel_size = _ntuple(kernel_size, nd)
        self.return_indices = return_indices
        # A fixed (N, C, nd) sample tensor pins the window placement; a buffer, as in PyTorch,
        # so it follows ``to()`` and lands in ``state_dict``.
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _ntuple(output_size, nd) if output_size is not None else None
        self.output_ratio = _ntuple(output_ratio, nd) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{type(self).__name__} requires specifying either an output "
                             f"size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None:
            if not all(0 < r < 1 for r in self.output_ratio[:nd]):
                raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-d fractional max pooling (Graham, 2014) to ``output_size`` or ``output_ratio`` of the
    input; ``_random_samples`` (N, C, 2) in [0, 1) fixes the pseudo-random window placement.

    Example:
        >>> nn.FractionalMaxPool2d(2, output_size=3)(brickwork.rand(1, 1, 6, 6)).shape
        brickwork.Size([1, 1, 3, 3])

    See: torch.nn.FractionalMaxPool2d.
    """

    _nd = 2

    def forward(self, input: Tensor):
        return fractional_max_pool2d(input, self.kernel_size, self.output_size,
                                     self.output_ratio, self.return_indices,
                                     _random_samples=self._random_samples)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-d fractional max pooling; ``_random_samples`` is (N, C, 3).

    See: torch.nn.FractionalMaxPool3d.
    """

    _nd = 3

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples=None) -> None:
        if (isinstance(kernel_size, int) and kernel_size <= 0) or (
                isinstance(kernel_size, (tuple, list)) and not all(k > 0 for k in kernel_size)):
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        super().__init__(kernel_size, output_size, output_ratio, return_indices,
                         _random_samples)

    def forward(self, input: Tensor):
        return fractional_max_pool3d(input, self.kernel_size, self.output_size,
                                     self.output_ratio, self.return_indices,
                                     _random_samples=self._random_samples)


# -- max unpooling ---------------------------------------------------------------------------


class _MaxUnpoolNd(Module):
    _nd = 1

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        nd = self._nd
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride = _ntuple(stride if (stride is not None) else kernel_size, nd)
        self.padding = _ntuple(padding, nd)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of MaxPool1d: each value goes to its index, zeros elsewhere;
    ``output_size`` in ``forward`` picks among the sizes that pool to the input's.

    See: torch.nn.MaxUnpool1d.
    """

    _nd = 1

    def forward(self, input: Tensor, indices: Tensor, output_size: list[int] | None = None
                ) -> Tensor:
        return max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of MaxPool2d.

    Example:
        >>> y, i = nn.MaxPool2d(2, return_indices=True)(brickwork.rand(1, 1, 4, 4))
        >>> nn.MaxUnpool2d(2)(y, i).shape
        brickwork.Size([1, 1, 4, 4])

    See: torch.nn.MaxUnpool2d.
    """

    _nd = 2

    def forward(self, input: Tensor, indices: Tensor, output_size: list[int] | None = None
                ) -> Tensor:
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of MaxPool3d. See: torch.nn.MaxUnpool3d."""

    _nd = 3

    def forward(self, input: Tensor, indices: Tensor, output_size: list[int] | None = None
                ) -> Tensor:
        return max_unpool3d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)


__all__ = ["MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d",
           "FractionalMaxPool2d", "FractionalMaxPool3d", "MaxUnpool1d", "MaxUnpool2d",
           "MaxUnpool3d"]
