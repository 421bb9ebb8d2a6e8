"""Data types and PyTorch's type-promotion rules.

A :class:`dtype` wraps a NumPy dtype (CuPy uses the same ones). Promotion follows PyTorch, which
differs from NumPy in two ways that users notice: a float of any width beats an integer
(``int64 + float16 -> float16``), and Python scalars and zero-dim tensors only decide the result
when they are of a higher category (``int tensor + 1.5 -> float32``, the default dtype).
"""
from __future__ import annotations

import numpy as np

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """A tensor element type, printed ``brickwork.float32``. See: torch.dtype."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self._category = category
        self.is_floating_point = category == _FLOAT
        self.is_signed = self.np.kind in "if"
        self.itemsize = self.np.itemsize

    @property
    def is_complex(self) -> bool:
        return False

    def to_real(self) -> "dtype":
        return self

    def __repr__(self) -> str:
        return f"brickwork.{self.name}"

    def __reduce__(self):
        # dtypes are singletons: pickling by name keeps `is` comparisons true after a round trip.
        return (_by_name, (self.name,))


float16 = dtype("float16", np.float16, _FLOAT)
float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
uint8 = dtype("uint8", np.uint8, _INT)
bool = dtype("bool", np.bool_, _BOOL)  # noqa: A001 - torch.bool is the public name

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool)
_BY_NAME = {d.name: d for d in ALL}
_FROM_NP = {d.np: d for d in ALL}

_default_float = float32


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
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types "
            "are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
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


import builtins as _builtins  # noqa: E402

builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promotion of two dtypes. See: torch.promote_types."""
    if a is b:
        return a
    if a._category != b._category:
        return a if a._category > b._category else b
    return _FROM_NP[np.promote_types(a.np, b.np)]


def scalar_dtype(x) -> dtype:
    """The dtype a Python scalar takes when it stands alone (``tensor(1.5)`` -> float32)."""
    if isinstance(x, builtins_bool):
        return bool
    if isinstance(x, builtins_int):
        return int64
    return _default_float


def _combine(higher, lower):
    # PyTorch's combine_categories: the higher-priority group (dimensioned tensors over
    # zero-dim tensors over Python scalars) wins unless the lower one is of a higher category.
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool or lower.is_floating_point:
        return promote_types(higher, lower)
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
