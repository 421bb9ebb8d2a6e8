"""Channel/space rearrangements: PixelShuffle, PixelUnshuffle, ChannelShuffle."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from ..module import Module


class PixelShuffle(Module):
    """``(*, C * r**2, H, W)`` to ``(*, C, H * r, W * r)``, with ``r = upscale_factor``.

    Example:
        >>> nn.PixelShuffle(2)(brickwork.zeros(1, 8, 3, 3)).shape
        brickwork.Size([1, 2, 6, 6])

    See: torch.nn.PixelShuffle.
    """

    __constants__ = ["upscale_factor"]

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``(*, C, H * r, W * r)`` to ``(*, C * r**2, H, W)``, the inverse of PixelShuffle.
    See: torch.nn.PixelUnshuffle.
    """

    __constants__ = ["downscale_factor"]

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Split the channels (dim 1) into ``groups`` and interleave them.
    See: torch.nn.ChannelShuffle.
    """

    __constants__ = ["groups"]

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


__all__ = ["PixelShuffle", "PixelUnshuffle", "ChannelShuffle"]
