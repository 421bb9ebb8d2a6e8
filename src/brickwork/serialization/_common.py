"""What both file formats share: finding shared storages, rebuilding tensors, map_location.

A tensor's storage is the array (NumPy, or CuPy on a GPU) at the bottom of its ``.base`` chain.
Tensors whose arrays lead to the same base (tied parameters, views such as transposes, strided
slices and stride-0 expansions, ``state_dict`` entries made by ``detach``) are written as one
storage plus an (offset, shape, stride) per tensor, so they share again after loading, as in
PyTorch; loading builds each view with the storage as its ``.base``, so a file survives any
number of load/save round trips with its ties and its size intact.
"""
from __future__ import annotations

import math
import mmap as _mmap_module
import operator
import os
import sys
import weakref
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
        storages: the 1-D host arrays to write, in first-use order.
        owners: for each storage, the tree path of the first tensor that used it.
        views: ``id(tensor) -> (storage index, offset, shape, stride)``, offset and stride counted
            in elements, as PyTorch's ``_rebuild_tensor_v2`` takes them.
    """

    def __init__(self) -> None:
        self.storages: list[np.ndarray] = []
        self.owners: list[str] = []
        self.views: dict[int, tuple] = {}
        self._by_key: dict = {}
        self._keep: list = []  # keeps arrays alive so their ids stay unique during the save

    def add(self, t: Tensor, path: str) -> tuple:
        """Plan ``t`` (once per tensor object) and return its view tuple."""
        view = self.views.get(id(t))
        if view is not None:
            return view
        arr = t._data
        self._keep.append(t)
        gpu = not isinstance(arr, np.ndarray)
        view = self._as_view(arr, _root_of(arr), path, gpu, t._device)
        if view is None:
            view = self._standalone(arr, path, gpu)
        self.views[id(t)] = view
        return view

    def _storage_index(self, key, make_flat, path: str) -> int:
        sid = self._by_key.get(key)
        if sid is None:
            sid = self._by_key[key] = len(self.storages)
            self.storages.append(make_flat())
            self.owners.append(path)
        return sid

    def _as_view(self, arr, root, path: str, gpu: bool, dev):
        """``arr`` as (storage, offset, shape, stride) over its root array, or None."""
        size = arr.itemsize
        if (not root.flags.c_contiguous or not arr.dtype.isnative
                or arr.dtype not in _dt._FROM_NP or root.nbytes % size or (gpu and not arr.size)):
            return None
        start = _address(arr, gpu) - _address(root, gpu)
        if start < 0 or start % size or any(s % size or s < 0 for s in arr.strides):
            return None
        span = sum((n - 1) * s for n, s in zip(arr.shape, arr.strides)) + size if arr.size else 0
        if start + span > root.nbytes:
            return None  # a view reaching past its root (as_strided can make one): copy it
        # A GPU root is known by where it lives (CuPy may hand out a new wrapper object for the
        # same memory); a host root by identity, kept alive by _keep.
        key = (str(dev), _address(root, gpu), root.nbytes) if gpu else id(root)
        if root.dtype != arr.dtype:
            # A reinterpreting view (float32 tensors over the uint8 bytes of a loaded file):
            # see the owner's bytes as arr's dtype, so every tensor over them shares a storage.
            key = (key, arr.dtype.str)
        self._keep.append(root)

        def flat():
            out = root.reshape(-1)
            out = out.view(arr.dtype) if out.dtype != arr.dtype else out
            return out.get() if gpu else out

        stride = tuple(s // size if n > 1 else _c_stride(arr.shape, i)
                       for i, (s, n) in enumerate(zip(arr.strides, arr.shape)))
        sid = self._storage_index(key, flat, path)
        return sid, start // size, tuple(arr.shape), stride

    def _standalone(self, arr, path: str, gpu: bool) -> tuple:
        self._keep.append(arr)

        def flat():
            out = np.ascontiguousarray(arr.get() if gpu else arr)
            if not out.dtype.isnative:
                out = out.astype(out.dtype.newbyteorder("="))
            return out.reshape(-1)

        shape = tuple(arr.shape)
        sid = self._storage_index(("copy", id(arr)), flat, path)
        return sid, 0, shape, _contiguous_strides(shape)


def _root_of(arr):
    """The array at the bottom of ``arr``'s ``.base`` chain: the memory's owner.

    The chain may pass through objects that are not arrays (NumPy's ``as_strided`` leaves a
    ``DummyArray`` in it), so the walk follows ``.base`` through anything and keeps the last
    array of ``arr``'s kind it met. A GPU view that ``view_of`` built has no ``.base`` (CuPy's
    ``as_strided`` makes none), so its storage is looked up in ``_GPU_VIEW_STORAGE``.
    """
    kind = np.ndarray if isinstance(arr, np.ndarray) else type(arr)
    root, cur = arr, arr
    for _ in range(100_000):  # chains are short; the bound only guards against odd objects
        noted = _GPU_VIEW_STORAGE.get(id(cur)) if kind is not np.ndarray else None
        if noted is not None and noted[0]() is cur:
            cur = root = noted[1]
            continue
        cur = getattr(cur, "base", None)
        if cur is None:
            break
        if isinstance(cur, kind):
            root = cur
    return root


# id(GPU view made by view_of) -> (weak reference to the view, its storage); entries leave
# when their view dies.
_GPU_VIEW_STORAGE: dict[int, tuple] = {}


def _note_gpu_view(view, storage) -> None:
    key = id(view)

    def forget(ref, key=key) -> None:
        if _GPU_VIEW_STORAGE.get(key, (None,))[0] is ref:
            del _GPU_VIEW_STORAGE[key]

    _GPU_VIEW_STORAGE[key] = (weakref.ref(view, forget), storage)


def _address(arr, gpu: bool) -> int:
    return arr.data.ptr if gpu else arr.__array_interface__["data"][0]


def _c_stride(shape, i) -> int:
    # NumPy reports arbitrary strides for dimensions of size 1; PyTorch writes the C stride.
    out = 1
    for n in shape[i + 1:]:
        out *= n
    return out


def _contiguous_strides(shape) -> tuple:
    return tuple(_c_stride(shape, i) for i in range(len(shape)))


def check_dtype_savable(arr, path: str) -> None:
    if arr.__class__.__name__ == "SparseCOO":  # brickwork._sparse_coo: not in the file formats
        raise NotImplementedError(
            f"brickwork.save: the tensor at {path} is sparse (layout=brickwork.sparse_coo), "
            "which brickwork's files cannot hold; save its .coalesce().indices() and .values() "
            "(or .to_dense()) instead")
    if arr.dtype not in _dt._FROM_NP:
        raise TypeError(f"brickwork.save: the tensor at {path} has unsupported dtype {arr.dtype}")


# -- loading: views of storages, devices ----------------------------------------------------
MAX_DIMS = 64  # NumPy's limit; PyTorch's is lower


def _as_index(v, field: str, what: str) -> int:
    if isinstance(v, bool):
        raise CorruptFileError(f"{what}: {field} holds the boolean {v}, expected an integer")
    try:
        return operator.index(v)
    except TypeError:
        raise CorruptFileError(f"{what}: {field} holds {str(v)[:40]!r} "
                               f"({type(v).__name__}), expected an integer") from None


def _as_indices(seq, field: str, what: str) -> tuple:
    if type(seq) in (tuple, list) and all(type(v) is int for v in seq) \
            and len(seq) <= MAX_DIMS:
        return tuple(seq)  # the common case, checked quickly
    if not isinstance(seq, (tuple, list)):
        raise CorruptFileError(f"{what}: {field} is {str(seq)[:40]!r} ({type(seq).__name__}), "
                               "expected a list of integers")
    if len(seq) > MAX_DIMS:
        raise CorruptFileError(f"{what}: {field} has {len(seq)} dimensions (at most "
                               f"{MAX_DIMS} are supported)")
    return tuple(_as_index(v, field, what) for v in seq)


def view_of(storage, offset: int, shape, stride, what: str):
    """The array ``storage[offset:]`` seen with ``shape`` and ``stride`` (elements), checked.

    The result is a view whose ``.base`` is ``storage`` (so saving it again finds the storage
    and keeps ties and stride-0 expansions as views). Raises CorruptFileError, naming ``what``,
    for any view that is malformed or would reach outside the storage.
    """
    offset = _as_index(offset, "the storage offset", what)
    shape = _as_indices(shape, "the shape", what)
    stride = _as_indices(stride, "the stride", what)

    def bad(reason: str) -> CorruptFileError:
        return CorruptFileError(f"{what}: invalid view (offset {offset}, shape {list(shape)}, "
                                f"stride {list(stride)}): {reason}")

    if len(shape) != len(stride):
        raise bad("shape and stride differ in length")
    if offset < 0 or any(n < 0 for n in shape) or any(s < 0 for s in stride):
        raise bad("negative values")
    item = storage.itemsize
    if math.prod(max(n, 1) for n in shape) * item > sys.maxsize:
        raise bad("more elements than this machine can address")
    if 0 in shape:
        if offset > storage.size:
            raise bad(f"the offset lies past the storage ({storage.size} elements)")
        return storage[:0].reshape(shape)
    last = offset + sum((n - 1) * s for n, s in zip(shape, stride))
    if last >= storage.size:
        raise bad(f"it reaches element {last} but the storage holds only {storage.size} "
                  "elements")
    numel = math.prod(shape)
    if stride == _contiguous_strides(shape) or numel == 1:
        return storage[offset:offset + numel].reshape(shape)
    # Dimensions of size 1 never step: their stride may be anything, so use the C stride.
    strides = tuple((s if n > 1 else _c_stride(shape, i)) * item
                    for i, (n, s) in enumerate(zip(shape, stride)))
    if isinstance(storage, np.ndarray):
        # Not as_strided: its result's .base is a DummyArray, which hides the storage.
        return np.ndarray(shape, storage.dtype, buffer=storage, offset=offset * item,
                          strides=strides)
    from ..ops._util import xp_of

    view = xp_of(storage).lib.stride_tricks.as_strided(storage[offset:], shape, strides)
    _note_gpu_view(view, storage)
    return view


def _check_location(location, what: str):
    """The device a file's location string names, or CorruptFileError naming ``what``."""
    from ..device import device

    if isinstance(location, str):
        try:
            dev = device(location)
        except (RuntimeError, ValueError, TypeError):
            dev = None
        if dev is not None and dev.type in ("cpu", "cuda"):
            return dev
    raise CorruptFileError(f"{what}: unknown device {str(location)[:40]!r} (brickwork holds "
                           "data on 'cpu' and 'cuda[:N]'; map_location can send it elsewhere)")


