"""Array-level helpers for complex gradients, shared by the op families' backwards.

PyTorch's convention for a real loss ``L`` of a complex ``z = x + iy``: the gradient it stores
is ``dL/dx + i dL/dy`` (twice the conjugate Wirtinger derivative). For a holomorphic ``f`` the
chain rule becomes ``grad_in = grad_out * conj(f'(z))``, so a backward written for real
numbers (``g * f'(x)``) is correct for complex ones once the derivative it multiplies by is
conjugated. These helpers do that, and cost one dtype test on the real path.

They accept backend arrays and, under ``create_graph``, the recording ``Lifted`` values (whose
``dtype`` is a NumPy dtype too); then they record the matching differentiable op.
"""
from __future__ import annotations

import numpy as np

from ..autograd._lifted import Lifted as _Lifted


def cj(x):
    """``conj(x)`` for complex arrays; ``x`` itself otherwise (scalars included)."""
    try:  # the real path (every float backward) pays one attribute test
        if x.dtype.kind != "c":
            return x
    except AttributeError:  # a Python scalar
        return x.conjugate() if isinstance(x, complex) else x
    if x.__class__ is _Lifted:
        from .complex_ops import conj_physical

        return _Lifted(conj_physical(x.t))
    return np.conjugate(x)


def real_part(x):
    """The real part of a complex array (the gradient of a real input); others unchanged."""
    dt = getattr(x, "dtype", None)
    if dt is None or dt.kind != "c":
        return x
    if x.__class__ is _Lifted:
        from .complex_ops import real

        return _Lifted(real(x.t))
    return x.real.copy()


def imag_part(x):
    """The imaginary part of a complex array (a copy)."""
    if x.__class__ is _Lifted:
        from .complex_ops import imag

        return _Lifted(imag(x.t))
    return x.imag.copy()


def sgn_of(x):
    """``sign(x)``, or ``x / |x|`` (0 at 0) for complex x: the derivative of ``abs``."""
    if x.dtype.kind != "c":
        return np.sign(x)
    xp = _xp(x)
    a = xp.abs(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where(a == 0, 0, x / a)


def _xp(x):
    from ._util import xp_of

    return xp_of(x)


def is_complex_array(x) -> bool:
    """Whether ``x`` (an array, a Lifted value or a scalar) holds complex numbers."""
    dt = getattr(x, "dtype", None)
    return isinstance(x, complex) if dt is None else dt.kind == "c"


def refuse_complex(input, message: str) -> None:
    """Raise PyTorch's ``NotImplementedError`` for an op that has no complex version."""
    data = getattr(input, "_data", None)
    if data is not None and data.dtype.kind == "c":
        raise NotImplementedError(message)


_COMPLEX_NAMES = {"complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def refuse_complex_kernel(kernel: str, *inputs) -> None:
    """PyTorch's ``"<kernel>" not implemented for 'ComplexFloat'`` for a complex input."""
    for x in inputs:
        data = getattr(x, "_data", None)
        if data is not None and data.dtype.kind == "c":
            raise NotImplementedError(f'"{kernel}" not implemented for '
                                      f"'{_COMPLEX_NAMES[data.dtype.name]}'")


def any_complex(*inputs) -> bool:
    """Whether a tensor among ``inputs`` is complex, or a Python complex is."""
    for x in inputs:
        data = getattr(x, "_data", None)
        if isinstance(x, complex) or (data is not None and data.dtype.kind == "c"):
            return True
    return False
