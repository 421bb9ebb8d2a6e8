"""Integer division as PyTorch does it: exact truncation, and an error for a zero divisor.

NumPy's integer ``//``, ``%`` and ``fmod`` return 0 for a zero divisor; PyTorch raises. The
division ops in ``elementwise.py`` (``floor_divide``, ``remainder``, ``fmod``, ``div`` with a
rounding mode, and their operators and in-place forms) run their integer cases through here.
"""
from __future__ import annotations

import numpy as np

from ..device import runs_on_input_device
from ..tensor import Tensor
from ._util import xp_of


def trunc_divide(a, b):
    """C division of integer arrays: the quotient rounded toward zero (``a - fmod(a, b)`` is an
    exact multiple of ``b``, so the floor division of it is exact)."""
    return np.floor_divide(a - np.fmod(a, b), b)


trunc_divide.__name__ = "div"  # the op its broadcast errors name


def integer_operands(kernel: str, a, b) -> bool:
    """Whether promoted operands divide as integers; bool ones have no kernel in PyTorch."""
    t = a if isinstance(a, Tensor) else b
    kind = t._data.dtype.kind
    if kind == "b":
        raise NotImplementedError(f'"{kernel}_{t._device.type}" not implemented for \'Bool\'')
    return kind == "i" or kind == "u"


def refuse_zero_divisor(out: Tensor, b) -> Tensor:
    """PyTorch's error for an integer division by zero, where NumPy quietly gives 0 (issue 14).

    Called on the result of an integer ``//``, ``%``, ``fmod`` or rounded ``div``, so that
    broadcasting errors come first, as in PyTorch. It raises
    ``RuntimeError("ZeroDivisionError")`` as PyTorch's CPU kernels do, on every device (on a
    GPU the test reads one flag back). PyTorch checks element by element, so an empty result
    raises nothing; with broadcasting every divisor element reaches some output, so scanning
    ``b`` whole is the same test. The scan is one ``count_nonzero`` pass (about 0.5 us for a
    small tensor, under a tenth of the division for a large one); floats never get here and
    keep IEEE inf/nan.
    """
    if out._data.size:
        if not isinstance(b, Tensor):
            zero = b == 0
        else:
            bd = b._data
            zero = np.count_nonzero(bd) != bd.size if isinstance(bd, np.ndarray) else \
                _has_zero(b)
        if zero:
            raise RuntimeError("ZeroDivisionError")
    return out


@runs_on_input_device
def _has_zero(b: Tensor) -> bool:
    """Whether a GPU tensor holds a zero (one flag read back), on its own device."""
    bd = b._data
    return bool(xp_of(bd).count_nonzero(bd) != bd.size)


__all__: list = []
