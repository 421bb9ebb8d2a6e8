"""The op families. Each module lists its public functions in ``__all__`` and the ones that are
also Tensor methods in ``TENSOR_METHODS`` (plus ``INPLACE_METHODS`` for ``x.op_()`` forms)."""
from . import (activation, comparison, conversion, elementwise, functional_aliases, indexing,
               linalg, linalg_extra, math_extra, misc_extra, misc_more, random_fill, reduction,
               shape)

# indexing and linalg stay last: _tensor_methods takes __getitem__ and matmul from them.
FAMILIES = (elementwise, math_extra, misc_extra, misc_more, functional_aliases, random_fill,
            linalg_extra, comparison, activation, reduction, shape, indexing, linalg)
