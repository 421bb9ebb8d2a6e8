"""The public transforms of ``torch.fft``, following PyTorch's ``SpectralOps.cpp`` step by step
(argument checks, dtype promotion, padding/truncation to ``n``/``s``, then one primitive of
``_core``), so values, dtypes, errors and gradients agree with PyTorch's."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..ops._util import normalize_dim
from ..tensor import Tensor
from ._core import Conj, FftC2C, FftC2R, FftR2C, Resize, ToComplex, norm_mode

_FFT_FLOATS = ("float32", "float64")


def _promote(x: Tensor, require_complex: bool = False) -> Tensor:
    """PyTorch's ``promote_tensor_fft``: integers to the default float; only float32/64."""
    kind = x._data.dtype.kind
    if kind == "c":
        return x
    if not _dt.is_float_array(x._data):
        x = x.to(_dt.get_default_dtype())
    elif x._data.dtype.name not in _FFT_FLOATS:
        raise RuntimeError(f"Unsupported dtype {_dt._LEGACY[x.dtype]}")
    return ToComplex.apply(x) if require_complex else x


def _int_arg(fname: str, arg: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"fft_{fname}(): argument '{arg}' must be int, not {type(v).__name__}")


def _norm_arg(fname: str, norm) -> None:
    if norm is not None and not isinstance(norm, str):
        raise TypeError(f"fft_{fname}(): argument 'norm' must be str, not "
                        f"{type(norm).__name__}")


def _check_1d(fname: str, n, dim, norm) -> None:
    """PyTorch's argument parsing: the types of ``n``, ``dim`` and ``norm``."""
    if n is not None:
        _int_arg(fname, "n", n)
    _int_arg(fname, "dim", dim)
    _norm_arg(fname, norm)


def _check_nd(fname: str, s, dim, norm) -> None:
    """PyTorch's argument parsing: ``s`` and ``dim`` are ints or sequences of ints."""
    for arg, v in (("s", s), ("dim", dim)):
        items = v if isinstance(v, Sequence) else () if v is None else (v,)
        if any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in items):
            raise TypeError(f"fft_{fname}(): argument '{arg}' must be tuple of ints, not "
                            f"{type(v).__name__}")
    _norm_arg(fname, norm)


def _check_n(n: int) -> None:
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _dim_1d(x: Tensor, dim: int) -> int:
    if x.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return normalize_dim(dim, x.ndim)


def _resize(x: Tensor, dims, sizes) -> Tensor:
    """PyTorch's ``resize_fft_input``: zero-pad or truncate only where the size differs."""
    todo = [(d, s) for d, s in zip(dims, sizes) if s != -1 and x.shape[d] != s]
    if not todo:
        return x
    return Resize.apply(x, tuple(d for d, _ in todo), tuple(s for _, s in todo))


# -- one-dimensional ---------------------------------------------------------------------------
def _c2c(x: Tensor, n, dim, norm, forward) -> Tensor:
    d = _dim_1d(x, dim)
    size = x.shape[d] if n is None else n
    _check_n(size)
    if n is not None:
        x = _resize(x, (d,), (n,))
    return FftC2C.apply(x, (d,), norm_mode(norm, forward), forward)


def _r2c(name, x: Tensor, n, dim, norm, forward, onesided) -> Tensor:
    if x.is_complex():
        raise RuntimeError(f"{name} expects a real input tensor, but got "
                           f"{_dt._LEGACY[x.dtype]}")
    x = _promote(x)
    d = _dim_1d(x, dim)
    size = x.shape[d] if n is None else n
    _check_n(size)
    if n is not None:
        x = _resize(x, (d,), (n,))
    out = FftR2C.apply(x, (d,), norm_mode(norm, forward), onesided)
    return out if forward else Conj.apply(out)


