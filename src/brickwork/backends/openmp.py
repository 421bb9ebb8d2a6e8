"""``brickwork.backends.openmp``: brickwork has no OpenMP code of its own.

See: torch.backends.openmp.
"""
from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    """Always False: brickwork's own code is not built with OpenMP (NumPy's BLAS may use
    threads; ``set_num_threads`` limits them). See: torch.backends.openmp.is_available."""
    return False
