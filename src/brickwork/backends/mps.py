"""``brickwork.backends.mps``: Apple's Metal backend, which brickwork does not have.

See: torch.backends.mps.
"""
from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """Always False: brickwork has no Metal (MPS) backend. See: torch.backends.mps.is_available."""
    return False


def is_built() -> bool:
    """Always False: brickwork has no Metal (MPS) backend. See: torch.backends.mps.is_built."""
    return False
