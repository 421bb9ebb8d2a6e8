"""Comparisons, logical and bitwise ops (bool or integer results, no gradient) and ``where``."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..device import runs_on_input_device
from ..tensor import _SCALAR_TYPE_NAMES, Tensor
from ._complex_grad import any_complex, refuse_complex_kernel
from ._util import promote, unbroadcast, wrap
from .elementwise import _no_grad_binary


def _cmp(name, fn, ordered: bool = False):
    def op(input, other) -> Tensor:
        if ordered and any_complex(input, other):  # complex numbers have no order
            refuse_complex_kernel(f"{name}_cpu", *promote(input, other))
        return _no_grad_binary(fn, input, other)

    op.__name__ = name
    op.__doc__ = f"Element-wise ``{name}`` comparison, a bool tensor. See: torch.{name}."
    return op


eq = _cmp("eq", np.equal)
ne = _cmp("ne", np.not_equal)
lt = _cmp("lt", np.less, ordered=True)
le = _cmp("le", np.less_equal, ordered=True)
gt = _cmp("gt", np.greater, ordered=True)
ge = _cmp("ge", np.greater_equal, ordered=True)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _integral_binary(name, fn):
    def op(input, other) -> Tensor:
        a, b = promote(input, other)
        refuse_complex_kernel(f"{name}_cpu", a, b)
        for x in (a, b):
            # 'V': bfloat16; PyTorch names the promoted dtype.
            if isinstance(x, Tensor) and x._data.dtype.kind in "fV" or isinstance(x, float):
                kind = _SCALAR_TYPE_NAMES[_dt.result_type(a, b).name]
                raise NotImplementedError(f'"{name}_cpu" not implemented for \'{kind}\'')
        return _no_grad_binary(fn, a, b)

    op.__name__ = name
    return op


bitwise_and = _integral_binary("bitwise_and", np.bitwise_and)
bitwise_or = _integral_binary("bitwise_or", np.bitwise_or)
bitwise_xor = _integral_binary("bitwise_xor", np.bitwise_xor)


@runs_on_input_device
def bitwise_not(input: Tensor) -> Tensor:
    """``~input``: logical not for bool, bitwise not for integers. See: torch.bitwise_not."""
    if input._data.dtype.kind in "fV":  # 'V': bfloat16
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return wrap(np.invert(input._data), input)


@runs_on_input_device
def _no_grad_unary_call(fn, input: Tensor) -> Tensor:
    return wrap(fn(input._data), input)


def _same_device(name: str, a: Tensor, b: Tensor) -> None:
    if a._device is not b._device:
        from ..autograd.function import _raise_device_mismatch

        _raise_device_mismatch(name, a._device, b._device)


def _logical(name, fn):
    def op(input, other=None) -> Tensor:
        if other is None:
            return _no_grad_unary_call(fn, input)
        return _no_grad_binary(fn, input, other)

    op.__name__ = name
    return op


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)
logical_not = _logical("logical_not", np.logical_not)


def isnan(input: Tensor) -> Tensor:
    return _no_grad_unary_call(np.isnan, input)


def isinf(input: Tensor) -> Tensor:
    return _no_grad_unary_call(np.isinf, input)


def isfinite(input: Tensor) -> Tensor:
    return _no_grad_unary_call(np.isfinite, input)


@runs_on_input_device
def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements. See: torch.equal."""
    _same_device("equal", input, other)
    return input.shape == other.shape and bool((input._data == other._data).all())


def allclose(input: Tensor, other: Tensor, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(np.allclose(input._host(), other._host(), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


@runs_on_input_device
def isclose(input: Tensor, other: Tensor, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    _same_device("isclose", input, other)
    return wrap(np.isclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan),
                input)


class Where(Function):
    _array_level = True
    _backward_name = "WhereBackward0"

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        ctx.shapes = (np.shape(a), np.shape(b))
        try:
            return np.where(cond, a, b)
        except ValueError:
            raise RuntimeError(f"where: shapes {list(np.shape(cond))}, {list(np.shape(a))} and "
                               f"{list(np.shape(b))} cannot be broadcast together") from None

    @staticmethod
    def backward(ctx, g):
        _, na, nb = ctx.needs_input_grad
        zero = g.dtype.type(0)
        ga = unbroadcast(np.where(ctx.cond, g, zero), ctx.shapes[0]) if na else None
        gb = unbroadcast(np.where(ctx.cond, zero, g), ctx.shapes[1]) if nb else None
        return None, ga, gb


def where(condition: Tensor, input=None, other=None):
    """Pick from ``input`` where ``condition`` holds, else from ``other``. See: torch.where."""
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    if condition._data.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype}")
    a, b = promote(input, other)
    return Where.apply(condition, a, b)


TENSOR_METHODS = {
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt,
    "greater_equal": ge, "less": lt, "less_equal": le, "not_equal": ne,
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
    "bitwise_not": bitwise_not, "logical_and": logical_and, "logical_or": logical_or,
    "logical_xor": logical_xor, "logical_not": logical_not, "isnan": isnan, "isinf": isinf,
    "isfinite": isfinite, "equal": equal, "allclose": allclose, "isclose": isclose,
    "where": lambda self, condition, other: where(condition, self, other),
}
INPLACE_METHODS = ("logical_not", "bitwise_and", "bitwise_or", "bitwise_xor")
__all__ = [k for k in TENSOR_METHODS if k != "where"] + ["where"]
