"""Differentiable special functions (erfc, erfinv, lgamma, digamma, polygamma, Bessel I0/I1,
the normal distribution's ndtr/ndtri/log_ndtr, entr, sinc, logit, xlogy, zeta...).

The numerics live in ``_special_numerics.py``. Each gradient is PyTorch's formula; where it needs
another special function (lgamma -> digamma -> polygamma) it calls that op through ``_ev``, which
on the recorded values of a ``create_graph`` backward runs the brickwork op itself, so every
order of derivative is available.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd._lifted import Lifted
from ..autograd.function import Function
from ..tensor import Tensor
from . import _special_numerics as _num
from ._bf16 import float32_compute
from ._complex_grad import cj, refuse_complex_kernel
from ._util import promote
from .elementwise import _float_input

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)

def _ev(name: str, x, *params):
    """Special function ``name`` of a backend array, or of a recorded (Lifted) value.

    ``_EVAL`` (below the public functions) maps a name to its brickwork op, ``fn(tensor, *params)``,
    and its float64 numeric, ``numeric(array, *params)``.
    """
    fn, numeric = _EVAL[name]
    if x.__class__ is Lifted:
        return Lifted(fn(x.t, *params))
    return numeric(x, *params).astype(x.dtype, copy=False)


def _make(name: str, numeric, grad, *, saves=("x",), backward_name: str | None = None):
    """A unary Function: ``numeric(x, *params)`` forward, ``grad(g, x, out, *params)``."""

    def forward(ctx, x, *params):
        if x.__class__ is Lifted:  # a create_graph replay (the op saves its output): record it
            out = Lifted(cls.apply(x.t, *params))
        else:
            with np.errstate(all="ignore"):
                out = numeric(x, *params).astype(x.dtype, copy=False)
        if ctx.needs_input_grad[0]:
            ctx.x = x if "x" in saves else None
            ctx.out = out if "out" in saves else None
            ctx.params = params
        return out

    def backward(ctx, g):
        with np.errstate(all="ignore"):
            gx = grad(g, ctx.x, ctx.out, *ctx.params)
        return (gx,) + (None,) * len(ctx.params)

    title = "".join(p.capitalize() for p in name.split("_"))
    cls = type(title, (Function,), {
        "_array_level": True, "_backward_name": backward_name or f"{title}Backward0",
        "forward": staticmethod(forward), "backward": staticmethod(backward)})
    return cls


def _c(x, value):
    """A Python constant as a scalar of ``x``'s dtype (keeps float32 math float32)."""
    return np.asarray(value, dtype=x.dtype)[()]


Erfc = _make("erfc", _num.erfc64, lambda g, x, y: g * (-_c(x, _TWO_OVER_SQRT_PI)) * np.exp(-x * x))
Erfinv = _make("erfinv", _num.erfinv64,
               lambda g, x, y: g * _c(y, math.sqrt(math.pi) / 2) * np.exp(y * y), saves=("out",))
Erfcx = _make("erfcx", _num.erfcx64,
              lambda g, x, y: g * (2 * x * y - _c(x, _TWO_OVER_SQRT_PI)), saves=("x", "out"),
              backward_name="SpecialErfcxBackward0")
Lgamma = _make("lgamma", _num.lgamma64, lambda g, x, y: g * _ev("digamma", x))
Digamma = _make("digamma", _num.digamma64, lambda g, x, y: g * _ev("polygamma", x, 1))
Polygamma = _make("polygamma", lambda x, n: _num.polygamma64(n, x, x.dtype),
                  lambda g, x, y, n: g * _ev("polygamma", x, n + 1))
I0 = _make("i0", lambda x: _num.bessel_i64(x, 0, False), lambda g, x, y: g * _ev("i1", x))
I0e = _make("i0e", lambda x: _num.bessel_i64(x, 0, True),
            lambda g, x, y: g * (_ev("i1e", x) - np.sign(x) * y), saves=("x", "out"),
            backward_name="SpecialI0EBackward0")
# I1' = I0 - I1/x, and 1/2 at x = 0 (the limit), as PyTorch.
I1 = _make("i1", lambda x: _num.bessel_i64(x, 1, False),
           lambda g, x, y: g * np.where(x == 0, _c(x, 0.5), _ev("i0", x) - y / x),
           saves=("x", "out"), backward_name="SpecialI1Backward0")
I1e = _make("i1e", lambda x: _num.bessel_i64(x, 1, True),
            lambda g, x, y: g * np.where(x == 0, _c(x, 0.5),
                                         _ev("i0e", x) - y * (np.sign(x) + 1 / x)),
            saves=("x", "out"), backward_name="SpecialI1EBackward0")
