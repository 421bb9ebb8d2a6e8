"""Install the ops of ``brickwork/ops`` as Tensor methods and Python operators.

Kept apart from ``tensor.py`` so that the Tensor class stays about what a tensor is, and each op
family owns the list of methods it provides (``TENSOR_METHODS`` / ``INPLACE_METHODS``).
"""
from __future__ import annotations

from .ops import FAMILIES
from .ops.comparison import (bitwise_and, bitwise_not, bitwise_or, bitwise_xor, eq, ge, gt, le,
                             lt, ne)
from .ops.elementwise import (add, div, floor_divide, mul, neg, pow, reciprocal, remainder, rsub,
                             sub)
from .tensor import Tensor


def _inplace_method(fn):
    def method(self, *args, **kwargs):
        return self._inplace(fn, *args, **kwargs)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place form of ``{fn.__name__}``."
    return method


def _reflected(fn):
    def method(self, other):
        return fn(other, self)

    method.__name__ = f"__r{fn.__name__}__"
    return method


def _rtruediv(self, other):
    """``other / self`` for a number ``other``: PyTorch computes ``self.reciprocal() *
    other``, two roundings (MulBackward0), not one division."""
    return mul(reciprocal(self), other)


def install() -> None:
    for family in FAMILIES:
        for name, fn in family.TENSOR_METHODS.items():
            setattr(Tensor, name, fn)
        for name in family.INPLACE_METHODS:
            setattr(Tensor, name + "_", _inplace_method(family.TENSOR_METHODS[name]))
    ops = {
        "add": add, "sub": sub, "mul": mul, "truediv": div, "floordiv": floor_divide,
        "mod": remainder, "pow": pow, "and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor,
    }
    for name, fn in ops.items():
        setattr(Tensor, f"__{name}__", fn)
        setattr(Tensor, f"__i{name}__", _inplace_method(fn))
        setattr(Tensor, f"__r{name}__", _reflected(fn))
    Tensor.__radd__ = add  # commutative: skip the extra frame
    Tensor.__rmul__ = mul
    Tensor.__rsub__ = rsub
    Tensor.__rtruediv__ = _rtruediv
    Tensor.__neg__ = neg
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = Tensor.abs
    Tensor.__invert__ = bitwise_not
    for name, fn in {"eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge}.items():
        setattr(Tensor, f"__{name}__", fn)
    linalg_methods = FAMILIES[-1].TENSOR_METHODS
    if "matmul" in linalg_methods:
        Tensor.__matmul__ = linalg_methods["matmul"]
        Tensor.__rmatmul__ = _reflected(linalg_methods["matmul"])
    index_methods = FAMILIES[-2].TENSOR_METHODS
    if "__getitem__" in index_methods:
        Tensor.__getitem__ = index_methods["__getitem__"]
        Tensor.__setitem__ = index_methods["__setitem__"]
    # PyTorch's transpose properties: T reverses every dim, mT swaps the last two.
    Tensor.T = property(lambda self: self.permute(*range(self.ndim - 1, -1, -1)),
                        doc="The tensor with its dimensions reversed.")
    Tensor.mT = property(lambda self: self.transpose(-2, -1),
                         doc="The tensor with its last two dimensions swapped.")
    # Real and imaginary parts are properties (views of a complex tensor), as in PyTorch.
    from .ops.complex_ops import imag, real

    Tensor.real = property(real, doc="The real part: the tensor itself for a real tensor.")
    Tensor.imag = property(imag, doc="The imaginary part (complex tensors only).")
    Tensor.zero_ = lambda self: self._inplace_fill(0, zero=True)
    Tensor.fill_ = lambda self, value: self._inplace_fill(value)


install()
