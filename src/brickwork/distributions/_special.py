"""Special functions the distributions use, taken from ``brickwork.special`` and the ops.

``_lgamma_array``/``_digamma_array`` are the array-level numerics (``ops/_special_numerics.py``)
in the input's dtype, for the gamma sampler's gradient; the rest are the public differentiable
functions under the names the distribution modules use.
"""
from __future__ import annotations

from ..ops._special_numerics import digamma64, lgamma64
from ..ops.math_extra import digamma, erfinv, lgamma, mvlgamma, polygamma, xlogy
from ..tensor import Tensor

__all__ = ["lgamma", "digamma", "trigamma", "erfinv", "mvlgamma", "xlogy"]


def _lgamma_array(x):
    """log|Gamma(x)| of a float array, in its dtype."""
    return lgamma64(x).astype(x.dtype, copy=False)


def _digamma_array(x):
    """digamma of a float array, in its dtype."""
    return digamma64(x).astype(x.dtype, copy=False)


def _wrap(arr, like: Tensor) -> Tensor:
    """A Tensor over ``arr`` on ``like``'s device (outside autograd)."""
    out = Tensor.__new__(Tensor)
    out._data = arr
    out._device = like._device
    return out


def trigamma(x: Tensor) -> Tensor:
    """The derivative of digamma: ``polygamma(1, x)``."""
    return polygamma(1, x)
