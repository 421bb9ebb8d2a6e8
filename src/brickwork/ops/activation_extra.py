"""More activations (nn.functional-only in PyTorch): gelu, leaky_relu, elu, silu, softplus,
hardtanh, relu6, mish, softmin, plus ``erf`` (which gelu needs) and ``dropout``.

NumPy has no ``erf`` and SciPy is not a dependency, so :func:`_erf_array` evaluates it from two
series that need only ``exp``: for ``|x| < 2.5`` the all-positive series
``erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))`` (no cancellation), and
for ``|x| >= 2.5`` the continued fraction of ``erfc``. Both reach about 1e-15 absolute error in
float64 (checked against ``math.erf`` in the tests), so gradcheck and float64 comparisons pass.
"""
from __future__ import annotations

import math

import numpy as np

from .._parallel import run_slices
from ..autograd._lifted import Lifted
from ..autograd.function import Function
from ..device import guard_functions
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._complex_grad import refuse_complex_kernel
from ._util import bits_mask, choose_bits, numpy_floats, select_bits, wrap, xp_of
from .elementwise import _float_input

_SPLIT = 2.5
_CF_DEPTH = 40
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_array(x):
    """erf of a float array (NumPy or CuPy), accurate to ~1e-15 in float64."""
    dtype = x.dtype
    if dtype.itemsize <= 4:
        return _erf_low_precision(x)
    # Always evaluate in float64: near the series/fraction split the float32 series loses a few
    # ulps (its partial sums reach exp(x^2) before being scaled back down).
    x = x.astype(np.float64, copy=False)
    a = np.abs(x)
    s = np.minimum(a, _SPLIT)
    term = s.copy()
    total = s.copy()
    x2 = 2 * s * s
    eps = np.finfo(dtype).eps * 0.1
    n = 0
    while True:
        n += 1
        term = term * x2 / (2 * n + 1)
        total += term
        # Check convergence every few steps only: the test is a reduction (a sync on a GPU).
        if n % 8 == 0 and not bool((term > eps * total).any()):
            break
    small = _TWO_OVER_SQRT_PI * np.exp(-s * s) * total
    b = np.maximum(a, _SPLIT)
    f = b.copy()
    for k in range(_CF_DEPTH, 0, -1):
        f = b + (k / 2) / f
    big = 1 - np.exp(-b * b) / (math.sqrt(math.pi) * f)
    out = np.sign(x) * np.where(a < _SPLIT, small, big)
    return np.where(np.isnan(x), x, out).astype(dtype, copy=False)


# Numerical Recipes' erfcc Chebyshev fit: fractional error below 1.2e-7 for every x.
_NR_COEFFS = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
              0.09678418, 0.37409196, 1.00002368, -1.26551223)


def _erf_low_precision(x):
    """erf for float32/float16, within float32's resolution, in about fifteen array ops.

    The float64 series above needs dozens of passes (measured 80 ms for 256k elements, which
    made GELU the slowest layer by far); evaluated in float64 this fit stays within 1.5e-7 of
    the true erf and is about 5x faster (17 ms for 256k elements).
    """
    a = np.abs(x.astype(np.float64))
    t = 1 / (1 + 0.5 * a)
    poly = _NR_COEFFS[0]
    for c in _NR_COEFFS[1:]:
        poly = poly * t + c
    erfc = t * np.exp(poly - a * a)
    return (np.sign(x) * (1 - erfc)).astype(x.dtype, copy=False)


# Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7): the erf of PyTorch's vectorized
# float GELU kernel, so float32 GELU agrees with PyTorch's to a few ulps.
_AS_P = 0.3275911
_AS_COEFFS = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)


