"""More element-wise math: inverse trigonometric and hyperbolic functions, logaddexp, hypot,
copysign, nextafter, frexp/ldexp, fmax/fmin, gcd/lcm, the special functions of
``_special_ops`` as ``torch.*`` names and Tensor methods, the aliases PyTorch keeps (``arcsin``,
``fix``, ``clip``...), in-place forms, and the constants ``pi``, ``e``, ``inf``, ``nan``,
``newaxis``.

Backward code runs on arrays or, for ``create_graph``, on recorded values (``Lifted``); a
gradient that needs a function the recorder does not know (``cosh`` for ``sinh``) calls the
brickwork op through ``_ev`` so that it stays differentiable.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..autograd._lifted import Lifted
from ..autograd.function import Function
from ..device import runs_on_input_device
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._special_ops import (digamma, erfc, erfinv, float_pair, i0, lgamma, logit, mvlgamma,
                           polygamma, sinc, tensor_pair, xlogy)
from ._complex_grad import any_complex, cj, real_part, refuse_complex_kernel
from ._util import unbroadcast, wrap
from .activation_extra import erf
from .conv import scalar_name
from .elementwise import _unary as _elementwise_unary
from .elementwise import (_float_input, absolute, div, log2, log10, mul, negative, pow,
                          sign, sub, tan, trunc)

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None


def _ev(name: str, x):
    """``name`` of an array, or of a recorded value (then the differentiable brickwork op)."""
    if x.__class__ is Lifted:
        return Lifted(globals()[name](x.t))
    return getattr(np, _NP_NAMES.get(name, name))(x)


_NP_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
             "acosh": "arccosh", "atanh": "arctanh"}


def _unary(name: str, grad, *, saves: str = "x"):
    """A float unary op from NumPy's ufunc and ``grad(g, x, out)``; integers become floats.

    Built by ``elementwise._unary``; the forward also takes a recorded value (a create_graph
    replay of an op that saves its output), which it records through the op itself.
    """
    ufunc = getattr(np, _NP_NAMES.get(name, name))

    def fwd(x):
        if x.__class__ is Lifted:
            return Lifted(op(x.t))
        return ufunc(x)

    _, op = _elementwise_unary(name, fwd, grad, saves=saves)
    return op


def _rsqrt(v):
    return 1 / np.sqrt(v)


# cj(): complex inputs take the conjugated derivative (PyTorch's convention, _complex_grad).
sinh = _unary("sinh", lambda g, x, y: g * cj(_ev("cosh", x)))
cosh = _unary("cosh", lambda g, x, y: g * cj(_ev("sinh", x)))
asin = _unary("asin", lambda g, x, y: g * cj(_rsqrt(1 - x * x)))
acos = _unary("acos", lambda g, x, y: -g * cj(_rsqrt(1 - x * x)))
atan = _unary("atan", lambda g, x, y: g / cj(x * x + 1))
asinh = _unary("asinh", lambda g, x, y: g * cj(_rsqrt(x * x + 1)))
acosh = _unary("acosh", lambda g, x, y: g * cj(_rsqrt(x * x - 1)))
atanh = _unary("atanh", lambda g, x, y: g / cj(1 - x * x))
exp2 = _unary("exp2", lambda g, x, y: g * cj(y) * np.asarray(math.log(2), real_part(y).dtype)[()],
              saves="out")
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
fix = trunc


@float32_compute
def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians. See: torch.deg2rad."""
    if input._data.dtype.kind == "c":
        raise RuntimeError("deg2rad is not supported for complex tensors.")
    return mul(_float_input(input), math.pi / 180)