Ndtr = _make("ndtr", lambda x: 0.5 * _num.erfc64(-x.astype(np.float64) / math.sqrt(2)),
             lambda g, x, y: g * np.exp(-x * x / 2) / _c(x, _SQRT_2PI),
             backward_name="SpecialNdtrBackward0")
Ndtri = _make("ndtri", _num.ndtri64, lambda g, x, y: g * _c(y, _SQRT_2PI) * np.exp(y * y / 2),
              saves=("out",), backward_name="SpecialNdtriBackward0")
LogNdtr = _make("log_ndtr", _num.log_ndtr64,
                lambda g, x, y: g / _c(x, _SQRT_2PI) * np.exp(-(y + x * x / 2)),
                saves=("x", "out"), backward_name="SpecialLogNdtrBackward0")


def _entr(x):
    x = x.astype(np.float64)
    return np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), np.where(x == 0, 0.0, -np.inf))


Entr = _make("entr", lambda x: np.where(np.isnan(x), x, _entr(x)),
             lambda g, x, y: g * -(1 + np.log(x)), backward_name="SpecialEntrBackward0")


def _sinc_grad(g, x, y):
    px = x * _c(x, math.pi)
    d = (px * np.cos(px) - np.sin(px)) / (px * x)
    return g * cj(np.where(x == 0, _c(x, 0.0), d))  # cj: complex inputs (PyTorch)


Sinc = _make("sinc", lambda x: np.sinc(x), _sinc_grad)


def _logit(x, eps):
    z = x if eps is None else np.clip(x, eps, 1 - eps)
    return np.log(z / (1 - z))


def _logit_grad(g, x, y, eps):
    d = g / (x * (1 - x))
    if eps is None:  # outside [0, 1] PyTorch's gradient is NaN
        return np.where((x < 0) | (x > 1), _c(x, np.nan), d)
    return np.where((x < eps) | (x > 1 - eps), _c(x, 0.0), d)


Logit = _make("logit", _logit, _logit_grad)

def _refuse_half(name: str, t: Tensor) -> None:
    """PyTorch's error for the kernels it has no float16 version of (erfcx, ndtri...)."""
    if t.dtype.name == "float16":
        where = "cuda" if t.device.type == "cuda" else "cpu"
        raise NotImplementedError(f'"{name}_{where}" not implemented for \'Half\'')


def _public(cls, name: str, *, half: bool = True, complex_ok: bool = False):
    """The public function of a unary special Function (integer inputs become floats)."""

    def op(input: Tensor) -> Tensor:
        if not complex_ok:  # real special functions only, as PyTorch
            refuse_complex_kernel(name, input)
        if not half:
            _refuse_half(name, input)
        return cls.apply(_float_input(input))

    op.__name__ = name
    op.__doc__ = f"Element-wise {name}, computed in float64. See: torch.special.{name}."
    return op


