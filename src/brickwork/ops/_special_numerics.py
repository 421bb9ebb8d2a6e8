"""Array-level numerics of the special functions (no SciPy): erfc, erfcx, erfinv, ndtri,
log_ndtr, lgamma, digamma, trigamma, Hurwitz zeta, and the modified Bessel functions I0/I1.

Every function takes a NumPy or CuPy float array, computes in float64 and returns float64; the
callers cast back. The methods are the textbook ones, chosen to need only ``exp``/``log``/``sin``:

* lgamma, digamma: shift the argument up to ``z >= 10`` with the recurrences, then the Stirling /
  asymptotic series with Bernoulli numbers (computed exactly below); reflection for ``x < 0``.
* zeta(s, q) and polygamma(n >= 2): Euler-Maclaurin summation (DLMF 25.11), nine direct terms
  (more while ``q + k <= 9``) and twelve Bernoulli corrections.
* I0, I1: the power series (all terms positive) for ``|x| <= 25``, the large-argument
  asymptotic series (DLMF 10.40.1, truncated far before its smallest term) above.
* erfinv, ndtri: a closed-form first guess (Winitzki's) refined by three Halley steps on
  ``erf(x) - y`` or, in the tails, on ``erfc(x) - c`` scaled by ``exp(x^2)`` so that nothing
  underflows; erfc in the tails comes from its continued fraction, so relative accuracy holds.

Edge values (poles, infinities, NaN) follow PyTorch's (tested against it).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ._util import xp_of
from .activation_extra import _erf_array

_SQRT_PI = math.sqrt(math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SPLIT = 2.5       # erfc: 1 - erf below, the continued fraction above
_CF_DEPTH = 60


def _bernoulli_even(count: int) -> list:
    """``B_2, B_4, ..., B_(2 count)`` exactly (the standard recurrence over binomials)."""
    b = [Fraction(1)]
    for m in range(1, 2 * count + 1):
        b.append(-sum(math.comb(m + 1, k) * b[k] for k in range(m)) / (m + 1))
    return [b[2 * k] for k in range(1, count + 1)]


_B2K = _bernoulli_even(12)
# Stirling: sum B_2k / (2k (2k-1) z^(2k-1)); digamma: sum B_2k / (2k z^2k).
_STIRLING = [float(b / (2 * k * (2 * k - 1))) for k, b in enumerate(_B2K[:8], 1)]
_DIGAMMA = [float(b / (2 * k)) for k, b in enumerate(_B2K[:8], 1)]
# Euler-Maclaurin for zeta: (2k)! / B_2k, the divisors of the correction terms.
_ZETA_DIV = [float(math.factorial(2 * k) / b) for k, b in enumerate(_B2K, 1)]


def _opmath(dtype):
    """The dtype PyTorch's CPU kernels compute a float dtype in (float32 for float16)."""
    return np.dtype(np.float32) if dtype.itemsize < 4 else dtype


def _f64(x):
    return x.astype(np.float64, copy=False)


# -- error function family ---------------------------------------------------------------------
def _erfc_tail(b):
    """``erfc(b) * exp(b^2) * sqrt(pi)`` inverse's continued fraction, for ``b >= 2.5``."""
    f = b.copy()
    for k in range(_CF_DEPTH, 0, -1):
        f = b + (k / 2) / f
    return f


def erf64(x):
    return _erf_array(_f64(x))


def erfc64(x):
    xp = xp_of(x)
    x = _f64(x)
    a = xp.abs(x)
    b = xp.maximum(a, _SPLIT)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        tail = xp.exp(-b * b) / (_SQRT_PI * _erfc_tail(b))
        tail = xp.where(b == np.inf, 0.0, tail)
    pos = xp.where(a < _SPLIT, 1 - _erf_array(xp.minimum(a, _SPLIT)), tail)
    return xp.where(xp.isnan(x), x, xp.where(x < 0, 2 - pos, pos))


def erfcx64(x):
    """``exp(x^2) * erfc(x)``, finite for large positive x."""
    xp = xp_of(x)
    x = _f64(x)
    b = xp.maximum(x, _SPLIT)
    with np.errstate(over="ignore", invalid="ignore"):
        tail = 1 / (_SQRT_PI * _erfc_tail(b))
        s = xp.minimum(x, _SPLIT)
        near = xp.exp(s * s) * erfc64(s)
    return xp.where(xp.isnan(x), x, xp.where(x >= _SPLIT, tail, near))


