"""igamma / igammac: the regularized lower and upper incomplete gamma functions.

P(a, x) by its power series where x < a + 1 and Q(a, x) = 1 - P by Lentz's continued fraction
elsewhere (Numerical Recipes' gser/gcf), in float64 on the backend arrays. Only ``other`` (x)
has a gradient, as in PyTorch: dP/dx = x^(a-1) e^-x / Gamma(a), written with brickwork ops so
that higher derivatives follow.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._special_numerics import lgamma64
from ._util import wrap, xp_of
from .reduction import _torch_type_name

_TINY = 1e-300


def _igamma_pq(a, x):
    """(P, Q) of float64 arrays ``a`` and ``x`` (broadcast), NaN outside a > 0, x >= 0."""
    xp = xp_of(x)
    a, x = xp.broadcast_arrays(a.astype(np.float64), x.astype(np.float64))
    a_safe = xp.where(a > 0, a, 1.0)
    x_safe = xp.where(x > 0, x, 1.0)
    with np.errstate(all="ignore"):
        front = xp.exp(-x_safe + a_safe * xp.log(x_safe) - lgamma64(a_safe))
        # Series for P.
        ap, term = a_safe.copy(), 1.0 / a_safe
        total = term.copy()
        for _ in range(1000):
            ap = ap + 1
            term = term * x_safe / ap
            total = total + term
            if bool((xp.abs(term) <= xp.abs(total) * 1e-16).all()):
                break
        p_series = total * front
        # Continued fraction for Q.
        b = x_safe + 1 - a_safe
        c = xp.full(b.shape, 1 / _TINY)
        d = 1 / xp.where(xp.abs(b) < _TINY, _TINY, b)
        h = d.copy()
        for i in range(1, 1000):
            an = -i * (i - a_safe)
            b = b + 2
            d = an * d + b
            d = 1 / xp.where(xp.abs(d) < _TINY, _TINY, d)
            c = b + an / c
            c = xp.where(xp.abs(c) < _TINY, _TINY, c)
            delta = d * c
            h = h * delta
            if bool((xp.abs(delta - 1) <= 1e-16).all()):
                break
        q_frac = front * h
    use_series = x_safe < a_safe + 1
    p = xp.where(use_series, p_series, 1 - q_frac)
    q = xp.where(use_series, 1 - p_series, q_frac)
    # Boundaries: x = 0 gives P = 0; x = inf gives P = 1; a = 0 (x > 0) gives P = 1.
    p = xp.where(x == 0, 0.0, p)
    q = xp.where(x == 0, 1.0, q)
    p = xp.where(xp.isinf(x) & (x > 0), 1.0, p)
    q = xp.where(xp.isinf(x) & (x > 0), 0.0, q)
    p = xp.where((a == 0) & (x > 0), 1.0, p)
    q = xp.where((a == 0) & (x > 0), 0.0, q)
    bad = (a < 0) | (x < 0) | xp.isnan(a) | xp.isnan(x) | ((a == 0) & (x == 0))
    return xp.where(bad, np.nan, p), xp.where(bad, np.nan, q)


class _Igamma(Function):
    """Tensor-level so that the backward's brickwork ops are recorded for higher orders."""

    @staticmethod
    def forward(ctx, a, x, upper):
        from .. import dtypes

        # a has no gradient; a copy of it, not a saved tensor, so that igamma_ may overwrite
        # its input (PyTorch's igamma_ is allowed on a tensor that the backward then reads).
        ctx.a = wrap(a._data.copy(), a)
        ctx.save_for_backward(x)
        ctx.upper = upper
        dt = dtypes.result_type(a, x)
        if not dt.is_floating_point:
            raise NotImplementedError(f'"{"igammac" if upper else "igamma"}_cpu" not '
                                      f"implemented for '{_torch_type_name(dt.np)}'")
        p, q = _igamma_pq(a._data, x._data)
        return wrap((q if upper else p).astype(dt.np), a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        a = ctx.a
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for "
                                      f"'{'igammac' if ctx.upper else 'igamma'}: input' is not "
                                      "implemented.")
        d = ((a - 1) * x.log() - x - a.lgamma()).exp()
        d = -d if ctx.upper else d
        return None, _sum_to(g * d, tuple(x.shape)), None


def _sum_to(t: Tensor, shape: tuple) -> Tensor:
    """``t`` summed down to the broadcast-compatible ``shape``."""
    lead = t.dim() - len(shape)
    if lead:
        t = t.sum(dim=tuple(range(lead)))
    dims = tuple(i for i, n in enumerate(shape) if n == 1 and t.shape[i] != 1)
    return t.sum(dim=dims, keepdim=True) if dims else t


def igamma(input: Tensor, other: Tensor) -> Tensor:
    """The regularized lower incomplete gamma function P(input, other). See: torch.igamma."""
    return _Igamma.apply(input, other, False)


def igammac(input: Tensor, other: Tensor) -> Tensor:
    """The regularized upper incomplete gamma function Q(input, other). See: torch.igammac."""
    return _Igamma.apply(input, other, True)


__all__ = ["igamma", "igammac"]
