"""Element-wise arithmetic and math, each op's backward beside its forward.

Binary ops broadcast as NumPy does; their backward sums each gradient back to the input's shape
(``unbroadcast``). Python scalars pass straight through to NumPy, which treats them as weakly
typed exactly like PyTorch does once ``promote`` has fixed the tensor side.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..device import runs_on_input_device
from ..tensor import Tensor
from ._bf16 import float32_compute, is_bf16
from ._bf16 import rounded as bf16_rounded
from ._int_division import integer_operands as _integer_operands
from ._int_division import refuse_zero_divisor as _refuse_zero_divisor
from ._int_division import trunc_divide as _trunc_divide
from ._complex_grad import any_complex, cj, real_part, refuse_complex_kernel
# Unary math and rounding live in _elementwise_unary.py; re-exported here, where the rest of
# the code base and the Tensor methods look for them.
from ._elementwise_unary import (_float_input, _unary, abs, absolute, ceil,  # noqa: F401
                                 cos, exp, expm1, fix, floor, frac, log, log1p, log2, log10, neg,
                                 negative, reciprocal, round, rsqrt, sign, sin, sqrt, square, tan,
                                 tanh, trunc)
from ._util import broadcast_mismatch, promote, unbroadcast, xp_of


def _shape(x):
    return x.shape if hasattr(x, "shape") else ()


def _broadcast_error(op: str, a, b) -> RuntimeError:
    sa, sb = _shape(a), _shape(b)
    return RuntimeError(f"{op}: {broadcast_mismatch(sa, sb)} (shapes {list(sa)} and "
                        f"{list(sb)})")


class _Binary(Function):
    """Base for broadcasting binary ops: records input shapes for the backward's reduction."""

    _array_level = True
    _op_name = ""

    @classmethod
    def _run(cls, ctx, a, b, fn):
        try:
            out = fn(a, b)
        except ValueError:
            raise _broadcast_error(cls._op_name, a, b) from None
        na, nb = ctx.needs_input_grad
        if na or nb:
            ctx.shapes = (a.shape if na else None, b.shape if nb else None)
        return out


class Add(_Binary):
    _backward_name = "AddBackward0"
    _op_name = "add"

    @staticmethod
    def forward(ctx, a, b):
        # Inlined _run: add is the op users time first, and one call less is measurable.
        try:
            out = a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None
        na, nb = ctx.needs_input_grad
        if na or nb:
            ctx.shapes = (a.shape if na else None, b.shape if nb else None)
        return out

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, sa) if na else None, unbroadcast(g, sb) if nb else None)


class Sub(_Binary):
    _backward_name = "SubBackward0"
    _op_name = "sub"

    @staticmethod
    def forward(ctx, a, b):
        return Sub._run(ctx, a, b, np.subtract)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, sa) if na else None, unbroadcast(-g, sb) if nb else None)


class AddScaled(_Binary):
    """``a + alpha * b`` of two float32 arrays rounded once, as PyTorch's fused multiply-add
    (computed in float64, where the product is exact): with a product rounded first, 18% of
    ``add(a, b, alpha=0.3)`` differed from PyTorch in the last bit. ``alpha`` negated: sub."""

    _backward_name = "AddBackward0"
    _op_name = "add"

    @staticmethod
    def forward(ctx, a, b, alpha):
        try:
            out = np.add(a.astype(np.float64), b.astype(np.float64) * float(np.float32(alpha)))
        except ValueError:
            raise _broadcast_error(AddScaled._op_name, a, b) from None
        ctx.alpha, ctx.shapes = alpha, (a.shape, b.shape)
        return out.astype(np.float32)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad[:2]
        return (unbroadcast(g, sa) if na else None,
                unbroadcast(g * ctx.alpha, sb) if nb else None, None)


class SubScaled(AddScaled):
    _backward_name = "SubBackward0"
    _op_name = "sub"


def _fused_alpha(input, other, alpha) -> bool:
    """Whether ``input +- alpha * other`` goes through ``AddScaled``: two float32 NumPy
    tensors and a real Python alpha."""
    return (isinstance(input, Tensor) and isinstance(other, Tensor)
            and input._data.__class__ is np.ndarray and other._data.__class__ is np.ndarray
            and input._data.dtype == np.float32 and other._data.dtype == np.float32
            and isinstance(alpha, (int, float)) and not isinstance(alpha, bool))


