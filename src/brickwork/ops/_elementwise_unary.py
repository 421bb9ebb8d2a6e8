"""Unary element-wise math (exp, log, sqrt, abs...) and rounding, each backward beside its forward.

Every op here is built by ``_unary`` from its ufunc and gradient rule. ``elementwise.py``
re-exports all of it, so ``from .elementwise import exp`` and the Tensor methods are unchanged.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import _SCALAR_TYPE_NAMES, Tensor
from ._complex_grad import cj, real_part, refuse_complex_kernel
from ._complex_grad import sgn_of as _sgn_of


class _Unary(Function):
    _array_level = True


def _float_input(x: Tensor) -> Tensor:
    """Integer inputs of float-valued math (exp, sqrt...) are computed in the default dtype."""
    if x._data.dtype.kind in "biu":
        from .. import dtypes as _dt

        return x.to(_dt.get_default_dtype())
    return x


def _unary(name: str, fwd, grad_fn, *, saves: str = "x", float_only: bool = True,
           backward_name: str | None = None):
    """Build a unary Function from its forward ufunc and ``grad_fn(g, x, out) -> grad``.

    ``saves`` is what the gradient reads, as PyTorch saves it: ``"x"``, ``"out"`` or ``""``
    (the other one reaches ``grad_fn`` as None). Saving no more than that keeps an in-place
    update of the other one legal (see ``autograd/_saved.py``).
    """

    def forward(ctx, x):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = fwd(x)
        if ctx.needs_input_grad[0]:
            ctx.x = x if saves == "x" else None
            ctx.out = out if saves == "out" else None
        return out

    def backward(ctx, g):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return grad_fn(g, ctx.x, ctx.out)

    cls = type(name.capitalize(), (_Unary,), {
        "_backward_name": backward_name or f"{name.capitalize()}Backward0",
        "forward": staticmethod(forward), "backward": staticmethod(backward)})

    def op(input: Tensor) -> Tensor:
        if float_only:
            input = _float_input(input)
        return cls.apply(input)

    op.__name__ = name
    op.__doc__ = f"Element-wise {name}. See: torch.{name}."
    return cls, op


Neg, neg = _unary("neg", np.negative, lambda g, x, y: -g, saves="", float_only=False)
# Each derivative goes through cj(): conjugated for complex inputs (PyTorch's convention).
Exp, exp = _unary("exp", np.exp, lambda g, x, y: g * cj(y), saves="out")
Log, log = _unary("log", np.log, lambda g, x, y: g / cj(x))
Log2, log2 = _unary("log2", np.log2,
                    lambda g, x, y: g / cj(x * np.log(2).astype(real_part(x).dtype)))
Log10, log10 = _unary("log10", np.log10,
                      lambda g, x, y: g / cj(x * np.log(10).astype(real_part(x).dtype)))
Log1p, log1p = _unary("log1p", np.log1p, lambda g, x, y: g / cj(1 + x))
Expm1, expm1 = _unary("expm1", np.expm1, lambda g, x, y: g * cj(y + 1), saves="out")
Sqrt, sqrt = _unary("sqrt", np.sqrt, lambda g, x, y: g / (2 * cj(y)), saves="out")
Rsqrt, rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda g, x, y: -0.5 * g * cj(y ** 3),
                      saves="out")
Sin, sin = _unary("sin", np.sin, lambda g, x, y: g * cj(np.cos(x)))
Cos, cos = _unary("cos", np.cos, lambda g, x, y: -g * cj(np.sin(x)))
Tan, tan = _unary("tan", np.tan, lambda g, x, y: g * cj(1 + y * y), saves="out")
Tanh, tanh = _unary("tanh", np.tanh, lambda g, x, y: g * cj(1 - y * y), saves="out")
Reciprocal, reciprocal = _unary("reciprocal", lambda x: 1 / x, lambda g, x, y: -g * cj(y * y),
                                saves="out")
Abs, abs = _unary("abs", np.abs, lambda g, x, y: g * _sgn_of(x), float_only=False)
Square, _square = _unary("square", np.square, lambda g, x, y: 2 * g * cj(x), float_only=False,
                         backward_name="PowBackward0")


def square(input: Tensor) -> Tensor:
    """``input ** 2``. See: torch.square."""
    return _square(input)


absolute = abs
negative = neg


def _rounding(name, fn, complex_error=None):
    # Rounding is piecewise constant: its gradient is zero almost everywhere (PyTorch agrees).
    cls, op = _unary(name, fn, lambda g, x, y: np.zeros_like(g), float_only=False)
    if complex_error is None:
        return op

    def checked(input: Tensor) -> Tensor:
        if input._data.dtype.kind == "c":  # PyTorch has no complex version of these
            complex_error(input)
        return op(input)

    checked.__name__, checked.__doc__ = op.__name__, op.__doc__
    return checked


def _no_complex(message: str):
    def refuse(input):
        raise NotImplementedError(message)
    return refuse


def _no_complex_kernel(kernel: str):
    return lambda input: refuse_complex_kernel(kernel, input)


# SignBackward0 with a zero gradient, as PyTorch.
def _sign(x):
    """``np.sign``, with 0 for NaN as PyTorch (NumPy gives NaN)."""
    out = np.sign(x)
    if x.dtype.kind == "f":
        out = np.where(np.isnan(x), 0, out).astype(out.dtype, copy=False)
    return out


sign = _rounding("sign", _sign, _no_complex(
    "Unlike NumPy, brickwork.sign is not intended to support complex numbers. Please use "
    "brickwork.sgn instead."))
sign.__doc__ = "-1, 0 or 1 by the sign of each element (zero gradient). See: torch.sign."


floor = _rounding("floor", np.floor, _no_complex("floor is not supported for complex inputs"))
ceil = _rounding("ceil", np.ceil, _no_complex("ceil is not supported for complex inputs"))
trunc = _rounding("trunc", np.trunc, _no_complex("trunc is not supported for complex inputs"))
fix = trunc


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even, as PyTorch. See: torch.round."""
    refuse_complex_kernel("round_vml_cpu" if decimals == 0 else "round_cpu", input)
    return _round(input) if decimals == 0 else _round(input * 10 ** decimals) / 10 ** decimals


_round = _rounding("round", np.round)


def frac(input: Tensor) -> Tensor:
    """Fractional part, ``input - trunc(input)``. See: torch.frac."""
    refuse_complex_kernel("frac_cpu", input)
    if not input.is_floating_point():
        raise NotImplementedError(f'"frac_cpu" not implemented for '
                                  f"'{_SCALAR_TYPE_NAMES[input.dtype.name]}'")
    return input - trunc(input)
