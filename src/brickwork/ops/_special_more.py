"""The rest of ``torch.special``: Bessel functions of the first and second kind (J0, J1, Y0,
Y1), the modified Bessel functions (I0, I1, K0, K1 and the scaled K's), Airy's Ai, the
spherical Bessel j0, and the orthogonal polynomials (Chebyshev T/U/V/W and their shifted forms,
Hermite H/He, Laguerre L, Legendre P).

Each follows PyTorch's kernel (``Math.h``: Cephes' rational and Chebyshev approximations for
the Bessel and Airy functions, ``_special_cephes.py``; the same special cases, closed forms and
recurrences for the polynomials), over whole arrays: the Bessel and Airy functions in float64,
rounded to the result's dtype; the polynomials in the result's dtype, as PyTorch's kernels (so
float32 overflows where PyTorch's does). As in PyTorch these functions have no derivative
(their results never require grad), and float16/bfloat16 inputs are refused.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _special_cephes as C
from ._special_numerics import bessel_i64
from ._util import wrap, xp_of

_INT64_MIN = np.iinfo(np.int64).min
_SQRT_2_OVER_PI = 0.797884560802865355879892119868763737
_PI_4, _3PI_4 = 0.785398163397448309615660845819875721, 2.356194490192344928846982537459627163
_TWO_OVER_PI = 0.636619772367581343075535053490057448


def _polevl(x, coefs):
    out = 0.0
    for c in coefs:
        out = out * x + c
    return out


def _chbevl(x, coefs):
    b0, b1, b2 = coefs[0], 0.0, 0.0
    for c in coefs[1:]:
        b2, b1 = b1, b0
        b0 = x * b1 - b2 + c
    return 0.5 * (b0 - b2)


def _where(xp, *pairs, default):
    """``pairs`` are (condition, value) in priority order; the first true one wins."""
    out = default
    for cond, value in reversed(pairs):
        out = xp.where(cond, value, out)
    return out


# -- Bessel J and Y --------------------------------------------------------------------------------
def _jy_large(x, pp, pq, qp, qq, phase, kind):
    z = 25.0 / (x * x)
    p = _polevl(z, pp) / _polevl(z, pq)
    q = 5.0 / x * (_polevl(z, qp) / _polevl(z, qq))
    xp = xp_of(x)
    if kind == "j":
        out = p * xp.cos(x - phase) - q * xp.sin(x - phase)
    else:
        out = p * xp.sin(x - phase) + q * xp.cos(x - phase)
    return out * _SQRT_2_OVER_PI / xp.sqrt(x)


def j0_64(x):
    xp = xp_of(x)
    a = xp.abs(x)
    big = xp.maximum(a, 5.0)
    z = a * a
    small = (z - 5.78318596294678452118e+00) * (z - 3.04712623436620863991e+01) * \
        _polevl(z, C.J0_RP) / _polevl(z, C.J0_RQ)
    tiny = 1.0 - z / 4.0
    large = _jy_large(big, C.J0_PP, C.J0_PQ, C.J0_QP, C.J0_QQ, _PI_4, "j")
    return _where(xp, (a < 1e-5, tiny), (a <= 5.0, small), default=large)


def j1_64(x):
    xp = xp_of(x)
    a = xp.abs(x)
    big = xp.maximum(a, 5.0)
    z = a * a
    small = _polevl(z, C.J1_RP) / _polevl(z, C.J1_RQ) * a * \
        (z - 1.46819706421238932572e+01) * (z - 4.92184563216946036703e+01)
    large = _jy_large(big, C.J1_PP, C.J1_PQ, C.J1_QP, C.J1_QQ, _3PI_4, "j")
    out = xp.where(a <= 5.0, small, large)
    return xp.where(x < 0, -out, out)


def y0_64(x):
    xp = xp_of(x)
    pos = xp.where(x > 0, x, 1.0)
    big = xp.maximum(pos, 5.0)
    z = pos * pos
    small = _polevl(z, C.Y0_YP) / _polevl(z, C.Y0_YQ) + _TWO_OVER_PI * xp.log(pos) * j0_64(pos)
    large = _jy_large(big, C.J0_PP, C.J0_PQ, C.J0_QP, C.J0_QQ, _PI_4, "y")
    return _where(xp, (xp.isnan(x), np.nan), (x == 0, -np.inf), (x < 0, np.nan),
                  (x <= 5.0, small), default=large)


def y1_64(x):
    xp = xp_of(x)
    pos = xp.where(x > 0, x, 1.0)
    big = xp.maximum(pos, 5.0)
    z = pos * pos
    small = pos * (_polevl(z, C.Y1_YP) / _polevl(z, C.Y1_YQ)) + \
        _TWO_OVER_PI * (j1_64(pos) * xp.log(pos) - 1.0 / pos)
    large = _jy_large(big, C.J1_PP, C.J1_PQ, C.J1_QP, C.J1_QQ, _3PI_4, "y")
    return _where(xp, (xp.isnan(x), np.nan), (x == 0, -np.inf), (x < 0, np.nan),
                  (x <= 5.0, small), default=large)


# -- modified Bessel K (and scaled K) --------------------------------------------------------------
def _k(x, order: int, scaled: bool):
    xp = xp_of(x)
    pos = xp.where(x > 0, x, 1.0)
    small_x = xp.minimum(pos, 2.0)
    big_x = xp.maximum(pos, 2.0)
    if order == 0:
        small = _chbevl(small_x * small_x - 2.0, C.K0_A) - \
            xp.log(0.5 * small_x) * bessel_i64(small_x, 0, False)
        large = _chbevl(8.0 / big_x - 2.0, C.K0_B) / xp.sqrt(big_x)
    else:
        small = xp.log(0.5 * small_x) * bessel_i64(small_x, 1, False) + \
            _chbevl(small_x * small_x - 2.0, C.K1_A) / small_x
        large = _chbevl(8.0 / big_x - 2.0, C.K1_B) / xp.sqrt(big_x)
    if scaled:
        small = small * xp.exp(small_x)
    else:
        large = large * xp.exp(-big_x)
    return _where(xp, (xp.isnan(x), np.nan), (x == 0, np.inf), (x < 0, np.nan),
                  (x <= 2.0, small), default=large)


# -- Airy Ai ---------------------------------------------------------------------------------------
def airy_ai64(x):
    xp = xp_of(x)
    finite = xp.where(xp.isfinite(x), x, 0.0)
    # x < -2.09: the oscillating asymptotic form.
    neg = xp.minimum(finite, -2.09)
    zeta = -2.0 * neg * xp.sqrt(-neg) / 3.0
    z = 1.0 / zeta
    zz = z * z
    t = zeta + 0.25 * math.pi
    oscillating = 5.64189583547756286948e-01 / xp.sqrt(xp.sqrt(-neg)) * (
        xp.sin(t) * (1.0 + zz * _polevl(zz, C.AI_AFN) / _polevl(zz, C.AI_AFD))
        - xp.cos(t) * (z * _polevl(zz, C.AI_AGN) / _polevl(zz, C.AI_AGD)))
    # x >= 2.09: the decaying asymptotic form (PyTorch uses it from 2.09 on).
    posx = xp.clip(finite, 2.09, 103.892)
    zeta_p = 2.0 * posx * xp.sqrt(posx) / 3.0
    decaying = 5.64189583547756286948e-01 * (_polevl(1.0 / zeta_p, C.AI_AN) /
                                             _polevl(1.0 / zeta_p, C.AI_AD)) / (
        2.0 * xp.sqrt(xp.sqrt(posx)) * xp.exp(zeta_p))
    # Otherwise the Maclaurin series f(x), g(x), to float64 resolution.
    mid = xp.clip(finite, -2.09, 2.09)
    f, g = xp.ones_like(mid), mid.copy()
    m, n = xp.ones_like(mid), mid.copy()
    cube = mid * mid * mid
    k = 1.0
    for _ in range(60):
        m = m * cube / ((k + 1) * (k + 2))
        n = n * cube / ((k + 2) * (k + 3))
        k += 3.0
        f, g = f + m, g + n
        if not bool(xp.any(xp.abs(m / f) > np.finfo(np.float64).eps)):
            break
    series = 0.355028053887817239260 * f - 0.258819403792806798405 * g
    return _where(xp, (~xp.isfinite(x), np.nan), (x > 103.892, 0.0), (x < -2.09, oscillating),
                  (x >= 2.09, decaying), default=series)


def spherical_j0_64(x):
    xp = xp_of(x)
    z = x * x
    series = 1.0 + z * (-1 / 6 + z * (1 / 120 + z * (-1 / 5040 + z * (
        1 / 362880 + z * (-1 / 39916800 + z * (1 / 6227020800))))))
    safe = xp.where(x == 0, 1.0, x)
    return _where(xp, (xp.isinf(x), 0.0), (xp.abs(x) < 0.5, series), default=xp.sin(safe) / safe)


# -- orthogonal polynomials ------------------------------------------------------------------------
def _recur(xp, n, q0, q1, step, need=None):
    """``P_n`` for every element from ``P_0 = q0``, ``P_1 = q1`` and ``P_{j+1} = step(j, P_j,
    P_{j-1})``; elements stop at their own ``n`` (or once NaN, as PyTorch's loops do). Only
    elements where ``need`` holds are iterated (the others have a closed form)."""
    if need is not None:
        n = xp.where(need, n, 0)
    p, q = q0 + 0 * q1, q1 + 0 * q0
    top = int(n.max()) if n.size else 0
    for j in range(1, top):
        live = n > j
        if not bool(xp.any(live & ~xp.isnan(q))):
            break
        r = step(j, q, p)
        p, q = xp.where(live, q, p), xp.where(live, r, q)
    return q


def _cheb(kind: str, x, n, shifted: bool):
    xp = xp_of(x)
    y = x + x - 1.0 if shifted else x
    ends = (x == 1, x == 0) if shifted else (y == 1, y == -1)  # x = 1/0 shifted, y = +-1
    even = n % 2 == 0
    sgn = xp.where(even, 1.0, -1.0)
    nf = n.astype(x.dtype)
    inside = xp.abs(y) < 1
    theta = xp.arccos(xp.clip(y, -1.0, 1.0))
    q1 = {"t": y, "u": 2 * y, "v": 2 * y - 1, "w": 2 * y + 1}[kind]
    limit = {"t": 6, "u": 6 if shifted else 8, "v": 6 if shifted else 8,
             "w": 4 if shifted else 8}[kind]
    top, bottom = ends
    need = ~(top | bottom | ((n > limit) & inside))
    rec = _recur(xp, n, xp.ones_like(y), q1, lambda j, q, p: 2 * y * q - p, need)
    if kind == "t":
        at_top, at_bottom = 1.0, sgn
        closed = xp.cos(nf * theta)
    elif kind == "u":
        at_top, at_bottom = nf + 1, sgn * (nf + 1)
        s = xp.sin(theta)
        closed = xp.where(s != 0, xp.sin((nf + 1) * theta) / xp.where(s != 0, s, 1.0),
                          (nf + 1) * xp.cos((nf + 1) * theta) / xp.where(y != 0, y, 1.0))
    elif kind == "v":
        at_top, at_bottom = 1.0, sgn * (2 * nf + 1)
        half = theta / 2
        closed = xp.where(xp.sin(half) != 1, xp.cos((nf + 0.5) * theta) /
                          xp.where(xp.sin(half) != 1, xp.cos(half), 1.0), sgn * (2 * nf + 1))
    else:
        at_top, at_bottom = 2 * nf + 1, sgn
        half = theta / 2
        fallback = at_bottom if shifted else xp.where(y > 0, 2 * nf + 1, sgn)
        closed = xp.where(xp.cos(half) != 1, xp.sin((nf + 0.5) * theta) /
                          xp.where(xp.cos(half) != 1, xp.sin(half), 1.0), fallback)
    if not shifted and kind in ("t", "u"):  # |x| == 1: x > 0 or n even gives the top value
        bottom_value = xp.where(even, at_top, at_bottom)
    else:
        bottom_value = at_bottom
    return _where(xp, (n < 0, 0.0), (top, at_top), (bottom, bottom_value),
                  ((n > limit) & inside, closed), (n == 0, 1.0), (n == 1, q1), default=rec)


def _hermite(x, n, physicists: bool, limit: int):
    xp = xp_of(x)
    if physicists:
        q1 = 2 * x
        rec = _recur(xp, n, xp.ones_like(x), q1, lambda j, q, p: 2 * x * q - 2 * j * p)
    else:
        q1 = x
        rec = _recur(xp, n, xp.ones_like(x), q1, lambda j, q, p: x * q - j * p)
    return _where(xp, (n < 0, 0.0), (n == 0, 1.0), (n == 1, q1), (n > limit, np.nan),
                  default=rec)


def _laguerre(x, n):
    xp = xp_of(x)
    rec = _recur(xp, n, xp.ones_like(x), 1 - x,
                 lambda j, q, p: ((2 * j + 1 - x) * q - j * p) / (j + 1))
    return _where(xp, (n < 0, 0.0), (x == 0, 1.0), (n == 0, 1.0), (n == 1, 1 - x), default=rec)


def _legendre(x, n):
    xp = xp_of(x)
    rec = _recur(xp, n, xp.ones_like(x), x, lambda j, q, p: ((2 * j + 1) * x * q - j * p) / (j + 1))
    at_one = xp.where((x > 0) | (n % 2 == 0), 1.0, -1.0)
    return _where(xp, (n < 0, 0.0), (xp.abs(x) == 1, at_one), (n == 0, 1.0), (n == 1, x),
                  default=rec)


# -- the public functions --------------------------------------------------------------------------
def _refuse(name: str, dtype, device) -> None:
    if dtype.name in ("float16", "bfloat16"):
        where = "cuda" if device.type == "cuda" else "cpu"
        label = "Half" if dtype.name == "float16" else "BFloat16"
        raise NotImplementedError(f'"{name}_{where}" not implemented for \'{label}\'')


def _unary(name: str, numeric):
    def op(input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, "
                            f"not {type(input).__name__}")
        dtype = input.dtype if input.is_floating_point() else _dt.get_default_dtype()
        _refuse(name, dtype, input.device)
        x = input._data.astype(np.float64)
        with np.errstate(all="ignore"):  # overflow to inf is the answer, as in PyTorch
            out = numeric(x).astype(dtype.np)
        return wrap(out, input)

    op.__name__ = name
    op.__doc__ = f"Element-wise ``{name}`` (no derivative, as in PyTorch). " \
                 f"See: torch.special.{name}."
    return op


def _n_as_int(xp, n):
    # C++'s static_cast<int64_t> on x86: NaN, infinities and out-of-range values become
    # INT64_MIN, which every polynomial then treats as n < 0.
    ok = xp.isfinite(n) & (xp.abs(n) < 2.0 ** 63)
    return xp.where(ok, xp.trunc(xp.where(ok, n, 0.0)), _INT64_MIN).astype(np.int64)


def _binary(name: str, numeric):
    def op(input, n) -> Tensor:
        x_t, n_t = isinstance(input, Tensor), isinstance(n, Tensor)
        if not (x_t or n_t):
            raise TypeError(f"special_{name}() received an invalid combination of arguments - "
                            f"got ({type(input).__name__}, {type(n).__name__}), but expected one "
                            f"of:\n * (Tensor x, Tensor n, *, Tensor out = None)\n * (Number x, "
                            f"Tensor n, *, Tensor out = None)\n * (Tensor x, Number n, *, Tensor "
                            f"out = None)\n")
        like = input if x_t else n
        dtype = _dt.result_type(input, n)
        if not dtype.is_floating_point:
            dtype = _dt.get_default_dtype()
        _refuse(name, dtype, like.device)
        xp = xp_of(like._data)
        x = input._data if x_t else xp.asarray(input)
        nn = n._data if n_t else xp.asarray(n)
        # Both operands become the result's dtype, as PyTorch's TensorIterator does, and the
        # recurrences run in it (float32 overflows where PyTorch's float32 kernel does).
        x, nn = xp.broadcast_arrays(x.astype(dtype.np), nn.astype(dtype.np))
        with np.errstate(all="ignore"):
            out = xp.asarray(numeric(x, _n_as_int(xp, nn), dtype)).astype(dtype.np)
        return wrap(out, like)

    op.__name__ = name
    op.__doc__ = f"``{name}`` of degree ``n`` (no derivative, as in PyTorch). " \
                 f"See: torch.special.{name}."
    return op


bessel_j0 = _unary("bessel_j0", j0_64)
bessel_j1 = _unary("bessel_j1", j1_64)
bessel_y0 = _unary("bessel_y0", y0_64)
bessel_y1 = _unary("bessel_y1", y1_64)
modified_bessel_i0 = _unary("modified_bessel_i0", lambda x: bessel_i64(x, 0, False))
modified_bessel_i1 = _unary("modified_bessel_i1", lambda x: bessel_i64(x, 1, False))
modified_bessel_k0 = _unary("modified_bessel_k0", lambda x: _k(x, 0, False))
modified_bessel_k1 = _unary("modified_bessel_k1", lambda x: _k(x, 1, False))
scaled_modified_bessel_k0 = _unary("scaled_modified_bessel_k0", lambda x: _k(x, 0, True))
scaled_modified_bessel_k1 = _unary("scaled_modified_bessel_k1", lambda x: _k(x, 1, True))
airy_ai = _unary("airy_ai", airy_ai64)
spherical_bessel_j0 = _unary("spherical_bessel_j0", spherical_j0_64)


def _hermite_limit(dtype) -> int:
    return 128 if dtype.name == "float32" else 512  # PyTorch's getHermitianLimit


chebyshev_polynomial_t = _binary("chebyshev_polynomial_t", lambda x, n, d: _cheb("t", x, n, False))
chebyshev_polynomial_u = _binary("chebyshev_polynomial_u", lambda x, n, d: _cheb("u", x, n, False))
chebyshev_polynomial_v = _binary("chebyshev_polynomial_v", lambda x, n, d: _cheb("v", x, n, False))
chebyshev_polynomial_w = _binary("chebyshev_polynomial_w", lambda x, n, d: _cheb("w", x, n, False))
shifted_chebyshev_polynomial_t = _binary("shifted_chebyshev_polynomial_t",
                                         lambda x, n, d: _cheb("t", x, n, True))
shifted_chebyshev_polynomial_u = _binary("shifted_chebyshev_polynomial_u",
                                         lambda x, n, d: _cheb("u", x, n, True))
shifted_chebyshev_polynomial_v = _binary("shifted_chebyshev_polynomial_v",
                                         lambda x, n, d: _cheb("v", x, n, True))
shifted_chebyshev_polynomial_w = _binary("shifted_chebyshev_polynomial_w",
                                         lambda x, n, d: _cheb("w", x, n, True))
hermite_polynomial_h = _binary("hermite_polynomial_h",
                               lambda x, n, d: _hermite(x, n, True, _hermite_limit(d)))
hermite_polynomial_he = _binary("hermite_polynomial_he",
                                lambda x, n, d: _hermite(x, n, False, _hermite_limit(d)))
laguerre_polynomial_l = _binary("laguerre_polynomial_l", lambda x, n, d: _laguerre(x, n))
legendre_polynomial_p = _binary("legendre_polynomial_p", lambda x, n, d: _legendre(x, n))

__all__ = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai",
           "spherical_bessel_j0", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
           "chebyshev_polynomial_v", "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
           "laguerre_polynomial_l", "legendre_polynomial_p"]

from ..device import guard_functions  # noqa: E402

guard_functions(globals(), __all__)  # arrays are made on the input's GPU