def _winitzki(log1my2):
    """First guess of ``|erfinv|`` from ``log(1 - y^2)`` (relative error below 2e-3)."""
    xp = xp_of(log1my2)
    a = 0.147
    t = 2 / (math.pi * a) + log1my2 / 2
    return xp.sqrt(xp.maximum(xp.sqrt(t * t - log1my2 / a) - t, 0.0))


def _halley(x, step, iterations: int = 3):
    """Halley's method for erf-like residuals: ``f'' / f' = -2x`` for erf and erfc alike."""
    for _ in range(iterations):
        d = step(x)
        x = x - d / (1 + x * d)
    return x


def _erfinv_small(y):
    """erfinv for ``|y| <= 0.5``: Halley on ``erf(x) - y``."""
    xp = xp_of(y)
    x0 = xp.sign(y) * _winitzki(xp.log1p(-y * y))
    return _halley(x0, lambda x: (_erf_array(x) - y) * xp.exp(x * x) * (_SQRT_PI / 2))


def _erfcinv_tail(c):
    """The ``x >= 0`` with ``erfc(x) = c`` for ``0 < c <= 0.5``, accurate even for tiny c."""
    xp = xp_of(c)
    c = xp.clip(c, 1e-320, 0.5)  # the caller replaces c == 0 (x = inf)
    logc = xp.log(c)
    x0 = _winitzki(logc + xp.log(2 - c))
    # (erfc(x) - c) / erfc'(x), written with erfcx and exp(log c + x^2) so nothing underflows.
    return _halley(x0, lambda x: -(erfcx64(x) - xp.exp(logc + x * x)) * (_SQRT_PI / 2))


def _piecewise(x, pieces):
    """``fn(x[mask])`` into the elements of each ``(mask, fn)``; the rest stay NaN.

    Each iterative branch runs on its own elements only (not on all, then selected).
    """
    xp = xp_of(x)
    out = xp.full(x.shape, np.nan)
    for mask, fn in pieces:
        part = x[mask]
        if part.size:
            out[mask] = fn(part)
    return out


def erfinv64(y):
    xp = xp_of(y)
    y = _f64(y)
    a = xp.abs(y)
    out = _piecewise(y, [
        (a <= 0.5, _erfinv_small),
        ((a > 0.5) & (a < 1), lambda v: xp.sign(v) * _erfcinv_tail(1 - xp.abs(v))),
        (a == 1, lambda v: xp.sign(v) * np.inf)])
    return out  # |y| > 1 and NaN stay NaN


def ndtri64(p):
    """The standard normal quantile: ``sqrt(2) * erfinv(2p - 1)``, exact in both tails."""
    xp = xp_of(p)
    p = _f64(p)
    s2 = math.sqrt(2)
    return _piecewise(p, [
        ((p > 0) & (p < 0.25), lambda v: -s2 * _erfcinv_tail(2 * v)),
        ((p >= 0.25) & (p <= 0.75), lambda v: s2 * _erfinv_small(2 * v - 1)),
        ((p > 0.75) & (p < 1), lambda v: s2 * _erfcinv_tail(2 * (1 - v))),
        (p == 0, lambda v: xp.full(v.shape, -np.inf)),
        (p == 1, lambda v: xp.full(v.shape, np.inf))])


def log_ndtr64(x):
    """``log(ndtr(x))``: through erfcx in the lower tail (no underflow), log1p above."""
    xp = xp_of(x)
    x = _f64(x)
    t = -xp.minimum(x, -1.0) / math.sqrt(2)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        lower = xp.log(erfcx64(t) / 2) - t * t
        upper = xp.log1p(-erfc64(xp.maximum(x, -1.0) / math.sqrt(2)) / 2)
    return xp.where(x < -1, lower, upper)


