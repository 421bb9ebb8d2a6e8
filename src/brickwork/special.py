"""``brickwork.special``: PyTorch's ``torch.special`` namespace.

The functions are the ones of ``brickwork`` (``ops/_special_ops.py`` holds the special
functions, computed in float64 without SciPy) under the names SciPy made usual: ``expit`` is
``sigmoid``, ``gammaln`` is ``lgamma``, ``psi`` is ``digamma``, ``multigammaln`` is ``mvlgamma``.
"""
from __future__ import annotations

from .ops._special_ops import (digamma, entr, erfc, erfcx, erfinv, i0, i0e, i1, i1e,
                               lgamma as _lgamma, log_ndtr, logit, mvlgamma as _mvlgamma, ndtr,
                               ndtri, polygamma, sinc, xlog1py,
                               xlogy, zeta)
from .ops._special_more import *  # noqa: F401,F403
from .ops._special_more import __all__ as _more
from .ops.activation import log_softmax, sigmoid, softmax
from .ops.activation_extra import erf
from .ops.elementwise import expm1, log1p, round
from .ops.math_extra import exp2
from .ops.reduction_stats import logsumexp
from .tensor import Tensor  # noqa: F401  (torch.special exports it too)

# (igamma/igammac are top-level functions, which brickwork/__init__ has given out= already.)
from . import igamma as gammainc, igammac as gammaincc  # noqa: E402

expit = sigmoid
gammaln = _lgamma
psi = digamma
multigammaln = _mvlgamma

__all__ = ["erf", "erfc", "erfcx", "erfinv", "expit", "logit", "xlogy", "xlog1py", "gammaln",
           "digamma", "psi", "polygamma", "multigammaln", "i0", "i0e", "i1", "i1e", "ndtr",
           "ndtri", "log_ndtr", "log1p", "expm1", "exp2", "sinc", "round", "entr", "logsumexp",
           "softmax", "log_softmax", "zeta", "gammainc", "gammaincc", *_more]

from ._out import install_out as _install_out  # noqa: E402

_install_out(globals(), "special.")  # out= on every function, as in PyTorch (see _out.py)