class Mul(_Binary):
    _backward_name = "MulBackward0"
    _op_name = "mul"

    @staticmethod
    def forward(ctx, a, b):
        # Save what PyTorch saves (each operand only for the other's gradient): an in-place
        # update of an operand that is not needed must not fail backward (see _saved.py).
        na, nb = ctx.needs_input_grad
        ctx.a, ctx.b = a if nb else None, b if na else None
        return Mul._run(ctx, a, b, np.multiply)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        # Complex: the derivative is conjugated (PyTorch's convention, see _complex_grad).
        return (unbroadcast(g * cj(ctx.b), sa) if na else None,
                unbroadcast(g * cj(ctx.a), sb) if nb else None)


class Div(_Binary):
    _backward_name = "DivBackward0"
    _op_name = "div"

    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad  # saved as PyTorch saves them (see Mul)
        ctx.a, ctx.b = a if nb else None, b if na or nb else None
        with np.errstate(divide="ignore", invalid="ignore"):
            return Div._run(ctx, a, b, np.true_divide)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        a, b = ctx.a, ctx.b
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = unbroadcast(g / cj(b), sa) if na else None
            gb = unbroadcast(-g * cj(a / (b * b)), sb) if nb else None
        return ga, gb


# PyTorch's float kernels for a number exponent: these by products, roots and reciprocals
# (so x ** 2 is exactly x * x, and (-x) ** 2 == x ** 2), the rest by a pow of about 1 ulp.
_POW_BY_NUMBER = {2.0: lambda a: a * a, 3.0: lambda a: a * a * a,
                  -2.0: lambda a: np.reciprocal(a * a), 0.5: np.sqrt,
                  -0.5: lambda a: np.reciprocal(np.sqrt(a)), -1.0: np.reciprocal}


def _power(a, b):
    """``a ** b`` as PyTorch's CPU kernels round it, for float32/float64 NumPy bases: the
    special exponents above, and float32 otherwise through float64 (correctly rounded nearly
    always; NumPy's vectorized float32 power rounded 21% of random cases differently and gave
    (-x) ** 2 != x ** 2 for an array of exponents)."""
    if a.__class__ is not np.ndarray or a.dtype not in _POW_FLOATS:
        return np.power(a, b)
    if b.__class__ in (int, float):
        special = _POW_BY_NUMBER.get(b)
        if special is not None:
            return special(a)
    if a.dtype == np.float32 and (b.__class__ in (int, float) or b.dtype == np.float32):
        return np.power(a.astype(np.float64), b.astype(np.float64) if b.__class__ is
                        np.ndarray else float(b)).astype(np.float32)
    return np.power(a, b)


_POW_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Pow(_Binary):
    _backward_name = "PowBackward0"
    _op_name = "pow"

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = Pow._run(ctx, a, b, _power)
        if isinstance(out, np.generic):  # 0-d arithmetic gives a NumPy scalar; backward needs
            out = np.asarray(out)        # an array (xp_of)
        # The result only for the exponent's gradient, as PyTorch (see Mul).
        ctx.a, ctx.b, ctx.out = a, b, out if ctx.needs_input_grad[1] else None
        return out

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        a, b, out = ctx.a, ctx.b, ctx.out
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if na:
                # d(a^b)/da = b * a^(b-1); PyTorch defines it as 0 where b == 0.
                ga = g * cj(b * _power(a, b - 1))
                if not np.isscalar(b):
                    ga = xp_of(ga).where(b == 0, 0, ga).astype(ga.dtype, copy=False)
                elif b == 0:
                    ga = xp_of(ga).zeros_like(ga)
                ga = unbroadcast(ga, sa)
            if nb:
                # d(a^b)/db = a^b * log(a); 0 where a == 0 and b >= 0, as PyTorch.
                xp = xp_of(out)
                lg = g * cj(out * xp.log(a))
                lg = xp.where((xp.asarray(a) == 0) & (real_part(xp.asarray(b)) >= 0), 0, lg)
                gb = unbroadcast(lg.astype(out.dtype, copy=False), sb)
        return ga, gb


