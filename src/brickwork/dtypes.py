"""Data types and PyTorch's type-promotion rules.

A :class:`dtype` wraps a NumPy dtype (CuPy uses the same ones). Promotion follows PyTorch, which
differs from NumPy in two ways that users notice: a float of any width beats an integer
(``int64 + float16 -> float16``), and Python scalars and zero-dim tensors only decide the result
when they are of a higher category (``int tensor + 1.5 -> float32``, the default dtype).

``bfloat16`` is ``ml_dtypes.bfloat16`` (NumPy has none; its NumPy kind is ``'V'``, so code that
asks "is this array floating point?" uses :func:`is_float_array`, never ``dtype.kind == 'f'``).
``ml_dtypes`` is imported on first use of bfloat16: importing it costs about a second (version
0.7), which every ``import brickwork`` (and every DataLoader worker and CLI call) would pay.
Complex dtypes rank above floats; ``uint16/32/64`` exist, as in PyTorch, with few ops and no
promotion to other integer types.
"""
from __future__ import annotations

import numpy as np

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type, printed ``brickwork.float32``. See: torch.dtype."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self._category = category
        self.is_floating_point = category == _FLOAT
        self.is_signed = self.np.kind in "ifc" or category == _FLOAT
        self.itemsize = self.np.itemsize

    @property
    def is_complex(self) -> bool:
        return self._category == _COMPLEX

    def to_real(self) -> "dtype":
        """The real dtype of a complex one (complex64 -> float32); other dtypes unchanged."""
        return _TO_REAL.get(self, self)

    def to_complex(self) -> "dtype":
        """The complex dtype of a float one (float32 -> complex64). See: torch.dtype.to_complex."""
        if self._category == _COMPLEX:
            return self
        try:
            return _TO_COMPLEX[self]
        except KeyError:
            raise RuntimeError(f"to_complex is not supported for {self}") from None

    def __repr__(self) -> str:
        return f"brickwork.{self.name}"

    def __reduce__(self):
        # dtypes are singletons: pickling by name keeps `is` comparisons true after a round trip.
        return (_by_name, (self.name,))


class _MLDtype(dtype):
    """A dtype whose NumPy type comes from ``ml_dtypes``, imported when first asked for."""

    __slots__ = ()

    def __init__(self, name: str, category: int, itemsize: int) -> None:
        self.name = name
        self._category = category
        self.is_floating_point = category == _FLOAT
        self.is_signed = True
        self.itemsize = itemsize

    @property
    def np(self):  # noqa: F811 - shadows the slot: resolved on first use
        import ml_dtypes

        d = np.dtype(getattr(ml_dtypes, self.name))
        _FROM_NP[d] = self
        return d


float16 = dtype("float16", np.float16, _FLOAT)
bfloat16 = _MLDtype("bfloat16", _FLOAT, 2)
float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
uint8 = dtype("uint8", np.uint8, _INT)
uint16 = dtype("uint16", np.uint16, _INT)
uint32 = dtype("uint32", np.uint32, _INT)
uint64 = dtype("uint64", np.uint64, _INT)
complex64 = dtype("complex64", np.complex64, _COMPLEX)
complex128 = dtype("complex128", np.complex128, _COMPLEX)
bool = dtype("bool", np.bool_, _BOOL)  # noqa: A001 - torch.bool is the public name

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
cfloat, cdouble = complex64, complex128

ALL = (float16, bfloat16, float32, float64, complex64, complex128, int8, int16, int32, int64,
       uint8, uint16, uint32, uint64, bool)
_TO_REAL = {complex64: float32, complex128: float64}
_TO_COMPLEX = {float32: complex64, float64: complex128}
# Unsigned types wider than uint8 promote only with themselves, floats and bool... not even bool.
_LIMITED = (uint16, uint32, uint64)
class _FromNumpy(dict):
    """NumPy dtype -> brickwork dtype; ml_dtypes' bfloat16 is added when first seen."""

    def __missing__(self, key):
        if is_bfloat16(key):
            self[key] = bfloat16
            return bfloat16
        raise KeyError(key)


_BY_NAME = {d.name: d for d in ALL}
_FROM_NP = _FromNumpy({d.np: d for d in ALL if d is not bfloat16})

