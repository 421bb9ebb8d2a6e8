"""PyTorch's pickle, both ways, without importing torch and without running code.

Writing: ``TorchPickler`` emits protocol-2 opcodes itself, producing exactly the reduce
structures ``torch.save`` produces (``torch._utils._rebuild_tensor_v2`` over a persistent
``('storage', torch.FloatStorage, key, location, numel)``; ``_rebuild_parameter`` for
Parameters; ``collections.OrderedDict``), so ``torch.load(weights_only=True)`` accepts the file.

Reading: ``RestrictedUnpickler`` resolves globals through an allow-list mapped onto brickwork's
own rebuild functions (both in ``_torch_rebuild.py``) and refuses every other global (and the
opcodes that build arbitrary objects) with ``pickle.UnpicklingError`` naming it, before anything
is called.
"""
from __future__ import annotations

import collections
import pickle
import struct

from .. import dtypes as _dt
from ..device import device as _device
from ..size import Size
from ..tensor import Tensor
from ._common import parameter_class
# The reading side's allow-list and rebuild functions; LoadedStorage, StorageType, short_repr
# and allowed_names are re-exported for torch_format.py and safe_globals.py.
from ._torch_rebuild import (_ALLOWED, STORAGE_NAMES, UNTYPED_DTYPES,  # noqa: F401
                             LoadedStorage, StorageType, _codecs_encode, _rebuild_parameter,
                             _rebuild_tensor_v2, _rebuild_tensor_v3, allowed_names, short_repr)
from .safe_globals import pickled_name, refuse_module, set_state, user_allowed