class Maximum(_Binary):
    _backward_name = "MaximumBackward0"
    _op_name = "maximum"

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return Maximum._run(ctx, a, b, np.maximum)

    @staticmethod
    def backward(ctx, g):
        return _minmax_grad(ctx, g, ctx.a > ctx.b)


class Minimum(_Binary):
    _backward_name = "MinimumBackward0"
    _op_name = "minimum"

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return Minimum._run(ctx, a, b, np.minimum)

    @staticmethod
    def backward(ctx, g):
        return _minmax_grad(ctx, g, ctx.a < ctx.b)


def _minmax_grad(ctx, g, a_wins):
    # Ties split the gradient evenly between both inputs, as PyTorch does.
    sa, sb = ctx.shapes
    na, nb = ctx.needs_input_grad
    tie = ctx.a == ctx.b
    wa = a_wins + 0.5 * tie
    ga = unbroadcast((g * wa).astype(g.dtype, copy=False), sa) if na else None
    gb = unbroadcast((g * (1 - wa)).astype(g.dtype, copy=False), sb) if nb else None
    return ga, gb


def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other`` with broadcasting. See: torch.add."""
    if alpha != 1:
        if _fused_alpha(input, other, alpha):
            return AddScaled.apply(input, other, alpha)
        if (is_bf16(input) or is_bf16(other)) and isinstance(alpha, (int, float)):
            return _scaled_in_float32(add, input, other, alpha)
        other = mul(other, alpha)
    elif isinstance(other, Tensor) and isinstance(input, Tensor) \
            and input._data.dtype is other._data.dtype:
        return Add._apply2(input, other)  # the common case, without promote's call
    a, b = promote(input, other)
    if not isinstance(a, Tensor):  # scalar + tensor: keep the tensor first for the device
        return Add.apply(b, a)
    return Add.apply(a, b)


# bfloat16 with a Python float factor: NumPy would round the float to bfloat16 and the product
# again before the op; PyTorch multiplies (and divides) in float32 and rounds once. (A float
# added or subtracted is rounded to bfloat16 first by PyTorch too, as by NumPy.)
@float32_compute
def _in_float32(fn, input, other):
    return fn(input, other)


@float32_compute
def _scaled_in_float32(fn, input, other, alpha):
    # PyTorch rounds alpha to bfloat16, then computes input + alpha * other in float32.
    return fn(input, mul(other, bf16_rounded(alpha)))


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other``. See: torch.sub."""
    if alpha != 1:
        if _fused_alpha(input, other, alpha):
            return SubScaled.apply(input, other, -alpha)
        if (is_bf16(input) or is_bf16(other)) and isinstance(alpha, (int, float)):
            return _scaled_in_float32(sub, input, other, alpha)
        other = mul(other, alpha)
    ba, bb = _is_boolish(input), _is_boolish(other)
    if ba and bb:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if ba or bb:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    a, b = promote(input, other)
    return Sub.apply(a, b)


def _is_boolish(x) -> bool:
    # PyTorch refuses subtraction when either side is a bool tensor or a Python bool.
    return isinstance(x, bool) or (isinstance(x, Tensor) and x._data.dtype == np.bool_)


def rsub(input, other, alpha=1) -> Tensor:
    return sub(other, input, alpha=alpha)


def mul(input, other) -> Tensor:
    """Element-wise product. See: torch.mul."""
    if isinstance(other, Tensor) and isinstance(input, Tensor) \
            and input._data.dtype is other._data.dtype:
        return Mul._apply2(input, other)
    a, b = promote(input, other)
    if not isinstance(a, Tensor):
        a, b = b, a
    if isinstance(b, float) and is_bf16(a):
        return _in_float32(mul, a, b)
    return Mul.apply(a, b)