@float32_compute
def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees. See: torch.rad2deg."""
    if input._data.dtype.kind == "c":
        raise RuntimeError("rad2deg is not supported for complex tensors.")
    return mul(_float_input(input), 180 / math.pi)


def positive(input: Tensor) -> Tensor:
    """``input`` itself. See: torch.positive.

    Raises:
        RuntimeError: for a bool tensor, as PyTorch.
    """
    if input.dtype is _dt.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def sgn(input: Tensor) -> Tensor:
    """The sign of each element (for real tensors, ``sign``). See: torch.sgn."""
    return sign(input)


@runs_on_input_device
def signbit(input: Tensor) -> Tensor:
    """Whether the sign bit is set (true for -0.0). See: torch.signbit."""
    if input._data.dtype.kind == "c":
        raise NotImplementedError("signbit is not implemented for complex tensors.")
    return wrap(np.signbit(input._data), input)


# -- binary -------------------------------------------------------------------------------------
def _kernel_device(t: Tensor) -> str:
    return "cuda" if t.device.type == "cuda" else "cpu"


def _binary(name: str, fwd, grad, *, floats: str = "promote"):
    """A broadcasting binary op: ``fwd(a, b)``, ``grad(g, a, b, out) -> (ga, gb)``.

    ``floats``: ``"promote"`` computes integer inputs in the default float dtype, ``"keep"``
    keeps integers, ``"refuse"`` raises PyTorch's not-implemented error for them.
    """

    def forward(ctx, a, b):
        if a.__class__ is Lifted or b.__class__ is Lifted:  # a create_graph replay: record it
            out = Lifted(cls.apply(*[v.t if v.__class__ is Lifted else v for v in (a, b)]))
        else:
            with np.errstate(all="ignore"):
                out = fwd(a, b)
        if any(ctx.needs_input_grad):
            ctx.a, ctx.b, ctx.out = a, b, out
        return out

    def backward(ctx, g):
        with np.errstate(all="ignore"):
            ga, gb = grad(g, ctx.a, ctx.b, ctx.out)
        na, nb = ctx.needs_input_grad
        return (unbroadcast(ga, ctx.a.shape) if na else None,
                unbroadcast(gb, ctx.b.shape) if nb else None)

    title = "".join(p.capitalize() for p in name.split("_"))
    cls = type(title, (Function,), {
        "_array_level": True, "_backward_name": f"{title}Backward0",
        "forward": staticmethod(forward), "backward": staticmethod(backward)})

    def op(input, other) -> Tensor:
        if any_complex(input, other) and name in _NO_COMPLEX:
            _NO_COMPLEX[name](*tensor_pair(input, other))
        if floats == "promote":
            return cls.apply(*float_pair(input, other))
        a, b = tensor_pair(input, other)
        if floats == "refuse" and not a.is_floating_point():
            raise NotImplementedError(f'"{name}_{_kernel_device(a)}" not implemented for '
                                      f"'{scalar_name(a.dtype)}'")
        return cls.apply(a, b)

    op.__name__ = name
    op.__doc__ = f"Element-wise {name} with broadcasting. See: torch.{name}."
    return op


def _atan2_grad(g, a, b, out):
    r = a * a + b * b
    return g * b / r, -g * a / r


def _logaddexp_grad(g, a, b, out):
    return g / (1 + np.exp(b - a)), g / (1 + np.exp(a - b))


def _logaddexp2_grad(g, a, b, out):
    ln2 = np.asarray(math.log(2), a.dtype)[()]
    return g / (1 + np.exp((b - a) * ln2)), g / (1 + np.exp((a - b) * ln2))


def _copysign_grad(g, a, b, out):
    # PyTorch: grad * out / a, and 0 where a == 0; nothing flows to the sign's source. out / a
    # is +-1 (NaN for an infinite a): written with sign() its own derivative is exactly 0
    # (``+ a * 0`` keeps it in a create_graph graph: PyTorch's second derivative is a tensor).
    ratio = np.where(np.isinf(a), np.nan, np.sign(out) * np.sign(a)) + a * 0
    return g * np.where(a == 0, 0, ratio).astype(a.dtype), g * 0


def _nextafter_grad(g, a, b, out):
    # PyTorch passes the gradient to input where the step was taken, 0 where input == other.
    return np.where(a == b, np.asarray(0, g.dtype)[()], g), g * 0


def _fmax_grad(g, a, b, out):
    take_a = (a >= b) | np.isnan(b)  # ties and NaN in b: all to a (PyTorch)
    zero = np.asarray(0, g.dtype)[()]
    return np.where(take_a, g, zero), np.where(take_a, zero, g)


def _fmin_grad(g, a, b, out):
    take_a = (a <= b) | np.isnan(b)
    zero = np.asarray(0, g.dtype)[()]
    return np.where(take_a, g, zero), np.where(take_a, zero, g)


atan2 = _binary("atan2", np.arctan2, _atan2_grad)
arctan2 = atan2
logaddexp = _binary("logaddexp", np.logaddexp, _logaddexp_grad, floats="refuse")
logaddexp2 = _binary("logaddexp2", np.logaddexp2, _logaddexp2_grad, floats="refuse")
hypot = _binary("hypot", np.hypot, lambda g, a, b, out: (g * a / out, g * b / out),
                floats="refuse")
copysign = _binary("copysign", np.copysign, _copysign_grad)
nextafter = _binary("nextafter", np.nextafter, _nextafter_grad, floats="refuse")
fmax = _binary("fmax", np.fmax, _fmax_grad, floats="keep")
fmin = _binary("fmin", np.fmin, _fmin_grad, floats="keep")


def _no_complex_minmax(name: str):
    def refuse(*_):
        raise RuntimeError(f"{name} not implemented for complex tensors.")
    return refuse


def _no_complex_kernel(kernel: str):
    return lambda *inputs: refuse_complex_kernel(kernel, *inputs)


def _no_complex_logaddexp(*_):
    # PyTorch computes it; NumPy's logaddexp has no complex loop, so brickwork says so.
    raise NotImplementedError("logaddexp of complex tensors is not supported by brickwork")


# PyTorch's refusals of complex inputs, and one of brickwork's own (logaddexp).
_NO_COMPLEX = {
    "atan2": _no_complex_kernel("atan2_cpu"), "hypot": _no_complex_kernel("hypot_cpu"),
    "copysign": _no_complex_kernel("copysign_cpu"),
    "nextafter": _no_complex_kernel("nextafter_cpu"),
    "logaddexp": _no_complex_logaddexp,
    "logaddexp2": _no_complex_kernel("logaddexp2_cpu"),
    "fmax": _no_complex_minmax("fmax"), "fmin": _no_complex_minmax("fmin"),
}


class Heaviside(Function):
    _array_level = True
    _backward_name = "NotImplemented"  # PyTorch's grad_fn for it, whose backward raises

    @staticmethod
    def forward(ctx, a, b):
        return np.heaviside(a, b).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """0 below zero, 1 above, ``values`` at zero. See: torch.heaviside.

    Raises:
        RuntimeError: when the dtypes differ, as PyTorch.
    """
    if any_complex(input, values):
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return Heaviside.apply(input, values)


def _integer_op(name: str, fn):
    @runs_on_input_device
    def op(input: Tensor, other: Tensor) -> Tensor:
        a, b = tensor_pair(input, other)
        if a._data.dtype.kind not in "iub":
            raise NotImplementedError(f'"{name}_{_kernel_device(a)}" not implemented for '
                                      f"'{scalar_name(a.dtype)}'")
        if a.device != b.device:
            b = b.to(a.device)
        return wrap(fn(a._data, b._data), a)

    op.__name__ = name
    op.__doc__ = f"Element-wise {name} of integer tensors. See: torch.{name}."
    return op


gcd = _integer_op("gcd", np.gcd)
lcm = _integer_op("lcm", np.lcm)


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2 ** other``. See: torch.ldexp."""
    if any_complex(input, other):  # float_pair would drop the imaginary part
        return mul(input, pow(2.0, other))
    a, b = float_pair(input, other)
    return mul(a, pow(2.0, b))


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed in float64. See: torch.float_power."""
    def f64(v):  # complex128 for complex operands, as PyTorch
        if isinstance(v, Tensor):
            return v.to(_dt.complex128 if v.is_complex() else _dt.float64)
        return v if isinstance(v, complex) else float(v)

    return pow(f64(input), f64(exponent))


def _float_power_(self: Tensor, exponent) -> Tensor:
    if self.dtype is not _dt.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype "
                           f"{scalar_name(self.dtype)} but the operation's result requires "
                           f"dtype Double")
    return self._inplace(float_power, exponent)


class NanToNum(Function):
    _array_level = True
    _backward_name = "NanToNumBackward0"

    @staticmethod
    def forward(ctx, x, nan_, posinf, neginf):
        if ctx.needs_input_grad[0]:
            ctx.x = x
        return np.nan_to_num(x, nan=nan_, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        return g * np.isfinite(ctx.x), None, None, None


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,  # noqa: F811
               neginf: float | None = None) -> Tensor:
    """Replace NaN, +inf and -inf (default: 0 and the dtype's largest/smallest finite value).

    See: torch.nan_to_num.
    """
    if not input.is_floating_point():
        return input.clone()
    info = np.finfo(input._data.dtype)
    return NanToNum.apply(input, float(nan), float(info.max if posinf is None else posinf),
                          float(info.min if neginf is None else neginf))


class Frexp(Function):
    _array_level = True
    _backward_name = "FrexpBackward0"

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.exponent = exponent
        return np.frexp(x)[0]

    @staticmethod
    def backward(ctx, g):
        # d mantissa / dx = 2 ** -exponent (PyTorch: grad / exponent.exp2()).
        return g / np.exp2(ctx.exponent.astype(g.dtype)), None


def _frexp_type():
    def __repr__(self) -> str:
        return (f"brickwork.return_types.frexp(\nmantissa={self[0]!r},\n"
                f"exponent={self[1]!r})")

    cls = type("frexp", (tuple,), {
        "__slots__": (), "__doc__": "The (mantissa, exponent) pair of ``frexp``.",
        "__new__": lambda c, seq: tuple.__new__(c, seq),
        "mantissa": property(lambda self: self[0]), "exponent": property(lambda self: self[1]),
        "n_fields": 2, "n_sequence_fields": 2, "n_unnamed_fields": 0, "__repr__": __repr__,
        "__reduce__": lambda self: (frexp_type, (tuple(self),)),
        "__module__": "brickwork.return_types"})
    return cls


frexp_type = _frexp_type()


@runs_on_input_device
def frexp(input: Tensor):
    """Split into mantissa in ``[0.5, 1)`` and int32 exponent: ``input = m * 2 ** e``.

    See: torch.frexp.
    """
    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    exponent = np.frexp(input._data)[1].astype(np.int32)
    mantissa = Frexp.apply(input, exponent)
    return frexp_type((mantissa, wrap(exponent, input)))


def _frac_(self: Tensor) -> Tensor:
    # elementwise.frac is input - trunc(input), and trunc saves its input: updated in place,
    # that saved input would be stale. trunc's gradient is 0 anyway, so take it detached.
    if not self.is_floating_point():
        raise NotImplementedError(f'"frac_{_kernel_device(self)}" not implemented for '
                                  f"'{scalar_name(self.dtype)}'")
    return self._inplace(lambda t: sub(t, trunc(t.detach())))


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


TENSOR_METHODS = {
    "sinh": sinh, "cosh": cosh, "asin": asin, "acos": acos, "atan": atan, "asinh": asinh,
    "acosh": acosh, "atanh": atanh, "arcsin": asin, "arccos": acos, "arctan": atan,
    "arcsinh": asinh, "arccosh": acosh, "arctanh": atanh, "atan2": atan2, "arctan2": atan2,
    "exp2": exp2, "deg2rad": deg2rad, "rad2deg": rad2deg, "positive": positive, "sgn": sgn,
    "signbit": signbit, "logaddexp": logaddexp, "logaddexp2": logaddexp2, "hypot": hypot,
    "copysign": copysign, "nextafter": nextafter, "fmax": fmax, "fmin": fmin,
    "heaviside": heaviside, "gcd": gcd, "lcm": lcm, "ldexp": ldexp, "float_power": float_power,
    "nan_to_num": nan_to_num, "frexp": frexp, "fix": fix, "erf": erf, "erfc": erfc,
    "erfinv": erfinv, "lgamma": lgamma, "digamma": digamma, "polygamma": _polygamma_method,
    "mvlgamma": mvlgamma, "i0": i0, "logit": logit, "xlogy": xlogy, "sinc": sinc,
    # in-place forms of elementwise.py's ops that PyTorch has and that family does not list
    "tan": tan, "log2": log2, "log10": log10, "negative": negative,
    "true_divide": div, "divide": div, "multiply": mul, "subtract": sub, "absolute": absolute,
}
# float_power_ checks the dtype first (the generic in-place form would cast silently), frac_
# is written out below; PyTorch has no logaddexp_, fmax_...
INPLACE_METHODS = tuple(n for n in TENSOR_METHODS if n not in (
    "positive", "signbit", "frexp", "float_power", "logaddexp", "logaddexp2", "fmax",
    "fmin"))
TENSOR_METHODS["float_power_"] = _float_power_
TENSOR_METHODS["frac_"] = _frac_
__all__ = [n for n in TENSOR_METHODS if n not in (
    "tan", "log2", "log10", "negative", "true_divide", "divide", "multiply", "subtract",
    "absolute", "erf", "polygamma", "float_power_", "frac_")]
__all__ += ["polygamma", "pi", "e", "inf", "nan", "newaxis"]
