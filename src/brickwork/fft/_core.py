"""The FFT primitives every public transform is built from, with PyTorch's gradients.

PyTorch lowers all of ``torch.fft`` to three kernels, ``_fft_c2c``, ``_fft_r2c`` and
``_fft_c2r``, each with a normalization mode (none, 1/sqrt(n), 1/n), plus padding/slicing of the
input, ``conj`` and real/complex casts. The same split is used here, so the gradients are
PyTorch's formulas (``derivatives.yaml``, ``fft_r2c_backward``, ``fft_c2r_backward``):

- c2c: the same transform in the other direction, with the same normalization mode;
- r2c: zero-fill the missing half of a one-sided gradient, inverse c2c, real part;
- c2r: one-sided r2c, then the bins whose mirror image was dropped are doubled.

All of these are linear, so each backward is again one of these primitives. ``_call`` runs one
on a backend array (first-order backward) or, under ``create_graph=True``, on a recording
``Lifted`` value, where it applies the differentiable Function instead: every order of
derivative comes from the same few lines. No node saves an array, so the engine never needs to
replay a forward.
"""
from __future__ import annotations

import numpy as np

from ..autograd._lifted import Lifted
from ..autograd.function import Function
from ..ops._util import xp_of

# PyTorch's fft_norm_mode: what the transform is divided by.
NORM_NONE, NORM_SQRT_N, NORM_N = 0, 1, 2

_COMPLEX_OF = {np.dtype(np.float32): np.dtype(np.complex64),
               np.dtype(np.float64): np.dtype(np.complex128)}
_REAL_OF = {v: k for k, v in _COMPLEX_OF.items()}


def norm_mode(norm: str | None, forward: bool) -> int:
    """PyTorch's ``norm_from_string``: the mode of a transform in direction ``forward``."""
    if norm is None or norm == "backward":
        return NORM_NONE if forward else NORM_N
    if norm == "forward":
        return NORM_N if forward else NORM_NONE
    if norm == "ortho":
        return NORM_SQRT_N
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _np_norm(mode: int, forward: bool) -> str:
    """NumPy/CuPy's ``norm`` argument that gives ``mode`` for a transform in that direction."""
    if mode == NORM_SQRT_N:
        return "ortho"
    # NumPy's "backward" leaves the forward transform unscaled and divides the inverse by n.
    unscaled = (mode == NORM_NONE) == forward
    return "backward" if unscaled else "forward"


def complex_of(dt) -> np.dtype:
    """The complex dtype that holds a float dtype's values (float32 -> complex64)."""
    return _COMPLEX_OF[np.dtype(dt)]


def real_of(dt) -> np.dtype:
    """The float dtype of a complex dtype's parts (complex64 -> float32)."""
    return _REAL_OF[np.dtype(dt)]


def _call(cls, x, *params):
    """``cls``'s computation on ``x``: a differentiable op on a recording value, else arrays."""
    if x.__class__ is Lifted:
        return Lifted(cls.apply(x.t, *params))
    return cls.run(x, *params)


class FftC2C(Function):
    """Complex-to-complex transform over ``dims``; a real input is first made complex."""

    _array_level = True
    _backward_name = "FftC2CBackward0"

    @staticmethod
    def run(x, dims, mode, forward):
        xp = xp_of(x)
        if x.dtype.kind != "c":
            x = x.astype(complex_of(x.dtype))
        if not dims:  # PyTorch: fftn over no dimensions is a (complex) copy
            return x.copy()
        fn = xp.fft.fftn if forward else xp.fft.ifftn
        return fn(x, axes=dims, norm=_np_norm(mode, forward)).astype(x.dtype, copy=False)

    @staticmethod
    def forward(ctx, x, dims, mode, forward):
        ctx.dims, ctx.mode, ctx.fwd, ctx.real_in = dims, mode, forward, x.dtype.kind != "c"
        return FftC2C.run(x, dims, mode, forward)

    @staticmethod
    def backward(ctx, g):
        gi = _call(FftC2C, g, ctx.dims, ctx.mode, not ctx.fwd)
        if ctx.real_in:  # the input was cast from real: its gradient is the real part
            gi = _call(RealPart, gi)
        return gi, None, None, None


class FftR2C(Function):
    """Real-to-complex transform over ``dims``: one-sided (last dim ``n//2 + 1``) or full."""

    _array_level = True
    _backward_name = "FftR2CBackward0"

    @staticmethod
    def run(x, dims, mode, onesided):
        xp = xp_of(x)
        norm = _np_norm(mode, True)
        out = xp.fft.rfftn(x, axes=dims, norm=norm) if onesided \
            else xp.fft.fftn(x, axes=dims, norm=norm)
        return out.astype(complex_of(x.dtype), copy=False)

    @staticmethod
    def forward(ctx, x, dims, mode, onesided):
        ctx.dims, ctx.mode, ctx.onesided = dims, mode, onesided
        ctx.last_size = x.shape[dims[-1]]
        return FftR2C.run(x, dims, mode, onesided)

    @staticmethod
    def backward(ctx, g):
        # fft_r2c_backward: view the one-sided result as the full one with the other half
        # dropped; its gradient zero-fills that half, then the inverse c2c, then the real part.
        dims = ctx.dims
        if ctx.onesided and g.shape[dims[-1]] < ctx.last_size:
            g = _call(Resize, g, (dims[-1],), (ctx.last_size,))
        gi = _call(RealPart, _call(FftC2C, g, dims, ctx.mode, False))
        return gi, None, None, None