class DeviceMapper:
    """Applies ``map_location`` (None, str, device, dict or callable) as ``torch.load`` does.

    ``label`` names the file in errors about its location strings.
    """

    def __init__(self, map_location, label: str = "the file") -> None:
        self.map_location = map_location
        self.label = label
        self._cache: dict = {}
        self._checked: dict = {}  # location -> device, for the file's valid locations

    def place(self, arr: np.ndarray, location: str, what: str = "a storage"):
        """Return ``(array, device)`` for a storage saved on ``location``.

        A location the file names that brickwork cannot use (and ``map_location`` does not
        replace) raises CorruptFileError naming the file and ``what``; a valid CUDA location on
        a machine without CUDA raises RuntimeError saying to map it to the CPU, as PyTorch does.
        """
        from ..device import device, resolve

        ml = self.map_location
        where = f"{self.label}: {what}"
        if not isinstance(location, str):
            raise CorruptFileError(f"{where}: the device {str(location)[:40]!r} is not a "
                                   "string")
        if callable(ml) and not isinstance(ml, (str, device)):
            out = ml(_make(arr, device("cpu")), location)
            if isinstance(out, Tensor):
                return out._data, out._device
            if out is not None:
                raise TypeError(f"brickwork.load: map_location returned {type(out).__name__}, "
                                "expected a Tensor (storage) or None")
            target = None
        elif isinstance(ml, dict):
            target = ml.get(location)
        else:
            target = ml
        if target is None:  # the file's own location: checked as file contents
            target = self._checked.get(location)
            if target is None:
                target = self._checked[location] = _check_location(location, where)
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

        from ..ops._bf16 import check_device

        check_device(arr.dtype, dev)
        key = (id(arr), str(dev))
        if key not in self._cache:
            with array_module(dev).cuda.Device(dev.index):
                self._cache[key] = (array_module(dev).asarray(arr), arr)
        return self._cache[key][0], dev


