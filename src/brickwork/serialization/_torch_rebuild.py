"""The globals a PyTorch pickle may name, and brickwork's rebuild functions behind them.

``torch_pickle.py``'s ``RestrictedUnpickler`` resolves every global through ``_ALLOWED``: the
storage classes stand for their dtype (``StorageType``), and ``torch._utils._rebuild_tensor_v2``
& co. map onto the checked rebuild functions here, which see only what the file holds. The
writer names the same storage classes (``STORAGE_NAMES``).
"""
from __future__ import annotations

import collections
import pickle
import reprlib

from .. import dtypes as _dt
from ..device import device as _device
from ..size import Size
from ..tensor import Tensor
from ._common import CorruptFileError, parameter_class, view_of

STORAGE_NAMES = {"float32": "FloatStorage", "float64": "DoubleStorage",
                 "float16": "HalfStorage", "bfloat16": "BFloat16Storage",
                 "complex64": "ComplexFloatStorage", "complex128": "ComplexDoubleStorage",
                 "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage",
                 "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage"}
# Dtypes without a typed storage class (uint16/32/64): torch.save writes them with
# ``_rebuild_tensor_v3`` over an untyped (byte) storage and names the dtype separately.
UNTYPED_DTYPES = ("uint16", "uint32", "uint64")


class LoadedStorage:
    """A storage read from a file: a 1-D array on its device, where it was saved, and how
    errors name it (file and storage key)."""

    __slots__ = ("array", "device", "location", "what")

    def __init__(self, array, device, location: str, what: str) -> None:
        self.array, self.device, self.location, self.what = array, device, location, what


class StorageType:
    """Stands for ``torch.FloatStorage`` & co. while unpickling: just a dtype."""

    __slots__ = ("dtype", "name")

    def __init__(self, dtype, name: str) -> None:
        self.dtype, self.name = dtype, name


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, LoadedStorage):
        raise pickle.UnpicklingError(f"_rebuild_tensor_v2 expects a storage, got "
                                     f"{type(storage).__name__}")
    try:
        arr = view_of(storage.array, storage_offset, size, stride, storage.what)
    except (ValueError, OverflowError, TypeError, IndexError) as e:
        raise CorruptFileError(f"{storage.what}: invalid view (offset "
                               f"{short_repr(storage_offset)}, shape {short_repr(size)}, stride "
                               f"{short_repr(stride)}): {e}") from None
    from ._common import make_tensor

    return make_tensor(arr, storage.device, bool(requires_grad), False)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    """A tensor of ``dtype`` over an untyped (byte) storage: how torch.save writes uint16/32/64."""
    if not isinstance(storage, LoadedStorage) or not isinstance(dtype, _dt.dtype):
        raise pickle.UnpicklingError(f"_rebuild_tensor_v3 expects a storage and a dtype, got "
                                     f"{type(storage).__name__} and {type(dtype).__name__}")
    arr = storage.array
    if arr.dtype != dtype.np:
        if arr.nbytes % dtype.itemsize:
            raise CorruptFileError(f"{storage.what}: {arr.nbytes} bytes do not hold whole "
                                   f"{dtype.name} elements")
        arr = arr.view(dtype.np)
    typed = LoadedStorage(arr, storage.device, storage.location, storage.what)
    return _rebuild_tensor_v2(typed, storage_offset, size, stride, requires_grad, backward_hooks,
                              metadata)


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError(f"_rebuild_parameter expects a tensor, got "
                                     f"{type(data).__name__}")
    return parameter_class()(data, bool(requires_grad))


def _codecs_encode(text, encoding="utf-8"):
    # How protocol 2 stores bytes; only the harmless latin1 round trip is allowed.
    if type(text) is not str or type(encoding) is not str or encoding not in ("latin1",
                                                                               "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed for latin1 bytes")
    return text.encode("latin1")


def _allowed() -> dict:
    allowed = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "Counter"): collections.Counter,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("torch", "device"): _device,
        ("torch", "Size"): Size,
        ("_codecs", "encode"): _codecs_encode,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
    }
    for name, storage in STORAGE_NAMES.items():
        allowed["torch", storage] = StorageType(_dt._BY_NAME[name], storage)
        allowed["torch", name] = _dt._BY_NAME[name]
    for name in UNTYPED_DTYPES:
        allowed["torch", name] = _dt._BY_NAME[name]
    allowed["torch", "UntypedStorage"] = StorageType(_dt.uint8, "UntypedStorage")
    allowed["torch.storage", "UntypedStorage"] = allowed["torch", "UntypedStorage"]
    return allowed


_ALLOWED = _allowed()


def allowed_names() -> set[str]:
    """The globals brickwork loads without an allow-list, as ``"module.name"``."""
    return {f"{module}.{name}" for module, name in _ALLOWED}


def short_repr(obj) -> str:
    # repr() of a crafted object can be huge or deeply nested; show a bounded prefix.
    try:
        return reprlib.repr(obj)
    except Exception:
        return f"<{type(obj).__name__}>"
