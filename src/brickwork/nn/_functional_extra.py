"""More nn.functional: linear_cross_entropy, grouped_mm, conv_tbc, and the ``grad`` module."""
from __future__ import annotations

from . import grad  # noqa: F401  (PyTorch's F exposes torch.nn.grad as F.grad)
from ._grouped_mm import grouped_mm
from ._linear_cross_entropy import linear_cross_entropy
from ..ops._spatial_conv import conv_tbc

__all__: list = ["conv_tbc", "grad", "grouped_mm", "linear_cross_entropy"]