def _c2r(x: Tensor, n, dim, norm, forward) -> Tensor:
    x = _promote(x, require_complex=True)
    d = _dim_1d(x, dim)
    size = 2 * (x.shape[d] - 1) if n is None else n
    _check_n(size)
    if n is not None:
        x = _resize(x, (d,), (size // 2 + 1,))
    mode = norm_mode(norm, forward)
    if forward:  # hfft: the inverse real transform of the conjugate
        x = Conj.apply(x)
    return FftC2R.apply(x, (d,), mode, size)


def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """One-dimensional discrete Fourier transform. See: torch.fft.fft.

    Example:
        >>> brickwork.fft.fft(brickwork.tensor([1.0, 0.0, 0.0, 0.0]))
        tensor([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    _check_1d("fft", n, dim, norm)
    if input.is_complex():
        return _c2c(input, n, dim, norm, True)
    return _r2c("fft", input, n, dim, norm, True, False)


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """One-dimensional inverse discrete Fourier transform. See: torch.fft.ifft."""
    _check_1d("ifft", n, dim, norm)
    if input.is_complex():
        return _c2c(input, n, dim, norm, False)
    return _r2c("ifft", input, n, dim, norm, False, False)


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The transform of a real signal, non-negative frequencies only. See: torch.fft.rfft."""
    _check_1d("rfft", n, dim, norm)
    return _r2c("rfft", input, n, dim, norm, True, True)


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The inverse of :func:`rfft`: a real signal of ``n`` points (default ``2*(m-1)``).

    See: torch.fft.irfft.
    """
    _check_1d("irfft", n, dim, norm)
    return _c2r(input, n, dim, norm, False)


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The transform of a Hermitian-symmetric signal given by its one-sided half (real result).

    See: torch.fft.hfft.
    """
    _check_1d("hfft", n, dim, norm)
    return _c2r(input, n, dim, norm, True)


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The inverse of :func:`hfft`: one-sided inverse transform of a real signal.

    See: torch.fft.ihfft.
    """
    _check_1d("ihfft", n, dim, norm)
    return _r2c("ihfft", input, n, dim, norm, False, True)


# -- n-dimensional -----------------------------------------------------------------------------
def _as_seq(v):
    return None if v is None else (tuple(v) if isinstance(v, Sequence) else (v,))


def _shape_and_dims(x: Tensor, s, dim):
    """PyTorch's ``canonicalize_fft_shape_and_dim_args``: the dims and the signal sizes."""
    s, dim = _as_seq(s), _as_seq(dim)
    ndim = x.ndim
    if dim is not None:
        dims = tuple(normalize_dim(d, ndim) if ndim else _dim_1d(x, d) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        if dim is not None and len(dim) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                               f"{ndim} dimensions.")
        if dim is None:
            dims = tuple(range(ndim - len(s), ndim))
        shape = tuple(x.shape[d] if n == -1 else n for n, d in zip(s, dims))
    elif dim is None:
        dims, shape = tuple(range(ndim)), tuple(x.shape)
    else:
        shape = tuple(x.shape[d] for d in dims)
    for n in shape:
        _check_n(n)
    return shape, dims


def _fftn_c2c(x: Tensor, s, dim, norm, forward) -> Tensor:
    shape, dims = _shape_and_dims(x, s, dim)
    x = _resize(_promote(x, require_complex=True), dims, shape)
    return FftC2C.apply(x, dims, norm_mode(norm, forward), forward)


def _c2r_shape_and_dims(name, x: Tensor, s, dim):
    """Also the output length of the last dim; the input is resized to ``n//2 + 1`` there."""
    shape, dims = _shape_and_dims(x, s, dim)
    if not shape:
        raise RuntimeError(f"{name} must transform at least one axis")
    s = _as_seq(s)
    last = 2 * (x.shape[dims[-1]] - 1) if s is None or s[-1] == -1 else shape[-1]
    _check_n(last)
    return shape[:-1] + (last // 2 + 1,), dims, last


def fftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
         norm: str | None = None) -> Tensor:
    """N-dimensional discrete Fourier transform (all dims by default). See: torch.fft.fftn."""
    _check_nd("fftn", s, dim, norm)
    return _fftn_c2c(input, s, dim, norm, True)


def ifftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None) -> Tensor:
    """N-dimensional inverse discrete Fourier transform. See: torch.fft.ifftn."""
    _check_nd("ifftn", s, dim, norm)
    return _fftn_c2c(input, s, dim, norm, False)


def rfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None) -> Tensor:
    """N-dimensional transform of a real signal, one-sided in the last dim.

    See: torch.fft.rfftn.
    """
    _check_nd("rfftn", s, dim, norm)
    if input.is_complex():
        raise RuntimeError(f"rfftn expects a real-valued input tensor, but got "
                           f"{_dt._LEGACY[input.dtype]}")
    shape, dims = _shape_and_dims(input, s, dim)
    if not shape:
        raise RuntimeError("rfftn must transform at least one axis")
    x = _resize(_promote(input), dims, shape)
    return FftR2C.apply(x, dims, norm_mode(norm, True), True)


def irfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
           norm: str | None = None) -> Tensor:
    """The inverse of :func:`rfftn`. See: torch.fft.irfftn."""
    _check_nd("irfftn", s, dim, norm)
    shape, dims, last = _c2r_shape_and_dims("irfftn", input, s, dim)
    x = _resize(_promote(input, require_complex=True), dims, shape)
    return FftC2R.apply(x, dims, norm_mode(norm, False), last)


def hfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None) -> Tensor:
    """N-dimensional transform of a Hermitian-symmetric signal (real result).

    See: torch.fft.hfftn.
    """
    _check_nd("hfftn", s, dim, norm)
    shape, dims, last = _c2r_shape_and_dims("hfftn", input, s, dim)
    x = _resize(_promote(input, require_complex=True), dims, shape)
    mode = norm_mode(norm, True)
    if len(dims) > 1:
        x = FftC2C.apply(x, dims[:-1], mode, True)
    return FftC2R.apply(Conj.apply(x), dims[-1:], mode, last)


def ihfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
           norm: str | None = None) -> Tensor:
    """The inverse of :func:`hfftn` (one-sided result). See: torch.fft.ihfftn."""
    _check_nd("ihfftn", s, dim, norm)
    if input.is_complex():
        raise RuntimeError(f"Only supports floating-point dtypes, but found: "
                           f"{_dt._LEGACY[input.dtype]}")
    shape, dims = _shape_and_dims(input, s, dim)
    if not shape:
        raise RuntimeError("ihfftn must transform at least one axis")
    x = _resize(_promote(input), dims, shape)
    mode = norm_mode(norm, False)
    out = Conj.apply(FftR2C.apply(x, dims[-1:], mode, True))
    if len(dims) == 1:
        return out
    return FftC2C.apply(out, dims[:-1], mode, False)


def fft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
         norm: str | None = None) -> Tensor:
    """Two-dimensional discrete Fourier transform. See: torch.fft.fft2."""
    _check_nd("fft2", s, dim, norm)
    return fftn(input, s, dim, norm)


def ifft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Tensor:
    """Two-dimensional inverse discrete Fourier transform. See: torch.fft.ifft2."""
    _check_nd("ifft2", s, dim, norm)
    return ifftn(input, s, dim, norm)


def rfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Tensor:
    """Two-dimensional transform of a real signal. See: torch.fft.rfft2."""
    _check_nd("rfft2", s, dim, norm)
    return rfftn(input, s, dim, norm)


def irfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
           norm: str | None = None) -> Tensor:
    """The inverse of :func:`rfft2`. See: torch.fft.irfft2."""
    _check_nd("irfft2", s, dim, norm)
    return irfftn(input, s, dim, norm)


def hfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Tensor:
    """Two-dimensional transform of a Hermitian-symmetric signal. See: torch.fft.hfft2."""
    _check_nd("hfft2", s, dim, norm)
    return hfftn(input, s, dim, norm)


def ihfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
           norm: str | None = None) -> Tensor:
    """The inverse of :func:`hfft2`. See: torch.fft.ihfft2."""
    _check_nd("ihfft2", s, dim, norm)
    return ihfftn(input, s, dim, norm)


__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
           "hfft2", "ihfft2", "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn"]
