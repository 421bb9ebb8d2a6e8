"""Fold / Unfold: sliding-block (col2im / im2col) modules around ``F.fold`` / ``F.unfold``."""
from __future__ import annotations

from ...tensor import Tensor
from .._functional_fold import fold, unfold
from ..module import Module


class Fold(Module):
    """Sum sliding local blocks (N, C * prod(kernel_size), L) into an image (N, C, H, W).

    Example:
        >>> nn.Fold(output_size=(4, 4), kernel_size=2)(brickwork.ones(1, 8, 9)).shape
        brickwork.Size([1, 2, 4, 4])

    See: torch.nn.Fold.
    """

    __constants__ = ["output_size", "kernel_size", "dilation", "padding", "stride"]

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    """Extract sliding local blocks of (N, C, H, W) as (N, C * prod(kernel_size), L).

    Example:
        >>> nn.Unfold(kernel_size=2)(brickwork.ones(1, 2, 4, 4)).shape
        brickwork.Size([1, 8, 9])

    See: torch.nn.Unfold.
    """

    __constants__ = ["kernel_size", "dilation", "padding", "stride"]

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


__all__: list = ["Fold", "Unfold"]
