"""Utilities: data loading (``brickwork.utils.data``). See: torch.utils."""
from . import data  # noqa: F401
