"""The object tree of a saved file as JSON: containers, scalars and references to tensors.

Used by the safetensors format, whose ``__metadata__`` can hold only strings. Encoding:

- ``None``, bools, ints and strings are themselves; floats are ``{"f": repr}`` (so ``nan``,
  ``inf`` and ``1.0`` vs ``1`` survive);
- lists ``{"l": [...]}``, tuples ``{"t": [...]}``, dicts ``{"d": [[key, value], ...]}`` (keys are
  encoded too: optimizer states use int keys), OrderedDicts ``{"od": [...], "attrs": {...}}``
  (a ``state_dict``'s ``_metadata`` rides in ``attrs``), Counters ``{"ct": [...]}`` (a
  MultiStepLR's milestones);
- a container met before ``{"r": n}``: the n-th container written (counting from 0, in the
  order their opening tags appear), so a structure that holds one object in many places is
  written, and comes back, as one object, as pickle does (``(x, x)`` nested 40 deep stays 40
  containers, not 2**40), and lists and dicts that contain themselves survive;
- tensors ``{"T": i}``, an index into the tensor table; one object saved twice has one index and
  comes back as one object;
- dtypes ``{"dtype": "float32"}``, devices ``{"device": "cpu"}``, Sizes ``{"size": [...]}``.

Files without ``{"r": n}`` read exactly as before it existed; ``uses_refs`` tells the writer
whether a tree needs a reader that knows it.
"""
from __future__ import annotations

import collections

from .. import dtypes as _dt
from ..device import device as _device
from ..size import Size
from ..tensor import Tensor
from ._common import CorruptFileError

SUPPORTED = ("Tensor, Parameter, dict, OrderedDict, Counter, list, tuple, int, float, str, bool, "
             "None, dtype, device")
MAX_DEPTH = 200  # containers nested deeper than this are refused on save
_MAX_READ_DEPTH = MAX_DEPTH + 2  # what save can write (leaf values sit one level below)
_CONTAINERS = (list, tuple, dict, collections.OrderedDict, collections.Counter)
_PLAIN = frozenset({int, str, bool, type(None)})


def _render(path) -> str:
    # Paths are built lazily as (parent, suffix) pairs, a suffix being text or a (template,
    # key) pair: a dict of a million entries must not cost a million path strings; only errors
    # and tensors need the text.
    parts = []
    while isinstance(path, tuple):
        path, suffix = path
        parts.append(suffix if isinstance(suffix, str) else suffix[0].format(suffix[1]))
    return path + "".join(reversed(parts))


class _Encoder:
    def __init__(self, on_tensor) -> None:
        self.on_tensor = on_tensor
        # id -> (index, object): holding the object keeps its id from being reused mid-save.
        self.memo: dict[int, tuple] = {}
        self.open_tuples: set[int] = set()
        self.uses_refs = False
        self.in_key = 0  # > 0 while encoding a dict key, where tensors are refused

    def encode(self, obj, path, depth: int):
        if depth > MAX_DEPTH:
            raise ValueError(f"brickwork.save: {_render(path)} is nested more than {MAX_DEPTH} "
                             "levels deep")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            if self.in_key:
                raise TypeError(f"brickwork.save: a tensor cannot be a dict key "
                                f"({_render(path)})")
            return {"T": self.on_tensor(obj, _render(path))}
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return {"f": repr(float(obj))}
        if isinstance(obj, Size):
            return {"size": [int(n) for n in obj]}
        if type(obj) in _CONTAINERS:
            return self._container(obj, path, depth)
        if isinstance(obj, _dt.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, _device):
            return {"device": str(obj)}
        from .safe_globals import refuse_module

        refuse_module(obj)  # a whole model gets the state_dict advice
        raise TypeError(f"brickwork.save: cannot save an object of type {type(obj).__name__} "
                        f"at {_render(path)}; files hold only {SUPPORTED} (they never store "
                        "code)")

    def _container(self, obj, path, depth: int):
        seen = self.memo.get(id(obj))
        if seen is not None:
            if id(obj) in self.open_tuples:
                # A tuple is built from its items, so one of them cannot refer back to it.
                raise ValueError(f"brickwork.save: {_render(path)} is the tuple that contains "
                                 "it; brickwork files cannot hold a tuple inside itself")
            self.uses_refs = True
            return {"r": seen[0]}
        self.memo[id(obj)] = (len(self.memo), obj)
        depth += 1
        if type(obj) in (list, tuple):
            is_tuple = type(obj) is tuple
            if is_tuple:
                self.open_tuples.add(id(obj))
            items = []
            for i, v in enumerate(obj):
                # Plain values are themselves: skip the call (lists of a million ints).
                items.append(v if type(v) in _PLAIN else self.encode(v, (path, f"[{i}]"), depth))
            if is_tuple:
                self.open_tuples.discard(id(obj))
            return {"t" if is_tuple else "l": items}
        items = []
        for k, v in obj.items():
            if type(k) in _PLAIN:
                key = k
            else:
                self.in_key += 1
                try:
                    key = self.encode(k, (path, (" key {!r}", k)), depth)
                finally:
                    self.in_key -= 1
            items.append([key, v if type(v) in _PLAIN else self.encode(v, (path, ("[{!r}]", k)),
                                                                          depth)])
        if type(obj) is dict:
            return {"d": items}
        if type(obj) is collections.Counter:  # MultiStepLR's milestones
            return {"ct": items}
        out = {"od": items}
        attrs = obj.__dict__
        if attrs:
            out["attrs"] = self.encode(attrs, (path, ".__dict__"), depth)
        return out


