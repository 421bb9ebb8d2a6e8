"""Named results of ops that return values and indices (``max``, ``sort``...)."""
from .ops.reduction import return_types as _types

globals().update(_types)
__all__ = list(_types)
