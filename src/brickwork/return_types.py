"""Named results of ops that return several tensors (``max``, ``sort``, ``frexp``...)."""
from .ops._linalg_checks import RETURN_TYPES as _linalg_types
from .ops.math_extra import frexp_type as _frexp
from .ops.misc_extra import return_types as _misc_types
from .ops.misc_more import return_types as _more_types
from .ops.reduction import return_types as _types

globals().update(_types)
globals().update(_misc_types)
globals().update(_linalg_types)
globals().update(_more_types)
frexp = _frexp
__all__ = (list(_types) + list(_misc_types) + list(_linalg_types) + list(_more_types)
           + ["frexp"])