class FftC2R(Function):
    """Complex(one-sided)-to-real transform over ``dims``, ``last_dim_size`` points long."""

    _array_level = True
    _backward_name = "FftC2RBackward0"

    @staticmethod
    def run(x, dims, mode, last_dim_size):
        xp = xp_of(x)
        s = [x.shape[d] for d in dims[:-1]] + [last_dim_size]
        out = xp.fft.irfftn(x, s=s, axes=dims, norm=_np_norm(mode, False))
        return out.astype(real_of(x.dtype), copy=False)

    @staticmethod
    def forward(ctx, x, dims, mode, last_dim_size):
        ctx.dims, ctx.mode = dims, mode
        return FftC2R.run(x, dims, mode, last_dim_size)

    @staticmethod
    def backward(ctx, g):
        # fft_c2r_backward: a one-sided r2c of the gradient; the bins 1 .. n - (n//2 + 1) stand
        # for two entries of the full spectrum (themselves and their mirror), so they count
        # twice. (Bin 0 and, for even n, bin n/2 are their own mirror.)
        last = ctx.dims[-1]
        gi = _call(FftR2C, g, ctx.dims, ctx.mode, True)
        double = g.shape[last] - gi.shape[last]
        if double > 0:
            gi = _call(ScaleBins, gi, last, 1, double, 2.0)
        return gi, None, None, None


class RealPart(Function):
    """The real part of a complex array, as a new real array."""

    _array_level = True
    _backward_name = "RealBackward0"

    @staticmethod
    def run(x):
        return x.real.copy()

    @staticmethod
    def forward(ctx, x):
        return RealPart.run(x)

    @staticmethod
    def backward(ctx, g):
        return _call(ToComplex, g)


class ToComplex(Function):
    """A real array as complex (imaginary part zero)."""

    _array_level = True
    _backward_name = "ToCopyBackward0"

    @staticmethod
    def run(x):
        return x.astype(complex_of(x.dtype))

    @staticmethod
    def forward(ctx, x):
        return ToComplex.run(x)

    @staticmethod
    def backward(ctx, g):
        return _call(RealPart, g)


class Conj(Function):
    """The complex conjugate (a copy; PyTorch's lazy conjugate view computes the same)."""

    _array_level = True
    _backward_name = "ConjBackward0"

    @staticmethod
    def run(x):
        return x.conj()

    @staticmethod
    def forward(ctx, x):
        return Conj.run(x)

    @staticmethod
    def backward(ctx, g):
        return _call(Conj, g)


class Resize(Function):
    """Zero-pad or truncate (from index 0) each of ``dims`` to its entry of ``sizes``."""

    _array_level = True
    _backward_name = "ConstantPadNdBackward0"

    @staticmethod
    def run(x, dims, sizes):
        shape = list(x.shape)
        keep = [slice(None)] * x.ndim
        for d, n in zip(dims, sizes):
            keep[d] = slice(0, min(n, shape[d]))
            shape[d] = n
        if all(a >= b for a, b in zip(x.shape, shape)):
            return x[tuple(keep)].copy()
        out = xp_of(x).zeros(tuple(shape), x.dtype)
        out[tuple(keep)] = x[tuple(keep)]
        return out

    @staticmethod
    def forward(ctx, x, dims, sizes):
        ctx.dims, ctx.old = dims, tuple(x.shape[d] for d in dims)
        return Resize.run(x, dims, sizes)

    @staticmethod
    def backward(ctx, g):
        # Padding's gradient drops the padded part; truncation's refills it with zeros.
        return _call(Resize, g, ctx.dims, ctx.old), None, None


class ScaleBins(Function):
    """``x`` with entries ``start .. start+length-1`` along ``dim`` multiplied by ``factor``."""

    _array_level = True
    _backward_name = "MulBackward0"

    @staticmethod
    def run(x, dim, start, length, factor):
        w = np.ones(x.shape[dim], dtype=real_of(x.dtype) if x.dtype.kind == "c" else x.dtype)
        w[start:start + length] = factor
        xp = xp_of(x)
        shape = [1] * x.ndim
        shape[dim] = -1
        return x * xp.asarray(w.reshape(shape))

    @staticmethod
    def forward(ctx, x, dim, start, length, factor):
        ctx.params = (dim, start, length, factor)
        return ScaleBins.run(x, dim, start, length, factor)

    @staticmethod
    def backward(ctx, g):
        return (_call(ScaleBins, g, *ctx.params),) + (None,) * 4
