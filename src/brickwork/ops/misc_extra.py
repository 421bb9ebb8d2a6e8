"""The remaining composite ops of the torch namespace, gathered from four files of this family:

- ``_misc_count``: histc, histogram, bincount, bucketize, searchsorted, isin, unique_consecutive
- ``_misc_scan``: cummax, cummin, logcumsumexp, diff, trapezoid/trapz, cumulative_trapezoid
- ``_misc_products``: cross, kron, tensordot, inner, vdot, chain_matmul, baddbmm, addbmm, addmv,
  addr, cdist, dist, renorm, cov, corrcoef
- ``_misc_shape``: meshgrid, broadcast_tensors/shapes, block_diag, cartesian_prod, combinations,
  tril/triu_indices, repeat_interleave, rot90, vander, diag_embed, diagflat, narrow_copy
"""
from __future__ import annotations

from ..device import guard_functions
from . import _misc_count, _misc_products, _misc_scan, _misc_shape
from ._misc_count import (bincount, bucketize, histc, histogram, isin,  # noqa: F401
                          return_types, searchsorted, unique_consecutive)
from ._misc_products import (addbmm, addmv, addr, baddbmm, cdist, chain_matmul,  # noqa: F401
                             corrcoef, cov, cross, dist, inner, kron, renorm, tensordot, vdot)
from ._misc_scan import (cummax, cummin, cumulative_trapezoid, diff, logcumsumexp,  # noqa: F401
                         trapezoid, trapz)
from ._misc_shape import (block_diag, broadcast_shapes, broadcast_tensors,  # noqa: F401
                          cartesian_prod, combinations, diag_embed, diagflat, meshgrid,
                          narrow_copy, repeat_interleave, rot90, triu_indices, tril_indices,
                          vander)

__all__: list = (_misc_count.__all__ + _misc_scan.__all__ + _misc_products.__all__
                 + _misc_shape.__all__)

# Functions that read their inputs' arrays run on those inputs' GPU (see device.py); the
# factories (tril_indices, triu_indices) and broadcast_shapes have no input tensor.
guard_functions(globals(), [n for n in __all__
                            if n not in ("tril_indices", "triu_indices", "broadcast_shapes")])

_METHODS = ("histc", "histogram", "bincount", "cummax", "cummin", "logcumsumexp", "diff",
            "cross", "kron", "baddbmm", "addbmm", "addmv", "addr", "repeat_interleave", "rot90",
            "cov", "corrcoef", "unique_consecutive", "diag_embed", "diagflat", "narrow_copy",
            "renorm", "dist", "inner", "vdot")
TENSOR_METHODS: dict = {n: globals()[n] for n in _METHODS}
INPLACE_METHODS: tuple = ("baddbmm", "addbmm", "addmv", "addr", "renorm")

from ._numpy_names import install as _numpy_names  # noqa: E402

_numpy_names(globals(), TENSOR_METHODS)  # axis=/keepdims= for dim/keepdim, as PyTorch accepts