def _gelu_f32(x, need_grad: bool):
    """``(gelu(x), gelu'(x) or None)`` for a float32/float16 ``x``, in float32, in nineteen
    in-place passes over three arrays (GELU is the widest activation of a transformer block;
    the float64 erf above took several times longer, and every extra full-size temporary costs
    its page faults again on each step).

    With ``z = x / sqrt(2)``: ``erfc(|z|) / 2 = t * poly(t) / exp(z^2)``, ``t = 1 / (1 + p |z|)``
    (the 1/2 folded into the coefficients), and ``Phi = |[x >= 0] - erfc(|z|) / 2|``, which is
    ``1 - erfc/2`` for ``x >= 0`` and ``erfc/2`` below, with no cancellation and no branch.
    ``exp(z^2)`` overflows to inf far out, where ``erfc / inf = 0`` is the right limit.
    The derivative ``Phi(x) + x * pdf(x)`` is formed here, so backward is one multiply.

    NumPy arrays go by chunks of GELU_CHUNK values, on threads from 256K values: the passes
    then stay in cache. Forward and derivative of 2M values 9.9 -> 4.4 ms, of 512K 1.39 ->
    1.17 ms; the same operations on every value, so the same bits.
    """
    xp = xp_of(x)
    flat = xp.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    out = xp.empty(flat.shape, np.float32)
    d = xp.empty(flat.shape, np.float32) if need_grad else None
    if xp is not np:
        _gelu_passes(xp, flat, out, xp.empty(flat.shape, np.float32), d,
                     None if need_grad else xp.empty(flat.shape, np.float32))
    else:
        def part(sl):
            cdf = np.empty(min(GELU_CHUNK, sl.stop - sl.start), np.float32)
            e = None if need_grad else np.empty_like(cdf)
            for lo in range(sl.start, sl.stop, GELU_CHUNK):
                hi = min(lo + GELU_CHUNK, sl.stop)
                _gelu_passes(np, flat[lo:hi], out[lo:hi], cdf[:hi - lo],
                             d[lo:hi] if need_grad else None, e if need_grad else e[:hi - lo])
        run_slices(part, flat.size, flat.size, np)
    return out.reshape(x.shape), (None if d is None else d.reshape(x.shape))


# Values per chunk of _gelu_f32: smaller chunks cost more in calls than they save (64K: 4.9 ms
# for 2M values on two threads, 16K: 13 ms), and each thread's calls wait for the GIL.
GELU_CHUNK = 1 << 17


def _gelu_passes(xp, flat, out, cdf, d, e=None) -> None:
    """``out = gelu(flat)`` and, unless ``d`` is None, ``d = gelu'(flat)``; ``cdf`` and ``e``
    (``d`` when given) are scratch of flat's size."""
    e = d if d is not None else e
    with np.errstate(over="ignore", invalid="ignore"):  # inf/nan inputs: as PyTorch's
        z = xp.multiply(flat, np.float32(1 / math.sqrt(2)), out=e)  # e holds z for now
        t = xp.abs(z, out=out)  # out holds t until the end
        t *= np.float32(_AS_P)
        t += np.float32(1)
        xp.reciprocal(t, out=t)
        xp.multiply(t, np.float32(_AS_COEFFS[0] / 2), out=cdf)
        for c in _AS_COEFFS[1:]:
            cdf += np.float32(c / 2)
            cdf *= t
        xp.multiply(z, z, out=e)
        xp.exp(e, out=e)  # exp(x^2 / 2)
        cdf /= e  # erfc(|z|) / 2
        xp.subtract(flat >= 0, cdf, out=cdf, dtype=np.float32)
        xp.abs(cdf, out=cdf)
        xp.multiply(flat, cdf, out=out)
        if d is not None:
            xp.divide(flat, e, out=d)  # inf / inf at x = +-inf: nan, as PyTorch
            d *= np.float32(1 / math.sqrt(2 * math.pi))
            d += cdf


class Erf(Function):
    _array_level = True
    _backward_name = "ErfBackward0"

    @staticmethod
    def forward(ctx, x):
        if ctx.needs_input_grad[0]:
            ctx.x = x
        return _erf_array(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.x
        return g * (_TWO_OVER_SQRT_PI * np.exp(-x * x)).astype(x.dtype, copy=False)


def erf(input: Tensor) -> Tensor:
    """The error function. See: torch.erf."""
    refuse_complex_kernel("erf_vml_cpu", input)
    return Erf.apply(_float_input(input))


class Gelu(Function):
    _array_level = True
    _backward_name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, approximate):
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            inner = k * (x + 0.044715 * x ** 3)
            t = np.tanh(inner)
            out = 0.5 * x * (1 + t)
            ctx.t = t
        elif x.dtype.itemsize <= 4 and x.__class__ is not Lifted:  # (Lifted: create_graph)
            out, ctx.d = _gelu_f32(x, ctx.needs_input_grad[0])
        else:
            cdf = 0.5 * (1 + _erf_array(x / math.sqrt(2)))
            out = x * cdf
            ctx.cdf = cdf
        ctx.x, ctx.approximate = x, approximate
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x = ctx.x
        if ctx.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = ctx.t
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        elif "d" in ctx.__dict__:  # float32: forward kept the derivative
            return (g * ctx.d).astype(x.dtype, copy=False), None
        else:
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            d = ctx.cdf + x * pdf
        return (g * d).astype(x.dtype, copy=False), None