def div(input, other, *, rounding_mode=None) -> Tensor:
    """True division (integers give float32), or ``'trunc'``/``'floor'``. See: torch.div."""
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode is not None and rounding_mode != "trunc":
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    from .. import dtypes as _dt

    a, b = promote(input, other)
    t = a if isinstance(a, Tensor) else b
    if not (t.is_floating_point() or t._data.dtype.kind == "c"):
        if rounding_mode == "trunc":  # integer arithmetic: exact, where a float detour is not
            _integer_operands("div_trunc", a, b)
            return _refuse_zero_divisor(_no_grad_binary(_trunc_divide, a, b), b)
        a, b = promote(a if isinstance(a, Tensor) else float(a),
                       b if isinstance(b, Tensor) else float(b))
        if not (isinstance(a, Tensor) and a.is_floating_point()) and not (
                isinstance(b, Tensor) and b.is_floating_point()):
            a = a.to(_dt.get_default_dtype()) if isinstance(a, Tensor) else a
            b = b.to(_dt.get_default_dtype()) if isinstance(b, Tensor) else b
    elif isinstance(b, float) and is_bf16(a):
        out = _in_float32(div, a, b)
        return trunc(out) if rounding_mode == "trunc" else out
    elif isinstance(a, float) and is_bf16(b) and rounding_mode is None:
        return mul(reciprocal(b), a)  # PyTorch's float / tensor: two roundings
    out = Div.apply(a, b)
    return trunc(out) if rounding_mode == "trunc" else out


true_divide = divide = div
multiply = mul
subtract = sub


# Comparisons and logical ops raise no floating-point flags (NaN compares quietly), so they
# skip errstate's ~1.2 us: a third of a comparison of small tensors.
_QUIET = frozenset((np.equal, np.not_equal, np.less, np.less_equal, np.greater,
                    np.greater_equal, np.logical_and, np.logical_or, np.logical_xor,
                    np.bitwise_and, np.bitwise_or, np.bitwise_xor))


@runs_on_input_device
def _no_grad_binary(fn, input, other):
    a, b = promote(input, other)
    t = a if isinstance(a, Tensor) else b
    ad = a._data if isinstance(a, Tensor) else a
    bd = b._data if isinstance(b, Tensor) else b
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._device is not b._device:
        Function.apply.__func__(_Binary, a, b)  # raises the cross-device error
    try:
        if fn in _QUIET:
            res = fn(ad, bd)
        else:
            # over: integer MIN // -1 wraps, as in PyTorch
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                res = fn(ad, bd)
    except ValueError:
        raise _broadcast_error(fn.__name__, ad, bd) from None
    from ._util import wrap

    return wrap(res, t)


def floor_divide(input, other) -> Tensor:
    """Division rounded down; not differentiable. See: torch.floor_divide.

    Raises:
        RuntimeError: ``ZeroDivisionError`` for an integer division by zero, as PyTorch.
    """
    a, b = promote(input, other)
    refuse_complex_kernel("div_floor_cpu", a, b)
    if _integer_operands("div_floor", a, b):
        return _refuse_zero_divisor(_no_grad_binary(np.floor_divide, a, b), b)
    return _no_grad_binary(np.floor_divide, a, b)


class Remainder(_Binary):
    _backward_name = "RemainderBackward0"
    _op_name = "remainder"

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        with np.errstate(divide="ignore", invalid="ignore"):
            return Remainder._run(ctx, a, b, np.remainder)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        gb = None
        if nb:
            gb = unbroadcast(-g * np.floor_divide(ctx.a, ctx.b), sb)
        return (unbroadcast(g, sa) if na else None), gb


def remainder(input, other) -> Tensor:
    """Python-style modulus (sign of the divisor). See: torch.remainder.

    Raises:
        RuntimeError: ``ZeroDivisionError`` for an integer modulus by zero, as PyTorch.
    """
    a, b = promote(input, other)
    refuse_complex_kernel("remainder_cpu", a, b)
    if _integer_operands("remainder", a, b):
        return _refuse_zero_divisor(Remainder.apply(a, b), b)
    return Remainder.apply(a, b)


