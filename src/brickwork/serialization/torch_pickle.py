"""PyTorch's pickle, both ways, without importing torch and without running code.

Writing: ``TorchPickler`` emits protocol-2 opcodes itself, producing exactly the reduce
structures ``torch.save`` produces (``torch._utils._rebuild_tensor_v2`` over a persistent
``('storage', torch.FloatStorage, key, location, numel)``; ``_rebuild_parameter`` for
Parameters; ``collections.OrderedDict``), so ``torch.load(weights_only=True)`` accepts the file.

Reading: ``RestrictedUnpickler`` resolves globals through an allow-list mapped onto brickwork's
own rebuild functions and refuses every other global (and the opcodes that build arbitrary
objects) with ``pickle.UnpicklingError`` naming it, before anything is called.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct

from .. import dtypes as _dt
from ..device import device as _device
from ..size import Size
from ..tensor import Tensor
from ._common import parameter_class, view_of

STORAGE_NAMES = {"float32": "FloatStorage", "float64": "DoubleStorage",
                 "float16": "HalfStorage", "int64": "LongStorage", "int32": "IntStorage",
                 "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
                 "bool": "BoolStorage"}


# -- writing --------------------------------------------------------------------------------
class TorchPickler:
    """Serialises an object tree to the bytes of PyTorch's ``data.pkl``.

    Args:
        storage_key: ``tensor -> (key, dtype name, location, numel, offset, shape, stride)``.
    """

    def __init__(self, storage_key) -> None:
        self.out = bytearray(b"\x80\x02")
        self.memo: dict = {}
        self.storage_key = storage_key

    def dumps(self, obj) -> bytes:
        self.save(obj, "obj", 0)
        self.out += b"."
        return bytes(self.out)

    # memo ---------------------------------------------------------------------------------
    def _put(self, key) -> None:
        i = self.memo[key] = len(self.memo)
        self.out += b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i)

    def _get(self, key) -> bool:
        i = self.memo.get(key)
        if i is None:
            return False
        self.out += b"h" + bytes([i]) if i < 256 else b"j" + struct.pack("<I", i)
        return True

    def _global(self, module: str, name: str) -> None:
        key = ("global", module, name)
        if not self._get(key):
            self.out += b"c" + f"{module}\n{name}\n".encode()
            self._put(key)

    # values -------------------------------------------------------------------------------
    def save(self, obj, path: str, depth: int) -> None:
        if depth > 200:
            raise ValueError(f"brickwork.save: {path} is nested more than 200 levels deep")
        out = self.out
        if obj is None:
            out += b"N"
        elif obj is True:
            out += b"\x88"
        elif obj is False:
            out += b"\x89"
        elif isinstance(obj, Tensor):
            self._tensor(obj, path)
        elif isinstance(obj, int):
            self._int(int(obj))
        elif isinstance(obj, float):
            out += b"G" + struct.pack(">d", obj)
        elif isinstance(obj, str):
            data = obj.encode("utf-8", "surrogatepass")
            out += b"X" + struct.pack("<I", len(data)) + data
        elif isinstance(obj, Size):
            self._global("torch", "Size")
            self._tuple((tuple(obj),), path, depth)
            out += b"R"
        elif type(obj) is tuple:
            self._tuple(obj, path, depth)
        elif type(obj) is list:
            out += b"]"
            if obj:
                out += b"("
                for i, v in enumerate(obj):
                    self.save(v, f"{path}[{i}]", depth + 1)
                out += b"e"
        elif type(obj) in (dict, collections.OrderedDict):
            if type(obj) is dict:
                out += b"}"
            else:
                self._global("collections", "OrderedDict")
                out += b")R"
            if obj:
                out += b"("
                for k, v in obj.items():
                    self.save(k, f"{path} key {k!r}", depth + 1)
                    self.save(v, f"{path}[{k!r}]", depth + 1)
                out += b"u"
            attrs = getattr(obj, "__dict__", None)
            if attrs:  # a state_dict's _metadata, as PyTorch pickles it
                self.save(dict(attrs), f"{path}.__dict__", depth + 1)
                out += b"b"
        elif isinstance(obj, _dt.dtype):
            self._global("torch", obj.name)
        elif isinstance(obj, _device):
            self._global("torch", "device")
            self._tuple((str(obj),), path, depth)
            out += b"R"
        else:
            raise TypeError(f"brickwork.save: cannot save an object of type "
                            f"{type(obj).__name__} at {path} in PyTorch format; files hold only "
                            "tensors, containers and plain values (they never store code)")

    def _int(self, v: int) -> None:
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        elif -2 ** 31 <= v < 2 ** 31:
            self.out += b"J" + struct.pack("<i", v)
        else:
            data = pickle.encode_long(v)
            self.out += b"\x8a" + bytes([len(data)]) + data

    def _tuple(self, obj: tuple, path: str, depth: int) -> None:
        if not obj:
            self.out += b")"
            return
        if len(obj) > 3:
            self.out += b"("
        for i, v in enumerate(obj):
            self.save(v, f"{path}[{i}]", depth + 1)
        self.out += b"t" if len(obj) > 3 else b"\x85\x86\x87"[len(obj) - 1:len(obj)]

    def _empty_ordered_dict(self) -> None:
        self._global("collections", "OrderedDict")
        self.out += b")R"

    def _tensor(self, t: Tensor, path: str) -> None:
        if self._get(("tensor", id(t))):
            return
        is_param = isinstance(t, parameter_class())
        if is_param:
            self._global("torch._utils", "_rebuild_parameter")
        key, dtype, location, numel, offset, shape, stride = self.storage_key(t, path)
        self._global("torch._utils", "_rebuild_tensor_v2")
        self.out += b"(("
        self.save("storage", path, 0)
        self._global("torch", STORAGE_NAMES[dtype])
        self.save(key, path, 0)
        self.save(location, path, 0)
        self._int(numel)
        self.out += b"tQ"
        self._int(offset)
        self._tuple(tuple(shape), path, 0)
        self._tuple(tuple(stride), path, 0)
        self.out += b"\x88" if (t._requires_grad and not is_param) else b"\x89"
        self._empty_ordered_dict()
        self.out += b"tR"
        if is_param:
            self.out += b"\x88" if t._requires_grad else b"\x89"
            self._empty_ordered_dict()
            self.out += b"\x87R"
        self._put(("tensor", id(t)))


# -- reading --------------------------------------------------------------------------------
class LoadedStorage:
    """A storage read from a file: a 1-D array on its device, and where it was saved."""

    __slots__ = ("array", "device", "location")

    def __init__(self, array, device, location: str) -> None:
        self.array, self.device, self.location = array, device, location


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
    arr = view_of(storage.array, int(storage_offset), tuple(size), tuple(stride),
                  f"tensor on storage {storage.location}")
    from ._common import make_tensor

    return make_tensor(arr, storage.device, bool(requires_grad), False)


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError(f"_rebuild_parameter expects a tensor, got "
                                     f"{type(data).__name__}")
    return parameter_class()(data, bool(requires_grad))


def _codecs_encode(text, encoding="utf-8"):
    # How protocol 2 stores bytes; only the harmless latin1 round trip is allowed.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed for latin1 bytes")
    return text.encode("latin1")


def _allowed() -> dict:
    allowed = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
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
    allowed["torch", "UntypedStorage"] = StorageType(_dt.uint8, "UntypedStorage")
    return allowed


_ALLOWED = _allowed()
_REFUSED_OPCODES = {
    pickle.INST: "INST", pickle.OBJ: "OBJ", pickle.NEWOBJ: "NEWOBJ",
    pickle.NEWOBJ_EX: "NEWOBJ_EX", pickle.EXT1: "EXT1", pickle.EXT2: "EXT2",
    pickle.EXT4: "EXT4", pickle.PERSID: "PERSID", pickle.NEXT_BUFFER: "NEXT_BUFFER",
    pickle.READONLY_BUFFER: "READONLY_BUFFER",
}


class RestrictedUnpickler(pickle._Unpickler):
    """An unpickler that can only build tensors, containers and plain values.

    Globals outside the allow-list, and opcodes that construct arbitrary objects, raise
    ``pickle.UnpicklingError`` naming them; nothing from the file is ever called unless it is
    one of brickwork's own rebuild functions.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, data: bytes, persistent_load, label: str) -> None:
        super().__init__(io.BytesIO(data))
        self._persistent = persistent_load
        self.label = label

    def find_class(self, module: str, name: str):
        obj = _ALLOWED.get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(
                f"Weights only load failed: {self.label} refers to the global {module}.{name}, "
                "which is not allowed. brickwork only loads tensors, Parameters, dtypes, "
                "devices, OrderedDict and built-in containers and values; it never runs code "
                "from a file. If you trust the file, load it with torch.load(weights_only="
                "False) in PyTorch and re-save its tensors.")
        return obj

    def persistent_load(self, pid):
        return self._persistent(pid)

    def _refuse(self, code: int) -> None:
        raise pickle.UnpicklingError(f"Weights only load failed: {self.label} uses the pickle "
                                     f"opcode {_REFUSED_OPCODES[code]}, which can construct "
                                     "arbitrary objects and is not allowed")

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is collections.OrderedDict and isinstance(state, dict):
            inst.__dict__.update(state)  # a state_dict's _metadata
        elif isinstance(inst, Tensor) and not state:
            pass
        else:
            raise pickle.UnpicklingError(f"Weights only load failed: {self.label} sets state "
                                         f"on a {type(inst).__name__} (BUILD), which is not "
                                         "allowed")

    dispatch[pickle.BUILD[0]] = load_build


for _code in _REFUSED_OPCODES:
    RestrictedUnpickler.dispatch[_code[0]] = (
        lambda self, _c=_code: RestrictedUnpickler._refuse(self, _c))
