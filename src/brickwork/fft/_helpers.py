"""``torch.fft``'s helpers: sample frequencies (``fftfreq``, ``rfftfreq``) and the shifts that
put the zero frequency in the middle (``fftshift``, ``ifftshift``)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..factories import _check_options, _finish
from ..ops._util import normalize_dim
from ..tensor import Tensor


def _freq(name: str, k: np.ndarray, n: int, d: float, dtype, layout, device,
          requires_grad: bool) -> Tensor:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"fft_{name}(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if layout is not None:
        _check_options(name, layout, False)
    dt = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    if dt.is_complex:  # PyTorch builds the result with arange, which has no complex kernel
        raise NotImplementedError(f'"arange_cpu" not implemented for \'{_dt._LEGACY[dt]}\'')
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    # As PyTorch: the integers k in the result's dtype, times 1/(n*d) rounded to that dtype.
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.float64(1.0) / (np.float64(n) * np.float64(d))
        arr = k.astype(dt.np) * dt.np.type(scale)
    return _finish(arr, None, device, requires_grad)


def fftfreq(n: int, d: float = 1.0, *, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``.

    ``[0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d*n)``. See: torch.fft.fftfreq.

    Example:
        >>> brickwork.fft.fftfreq(4)
        tensor([ 0.0000,  0.2500, -0.5000, -0.2500])
    """
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    k = np.concatenate([np.arange((n + 1) // 2), np.arange(-(n // 2), 0)])
    return _freq("fftfreq", k, n, d, dtype, layout, device, requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The non-negative sample frequencies of an ``n``-point :func:`rfft`: ``[0..n//2]/(d*n)``.

    See: torch.fft.rfftfreq.
    """
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n // 2 + 1}: "
                           f"[{n // 2 + 1}]")
    return _freq("rfftfreq", np.arange(n // 2 + 1), n, d, dtype, layout, device, requires_grad)


def _dims(name: str, input: Tensor, dim) -> list:
    """The dims to roll, wrapped, with PyTorch's errors (roll needs at least one shift)."""
    if dim is None:
        dims = list(range(input.ndim))
    else:
        dims = list(dim) if isinstance(dim, Sequence) else [dim]
        if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) for d in dims):
            raise TypeError(f"fft_{name}(): argument 'dim' must be tuple of ints, not "
                            f"{type(dim).__name__}")
    if not dims:
        raise RuntimeError("`shifts` required")
    return [normalize_dim(d, input.ndim) for d in dims]


def fftshift(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """Roll each of ``dim`` (all by default) by half its length: zero frequency to the middle.

    See: torch.fft.fftshift.
    """
    from .. import roll

    dims = _dims("fftshift", input, dim)
    return roll(input, [input.shape[d] // 2 for d in dims], dims)


def ifftshift(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """The inverse of :func:`fftshift`. See: torch.fft.ifftshift."""
    from .. import roll

    dims = _dims("ifftshift", input, dim)
    return roll(input, [(input.shape[d] + 1) // 2 for d in dims], dims)


__all__ = ["fftfreq", "rfftfreq", "fftshift", "ifftshift"]
