"""Training utilities: :class:`Checkpointer` saves and restores training state exactly.

(``brickwork.utils.checkpoint`` is PyTorch's name for activation checkpointing, so training
checkpoints live here.)
"""
from __future__ import annotations

from .serialization.checkpoint import Checkpointer

__all__ = ["Checkpointer"]