def make_tensor(arr, dev, requires_grad: bool, is_param: bool) -> Tensor:
    """A Tensor (or Parameter) over ``arr``."""
    from ..ops._bf16 import check_device

    check_device(arr.dtype, dev)
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


# From this size a storage about to be read gets its own pre-faulted anonymous mapping.
_POPULATE_BYTES = 1 << 20
_MAP_POPULATE = getattr(_mmap_module, "MAP_POPULATE", None)


def empty_for_read(count: int, dtype) -> np.ndarray:
    """An uninitialized array for a buffer about to be filled from a file.

    Large ones (1 MiB and up, on Linux) are anonymous mappings made with ``MAP_POPULATE``: the
    kernel maps every page at once, where filling a fresh ``np.empty`` takes one page fault
    per 4 KiB page during the read (105 MB in eight storages: 75 -> 62 ms, medians of 8
    interleaved runs). The mapping is freed with the last array viewing it. Smaller ones are
    ``np.empty`` without NumPy's huge-page hint: where the kernel compacts memory to find huge
    pages (THP ``defrag=madvise``), first-touching 105 MB measured 250 ms against 55 ms.
    """
    dtype = np.dtype(dtype)
    nbytes = count * dtype.itemsize
    if _MAP_POPULATE is not None and nbytes >= _POPULATE_BYTES:
        flags = _mmap_module.MAP_PRIVATE | _mmap_module.MAP_ANONYMOUS | _MAP_POPULATE
        return np.frombuffer(_mmap_module.mmap(-1, nbytes, flags=flags), dtype, count)
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
