"""The remaining small public names of ``torch.Tensor``, gathered from the ``_extra_*`` files:

- ``_extra_inplace``: in-place comparisons and logical ops, ``bitwise_not_``, bitwise shifts,
  in-place view ops (``squeeze_``, ``t_``, ``as_strided_``...), ``fill_diagonal_``
- ``_extra_resize``: ``resize_``, ``resize_as_``, the deprecated ``resize``/``resize_as``,
  ``set_``, ``is_set_to``
- ``_extra_tensor``: ``sum_to_size``, ``unsafe_*`` splits, ``slice_inverse``, ``new``,
  ``new_empty_strided``, ``map_``/``map2_``/``apply_``
- ``_extra_flags``: ``data_ptr``, shared memory, ``record_stream``, post-accumulate-grad hooks,
  ``output_nr``, ``name``, ``dim_order``, ``grad_dtype``, ``hash_tensor``, ``as_subclass``,
  ``module_load``, device predicates and the removed ``volatile``/``reinforce``
- ``_extra_storage``: ``untyped_storage``
"""
from __future__ import annotations

from . import _extra_flags, _extra_inplace, _extra_resize, _extra_storage, _extra_tensor
from ._extra_flags import *  # noqa: F401,F403
from ._extra_inplace import *  # noqa: F401,F403
from ._extra_resize import *  # noqa: F401,F403
from ._extra_tensor import *  # noqa: F401,F403

TENSOR_METHODS: dict = {
    **_extra_inplace.COMPARE_INPLACE, **_extra_inplace.LOGICAL_INPLACE,
    **_extra_inplace.SHIFT_METHODS, **_extra_inplace.VIEW_INPLACE,
    **_extra_inplace.OTHER_INPLACE, **_extra_resize.TENSOR_METHODS,
    **_extra_tensor.TENSOR_METHODS, **_extra_flags.TENSOR_METHODS,
    **_extra_storage.TENSOR_METHODS,
}
INPLACE_METHODS: tuple = ("bitwise_left_shift", "bitwise_right_shift")
__all__: list = (_extra_flags.__all__ + _extra_inplace.__all__ + _extra_resize.__all__
                 + _extra_tensor.__all__)