@float32_compute
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)`` (``approximate='tanh'`` for the tanh form).

    See: torch.nn.functional.gelu.
    """
    refuse_complex_kernel("GeluKernelImpl", input)
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got "
                           f"{approximate!r}")
    return Gelu.apply(_float_input(input), approximate)


def _pointwise(name: str, backward_name: str, fwd, grad, doc: str, fast_fwd=None,
               fast_grad=None):
    """A pointwise op with parameters: ``fwd(x, *params)``, ``grad(g, x, *params)``.

    ``fast_fwd`` and ``fast_grad``, when given, take over for float32 and float64 NumPy arrays
    (not CuPy's, nor the recording arrays of a ``create_graph`` backward, which need ``where``
    and plain expressions): PyTorch's formulas in a few in-place passes, its branches as
    selects by bits (``_util.choose_bits``).
    """

    def forward(ctx, x, *params):
        with np.errstate(over="ignore", invalid="ignore"):
            if fast_fwd is not None and numpy_floats(x):
                out = _on_threads(lambda *a: fast_fwd(*a, *params), x)
            else:
                out = fwd(x, *params).astype(x.dtype, copy=False)
        if ctx.needs_input_grad[0]:
            # The input only, as PyTorch saves (see autograd/_saved.py): the gradients below
            # are written in terms of x.
            ctx.x, ctx.params = x, params
        return out

    def backward(ctx, g):
        x = ctx.x
        with np.errstate(over="ignore", invalid="ignore"):
            if fast_grad is not None and numpy_floats(x, g) and g.shape == x.shape:
                gx = _on_threads(lambda *a: fast_grad(*a, *ctx.params), g, x)
            else:
                gx = grad(g, x, *ctx.params).astype(x.dtype, copy=False)
        return (gx,) + (None,) * len(ctx.params)

    cls = type(name, (Function,), {"_array_level": True, "_backward_name": backward_name,
                                   "forward": staticmethod(forward),
                                   "backward": staticmethod(backward), "__doc__": doc})
    return cls


# From this many values a fast kernel runs on slices of the flattened arrays on threads (each
# slice's result copied into place). Forward+backward of 884K float32 values, whole against
# two threads: silu 2.44 -> 1.63 ms, leaky_relu 2.48 -> 1.44, elu 3.35 -> 2.09; at 442K the
# threads were 15-20% slower.
_THREADED = 1 << 19


def _on_threads(fn, *arrays):
    """``fn(*arrays)``, for large arrays as slices of the flattened arrays on threads."""
    if arrays[0].size < _THREADED or not all(a.flags.c_contiguous for a in arrays):
        return fn(*arrays)
    out = np.empty_like(arrays[0])
    flat, flat_out = [a.reshape(-1) for a in arrays], out.reshape(-1)

    def part(sl):
        with np.errstate(over="ignore", invalid="ignore"):  # per thread
            flat_out[sl] = fn(*(f[sl] for f in flat))
    run_slices(part, out.size, out.size, np)
    return out


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x, beta, threshold):
    z = x * beta
    # log1p(exp(z)) = max(z, 0) + log1p(exp(-|z|)): never overflows.
    soft = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta
    return np.where(z > threshold, x, soft)


def _choose(cond, a, b, where_true: bool = True):
    """A new array: ``a`` where the bool array ``cond`` is ``where_true``, else ``b`` (whose
    buffer may be reused when the caller owns it: pass a fresh array)."""
    out = np.empty_like(a)
    choose_bits(bits_mask(cond, where_true), a, b, out)
    return out


def _leaky(v, x, slope):
    """``v`` where ``x > 0``, else ``v * slope``: leaky_relu (v = x) and its gradient (v = g),
    as PyTorch's kernels select."""
    return _choose(x > 0, v, v * v.dtype.type(slope))