_default_float = float32
_LEGACY = {uint8: "Byte", int8: "Char", int16: "Short", int32: "Int", int64: "Long",
           uint16: "UInt16", uint32: "UInt32", uint64: "UInt64", bool: "Bool", float16: "Half",
           bfloat16: "BFloat16", float32: "Float", float64: "Double", complex64: "ComplexFloat",
           complex128: "ComplexDouble"}


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def get_default_dtype() -> dtype:
    """The dtype of float tensors made from Python floats. See: torch.get_default_dtype."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of float tensors made from Python floats: float16, float32 or float64.

    See: torch.set_default_dtype.
    """
    global _default_float
    if not isinstance(d, dtype):  # PyTorch takes no Python type (float) or name here
        raise TypeError("invalid dtype object: only floating-point types are supported as the "
                        "default type")
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = d


def is_float_array(arr) -> builtins_bool:
    """Whether a NumPy/CuPy array (or dtype) holds floats, bfloat16 included (its kind is 'V')."""
    d = getattr(arr, "dtype", arr)
    return d.kind == "f" or (d.kind == "V" and d.name == "bfloat16")


def is_bfloat16(arr) -> builtins_bool:
    """Whether a NumPy/CuPy array (or dtype) is ml_dtypes' bfloat16, without importing it."""
    d = getattr(arr, "dtype", arr)
    return getattr(d, "kind", None) == "V" and d.name == "bfloat16"


def from_numpy_dtype(np_dtype) -> dtype:
    """The brickwork dtype for a NumPy dtype; TypeError for ones brickwork does not support."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {_np_type_name(np_dtype)}. The only supported types "
            "are: float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
            "uint64, uint32, uint16, uint8, and bool."
        ) from None


def to_dtype(d) -> dtype:
    """Accept a brickwork dtype, a NumPy dtype or a Python type (float, int, bool).

    Python's ``float`` means float64 (PyTorch's ``dtype=float``), whatever the default dtype.
    """
    if isinstance(d, dtype):
        return d
    if d is builtins_float:
        return float64
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool
    return from_numpy_dtype(d)


def _np_type_name(np_dtype) -> str:
    t = np.dtype(np_dtype).type
    return f"numpy.{t.__name__}" if t.__module__ == "numpy" else str(np.dtype(np_dtype))


import builtins as _builtins  # noqa: E402

builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promotion of two dtypes. See: torch.promote_types."""
    if a is b:
        return a
    if (a in _LIMITED or b in _LIMITED) and not (a.is_floating_point or b.is_floating_point):
        raise RuntimeError("Promotion for uint16, uint32, uint64 types is not supported, "
                           f"attempted to promote {_LEGACY[a]} and {_LEGACY[b]}")
    if a._category != b._category:
        hi, lo = (a, b) if a._category > b._category else (b, a)
        if hi.is_complex and lo is float64:  # complex64 + float64 keeps float64's precision
            return complex128
        return hi
    if {a, b} == {float16, bfloat16}:  # neither holds the other: both fit in float32
        return float32
    return _FROM_NP[np.promote_types(a.np, b.np)]


def scalar_dtype(x) -> dtype:
    """The dtype a Python scalar takes when it stands alone (``tensor(1.5)`` -> float32)."""
    if isinstance(x, builtins_bool):
        return bool
    if isinstance(x, builtins_int):
        return int64
    if isinstance(x, complex):
        return _default_float.to_complex()
    return _default_float


def _combine(higher, lower):
    # PyTorch's combine_categories: the higher-priority group (dimensioned tensors over
    # zero-dim tensors over Python scalars) wins unless the lower one is of a higher category.
    if higher is None:
        return lower
    if lower is None or higher._category >= lower._category:
        return higher
    if lower.is_complex and higher.is_floating_point:  # float tensor + 1j keeps its width
        if higher is float16:
            raise TypeError("float16 with a complex scalar makes complex32, which brickwork "
                            "does not support")
        return complex64 if higher is bfloat16 else _TO_COMPLEX[higher]
    if higher is bool or lower._category > higher._category:
        return lower if higher is bool else promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """The dtype PyTorch gives an op over these tensors and scalars. See: torch.result_type."""
    dim = zero = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            d = scalar_dtype(x)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))