# -- writing --------------------------------------------------------------------------------
class TorchPickler:
    """Serialises an object tree to the bytes of PyTorch's ``data.pkl``.

    Containers (lists, dicts, tuples, Sizes) and tensors are memoized by identity, as Python's
    pickler does: one reached again is written as a memo reference, so a tree that shares
    sub-objects (40 levels of ``(x, x)``) costs time and bytes linear in its distinct objects,
    and loads back with the same sharing.

    Args:
        storage_key: ``tensor -> (key, dtype name, location, numel, offset, shape, stride)``.
    """

    MAX_DEPTH = 200

    def __init__(self, storage_key) -> None:
        self.out = bytearray(b"\x80\x02")
        self.memo: dict = {}
        self.storage_key = storage_key
        self._alive: list = []  # objects memoized by id stay alive, so their ids stay unique

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

    def _put_obj(self, obj) -> None:
        self._put(("obj", id(obj)))
        self._alive.append(obj)

    def _global(self, module: str, name: str) -> None:
        key = ("global", module, name)
        if not self._get(key):
            self.out += b"c" + f"{module}\n{name}\n".encode()
            self._put(key)

    # values -------------------------------------------------------------------------------
    def save(self, obj, path: str, depth: int) -> None:
        """Append the pickle of ``obj`` (found at ``path``, ``depth`` levels down)."""
        if depth > self.MAX_DEPTH:
            raise ValueError(f"brickwork.save: {path} is nested more than {self.MAX_DEPTH} "
                             "levels deep")
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
        elif self._get(("obj", id(obj))):
            return
        elif isinstance(obj, Size):
            self._global("torch", "Size")
            self._tuple((tuple(obj),), path, depth)
            out += b"R"
            self._put_obj(obj)
        elif type(obj) is collections.Counter:  # MultiStepLR's milestones, as PyTorch's
            self._global("collections", "Counter")
            self._tuple((dict(obj),), path, depth)
            out += b"R"
            self._put_obj(obj)
        elif type(obj) is tuple:
            self._shared_tuple(obj, path, depth)
        elif type(obj) is list:
            out += b"]"
            self._put_obj(obj)
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
            self._put_obj(obj)
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
            self._object(obj, path, depth)

    def _object(self, obj, path: str, depth: int) -> None:
        """An allow-listed class or function, or an instance of an allow-listed class, written
        as ``pickle`` protocol 2 writes it (``torch.load`` rebuilds it with the same safe
        globals); anything else is refused."""
        refuse_module(obj)
        if isinstance(obj, type) or callable(obj) and hasattr(obj, "__qualname__"):
            name = pickled_name(obj)
            if name is not None:
                self._global(*name)
                return
        cls = type(obj)
        name = pickled_name(cls)
        if name is None:
            raise TypeError(f"brickwork.save: cannot save an object of type {cls.__name__} at "
                            f"{path} in PyTorch format; files hold only tensors, containers, "
                            "plain values and instances of classes allow-listed with "
                            "brickwork.serialization.add_safe_globals (they never store code)")
        rv = obj.__reduce_ex__(2)
        if isinstance(rv, str) or not isinstance(rv, tuple) or not 2 <= len(rv) <= 6:
            raise TypeError(f"brickwork.save: {cls.__name__}.__reduce_ex__(2) at {path} returned "
                            f"{short_repr(rv)}; only (callable, args[, state]) is supported")
        func, args, state, listitems, dictitems, setter = (*rv, None, None, None, None)[:6]
        if listitems is not None or dictitems is not None or setter is not None:
            raise TypeError(f"brickwork.save: {cls.__name__} at {path} pickles list or dict items "
                            "or a state setter, which PyTorch's weights_only loader cannot "
                            "rebuild")
        if getattr(func, "__name__", None) == "__newobj__" and args and args[0] is cls:
            self._global(*name)
            self._tuple(tuple(args[1:]), f"{path}.__new__", depth + 1)
            self.out += b"\x81"  # NEWOBJ: cls.__new__(cls, *args)
        else:
            fname = pickled_name(func) if callable(func) else None
            if fname is None:
                raise TypeError(f"brickwork.save: {cls.__name__} at {path} is rebuilt by "
                                f"{short_repr(func)}, which is not allow-listed (add it with "
                                "brickwork.serialization.add_safe_globals)")
            self._global(*fname)
            self._tuple(tuple(args), f"{path}.__reduce__", depth + 1)
            self.out += b"R"
        self._put_obj(obj)
        if state is not None:
            self.save(state, f"{path}.__dict__", depth + 1)
            self.out += b"b"

    def _shared_tuple(self, obj: tuple, path: str, depth: int) -> None:
        # As Python's pickler: a tuple is memoized after its items, so one that reached itself
        # through a list or dict inside it is already in the memo by then; the copy just built
        # is dropped (POP) and the memoized tuple used instead.
        self._tuple(obj, path, depth)
        if not obj:
            return
        key = ("obj", id(obj))
        if key in self.memo:
            self.out += b"0"
            self._get(key)
        else:
            self._put_obj(obj)

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
        untyped = dtype in UNTYPED_DTYPES
        self._global("torch._utils", "_rebuild_tensor_v3" if untyped else "_rebuild_tensor_v2")
        self.out += b"(("
        self.save("storage", path, 0)
        if untyped:  # the storage's size counts bytes
            self._global("torch.storage", "UntypedStorage")
            numel *= t._data.dtype.itemsize
        else:
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
        if untyped:
            self._global("torch", dtype)
        self.out += b"tR"
        if is_param:
            self.out += b"\x88" if t._requires_grad else b"\x89"
            self._empty_ordered_dict()
            self.out += b"\x87R"
        self._put(("tensor", id(t)))


# -- reading --------------------------------------------------------------------------------
# What REDUCE may call. set, frozenset, OrderedDict and Size get their argument checked first:
# built-in containers only (iterating a crafted tensor of 10**12 zero-stride elements would hang).
_CALLABLE = {id(f): f for f in (collections.OrderedDict, _rebuild_tensor_v2, _rebuild_tensor_v3,
                                _rebuild_parameter, _device, Size, _codecs_encode, set,
                                frozenset, collections.Counter)}
_ITERATED = {id(set), id(frozenset), id(collections.OrderedDict), id(Size),
             id(collections.Counter)}
_CONTAINERS = (list, tuple, dict, collections.OrderedDict, set, frozenset)
# Hashing a tuple recurses in C without a depth check (CPython 3.11): a key nested a million
# tuples deep crashes the interpreter. torch.save's pickler stops near 1000 levels.
MAX_KEY_DEPTH = 1000
_REFUSED_OPCODES = {
    pickle.INST: "INST", pickle.OBJ: "OBJ",
    pickle.NEWOBJ_EX: "NEWOBJ_EX", pickle.EXT1: "EXT1", pickle.EXT2: "EXT2",
    pickle.EXT4: "EXT4", pickle.PERSID: "PERSID", pickle.NEXT_BUFFER: "NEXT_BUFFER",
    pickle.READONLY_BUFFER: "READONLY_BUFFER",
}