def _leaky_fast(x, slope):
    """leaky_relu: for ``0 < slope <= 1`` the larger of ``x`` and ``x * slope``, the value
    PyTorch's select picks, in two passes (the bit select takes six). A zero slope keeps the
    select: ``max`` would give NaN for ``x = inf``, where ``inf * 0`` is NaN. 1M values
    0.88 -> 0.19 ms."""
    if not 0 < slope <= 1:
        return _leaky(x, x, slope)
    out = np.multiply(x, x.dtype.type(slope))
    return np.maximum(x, out, out=out)


def _leaky_grad_fast(g, x, slope):
    """leaky_relu's gradient: ``g`` times a factor of 1 where ``x > 0``, else ``slope``, made
    as ``mask * (1 - slope) + slope``. For ``0 <= slope <= 1`` that is exactly 1 or
    ``slope`` (``1 - slope`` rounds by at most half an ulp below 1, and the sum back to 1),
    so the products are PyTorch's ``g`` and ``g * slope``. 1M values 1.14 -> 0.50 ms."""
    if not 0 <= slope <= 1:
        return _leaky(g, x, slope)
    dtype = g.dtype.type
    factor = np.greater(x, 0).astype(g.dtype)
    factor *= dtype(1) - dtype(slope)
    factor += dtype(slope)
    return np.multiply(g, factor, out=factor)


def _silu_fast(x):
    out = np.negative(x)  # x / (1 + exp(-x)), PyTorch's formula
    np.exp(out, out=out)
    out += 1
    return np.divide(x, out, out=out)


def _sigmoid_into(x, out):
    """``out[:] = 1 / (1 + exp(-x))``, PyTorch's formula, in four passes over ``out``; returns
    ``out``.

    exp(-x) overflows to inf for x below about -88 (float32), and the result is then 0, as
    PyTorch's is (its float32 sigmoid(-100) is 0); x = -88 still gives its subnormal value.
    """
    xp = xp_of(x)
    xp.negative(x, out=out)
    with np.errstate(over="ignore"):
        xp.exp(out, out=out)
    out += 1
    xp.divide(1, out, out=out)  # NumPy's reciprocal runs about 2x slower, to the same values
    return out


def _silu_grad_fast(g, x):
    s = _sigmoid_into(x, np.empty_like(x))  # g * s * (1 + x * (1 - s)), in PyTorch's order
    t = np.subtract(1, s)
    t *= x
    t += 1
    s *= g  # (g * s), as g * sigmoid is formed first
    s *= t
    return s


def _elu_fast(x, alpha):
    neg = np.expm1(x)  # expm1(x) * alpha where not x > 0 (its overflow past 88 is not taken)
    neg *= x.dtype.type(alpha)
    return _choose(x > 0, x, neg)


def _elu_grad_fast(g, x, alpha):
    e = np.exp(x)  # g * alpha * exp(x) where not x > 0 (a NaN x gives NaN, as PyTorch)
    t = np.multiply(g, x.dtype.type(alpha))
    t *= e
    return _choose(x > 0, g, t)


def _softplus_fast(x, beta, threshold):
    z = np.multiply(x, x.dtype.type(beta))  # log1p(exp(x * beta)) / beta, linear past it
    soft = np.exp(z)
    np.log1p(soft, out=soft)
    soft /= x.dtype.type(beta)
    return _choose(z > threshold, x, soft)


def _softplus_grad_fast(g, x, beta, threshold):
    xb = np.multiply(x, x.dtype.type(beta))  # g * z / (z + 1), z = exp(x * beta)
    z = np.exp(xb)
    t = np.multiply(g, z)
    z += 1
    t /= z
    return _choose(xb > threshold, g, t)


def _hardtanh_fast(x, lo, hi):
    return np.clip(x, x.dtype.type(lo), x.dtype.type(hi))


def _hardtanh_grad_fast(g, x, lo, hi):
    inside = np.greater(x, x.dtype.type(lo))  # g strictly inside the limits, else 0 (NaN: 0)
    inside &= np.less(x, x.dtype.type(hi))
    out = np.empty_like(g)
    select_bits(bits_mask(inside), g, out)
    return out


LeakyRelu = _pointwise(
    "LeakyRelu", "LeakyReluBackward0",
    lambda x, s: np.where(x > 0, x, x * s),
    lambda g, x, s: np.where(x > 0, g, g * s), "leaky_relu",
    _leaky_fast, _leaky_grad_fast)
