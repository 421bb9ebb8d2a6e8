"""Discrete Fourier transforms. See: torch.fft.

Every transform of PyTorch's ``torch.fft`` with its arguments (``n``/``s``, ``dim``, ``norm``,
``out``), dtypes (float32 -> complex64, float64 -> complex128, integers promoted to the default
float) and gradients, computed with ``numpy.fft`` on the CPU and ``cupy.fft`` on a GPU.

Example:
    >>> x = brickwork.tensor([1.0, 2.0, 3.0, 4.0])
    >>> brickwork.fft.irfft(brickwork.fft.rfft(x), n=4)
    tensor([1., 2., 3., 4.])
"""
from __future__ import annotations

from ..tensor import Tensor  # noqa: F401 - torch.fft exposes Tensor too
from ._helpers import fftfreq, fftshift, ifftshift, rfftfreq  # noqa: F401
from ._transforms import (fft, fft2, fftn, hfft, hfft2, hfftn, ifft, ifft2, ifftn,  # noqa: F401
                          ihfft, ihfft2, ihfftn, irfft, irfft2, irfftn, rfft, rfft2, rfftn)

from .._out import install_out as _install_out  # noqa: E402

_install_out(globals(), "fft.")  # out= as in PyTorch (see _out.py)

__all__ = ["Tensor", "fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2",
           "irfft2", "hfft2", "ihfft2", "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn",
           "fftfreq", "rfftfreq", "fftshift", "ifftshift"]
