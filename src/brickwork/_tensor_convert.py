"""Tensor's dtype-conversion methods: ``type``, ``type_as`` and ``float()``, ``long()``...

Kept apart from ``tensor.py`` so the Tensor class stays about what a tensor is; ``tensor.py``
imports this module last, which installs the methods. Each cast method is
``self.to(dtype, memory_format=memory_format)``, so the ten are generated from one table.
"""
from __future__ import annotations

from . import dtypes as _dt
from .tensor import Tensor

_LEGACY_TYPE_NAMES = {d: f"brickwork.{name}Tensor" for d, name in _dt._LEGACY.items()}
# ``type('torch.FloatTensor')`` reads as ``type('brickwork.FloatTensor')``: code written for
# PyTorch names its types with the torch prefix.
_TYPE_BY_NAME = {**{f"torch.{name}Tensor": d for d, name in _dt._LEGACY.items()},
                 **{v: k for k, v in _LEGACY_TYPE_NAMES.items()}}

# Method name -> the dtype it casts to (PyTorch's Tensor.float, Tensor.long...).
_CASTS = {
    "float": _dt.float32, "double": _dt.float64, "half": _dt.float16, "long": _dt.int64,
    "int": _dt.int32, "short": _dt.int16, "byte": _dt.uint8, "char": _dt.int8,
    "bool": _dt.bool, "bfloat16": _dt.bfloat16,
}


def _cast_method(dtype: _dt.dtype):
    def method(self, memory_format=None) -> "Tensor":
        return self.to(dtype, memory_format=memory_format)

    return method


def _type(self, dtype=None):
    if dtype is None:
        return _LEGACY_TYPE_NAMES[self.dtype]
    if isinstance(dtype, str):
        if dtype not in _TYPE_BY_NAME:
            raise ValueError(f"invalid type: '{dtype}'")
        dtype = _TYPE_BY_NAME[dtype]
    elif isinstance(dtype, type) and issubclass(dtype, Tensor) and \
            f"brickwork.{dtype.__name__}" in _TYPE_BY_NAME:  # type(FloatTensor)
        dtype = _TYPE_BY_NAME[f"brickwork.{dtype.__name__}"]
    return self.to(dtype)


def _type_as(self, other: "Tensor") -> "Tensor":
    return self.to(other.dtype)


def install() -> None:
    for name, dtype in _CASTS.items():
        setattr(Tensor, name, _cast_method(dtype))
    Tensor.type = _type
    Tensor.type_as = _type_as
    for name in (*_CASTS, "type", "type_as"):
        fn = Tensor.__dict__[name]
        # Named as if written in the class body, as the other Tensor methods read.
        fn.__name__, fn.__qualname__ = name, f"Tensor.{name}"


install()