def fmod(input, other) -> Tensor:
    """C-style modulus (sign of the dividend); not differentiable in ``other``.

    Raises:
        RuntimeError: ``ZeroDivisionError`` for an integer modulus by zero, as PyTorch.
    """
    a, b = promote(input, other)
    refuse_complex_kernel("fmod_cpu", a, b)
    if _integer_operands("fmod", a, b):
        return _refuse_zero_divisor(_no_grad_binary(np.fmod, a, b), b)
    return _no_grad_binary(np.fmod, a, b)


def pow(input, exponent) -> Tensor:
    """``input ** exponent`` for tensors and scalars on either side. See: torch.pow."""
    a, b = promote(input, exponent)
    if isinstance(a, Tensor) and isinstance(b, int) and a._data.dtype.kind in "iu" and b < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if not isinstance(a, Tensor):
        from .. import factories

        a = factories.tensor(a, dtype=b.dtype, device=b.device)
    return Pow.apply(a, b)


def maximum(input, other) -> Tensor:
    """Element-wise maximum of two tensors. See: torch.maximum."""
    if any_complex(input, other):
        raise RuntimeError("maximum not implemented for complex tensors.")
    return Maximum.apply(*promote(input, other))


def minimum(input, other) -> Tensor:
    """Element-wise minimum of two tensors. See: torch.minimum."""
    if any_complex(input, other):
        raise RuntimeError("minimum not implemented for complex tensors.")
    return Minimum.apply(*promote(input, other))


class Clamp(Function):
    _array_level = True
    _backward_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, lo, hi):
        out = np.clip(x, lo, hi) if not (lo is None and hi is None) else x.copy()
        if ctx.needs_input_grad[0]:
            ctx.mask = _inside(x, lo, hi)
        return out

    @staticmethod
    def backward(ctx, g):
        # where, not g * mask: an inf/nan upstream gradient at a clamped entry gives 0, as PyTorch.
        return xp_of(g).where(ctx.mask, g, 0), None, None


def _inside(x, lo, hi):
    mask = np.ones_like(x, dtype=bool) if lo is None else x >= lo
    if hi is not None:
        mask = mask & (x <= hi)
    return mask


@float32_compute
def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit every element to ``[min, max]``; the gradient flows only inside. See: torch.clamp."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if input._data.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if input._data.dtype.kind in "iu" and (isinstance(min, float) or isinstance(max, float)):
        from .. import dtypes as _dt

        input = input.to(_dt.get_default_dtype())
    return Clamp.apply(input, min, max)


clip = clamp


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


@float32_compute
def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """``input + weight * (end - input)``. See: torch.lerp."""
    return add(input, mul(sub(end, input), weight))


@float32_compute
def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    return add(input, mul(mul(tensor1, tensor2), value))


@float32_compute
def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    return add(input, mul(div(tensor1, tensor2), value))


TENSOR_METHODS = {
    "add": add, "sub": sub, "mul": mul, "div": div, "true_divide": div, "divide": div,
    "multiply": mul, "subtract": sub, "floor_divide": floor_divide, "remainder": remainder,
    "fmod": fmod, "pow": pow, "maximum": maximum, "minimum": minimum, "neg": neg,
    "negative": neg, "exp": exp, "log": log, "log2": log2, "log10": log10, "log1p": log1p,
    "expm1": expm1, "sqrt": sqrt, "rsqrt": rsqrt, "sin": sin, "cos": cos, "tan": tan,
    "tanh": tanh, "reciprocal": reciprocal, "abs": abs, "absolute": abs, "square": square,
    "sign": sign, "floor": floor, "ceil": ceil, "trunc": trunc, "round": round, "frac": frac,
    "clamp": clamp, "clip": clamp, "clamp_min": clamp_min, "clamp_max": clamp_max,
    "lerp": lerp, "addcmul": addcmul, "addcdiv": addcdiv,
}
INPLACE_METHODS = ("add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "sin", "cos",
                   "tanh", "abs", "clamp", "clip", "clamp_min", "clamp_max", "floor", "ceil",
                   "round", "trunc", "reciprocal", "remainder", "fmod", "lerp", "addcmul",
                   "addcdiv", "square", "sign", "log1p", "expm1", "rsqrt", "floor_divide")
__all__ = list(TENSOR_METHODS) + ["rsub"]
