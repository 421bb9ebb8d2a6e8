"""The object tree of a saved file as JSON: containers, scalars and references to tensors.

Used by the safetensors format, whose ``__metadata__`` can hold only strings. Encoding:

- ``None``, bools, ints and strings are themselves; floats are ``{"f": repr}`` (so ``nan``,
  ``inf`` and ``1.0`` vs ``1`` survive);
- lists ``{"l": [...]}``, tuples ``{"t": [...]}``, dicts ``{"d": [[key, value], ...]}`` (keys are
  encoded too: optimizer states use int keys), OrderedDicts ``{"od": [...], "attrs": {...}}``
  (a ``state_dict``'s ``_metadata`` rides in ``attrs``);
- tensors ``{"T": i}``, an index into the tensor table; one object saved twice has one index and
  comes back as one object;
- dtypes ``{"dtype": "float32"}``, devices ``{"device": "cpu"}``, Sizes ``{"size": [...]}``.
"""
from __future__ import annotations

import collections

from .. import dtypes as _dt
from ..device import device as _device
from ..size import Size
from ..tensor import Tensor
from ._common import CorruptFileError

SUPPORTED = ("Tensor, Parameter, dict, OrderedDict, list, tuple, int, float, str, bool, None, "
             "dtype, device")


def _key_text(key) -> str:
    return repr(key)


def encode(obj, on_tensor, path: str = "obj", depth: int = 0):
    """The JSON form of ``obj``; ``on_tensor(t, path)`` returns the table index of a tensor."""
    if depth > 200:
        raise ValueError(f"brickwork.save: {path} is nested more than 200 levels deep")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, Tensor):
        return {"T": on_tensor(obj, path)}
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return {"f": repr(float(obj))}
    if isinstance(obj, Size):
        return {"size": [int(n) for n in obj]}
    if type(obj) in (list, tuple):
        tag = "l" if isinstance(obj, list) else "t"
        return {tag: [encode(v, on_tensor, f"{path}[{i}]", depth + 1)
                      for i, v in enumerate(obj)]}
    if isinstance(obj, dict) and type(obj) in (dict, collections.OrderedDict):
        items = [[encode(k, _no_tensor_key(path), f"{path} key {_key_text(k)}", depth + 1),
                  encode(v, on_tensor, f"{path}[{_key_text(k)}]", depth + 1)]
                 for k, v in obj.items()]
        if type(obj) is dict:
            return {"d": items}
        attrs = getattr(obj, "__dict__", {})
        out = {"od": items}
        if attrs:
            out["attrs"] = encode(dict(attrs), on_tensor, f"{path}.__dict__", depth + 1)
        return out
    if isinstance(obj, _dt.dtype):
        return {"dtype": obj.name}
    if isinstance(obj, _device):
        return {"device": str(obj)}
    raise TypeError(f"brickwork.save: cannot save an object of type {type(obj).__name__} at "
                    f"{path}; files hold only {SUPPORTED} (they never store code)")


def _no_tensor_key(path):
    def refuse(t, p):
        raise TypeError(f"brickwork.save: a tensor cannot be a dict key ({p})")
    return refuse


def decode(node, tensors, where: str):
    """Rebuild the object from its JSON form; ``tensors[i]`` gives tensor ``i``."""
    if node is None or isinstance(node, (bool, str, int)):
        return node
    try:
        if isinstance(node, dict) and len(node) >= 1:
            tag = next(iter(node))
            val = node[tag]
            if tag == "T":
                return tensors[val]
            if tag == "f":
                return float(val)
            if tag == "l":
                return [decode(v, tensors, where) for v in val]
            if tag == "t":
                return tuple(decode(v, tensors, where) for v in val)
            if tag == "d":
                return {_hashable(decode(k, tensors, where)): decode(v, tensors, where)
                        for k, v in val}
            if tag == "od":
                out = collections.OrderedDict((_hashable(decode(k, tensors, where)),
                                               decode(v, tensors, where)) for k, v in val)
                if "attrs" in node:
                    out.__dict__.update(decode(node["attrs"], tensors, where))
                return out
            if tag == "dtype":
                return _dt._BY_NAME[val]
            if tag == "device":
                return _device(val)
            if tag == "size":
                return Size(int(n) for n in val)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise CorruptFileError(f"brickwork.load: {where}: bad object tree entry "
                               f"{str(node)[:80]!r} ({type(e).__name__}: {e})") from None
    raise CorruptFileError(f"brickwork.load: {where}: unknown object tree entry "
                           f"{str(node)[:80]!r}")


def _hashable(k):
    if isinstance(k, (list, dict)):
        raise TypeError(f"unhashable key {k!r}")
    return k
