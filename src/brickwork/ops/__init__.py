"""The op families. Each module lists its public functions in ``__all__`` and the ones that are
also Tensor methods in ``TENSOR_METHODS`` (plus ``INPLACE_METHODS`` for ``x.op_()`` forms)."""
from . import (activation, comparison, complex_ops, conversion, elementwise, functional_aliases,
               indexing, linalg, linalg_extra, math_extra, misc_extra, misc_more, nn_extra,
               random_fill, reduction, rnn_ops, shape, sparse_ops, spectral, tensor_extra,
               torch_extra)

# indexing and linalg stay last: _tensor_methods takes __getitem__ and matmul from them.
FAMILIES = (elementwise, math_extra, misc_extra, misc_more, functional_aliases, random_fill,
            linalg_extra, complex_ops, nn_extra, rnn_ops, sparse_ops, spectral, tensor_extra,
            torch_extra, comparison,
            activation, reduction, shape, indexing, linalg)
