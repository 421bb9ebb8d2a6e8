"""``torch.cpu.amp``: the older spelling of ``torch.amp.autocast('cpu')``.

Exposed as ``brickwork.cpu.amp``. See: torch.cpu.amp.
"""
from __future__ import annotations

import warnings

from .. import dtypes
from . import autocast_mode as _am

__all__ = ["autocast"]


class autocast(_am.autocast):
    """``autocast('cpu', ...)`` with PyTorch's deprecation warning. See: torch.cpu.amp.autocast."""

    def __init__(self, enabled: bool = True, dtype: dtypes.dtype = dtypes.bfloat16,
                 cache_enabled: bool = True) -> None:
        warnings.warn("`brickwork.cpu.amp.autocast(args...)` is deprecated. Please use "
                      "`brickwork.amp.autocast('cpu', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)