def encode(obj, on_tensor, path: str = "obj"):
    """The JSON form of ``obj`` and whether it uses back-references (``{"r": n}``).

    ``on_tensor(t, path)`` returns the table index of a tensor. Raises ValueError naming the
    path for containers nested more than ``MAX_DEPTH`` deep, TypeError for unsupported objects.
    """
    enc = _Encoder(on_tensor)
    try:
        tree = enc.encode(obj, path, 0)
    except RecursionError:  # only when the caller's own stack is already deep
        raise ValueError(f"brickwork.save: {path} is nested too deeply to save from this "
                         "point of the program (Python's recursion limit)") from None
    return tree, enc.uses_refs


class _Pending:
    """Stands in the container table for a tuple whose items are still being read."""


_PENDING = _Pending()


class _Decoder:
    def __init__(self, tensors, where: str) -> None:
        self.tensors = tensors
        self.where = where
        self.containers: list = []

    def fail(self, node, reason: str) -> CorruptFileError:
        return CorruptFileError(f"brickwork.load: {self.where}: bad object tree entry "
                                f"{str(node)[:80]!r} ({reason})")

    def items(self, node, val, pairs: bool) -> list:
        if not isinstance(val, list) or pairs and not all(
                isinstance(p, list) and len(p) == 2 for p in val):
            raise self.fail(node, "expected a list" + (" of [key, value] pairs" if pairs
                                                       else ""))
        return val

    def decode(self, node, depth: int):
        if node is None or isinstance(node, (bool, str, int)):
            return node
        if not isinstance(node, dict) or not node:
            raise CorruptFileError(f"brickwork.load: {self.where}: unknown object tree entry "
                                   f"{str(node)[:80]!r}")
        if depth > _MAX_READ_DEPTH:
            raise self.fail(node, f"containers nested more than {_MAX_READ_DEPTH} deep")
        tag = next(iter(node))
        val = node[tag]
        if tag in ("l", "t", "d", "od", "ct"):
            return self._container(node, tag, val, depth + 1)
        if tag == "r":
            if not _is_index(val) or val >= len(self.containers):
                raise self.fail(node, f"refers to container {val!r} of "
                                f"{len(self.containers)} read so far")
            out = self.containers[val]
            if out is _PENDING:
                raise self.fail(node, "refers to a tuple from inside itself")
            return out
        if tag == "T":
            if not _is_index(val):
                raise self.fail(node, "a tensor index must be an integer >= 0")
            try:
                return self.tensors[val]
            except IndexError:
                raise self.fail(node, f"there is no tensor #{val}") from None
        try:
            if tag == "f" and isinstance(val, str):
                return float(val)
            if tag == "dtype" and isinstance(val, str):
                return _dt._BY_NAME[val]
            if tag == "device" and isinstance(val, str):
                return _device(val)
            if tag == "size" and isinstance(val, list) and all(_is_index(n) for n in val):
                return Size(val)
        except (KeyError, ValueError, TypeError, RuntimeError) as e:
            raise self.fail(node, f"{type(e).__name__}: {e}") from None
        raise CorruptFileError(f"brickwork.load: {self.where}: unknown object tree entry "
                               f"{str(node)[:80]!r}")

    def _container(self, node, tag: str, val, depth: int):
        slot = len(self.containers)
        if tag == "l":
            out = []
            self.containers.append(out)
            for v in self.items(node, val, False):
                out.append(v if type(v) in _PLAIN else self.decode(v, depth))
            return out
        if tag == "t":
            self.containers.append(_PENDING)
            values = []
            for v in self.items(node, val, False):
                values.append(v if type(v) in _PLAIN else self.decode(v, depth))
            out = self.containers[slot] = tuple(values)
            return out
        out = {} if tag == "d" else collections.Counter() if tag == "ct" \
            else collections.OrderedDict()
        self.containers.append(out)
        for k, v in self.items(node, val, True):
            key = self.decode(k, depth)
            if isinstance(key, (list, dict)):
                raise self.fail(node, f"unhashable key of type {type(key).__name__}")
            value = self.decode(v, depth)
            try:
                out[key] = value
            except TypeError as e:  # a tuple key holding a list
                raise self.fail(node, f"unhashable key: {e}") from None
        if "attrs" in node and tag == "od":
            attrs = self.decode(node["attrs"], depth)
            if not isinstance(attrs, dict) or not all(isinstance(k, str) for k in attrs):
                raise self.fail(node, "attrs must be a dict with string keys")
            out.__dict__.update(attrs)
        return out


def _is_index(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def decode(node, tensors, where: str):
    """Rebuild the object from its JSON form; ``tensors[i]`` gives tensor ``i``.

    Raises CorruptFileError naming ``where`` for any malformed entry, including back-references
    to containers not yet read and nesting deeper than a saved file can have.
    """
    try:
        return _Decoder(tensors, where).decode(node, 0)
    except RecursionError:  # only when the caller's own stack is already deep
        raise CorruptFileError(f"brickwork.load: {where}: the object tree is nested too deeply "
                               "to read from this point of the program (Python's recursion "
                               "limit)") from None
