"""``Tensor.untyped_storage()``: the bytes a tensor's memory lives in, as a small read-mostly
object (PyTorch's ``UntypedStorage`` API for inspecting memory: ``data_ptr``, ``nbytes``,
``size``, indexing, ``tolist``...).

brickwork keeps no storage objects: a tensor's memory is its root tensor's array (see
``autograd/_views.py``), and that array's owner (the buffer NumPy or CuPy allocated, which may
be larger after a ``resize_`` that shrank it) stands for the storage. Views of one root, and
tensors made by ``set_``, report the same storage object, as in PyTorch.

Part of the ``tensor_extra`` family (see ``ops/tensor_extra.py``).
"""
from __future__ import annotations

import numpy as np

from ..autograd._views import root_of
from ..tensor import Tensor


def _owner(arr):
    """The array that owns ``arr``'s memory (NumPy/CuPy keep it as ``base``)."""
    while getattr(arr, "base", None) is not None and hasattr(arr.base, "flags"):
        arr = arr.base
    return arr


def _address(arr) -> int:
    """The address of ``arr``'s first element (NumPy or CuPy)."""
    if isinstance(arr, np.ndarray):
        return int(arr.__array_interface__["data"][0])
    return int(arr.data.ptr)


class UntypedStorage:
    """The bytes behind one or more tensors. See: torch.UntypedStorage."""

    def __init__(self, owner, device, shared: bool) -> None:
        self._owner = owner
        self._device = device
        self._shared = shared

    def _bytes(self):
        arr = self._owner
        if not arr.flags.c_contiguous:
            raise RuntimeError("untyped_storage: this memory is not one contiguous block")
        return arr.reshape(-1).view(np.uint8)

    @property
    def device(self):
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    def get_device(self) -> int:
        return -1 if self._device.type == "cpu" else self._device.index

    def data_ptr(self) -> int:
        """The address of the first byte."""
        return _address(self._owner) if self._owner.size else 0

    def nbytes(self) -> int:
        return int(self._owner.nbytes)

    def size(self) -> int:
        """The size in bytes (an untyped storage's elements are bytes)."""
        return int(self._owner.nbytes)

    def __len__(self) -> int:
        return int(self._owner.nbytes)

    def element_size(self) -> int:
        return 1

    def is_shared(self) -> bool:
        """Whether the memory is CUDA memory or a shared-memory block (``share_memory_``)."""
        return self._shared

    def is_pinned(self, device="cuda") -> bool:
        """False: NumPy memory is never page-locked (``device`` is ignored)."""
        return False

    def __getitem__(self, index):
        data = self._bytes()
        if isinstance(index, slice):
            raise NotImplementedError("untyped_storage: slicing a storage is not supported; "
                                      "index single bytes or use tolist()")
        n = data.shape[0]
        if not -n <= int(index) < n:
            raise IndexError(f"index {index} out of range for storage of size {n}")
        return int(data[int(index)])

    def tolist(self) -> list:
        data = self._bytes()
        return (data if isinstance(data, np.ndarray) else data.get()).tolist()

    def resize_(self, size: int):
        """Not supported: brickwork cannot resize memory under the tensors that use it."""
        raise NotImplementedError("untyped_storage().resize_: brickwork cannot resize memory "
                                  "under the tensors that use it; use Tensor.resize_")

    def type(self, dtype=None, non_blocking: bool = False):
        """The storage's type name; ``non_blocking`` is ignored (nothing is copied)."""
        if dtype is not None:
            raise NotImplementedError("untyped_storage().type(dtype): brickwork has no typed "
                                      "storages")
        return "brickwork.UntypedStorage"

    def __repr__(self) -> str:
        return f"[brickwork.UntypedStorage(device={self._device}) of size {self.nbytes()}]"


def untyped_storage(self: Tensor) -> UntypedStorage:
    """The storage of ``self``'s memory (one object per buffer). See:
    torch.Tensor.untyped_storage."""
    root = root_of(self)
    owner = _owner(self._data)
    cached = root.__dict__.get("_storage")
    if cached is not None and cached._owner is owner:
        return cached
    from ._extra_flags import is_shared

    st = UntypedStorage(owner, self._device, is_shared(self))
    if _owner(root._data) is owner:
        root._storage = st
    return st


TENSOR_METHODS: dict = {"untyped_storage": untyped_storage}
__all__: list = []
