"""``torch.cuda.amp``: the older spellings of ``torch.amp.GradScaler('cuda')``,
``torch.amp.autocast('cuda')`` and ``torch.amp.custom_fwd/custom_bwd(device_type='cuda')``.

Exposed as ``brickwork.cuda.amp``. See: torch.cuda.amp.
"""
from __future__ import annotations

import warnings

from .. import dtypes as _dtypes
from . import autocast_mode as _am
from .grad_scaler import GradScaler as _GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


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


class autocast(_am.autocast):
    """``autocast('cuda', ...)`` with PyTorch's deprecation warning. See: torch.cuda.amp.autocast."""

    def __init__(self, enabled: bool = True, dtype: _dtypes.dtype = _dtypes.float16,
                 cache_enabled: bool = True) -> None:
        warnings.warn("`brickwork.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`brickwork.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """``custom_fwd(device_type='cuda')`` with PyTorch's deprecation warning.
    See: torch.cuda.amp.custom_fwd."""
    warnings.warn("`brickwork.cuda.amp.custom_fwd(args...)` is deprecated. Please use "
                  "`brickwork.amp.custom_fwd(args..., device_type='cuda')` instead.",
                  FutureWarning, stacklevel=2)
    return _am.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd=None):
    """``custom_bwd(device_type='cuda')`` with PyTorch's deprecation warning.
    See: torch.cuda.amp.custom_bwd."""
    warnings.warn("`brickwork.cuda.amp.custom_bwd(args...)` is deprecated. Please use "
                  "`brickwork.amp.custom_bwd(args..., device_type='cuda')` instead.",
                  FutureWarning, stacklevel=2)
    return _am.custom_bwd(bwd, device_type="cuda")