# -- gamma family ------------------------------------------------------------------------------
def _shift_up(x, fn_step, target: float = 10.0, steps: int = 10):
    """Apply ``fn_step(acc, z)`` while ``z < target`` (at most ``steps`` times); return z."""
    xp = xp_of(x)
    z = x
    for _ in range(steps):
        low = z < target
        fn_step(low, z)
        z = xp.where(low, z + 1, z)
    return z


def _lgamma_pos(x):
    """lgamma for ``x > 0`` (and inf / NaN)."""
    xp = xp_of(x)
    prod = xp.ones_like(x)
    logs = xp.zeros_like(x)

    def step(low, z):
        nonlocal prod, logs
        prod = xp.where(low, prod * z, prod)
        # Keep the product in range: fold it into a log sum when it grows large.
        big = prod > 1e280
        logs = xp.where(big, logs + xp.log(xp.where(big, prod, 1.0)), logs)
        prod = xp.where(big, 1.0, prod)

    z = _shift_up(x, step)
    inv = 1 / z
    inv2 = inv * inv
    series = xp.zeros_like(z)
    for c in reversed(_STIRLING):
        series = series * inv2 + c
    with np.errstate(over="ignore", invalid="ignore"):
        st = (z - 0.5) * xp.log(z) - z + _LOG_SQRT_2PI + series * inv
    out = st - xp.log(prod) - logs
    return xp.where(x == np.inf, np.inf, out)