class RestrictedUnpickler(pickle._Unpickler):
    """An unpickler that can only build tensors, containers and plain values.

    Globals outside the allow-list, and opcodes that construct arbitrary objects, raise
    ``pickle.UnpicklingError`` naming them; nothing from the file is ever called unless it is
    one of brickwork's own rebuild functions or a built-in container given a built-in container.
    Items are only ever added to lists, dicts and sets, and dict keys and set items nested more
    than ``MAX_KEY_DEPTH`` tuples deep are refused before they are hashed.

    Args:
        file: the bytes of ``data.pkl`` (an object with ``read`` and ``readline``).
        persistent_load: ``pid -> storage``, called for each persistent id.
        label: how errors name the file.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, persistent_load, label: str) -> None:
        super().__init__(file)
        self._persistent = persistent_load
        self.label = label
        self._depths: dict = {}  # id(tuple) -> (nesting depth, tuple), for tuples hashed
        # The user's allow-list as it is when the load starts (safe_globals.py).
        self._user = user_allowed()
        self._user_ids = {id(obj): obj for obj in self._user.values()}

    def _fail(self, problem: str) -> pickle.UnpicklingError:
        return pickle.UnpicklingError(f"Weights only load failed: {self.label} {problem}")

    def _user_allowed(self, obj) -> bool:
        return self._user_ids.get(id(obj)) is obj

    def find_class(self, module: str, name: str):
        obj = _ALLOWED.get((module, name))
        if obj is None:
            obj = self._user.get(f"{module}.{name}")
        if obj is None:
            raise pickle.UnpicklingError(
                f"Weights only load failed: {self.label} refers to the global {module}.{name}, "
                "which is not allowed. brickwork never runs code from a file (weights_only="
                "False does not change that): it loads tensors, Parameters, dtypes, devices, "
                "OrderedDict, built-in containers and values, and the classes and functions "
                "you allow-list. If you trust this global, allow it with brickwork.serialization"
                f".add_safe_globals([{name}]) or within brickwork.serialization.safe_globals("
                f"[{name}]) (a (obj, \"{module}.{name}\") pair allows an object saved under "
                "another name).")
        return obj

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        if not (isinstance(cls, type) and self._user_allowed(cls)):
            raise self._fail(f"creates a {short_repr(cls)} (NEWOBJ); only classes allow-listed "
                             "with brickwork.serialization.add_safe_globals can be created")
        if type(args) is not tuple:
            raise self._fail(f"creates {cls.__name__} with arguments of type "
                             f"{type(args).__name__} (NEWOBJ needs a tuple)")
        self.append(cls.__new__(cls, *args))

    def persistent_load(self, pid):
        return self._persistent(pid)

    def _refuse(self, code: int) -> None:
        raise self._fail(f"uses the pickle opcode {_REFUSED_OPCODES[code]}, which can construct "
                         "arbitrary objects and is not allowed")

    # hashing --------------------------------------------------------------------------------
    def _hashable(self, key) -> None:
        """Refuse ``key`` if hashing it would recurse through more than MAX_KEY_DEPTH tuples."""
        if not isinstance(key, tuple) or id(key) in self._depths:
            return
        depths = self._depths
        todo = [(key, False, 1)]
        while todo:
            node, children_done, level = todo.pop()
            if children_done:
                depths[id(node)] = (1 + max((depths[id(c)][0] for c in node
                                             if isinstance(c, tuple)), default=0), node)
                continue
            if id(node) in depths:
                continue
            if level > MAX_KEY_DEPTH:
                raise self._fail(f"has a dict key or set item nested more than "
                                 f"{MAX_KEY_DEPTH} tuples deep")
            todo.append((node, True, level))
            todo.extend((c, False, level + 1) for c in node
                        if isinstance(c, tuple) and id(c) not in depths)

    def _target(self, kinds: tuple, opcode: str):
        target = self.stack[-1]
        if type(target) not in kinds:
            raise self._fail(f"uses {opcode} on a {type(target).__name__}; it only applies "
                             f"to {'/'.join(k.__name__ for k in kinds)}")
        return target

    # opcodes that add to containers or call: the target and the items are checked first --
    def load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._hashable(key)
        self._target((dict, collections.OrderedDict), "SETITEM")[key] = value

    def _pairs(self, opcode: str) -> list:
        items = self.pop_mark()
        if len(items) % 2:
            raise self._fail(f"uses {opcode} with {len(items)} items, not key/value pairs")
        for key in items[::2]:
            self._hashable(key)
        return items

    def load_setitems(self) -> None:
        items = self._pairs("SETITEMS")
        target = self._target((dict, collections.OrderedDict), "SETITEMS")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def load_dict(self) -> None:
        items = self._pairs("DICT")
        self.append({items[i]: items[i + 1] for i in range(0, len(items), 2)})

    def load_additems(self) -> None:
        items = self.pop_mark()
        target = self._target((set,), "ADDITEMS")
        for item in items:
            self._hashable(item)
        target.update(items)

    def load_frozenset(self) -> None:
        items = self.pop_mark()
        for item in items:
            self._hashable(item)
        self.append(frozenset(items))

    def load_append(self) -> None:
        value = self.stack.pop()
        self._target((list,), "APPEND").append(value)

    def load_appends(self) -> None:
        items = self.pop_mark()
        self._target((list,), "APPENDS").extend(items)

    def load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if self._user_allowed(func):  # the user trusts it with whatever the file passes
            if type(args) is not tuple:
                raise self._fail(f"calls {getattr(func, '__name__', func)} with arguments of "
                                 f"type {type(args).__name__} (REDUCE needs a tuple)")
            self.stack[-1] = func(*args)
            return
        if _CALLABLE.get(id(func)) is not func:
            raise self._fail(f"calls a {type(func).__name__} (REDUCE), which is not allowed")
        if type(args) is not tuple:
            raise self._fail(f"calls {getattr(func, '__name__', func)} with arguments of type "
                             f"{type(args).__name__} (REDUCE needs a tuple)")
        if id(func) in _ITERATED and args:
            if len(args) != 1 or type(args[0]) not in _CONTAINERS:
                raise self._fail(f"calls {func.__name__} with {len(args)} argument(s) of types "
                                 f"{[type(a).__name__ for a in args][:4]}; expected one "
                                 "built-in container")
            if func is Size:
                if not all(type(n) is int for n in args[0]):
                    raise self._fail("builds a Size from values that are not all ints")
            elif func is collections.OrderedDict and type(args[0]) not in (dict,
                                                                           collections.OrderedDict):
                for pair in args[0]:
                    if type(pair) not in (tuple, list) or len(pair) != 2:
                        raise self._fail("builds an OrderedDict from items that are not pairs")
                    self._hashable(pair[0])
            elif func is not collections.OrderedDict:
                for item in args[0]:
                    self._hashable(item)
        self.stack[-1] = func(*args)

    def load_bytearray8(self) -> None:
        # Pure-Python pickle allocates the declared length (up to 2**63) before reading.
        raise self._fail("uses the pickle opcode BYTEARRAY8, which PyTorch files never contain")

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is collections.OrderedDict and type(state) is dict:
            for key in state:  # a state_dict's _metadata; never shadow a method (items, keys)
                if type(key) is not str or hasattr(collections.OrderedDict, key):
                    raise self._fail(f"sets the attribute {short_repr(key)} on an OrderedDict "
                                     "(BUILD), which is not allowed")
            inst.__dict__.update(state)
        elif isinstance(inst, Tensor) and (state is None
                                           or (type(state) in _CONTAINERS and not state)):
            pass
        elif self._user_allowed(type(inst)):
            set_state(inst, state)
        else:
            raise self._fail(f"sets state on a {type(inst).__name__} (BUILD), which is not "
                             "allowed")

    for _name in ("setitem", "setitems", "dict", "additems", "frozenset", "append", "appends",
                  "reduce", "bytearray8", "build", "newobj"):
        dispatch[getattr(pickle, _name.upper())[0]] = locals()[f"load_{_name}"]
    del _name


for _code in _REFUSED_OPCODES:
    RestrictedUnpickler.dispatch[_code[0]] = (
        lambda self, _c=_code: RestrictedUnpickler._refuse(self, _c))


def _unknown_opcode(code: int):
    def load_unknown(self) -> None:
        raise self._fail(f"has the byte 0x{code:02x} in data.pkl where a pickle opcode should "
                         "be (invalid load key): the file is damaged")
    return load_unknown


for _byte in range(256):
    RestrictedUnpickler.dispatch.setdefault(_byte, _unknown_opcode(_byte))