erfc = _public(Erfc, "erfc")
erfinv = _public(Erfinv, "erfinv")
erfcx = _public(Erfcx, "erfcx", half=False)
lgamma = _public(Lgamma, "lgamma")
digamma = _public(Digamma, "digamma")
i0 = _public(I0, "i0")
i0e = _public(I0e, "i0e")
i1 = _public(I1, "i1")
i1e = _public(I1e, "i1e")
ndtr = _public(Ndtr, "ndtr")
ndtri = _public(Ndtri, "ndtri", half=False)
log_ndtr = _public(LogNdtr, "log_ndtr", half=False)
entr = _public(Entr, "entr")
# float32 inside for bfloat16: NumPy would round sin(pi x) and pi x separately (_bf16.py).
sinc = float32_compute(_public(Sinc, "sinc", complex_ok=True))


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of digamma. See: torch.polygamma.

    Raises:
        RuntimeError: for a negative ``n``, as PyTorch.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(_float_input(input), int(n))


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given.

    See: torch.logit.
    """
    refuse_complex_kernel("logit_cpu", input)
    return Logit.apply(_float_input(input), None if eps is None else float(eps))


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma of dimension ``p``. See: torch.mvlgamma."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _float_input(input)
    total = None
    for j in range(p):
        term = lgamma(x - j / 2)
        total = term if total is None else total + term
    return total + p * (p - 1) / 4 * math.log(math.pi)


_EVAL = {
    "digamma": (digamma, _num.digamma64),
    "polygamma": (lambda t, n: polygamma(n, t), lambda x, n: _num.polygamma64(n, x, x.dtype)),
    "i0": (i0, lambda x: _num.bessel_i64(x, 0, False)),
    "i0e": (i0e, lambda x: _num.bessel_i64(x, 0, True)),
    "i1": (i1, lambda x: _num.bessel_i64(x, 1, False)),
    "i1e": (i1e, lambda x: _num.bessel_i64(x, 1, True)),
}


# -- binary --------------------------------------------------------------------------------------
def tensor_pair(input, other):
    """Promote two operands to tensors of one dtype (a Python scalar follows the tensor)."""
    from .. import factories

    a, b = promote(input, other)
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        raise TypeError("expected at least one of input and other to be a Tensor")
    if not isinstance(a, Tensor):
        a = factories.tensor(a, dtype=like.dtype, device=like.device)
    if not isinstance(b, Tensor):
        b = factories.tensor(b, dtype=like.dtype, device=like.device)
    return a, b


def float_pair(input, other):
    """``tensor_pair``, with integer and bool operands computed in the default float dtype."""
    from .. import dtypes as _dt

    a, b = tensor_pair(input, other)
    if not a.is_floating_point():
        a, b = a.to(_dt.get_default_dtype()), b.to(_dt.get_default_dtype())
    return a, b


class _XlogyBase(Function):
    _array_level = True
    _log = staticmethod(np.log)

    @classmethod
    def _forward(cls, ctx, x, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where((x == 0) & ~np.isnan(y), 0, x * cls._log(y)).astype(x.dtype)
        ctx.x, ctx.y = x, y
        return out

    @classmethod
    def _backward(cls, ctx, g, shift):
        from ._util import unbroadcast

        x, y = ctx.x, ctx.y
        nx, ny = ctx.needs_input_grad
        gx = gy = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if nx:  # PyTorch: xlogy(grad, y), zeroed where x == 0 and y is outside the domain
                zero = _c(g, 0)
                gl = np.where((g == 0) & ~np.isnan(y), zero, g * cls._log(y))
                gx = unbroadcast(np.where((x == 0) & (y <= -shift), zero, gl), x.shape)
            if ny:
                gy = unbroadcast(g * x / (y + shift), y.shape)
        return gx, gy


class Xlogy(_XlogyBase):
    _backward_name = "XlogyBackward0"

    @staticmethod
    def forward(ctx, x, y):
        return Xlogy._forward(ctx, x, y)

    @staticmethod
    def backward(ctx, g):
        return Xlogy._backward(ctx, g, 0)


class Xlog1py(_XlogyBase):
    _backward_name = "SpecialXlog1PyBackward0"
    _log = staticmethod(np.log1p)

    @staticmethod
    def forward(ctx, x, y):
        return Xlog1py._forward(ctx, x, y)

    @staticmethod
    def backward(ctx, g):
        return Xlog1py._backward(ctx, g, 1)


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, and 0 where ``input`` is 0 (unless ``other`` is NaN).

    See: torch.xlogy.
    """
    refuse_complex_kernel("xlogy_cpu", input, other)
    return Xlogy.apply(*float_pair(input, other))


def xlog1py(input, other) -> Tensor:
    """``input * log1p(other)``, and 0 where ``input`` is 0. See: torch.special.xlog1py."""
    return Xlog1py.apply(*float_pair(input, other))


class Zeta(Function):
    _array_level = True
    _backward_name = "SpecialZetaBackward0"

    @staticmethod
    def forward(ctx, x, q):
        with np.errstate(over="ignore"):
            out = _num.zeta64(x, q).astype(x.dtype, copy=False)
        ctx.x, ctx.q = x, q
        return out

    @staticmethod
    def backward(ctx, g):
        from ._util import unbroadcast

        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        x, q = ctx.x, ctx.q
        if q.__class__ is Lifted:  # a create_graph backward: zeta of x + 1, recorded
            from .. import factories

            xt = factories.tensor(x, device=q.t.device)
            d = Lifted(zeta(xt + 1, q.t))
        else:
            d = _num.zeta64(x + 1, q).astype(q.dtype, copy=False)
        return None, unbroadcast(g * -x * d, q.shape)


def zeta(input, other) -> Tensor:
    """The Hurwitz zeta function ``sum_k (other + k) ** -input``. See: torch.special.zeta."""
    a, b = float_pair(input, other)
    _refuse_half("zeta", a)
    return Zeta.apply(a, b)


__all__ = ["erfc", "erfinv", "erfcx", "lgamma", "digamma", "polygamma", "i0", "i0e", "i1", "i1e",
           "ndtr", "ndtri", "log_ndtr", "entr", "sinc", "logit", "mvlgamma", "xlogy", "xlog1py",
           "zeta"]
