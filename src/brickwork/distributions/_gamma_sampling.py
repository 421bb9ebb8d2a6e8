"""Gamma draws with implicit reparameterization gradients (PyTorch's ``_standard_gamma`` and
``_standard_gamma_grad``), which Gamma, Beta, Dirichlet, Chi2 and StudentT sample through.

A Gamma(alpha, 1) draw ``x`` has no closed-form map from noise, so its derivative comes from
holding the CDF fixed: ``dx/dalpha = -(dP(alpha, x)/dalpha) / pdf(alpha, x)``, with ``P`` the
regularized lower incomplete gamma function (Figurnov et al., 2018, "Implicit
Reparameterization Gradients"). PyTorch approximates it piecewise; here it is evaluated to about
1e-9 relative:

* ``x <= alpha + 1``: ``P = x^a e^-x / Gamma(a+1) * S`` with ``S = sum_n x^n / ((a+1)...(a+n))``,
  differentiated term by term, which gives ``dx/da = -(x/a) (S (log x - digamma(a+1)) + dS/da)``
  (no exponentials, so nothing overflows);
* ``x > alpha + 1``: the continued fraction for ``Q = 1 - P`` (modified Lentz), differentiated in
  ``alpha`` by a central difference of ``Q / pdf`` evaluated in log space.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..ops._util import xp_of
from ..tensor import Tensor
from ._special import _digamma_array, _lgamma_array, _wrap

_MAX_TERMS = 5000
_TINY = 1e-300


def _series_grad(a, x):
    xp = xp_of(a)
    term = xp.ones_like(a)
    s = xp.ones_like(a)
    ds = xp.zeros_like(a)
    harmonic = xp.zeros_like(a)
    for n in range(1, _MAX_TERMS):
        term = term * x / (a + n)
        harmonic = harmonic + 1 / (a + n)
        s = s + term
        ds = ds - term * harmonic
        if n % 16 == 0 and not bool((term * (1 + harmonic) > 1e-17 * (s + xp.abs(ds))).any()):
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(x / a) * (s * (xp.log(x) - _digamma_array(a + 1)) + ds)


def _upper_cf(a, x):
    """The continued fraction ``h`` with ``Q(a, x) = x^a e^-x / Gamma(a) * h`` (for x > a+1)."""
    xp = xp_of(a)
    b = x + 1 - a
    c = xp.full(a.shape, 1 / _TINY)
    d = 1 / b
    h = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = xp.where(xp.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = xp.where(xp.abs(c) < _TINY, _TINY, c)
        d = 1 / d
        delta = d * c
        h = h * delta
        if i % 8 == 0 and not bool((xp.abs(delta - 1) > 1e-15).any()):
            break
    return h


def _cf_grad(a, x):
    xp = xp_of(a)
    step = 1e-5 * xp.maximum(a, 1.0)
    step = xp.minimum(step, a / 2)  # stay inside alpha > 0
    lg = _lgamma_array(a)
    log_x = xp.log(x)

    def q_over_pdf(a2):
        # Q(a2, x) / pdf(a, x) = exp((a2 - a) log x - lgamma(a2) + lgamma(a)) * x * h(a2, x)
        return xp.exp((a2 - a) * log_x - _lgamma_array(a2) + lg) * x * _upper_cf(a2, x)

    return (q_over_pdf(a + step) - q_over_pdf(a - step)) / (2 * step)


def _standard_gamma_grad_array(alpha, x):
    """d x / d alpha of Gamma(alpha, 1) draws ``x`` at fixed CDF (see the module docstring)."""
    xp = xp_of(alpha)
    dtype = x.dtype
    a = alpha.astype(np.float64)
    x = x.astype(np.float64)
    upper = x > a + 1
    out = xp.empty_like(a)
    lo = ~upper
    if bool(lo.any()):
        out[lo] = _series_grad(a[lo], x[lo])
    if bool(upper.any()):
        out[upper] = _cf_grad(a[upper], x[upper])
    return out.astype(dtype)


class _StandardGamma(Function):
    """One Gamma(alpha, 1) draw per element of ``alpha``, differentiable in ``alpha``."""

    @staticmethod
    def forward(ctx, alpha):
        from ..random import rng_for

        host = alpha.detach()._host()
        draw = rng_for(None).standard_gamma(host.astype(np.float64)).astype(host.dtype)
        draw = np.maximum(draw, np.finfo(host.dtype).tiny)  # as PyTorch: never exactly zero
        out = _wrap(xp_of(alpha._data).asarray(draw), alpha)
        ctx.save_for_backward(alpha, out)
        return out

    @staticmethod
    def backward(ctx, g):
        alpha, out = ctx.saved_tensors
        return g * _StandardGammaGrad.apply(alpha, out)


class _StandardGammaGrad(Function):
    """d x / d alpha as a graph node: a second derivative through it raises (as PyTorch's)
    instead of silently reading as zero."""

    @staticmethod
    def forward(ctx, alpha, x):
        return _wrap(_standard_gamma_grad_array(alpha._data, x._data), alpha)

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("the derivative of _standard_gamma_grad is not implemented "
                                  "(nor in PyTorch)")


def standard_gamma(alpha: Tensor) -> Tensor:
    """Gamma(alpha, 1) draws with implicit reparameterization gradients (private; PyTorch's
    ``torch._standard_gamma``)."""
    return _StandardGamma.apply(alpha)


def standard_gamma_grad(alpha: Tensor, x: Tensor) -> Tensor:
    """d x / d alpha at fixed CDF (private; PyTorch's ``torch._standard_gamma_grad``)."""
    return _StandardGammaGrad.apply(alpha, x)


def _gammainc_array(a, x):
    """Regularized lower incomplete gamma P(a, x): series below a+1, continued fraction above."""
    xp = xp_of(a)
    dtype = np.result_type(a.dtype, x.dtype)
    a, x = xp.broadcast_arrays(a.astype(np.float64), x.astype(np.float64))
    out = xp.zeros(a.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lo = (x > 0) & (x <= a + 1)
        hi = x > a + 1
        if bool(lo.any()):
            al, xl = a[lo], x[lo]
            term = xp.ones_like(al)
            s = xp.ones_like(al)
            for n in range(1, _MAX_TERMS):
                term = term * xl / (al + n)
                s = s + term
                if n % 16 == 0 and not bool((term > 1e-17 * s).any()):
                    break
            out[lo] = xp.exp(al * xp.log(xl) - xl - _lgamma_array(al + 1)) * s
        if bool(hi.any()):
            ah, xh = a[hi], x[hi]
            out[hi] = 1 - xp.exp(ah * xp.log(xh) - xh - _lgamma_array(ah)) * _upper_cf(ah, xh)
        out = xp.where(xp.isinf(x) & (x > 0), 1.0, out)
        out = xp.where(xp.isnan(x) | xp.isnan(a) | (x < 0) | (a <= 0), np.nan, out)
    return out.astype(dtype)


class _GammaInc(Function):
    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        return _wrap(_gammainc_array(a._data, x._data), x if x.dim() >= a.dim() else a)

    @staticmethod
    def backward(ctx, g):
        from ._special import lgamma

        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative of gammainc with respect to its first "
                                      "argument is not implemented (nor in PyTorch)")
        pdf = ((a - 1) * x.log() - x - lgamma(a)).exp()
        gx = g * pdf
        extra = gx.dim() - x.dim()
        if extra:
            gx = gx.sum(tuple(range(extra)))
        dims = tuple(i for i, (n, m) in enumerate(zip(gx.shape, x.shape)) if m == 1 and n != 1)
        return None, gx.sum(dims, keepdim=True) if dims else gx


def gammainc(a: Tensor, x: Tensor) -> Tensor:
    """Regularized lower incomplete gamma function (private; torch.special.gammainc)."""
    return _GammaInc.apply(a, x)
