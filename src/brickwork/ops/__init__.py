"""The op families. Each module lists its public functions in ``__all__`` and the ones that are
also Tensor methods in ``TENSOR_METHODS`` (plus ``INPLACE_METHODS`` for ``x.op_()`` forms)."""
from . import activation, comparison, conversion, elementwise, indexing, linalg, reduction, shape

FAMILIES = (elementwise, comparison, activation, reduction, shape, indexing, linalg)
