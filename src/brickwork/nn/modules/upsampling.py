"""Upsampling layers: thin modules around ``F.interpolate`` (see nn/_functional_interpolate.py)."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from ..module import Module


class Upsample(Module):
    """Resample (N, C, ...) inputs to ``size`` or by ``scale_factor`` with ``interpolate``.

    Args:
        size: the output spatial size (int or tuple).
        scale_factor: the spatial multiplier (float or tuple of floats).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'``, ``'bilinear'``,
            ``'bicubic'``, ``'trilinear'`` or ``'area'``.
        align_corners: for the interpolating modes (see ``F.interpolate``).
        recompute_scale_factor: interpolate from the computed output size alone.

    Example:
        >>> nn.Upsample(scale_factor=2, mode="bilinear")(brickwork.ones(1, 1, 2, 2)).shape
        brickwork.Size([1, 1, 4, 4])

    See: torch.nn.Upsample.
    """

    __constants__ = ["size", "scale_factor", "mode", "align_corners", "name",
                     "recompute_scale_factor"]

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            # A zero scale factor is stored as None, as PyTorch does (interpolate then asks
            # for a size).
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        # Through F, so autocast's float32 wrapper of F.interpolate applies, as in PyTorch.
        return F.interpolate(input, self.size, self.scale_factor, self.mode,
                             self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = "scale_factor=" + repr(self.scale_factor)
        else:
            info = "size=" + repr(self.size)
        return info + ", mode=" + repr(self.mode)


class UpsamplingNearest2d(Upsample):
    """2-d nearest-neighbour upsampling: ``Upsample(mode='nearest')``.

    See: torch.nn.UpsamplingNearest2d.
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """2-d bilinear upsampling with aligned corners: ``Upsample(mode='bilinear',
    align_corners=True)``.

    See: torch.nn.UpsamplingBilinear2d.
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


__all__: list = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
