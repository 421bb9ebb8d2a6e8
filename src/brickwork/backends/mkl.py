"""``brickwork.backends.mkl``: whether NumPy's BLAS is Intel's MKL.

See: torch.backends.mkl.
"""
from __future__ import annotations

import functools

__all__ = ["is_available"]


@functools.lru_cache(maxsize=None)
def is_available() -> bool:
    """Whether the NumPy that brickwork computes with is linked against MKL.

    See: torch.backends.mkl.is_available.
    """
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError):  # NumPy before 1.25 has no dict form: cannot tell
        return False
    return "mkl" in str(blas.get("name", "")).lower()
