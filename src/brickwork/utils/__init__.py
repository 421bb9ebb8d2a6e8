"""Utilities: data loading (``brickwork.utils.data``) and activation checkpointing
(``brickwork.utils.checkpoint``). See: torch.utils."""
from . import checkpoint, data  # noqa: F401
