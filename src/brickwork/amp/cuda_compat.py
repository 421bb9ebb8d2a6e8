"""``torch.cuda.amp.GradScaler``, the older spelling of ``torch.amp.GradScaler('cuda')``.

Meant to be exposed as ``brickwork.cuda.amp.GradScaler``. See: torch.cuda.amp.GradScaler.
"""
from __future__ import annotations

import warnings

from .grad_scaler import GradScaler as _GradScaler

__all__ = ["GradScaler"]


class GradScaler(_GradScaler):
    """``GradScaler('cuda', ...)`` with PyTorch's deprecation warning.
    See: torch.cuda.amp.GradScaler."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`brickwork.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`brickwork.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)