Elu = _pointwise(
    "Elu", "EluBackward0",
    lambda x, a: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
    # d/dx a*(e^x - 1) = a*e^x (taken where x <= 0 only, so it cannot overflow).
    lambda g, x, a: np.where(x > 0, g, g * a * np.exp(np.minimum(x, 0))), "elu",
    _elu_fast, _elu_grad_fast)
Silu = _pointwise(
    "Silu", "SiluBackward0",
    lambda x: x * _sigmoid(x),
    lambda g, x: (lambda s: g * s * (1 + x * (1 - s)))(_sigmoid(x)), "silu",
    _silu_fast, _silu_grad_fast)
Softplus = _pointwise(
    "Softplus", "SoftplusBackward0", _softplus,
    lambda g, x, b, t: np.where(x * b > t, g, g * _sigmoid(x * b)), "softplus",
    _softplus_fast, _softplus_grad_fast)
Hardtanh = _pointwise(
    "Hardtanh", "HardtanhBackward0",
    lambda x, lo, hi: np.clip(x, lo, hi),
    # PyTorch: zero gradient at and beyond the limits (x <= min or x >= max).
    lambda g, x, lo, hi: np.where((x > lo) & (x < hi), g, 0), "hardtanh",
    _hardtanh_fast, _hardtanh_grad_fast)


def _mish_grad(g, x):
    tsp = np.tanh(_softplus(x, 1.0, 20.0))
    return g * (tsp + x * _sigmoid(x) * (1 - tsp * tsp))


def _tanh_softplus(x):
    """``tanh(log1p(exp(x)))``, as PyTorch's mish forms it (no threshold), in a new array."""
    out = np.exp(x)
    np.log1p(out, out=out)
    return np.tanh(out, out=out)


def _mish_fast(x):
    out = _tanh_softplus(x)  # x * tanh(softplus(x))
    out *= x
    return out


def _mish_grad_fast(g, x):
    tsp = _tanh_softplus(x)  # g * (tsp + x * sigmoid(x) * (1 - tsp * tsp))
    t = np.multiply(tsp, tsp)
    np.subtract(1, t, out=t)
    s = _sigmoid_into(x, np.empty_like(x))
    s *= x
    s *= t
    s += tsp
    s *= g
    return s


Mish = _pointwise("Mish", "MishBackward0", lambda x: x * np.tanh(_softplus(x, 1.0, 20.0)),
                  _mish_grad, "mish", _mish_fast, _mish_grad_fast)


def _run(cls, input: Tensor, inplace: bool, *params) -> Tensor:
    if not input.is_floating_point():
        raise RuntimeError(f'"{cls.__name__.lower()}" not implemented for '
                           f"'{input.dtype.name.capitalize()}'")
    if inplace:
        return input._inplace(lambda t: cls.apply(t, *params))
    return cls.apply(input, *params)


@float32_compute
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``negative_slope * x``. See: torch.nn.functional.leaky_relu."""
    return _run(LeakyRelu, input, inplace, float(negative_slope))


@float32_compute
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``. See: torch.nn.functional.elu."""
    return _run(Elu, input, inplace, float(alpha))


@float32_compute
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (swish). See: torch.nn.functional.silu."""
    return _run(Silu, input, inplace)


@float32_compute
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``.

    See: torch.nn.functional.softplus.
    """
    return _run(Softplus, input, False, float(beta), float(threshold))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """Clamp to ``[min_val, max_val]``. See: torch.nn.functional.hardtanh."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _run(Hardtanh, input, inplace, float(min_val), float(max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``. See: torch.nn.functional.relu6."""
    return hardtanh(input, 0.0, 6.0, inplace)


@float32_compute
def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``. See: torch.nn.functional.mish."""
    return _run(Mish, input, inplace)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``. See: torch.nn.functional.softmin."""
    from .activation import softmax

    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The mask is drawn from brickwork's default generator (``manual_seed`` repeats it). Outside
    training (or with ``p == 0``) the input is returned unchanged.

    See: torch.nn.functional.dropout.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    from ..factories import rand

    keep = 1.0 - p
    r = rand(*input.shape, dtype=input.dtype, device=input.device)._data
    scale = 0.0 if keep == 0 else 1.0 / keep
    mask = wrap(((r < keep) * scale).astype(input._data.dtype, copy=False), input)
    if inplace:
        return input.mul_(mask)
    return input * mask


__all__ = ["erf", "gelu", "leaky_relu", "elu", "silu", "softplus", "hardtanh", "relu6", "mish",
           "softmin", "dropout"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
