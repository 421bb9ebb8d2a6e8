"""What both file formats share: finding shared storages, rebuilding tensors, map_location.

A tensor's storage is the NumPy array at the bottom of its ``.base`` chain. Tensors whose arrays
lead to the same base (tied parameters, views, ``state_dict`` entries made by ``detach``) are
written as one storage plus an (offset, shape, stride) per tensor, so they share again after
loading, as in PyTorch.
"""
from __future__ import annotations

import os
import zlib

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, _make


class CorruptFileError(RuntimeError):
    """A file is truncated, damaged or not in a format brickwork reads.

    A subclass of RuntimeError (what PyTorch raises for bad zip files), so existing
    ``except RuntimeError`` code catches it.
    """


def file_label(f) -> str:
    """How errors name ``f``: the path, or the file object's ``name``/type."""
    if isinstance(f, (str, os.PathLike)):
        return repr(os.fspath(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"


def parameter_class():
    """``brickwork.nn.Parameter`` (imported late: nn imports brickwork, which imports us)."""
    from ..nn.parameter import Parameter

    return Parameter


# -- saving: one storage per distinct base array --------------------------------------------
class StoragePlan:
    """Assigns every tensor to a storage (a 1-D contiguous array written once) and a view of it.

    Attributes:
        storages: the 1-D arrays to write, in first-use order.
        owners: for each storage, the tree path of the first tensor that used it.
        views: ``id(tensor) -> (storage index, offset, shape, stride)``, offset and stride counted
            in elements, as PyTorch's ``_rebuild_tensor_v2`` takes them.
    """

    def __init__(self) -> None:
        self.storages: list[np.ndarray] = []
        self.owners: list[str] = []
        self.views: dict[int, tuple] = {}
        self._by_key: dict[int, int] = {}
        self._keep: list = []  # keeps arrays alive so their ids stay unique during the save
        self._reinterpreted: dict = {}

    def add(self, t: Tensor, path: str) -> tuple:
        """Plan ``t`` (once per tensor object) and return its view tuple."""
        view = self.views.get(id(t))
        if view is not None:
            return view
        arr = t._data
        self._keep.append(t)
        if not isinstance(arr, np.ndarray):  # a GPU array: copied to the host as its own storage
            view = self._standalone(arr, path, host=t._host())
        else:
            root = arr
            while isinstance(root.base, np.ndarray):
                root = root.base
            view = self._as_view(arr, root, path)
            if view is None:
                view = self._standalone(arr, path)
        self.views[id(t)] = view
        return view

    def _storage_index(self, key, flat: np.ndarray, path: str) -> int:
        sid = self._by_key.get(key)
        if sid is None:
            sid = self._by_key[key] = len(self.storages)
            self.storages.append(flat)
            self.owners.append(path)
        return sid

    def _as_view(self, arr: np.ndarray, root: np.ndarray, path: str):
        size = arr.itemsize
        if (not root.flags.c_contiguous or not arr.dtype.isnative
                or arr.dtype not in _dt._FROM_NP):
            return None
        key = id(root)
        if root.dtype != arr.dtype:
            # A reinterpreting view (float32 tensors over the uint8 bytes of a loaded file):
            # see the owner's bytes as arr's dtype, so every tensor over them shares a storage.
            if root.nbytes % size:
                return None
            key = (id(root), arr.dtype.str)
            flat = self._reinterpreted.get(key)
            if flat is None:
                flat = self._reinterpreted[key] = root.reshape(-1).view(arr.dtype)
            root = flat
        start = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        if start % size or any(s % size or s < 0 for s in arr.strides):
            return None
        stride = tuple(s // size if n > 1 else _c_stride(arr.shape, i)
                       for i, (s, n) in enumerate(zip(arr.strides, arr.shape)))
        self._keep.append(root)
        sid = self._storage_index(key, root.reshape(-1), path)
        return sid, start // size, tuple(arr.shape), stride

    def _standalone(self, arr, path: str, host=None) -> tuple:
        self._keep.append(arr)
        flat = np.ascontiguousarray(arr if host is None else host)
        if not flat.dtype.isnative:
            flat = flat.astype(flat.dtype.newbyteorder("="))
        shape = tuple(flat.shape)
        sid = self._storage_index(id(arr), flat.reshape(-1), path)
        return sid, 0, shape, _contiguous_strides(shape)


def _c_stride(shape, i) -> int:
    # NumPy reports arbitrary strides for dimensions of size 1; PyTorch writes the C stride.
    out = 1
    for n in shape[i + 1:]:
        out *= n
    return out


def _contiguous_strides(shape) -> tuple:
    return tuple(_c_stride(shape, i) for i in range(len(shape)))


def check_dtype_savable(arr, path: str) -> None:
    if arr.dtype not in _dt._FROM_NP:
        raise TypeError(f"brickwork.save: the tensor at {path} has unsupported dtype {arr.dtype}")


# -- loading: views of storages, devices ----------------------------------------------------
def view_of(storage: np.ndarray, offset: int, shape, stride, what: str) -> np.ndarray:
    """The array ``storage[offset:]`` seen with ``shape`` and ``stride`` (elements), checked.

    Raises CorruptFileError, naming ``what``, when the view would reach outside the storage.
    """
    shape = tuple(int(n) for n in shape)
    stride = tuple(int(s) for s in stride)
    if len(shape) != len(stride) or any(n < 0 for n in shape) or any(s < 0 for s in stride) \
            or offset < 0:
        raise CorruptFileError(f"{what}: invalid view (offset {offset}, shape {list(shape)}, "
                               f"stride {list(stride)})")
    numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if numel == 0:
        return storage[:0].reshape(shape)
    last = offset + sum((n - 1) * s for n, s in zip(shape, stride))
    if last >= storage.size:
        raise CorruptFileError(f"{what}: view (offset {offset}, shape {list(shape)}, stride "
                               f"{list(stride)}) reaches element {last} but the storage holds "
                               f"only {storage.size} elements")
    if stride == _contiguous_strides(shape):
        return storage[offset:offset + numel].reshape(shape)
    item = storage.itemsize
    from ..ops._util import xp_of

    strides = tuple(s * item for s in stride)
    return xp_of(storage).lib.stride_tricks.as_strided(storage[offset:], shape, strides)


class DeviceMapper:
    """Applies ``map_location`` (None, str, device, dict or callable) as ``torch.load`` does."""

    def __init__(self, map_location) -> None:
        self.map_location = map_location
        self._cache: dict = {}

    def place(self, arr: np.ndarray, location: str):
        """Return ``(array, device)`` for a storage saved on ``location``."""
        from ..device import device, resolve

        ml = self.map_location
        if callable(ml) and not isinstance(ml, (str, device)):
            out = ml(_make(arr, device("cpu")), location)
            if isinstance(out, Tensor):
                return out._data, out._device
            if out is not None:
                raise TypeError(f"brickwork.load: map_location returned {type(out).__name__}, "
                                "expected a Tensor (storage) or None")
            target = location
        elif isinstance(ml, dict):
            target = ml.get(location, location)
        elif ml is None:
            target = location
        else:
            target = ml
        target = str(target) if not isinstance(target, str) else target
        if target.startswith("cuda"):
            try:
                dev = resolve(target)
            except RuntimeError as e:
                raise RuntimeError(
                    "Attempting to deserialize object on a CUDA device but CUDA is not available "
                    f"({e}). If you are running on a CPU-only machine, please use brickwork.load "
                    "with map_location=brickwork.device('cpu') to map your storages to the CPU."
                ) from None
        else:
            dev = resolve(target)
        if dev.type == "cpu":
            return arr, dev
        from ..device import array_module

        key = (id(arr), str(dev))
        if key not in self._cache:
            with array_module(dev).cuda.Device(dev.index):
                self._cache[key] = (array_module(dev).asarray(arr), arr)
        return self._cache[key][0], dev


def make_tensor(arr, dev, requires_grad: bool, is_param: bool) -> Tensor:
    """A Tensor (or Parameter) over ``arr``."""
    t = _make(arr, dev)
    if is_param:
        return parameter_class()(t, requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


# -- bulk reads and checksums -------------------------------------------------------------
def crc32(buf) -> int:
    """zlib's crc32 of a buffer (an array is read as its raw bytes)."""
    if isinstance(buf, np.ndarray):
        buf = memoryview(buf.reshape(-1).view(np.uint8)) if buf.size else b""
    return zlib.crc32(buf) & 0xFFFFFFFF


def _hugepage_setter():
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    return getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)


_SET_HUGEPAGE = _hugepage_setter()


def empty_for_read(count: int, dtype) -> np.ndarray:
    """``np.empty`` for a buffer about to be filled from a file, without NumPy's huge-page hint.

    NumPy asks the kernel for transparent huge pages on large arrays; where the kernel then
    compacts memory to find them (THP ``defrag=madvise``), first-touching 105 MB measured
    250 ms against 55 ms with ordinary pages, which made loading 4x slower than reading.
    """
    if _SET_HUGEPAGE is None:
        return np.empty(count, dtype)
    prev = _SET_HUGEPAGE(False)
    try:
        return np.empty(count, dtype)
    finally:
        _SET_HUGEPAGE(prev)


def pread_into(fd: int, arr: np.ndarray, offset: int) -> int:
    """Fill ``arr`` (contiguous) from ``fd`` at ``offset``; return the number of bytes read."""
    view = memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")
    done = 0
    total = len(view)
    while done < total:
        n = os.preadv(fd, [view[done:]], offset + done)
        if n == 0:
            break
        done += n
    return done
