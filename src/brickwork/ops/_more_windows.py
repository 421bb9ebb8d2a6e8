"""Window functions for signal processing: bartlett, blackman, hamming, hann and kaiser.

Computed in float64 on the host (a window is small) and placed on the requested device.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..factories import _check_layout, _check_pin


def _window(name: str, window_length: int, periodic: bool, dtype, layout, device,
            pin_memory: bool, requires_grad: bool, shape_fn):
    """Build the window ``shape_fn(k, n)`` over ``k = 0..n-1`` (``n`` one longer if periodic,
    the last point dropped), as PyTorch does."""
    from ..factories import tensor

    _check_layout(name, layout)
    _check_pin(pin_memory)
    d = _dt.get_default_dtype() if dtype is None else dtype
    if not d.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: TensorOptions(dtype="
                           f"{_c_name(d)}"
                           ", device=cpu, layout=Strided (default), requires_grad=false "
                           "(default), pinned_memory=false, memory_format=(nullopt))")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    if window_length <= 1:
        arr = np.ones(window_length, np.float64)
    else:
        n = window_length + 1 if periodic else window_length
        arr = shape_fn(np.arange(n, dtype=np.float64), n)[:window_length]
    return tensor(arr.astype(d.np), dtype=d, device=device, requires_grad=requires_grad)


_C_NAMES = {"int8": "signed char", "int16": "short int", "int32": "int", "int64": "long int",
            "uint8": "unsigned char", "bool": "bool"}


def _c_name(d) -> str:
    return _C_NAMES.get(d.name, d.name)


def _cosine_sum(coefs):
    def shape(k, n):
        x = 2 * math.pi * k / (n - 1)
        return sum(c * np.cos(i * x) for i, c in enumerate(coefs))
    return shape


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, pin_memory: bool = False, requires_grad: bool = False):
    """The Hann window ``0.5 - 0.5 cos(2 pi k / (N-1))``. See: torch.hann_window."""
    return _window("hann_window", window_length, periodic, dtype, layout, device, pin_memory,
                   requires_grad, _cosine_sum((0.5, -0.5)))


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   pin_memory: bool = False, requires_grad: bool = False):
    """The Hamming window ``alpha - beta cos(2 pi k / (N-1))``. See: torch.hamming_window."""
    return _window("hamming_window", window_length, periodic, dtype, layout, device, pin_memory,
                   requires_grad, _cosine_sum((alpha, -beta)))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, pin_memory: bool = False, requires_grad: bool = False):
    """The Blackman window. See: torch.blackman_window."""
    return _window("blackman_window", window_length, periodic, dtype, layout, device,
                   pin_memory, requires_grad, _cosine_sum((0.42, -0.5, 0.08)))


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, pin_memory: bool = False, requires_grad: bool = False):
    """The triangular Bartlett window ``1 - |2k/(N-1) - 1|``. See: torch.bartlett_window."""
    return _window("bartlett_window", window_length, periodic, dtype, layout, device,
                   pin_memory, requires_grad, lambda k, n: 1 - np.abs(2 * k / (n - 1) - 1))


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None,
                  layout=None, device=None, pin_memory: bool = False,
                  requires_grad: bool = False):
    """The Kaiser window ``I0(beta sqrt(1 - (2k/(N-1) - 1)^2)) / I0(beta)``.

    See: torch.kaiser_window.
    """
    def shape(k, n):
        r = 2 * k / (n - 1) - 1
        return np.i0(beta * np.sqrt(np.clip(1 - r * r, 0, None))) / np.i0(beta)

    return _window("kaiser_window", window_length, periodic, dtype, layout, device, pin_memory,
                   requires_grad, shape)


__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window",
           "kaiser_window"]