def lgamma64(x):
    xp = xp_of(x)
    x = _f64(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pos = _lgamma_pos(xp.where(x > 0, x, 1.0))
        neg_int = (x <= 0) & (x == xp.floor(x))
        xn = xp.where((x < 0) & ~neg_int, x, -0.5)
        # |sin(pi x)| from x minus its nearest integer: exact, so no digits are lost near -0.
        sin = xp.abs(xp.sin(math.pi * (xn - xp.round(xn))))
        refl = xp.log(math.pi / sin) - _lgamma_pos(1 - xn)
    out = xp.where(x > 0, pos, refl)
    out = xp.where(neg_int, np.inf, out)
    out = xp.where((x == 1) | (x == 2), 0.0, out)
    return xp.where(xp.isnan(x), x, out)


def _digamma_pos(x):
    xp = xp_of(x)
    acc = xp.zeros_like(x)

    def step(low, z):
        nonlocal acc
        acc = xp.where(low, acc - 1 / z, acc)

    z = _shift_up(x, step)
    inv2 = 1 / (z * z)
    series = xp.zeros_like(z)
    for c in reversed(_DIGAMMA):
        series = series * inv2 + c
    return acc + xp.log(z) - 0.5 / z - series * inv2


def digamma64(x):
    xp = xp_of(x)
    x = _f64(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = _digamma_pos(xp.where(x > 0, x, 1.0))
        xn = xp.where(x < 0, x, -0.5)
        r = xn - xp.trunc(xn)  # tan has period pi: the fraction keeps pi * r exact
        refl = _digamma_pos(1 - xn) - math.pi / xp.tan(math.pi * r)
    out = xp.where(x > 0, pos, refl)
    out = xp.where((x < 0) & (x == xp.floor(x)), np.nan, out)  # poles (and -inf): NaN
    out = xp.where(x == 0, xp.where(xp.signbit(x), np.inf, -np.inf), out)
    return xp.where(xp.isnan(x), x, out)


_ZETA_MAX_TERMS = 4096


def zeta64(s, q):
    """The Hurwitz zeta function ``sum_k (q + k)^-s`` (PyTorch's special.zeta)."""
    xp = xp_of(s) if hasattr(s, "dtype") else xp_of(q)
    s, q = xp.broadcast_arrays(xp.asarray(s, dtype=np.float64), xp.asarray(q, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        total = xp.power(q, -s)
        a = q.copy()
        b = xp.zeros_like(q)
        i = 0
        # Direct terms: at least nine, and on while q + k <= 9 (negative q needs more).
        # A q far below zero would need ~|q| direct terms: past _ZETA_MAX_TERMS give NaN.
        too_far = q < 9.0 - _ZETA_MAX_TERMS
        finite_q = xp.where(xp.isfinite(q) & ~too_far, q, 10.0)
        extra = int(max(0.0, math.ceil(9.0 - float(finite_q.min())))) if q.size else 0
        for i in range(max(9, extra + 1)):
            more = (i < 9) | (a <= 9.0)
            a = xp.where(more, a + 1, a)
            term = xp.power(a, -s)
            b = xp.where(more, term, b)
            total = xp.where(more, total + term, total)
        w = a
        total = total + b * w / (s - 1) - 0.5 * b
        fac = xp.ones_like(s)
        k = 0.0
        for div in _ZETA_DIV:
            fac = fac * (s + k)
            b = b / w
            total = total + fac * b / div
            k += 1
            fac = fac * (s + k)
            b = b / w
            k += 1
    out = xp.where(s == 1, np.inf, total)
    out = xp.where(s < 1, np.nan, out)
    bad_q = (q <= 0) & (q != xp.floor(q)) & (s != xp.floor(s))
    out = xp.where(bad_q & (s > 1), np.nan, out)
    out = xp.where((q <= 0) & (q == xp.floor(q)) & (s > 1), np.inf, out)
    out = xp.where(too_far & (q != xp.floor(q)), np.nan, out)
    return xp.where(xp.isnan(s) | xp.isnan(q), np.nan, out)


def trigamma64(x, like_dtype):
    """PyTorch's trigamma: reflection below 1/2 (its ``sin`` taken in the input's precision,
    as PyTorch computes it, so the huge values next to the poles agree), zeta above."""
    xp = xp_of(x)
    x = _f64(x)
    low = x < 0.5
    like_dtype = _opmath(like_dtype)
    xs = x.astype(like_dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sin = _f64(xp.sin(xs * like_dtype.type(math.pi)))
        refl = (math.pi * math.pi) / (sin * sin)
        z = xp.where(low, 1 - x, x)
        pos = zeta64(2.0, z)
    out = xp.where(low, refl - pos, pos)
    out = xp.where(x == np.inf, 0.0, out)
    return xp.where(xp.isnan(x), x, out)


def polygamma64(n: int, x, like_dtype):
    if n == 0:
        return digamma64(x)
    if n == 1:
        return trigamma64(x, like_dtype)
    sign = 1.0 if n % 2 else -1.0
    with np.errstate(over="ignore", invalid="ignore"):
        return sign * math.factorial(n) * zeta64(float(n + 1), _f64(x))


# -- modified Bessel functions -----------------------------------------------------------------
_BESSEL_SPLIT = 25.0


def _bessel_series(a, nu: int):
    """``I_nu(a) * exp(-a)`` by the power series, for ``0 <= a <= 25``."""
    xp = xp_of(a)
    q = a * a / 4
    term = (a / 2) ** nu / math.factorial(nu)
    total = term.copy() if hasattr(term, "copy") else term
    for k in range(1, 80):
        term = term * q / (k * (k + nu))
        total = total + term
    return total * xp.exp(-a)


def _bessel_asymptotic(a, nu: int):
    """``I_nu(a) * exp(-a)`` by the asymptotic series, for ``a > 25``."""
    xp = xp_of(a)
    mu = 4 * nu * nu
    term = xp.ones_like(a)
    total = term.copy()
    for k in range(1, 30):
        term = -term * (mu - (2 * k - 1) ** 2) / (k * 8 * a)
        total = total + term
    return total / xp.sqrt(2 * math.pi * a)


def bessel_i64(x, nu: int, scaled: bool):
    """``I_nu(x)`` (``nu`` 0 or 1), or ``exp(-|x|) I_nu(x)`` when ``scaled``."""
    xp = xp_of(x)
    # exp(|x|) in the input's own precision overflows where PyTorch's does (88.7 in float32;
    # float16 is computed in float32, as PyTorch's kernels do).
    scale = None if scaled else _f64(xp.exp(xp.abs(x).astype(_opmath(x.dtype))))
    x = _f64(x)
    a = xp.abs(x)
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        small = _bessel_series(xp.minimum(a, _BESSEL_SPLIT), nu)
        large = _bessel_asymptotic(xp.maximum(a, _BESSEL_SPLIT), nu)
        out = xp.where(a <= _BESSEL_SPLIT, small, large)
        if not scaled:
            out = out * scale
    if nu == 1:
        out = xp.where(x < 0, -out, out)
    return xp.where(xp.isnan(x), x, out)
