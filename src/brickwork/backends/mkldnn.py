"""``brickwork.backends.mkldnn``: oneDNN (MKL-DNN), which brickwork does not use.

See: torch.backends.mkldnn.
"""
from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    """Always False: brickwork's CPU ops run on NumPy, not oneDNN.

    See: torch.backends.mkldnn.is_available.
    """
    return False
