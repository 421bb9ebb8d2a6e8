"""``interpolate`` (and the deprecated ``upsample*``), ``fold`` / ``unfold`` and ``dropout3d``.

Every resampling mode is separable, so it runs one spatial axis at a time: the source indices
and weights of each output position are computed on the host, following ATen's coordinate
rules (``UpSample.h``) in the same floating-point type ATen uses. The floating-point modes
apply them to an axis of at most ``MATRIX_MAX_IN`` inputs as one dense interpolation matrix
(a GEMM forward and backward, ``_AxisMatrix``); nearest modes, and longer axes, as
``index_select`` taps summed with their weights, whose gradients come from autograd
(``index_select``'s backward scatters into the clamped indices, as ATen's
``upsample_*_backward`` does). ``area`` is ``adaptive_avg_pool``. ``fold`` / ``unfold`` are
one ``index_add`` / ``index_select`` on the flattened, zero-padded image.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..autograd.function import Function
from ..device import guard_functions
from ..ops._products import along_axis
from ..ops._util import gather_grad, sums_finite, wrap, xp_of
from ..tensor import Tensor
from ._functional_fold import dropout3d, fold, unfold

_MODES = ("nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
          "nearest-exact")
_NEEDS_ND = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_NAMES = {"linear": "Linear", "bilinear": "Bilinear", "bicubic": "Bicubic",
          "trilinear": "Trilinear"}
_CUBIC_A = -0.75  # ATen's (and OpenCV's) bicubic convolution constant


def _opmath(dtype) -> type:
    """The host type ATen computes coordinates and weights in: double for float64, else float."""
    return np.float64 if dtype.name == "float64" else np.float32


def _nearest_indices(in_size: int, out_size: int, scale, exact: bool) -> np.ndarray:
    """Source index of every output position (ATen's ``nearest_idx`` / ``nearest_exact_idx``)."""
    dst = np.arange(out_size)
    if not exact and out_size == in_size:
        return dst
    if not exact and out_size == 2 * in_size:
        return dst >> 1
    # compute_scales_value<float>: the user's 1/scale when given, else in/out, both in float32.
    if scale is not None and scale > 0:
        s = np.float32(1.0 / scale)
    else:
        s = np.float32(in_size) / np.float32(out_size)
    if exact:  # (dst + 0.5) * scale is a double product, floored as a float (floorf)
        src = np.floor(((dst + 0.5) * np.float64(s)).astype(np.float32))
    else:  # dst * scale in float32
        src = np.floor(dst.astype(np.float32) * s)
    return np.minimum(src.astype(np.int64), in_size - 1)


def _source_coords(in_size: int, out_size: int, scale, align_corners: bool, cubic: bool,
                   ft: type) -> np.ndarray:
    """ATen's ``area_pixel_compute_source_index`` for every output position, in type ``ft``."""
    dst = np.arange(out_size).astype(ft)
    if align_corners:
        s = ft(in_size - 1) / ft(out_size - 1) if out_size > 1 else ft(0)
        return (s * dst).astype(ft)
    s = ft(1.0 / scale) if scale is not None and scale > 0 else ft(in_size) / ft(out_size)
    src = (s * (dst + ft(0.5)) - ft(0.5)).astype(ft)
    # Linear modes clamp negative coordinates to 0 (OpenCV's resize); cubic keeps them.
    return src if cubic else np.maximum(src, ft(0))


def _index_and_lambda(src: np.ndarray, in_size: int, ft: type):
    """ATen's ``guard_index_and_lambda``: floor index (at most in_size - 1) and its fraction."""
    idx = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam = np.clip(src - idx.astype(ft), 0, 1).astype(ft)
    return idx, lam


def _linear_taps(in_size, out_size, scale, align_corners, ft):
    src = _source_coords(in_size, out_size, scale, align_corners, False, ft)
    i0, lam = _index_and_lambda(src, in_size, ft)
    i1 = np.minimum(i0 + 1, in_size - 1)
    return [i0, i1], [(ft(1) - lam).astype(ft), lam]


def _cubic_taps(in_size, out_size, scale, align_corners, ft):
    src = _source_coords(in_size, out_size, scale, align_corners, True, ft)
    i0, t = _index_and_lambda(src, in_size, ft)
    a = ft(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    # Taps beyond the border repeat the edge pixel (their weight adds to it).
    indices = [np.clip(i0 - 1 + j, 0, in_size - 1) for j in range(4)]
    return indices, [w.astype(ft) for w in weights]


def _antialias_taps(in_size, out_size, scale, align_corners, ft, cubic: bool):
    """ATen's antialiased (PIL-style) taps: a filter stretched by the downscaling factor,
    its weights normalized to sum to 1 (``_compute_indices_min_size_weights_aa``)."""
    if align_corners:
        s = ft(in_size - 1) / ft(out_size - 1) if out_size > 1 else ft(0)
    else:
        s = ft(1.0 / scale) if scale is not None and scale > 0 else ft(in_size) / ft(out_size)
    interp = 4 if cubic else 2
    support = ft(interp * 0.5) * s if s >= 1 else ft(interp * 0.5)
    width = int(math.ceil(support)) * 2 + 1
    invscale = ft(1) / s if s >= 1 else ft(1)
    center = (s * (np.arange(out_size) + ft(0.5))).astype(ft)
    # static_cast<int64_t> truncates toward zero before the clamp at 0
    xmin = np.maximum(np.trunc(center - support + ft(0.5)).astype(np.int64), 0)
    xsize = np.minimum(np.trunc(center + support + ft(0.5)).astype(np.int64), in_size) - xmin
    j = np.arange(width)
    x = ((j[None, :] + xmin[:, None]).astype(ft) - center[:, None] + ft(0.5)) * invscale
    x = np.abs(x.astype(ft))
    if cubic:  # Keys' a = -0.5 here (PIL's), not the -0.75 of plain bicubic
        a = ft(-0.5)
        w = np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                     np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0))
    else:
        w = np.maximum(ft(1) - x, 0)
    w = np.where(j[None, :] < xsize[:, None], w, 0).astype(ft)
    total = w.sum(axis=1, keepdims=True, dtype=ft)
    w = np.where(total != 0, w / np.where(total != 0, total, 1), w).astype(ft)
    idx = np.minimum(xmin[:, None] + j[None, :], in_size - 1)
    return [idx[:, k] for k in range(width)], [w[:, k] for k in range(width)]


def _apply_taps(x: Tensor, axis: int, indices, weights) -> Tensor:
    """``sum_k weights[k] * x.index_select(axis, indices[k])`` (weights along ``axis``)."""
    shape = [1] * x.ndim
    shape[axis] = -1
    out = None
    for idx, w in zip(indices, weights):
        term = x.index_select(axis, wrap(np.ascontiguousarray(idx, dtype=np.int64), x))
        if w is not None:
            term = term * wrap(w.astype(x._data.dtype).reshape(shape), x)
        out = term if out is None else out + term
    return out


class _AxisMatrix(Function):
    """One axis resampled by a dense (n_out, n_in) matrix ``a``: ``a @ x`` along ``axis``,
    one GEMM (the last axis) or one stacked matmul; the gradient is ``a.T`` applied alike.
    Subclassed per mode (``_matrix_function``) for PyTorch's grad_fn names.

    The product also multiplies every input by the zeros of its row, so one inf or NaN would
    make a whole row NaN, where the taps keep it to its neighbours, as PyTorch does: arrays
    that hold one (their sum is not finite; an overflowing sum only costs the fast path) go
    through the ``taps`` (indices, weights) instead, forward and backward.
    """

    _array_level = True

    @staticmethod
    def forward(ctx, x, axis, a, taps):
        ctx.axis, ctx.a, ctx.taps, ctx.n_in = axis, a, taps, x.shape[axis]
        if sums_finite(x):
            return along_axis(x, axis, a)
        xp = xp_of(x)
        out = None
        with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 is NaN, as in PyTorch
            for idx, w in zip(*taps):
                term = xp.take(x, xp.asarray(idx), axis=axis) * \
                    _broadcast_along(xp.asarray(w), x, axis)
                out = term if out is None else out + term
        return out

    @staticmethod
    def backward(ctx, g):
        if sums_finite(g):
            return along_axis(g, ctx.axis, ctx.a.T), None, None, None
        xp = xp_of(g)
        shape = g.shape[:ctx.axis] + (ctx.n_in,) + g.shape[ctx.axis + 1:]
        gx = None
        with np.errstate(invalid="ignore", over="ignore"):
            for idx, w in zip(*ctx.taps):
                part = gather_grad(shape, ctx.axis, xp.asarray(idx),
                                   g * _broadcast_along(xp.asarray(w), g, ctx.axis))
                gx = part if gx is None else gx + part
        return gx, None, None, None


def _broadcast_along(w, x, axis: int):
    """A 1-d ``w`` shaped to broadcast along ``axis`` of ``x``, in x's dtype."""
    shape = [1] * x.ndim
    shape[axis] = -1
    return w.astype(x.dtype).reshape(shape)


_MATRIX_FUNCTIONS: dict = {}


def _matrix_function(name: str):
    """The ``_AxisMatrix`` whose grad_fn is called ``name`` (made once)."""
    fn = _MATRIX_FUNCTIONS.get(name)
    if fn is None:
        fn = _MATRIX_FUNCTIONS[name] = type(name[:-len("Backward0")], (_AxisMatrix,),
                                            {"_backward_name": name})
    return fn


# Up to this input length an axis is resampled as a dense matrix product: BLAS spends
# 2 * n_in multiply-adds per output, and still beats the taps (an index_select, a product and
# a sum per tap, and in the gradient a scatter of each tap): a 2x bilinear upsampling of
# (8, 64, 32, 32), forward + backward, 31.9 -> 3.6 ms (PyTorch 9.4 ms); at 256 the forward
# alone is 13% slower than the taps, forward + backward 2.4x faster.
MATRIX_MAX_IN = 256


def _resample_axis(x: Tensor, axis: int, indices, weights, name: str) -> Tensor:
    """``_apply_taps``' result, as a matrix product for short floating-point axes."""
    n_in = x.shape[axis]
    if n_in > MATRIX_MAX_IN or not x.is_floating_point():
        return _apply_taps(x, axis, indices, weights)
    n_out = len(indices[0])
    a = np.zeros((n_out, n_in), dtype=weights[0].dtype)
    rows = np.arange(n_out)
    for idx, w in zip(indices, weights):
        np.add.at(a, (rows, idx), w)  # taps clamped onto one input add up
    return _matrix_function(name).apply(x, axis, wrap(a.astype(x._data.dtype), x)._data,
                                        (indices, weights))


def _check_sizes(in_sizes, out_sizes) -> None:
    if all(s > 0 for s in in_sizes) and all(s > 0 for s in out_sizes):
        return
    names = ("D", "H", "W")[3 - len(in_sizes):]

    def fmt(sizes):
        return ", ".join(f"{n}: {s}" for n, s in zip(names, sizes))

    sep = " and" if len(in_sizes) == 1 else ""
    raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                       f"({fmt(in_sizes)}){sep} output ({fmt(out_sizes)})")


def _is_integer(x) -> bool:
    if isinstance(x, Tensor):
        return x.ndim == 0 and not x.is_floating_point() and not x.is_complex()
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _output_geometry(input: Tensor, size, scale_factor, recompute_scale_factor, mode):
    """PyTorch's ``interpolate`` argument processing: (output sizes, scales or None)."""
    dim = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scale_factors = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "output size in (o1, o2, ...,oK) format.")
            if not all(_is_integer(s) for s in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(s) for s in size]}")
            output_size = [int(s) for s in size]
        else:
            if not _is_integer(size):
                raise TypeError(f"interpolate(): size must be an int or a sequence of ints, "
                                f"but got {type(size).__name__}")
            output_size = [int(size)] * dim
    elif scale_factor is not None:
        output_size = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {spatial} and scale_factor of "
                    f"shape {scale_factor}. Please provide input tensor in (N, C, d1, d2, "
                    "...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scale_factors = [float(s) for s in scale_factor]
        else:
            if isinstance(scale_factor, Tensor):
                raise TypeError("interpolate(): scale_factor must be a float or a sequence of "
                                "floats, not a Tensor")
            scale_factors = [float(scale_factor)] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output_size is None:
        recompute_scale_factor = True  # area pools to an integer size: no scale is kept
    if output_size is None:
        # The output length truncates in * scale (ATen's compute_output_size, and Python's).
        output_size = [int(n * s) for n, s in zip(spatial, scale_factors)]
        if recompute_scale_factor:
            scale_factors = None
    return output_size, scale_factors


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample the spatial dimensions of (N, C, ...) ``input`` to ``size`` or by
    ``scale_factor``.

    Args:
        input: a 3-d (N, C, W), 4-d (N, C, H, W) or 5-d (N, C, D, H, W) tensor.
        size: the output spatial size (an int for every dimension, or one per dimension).
        scale_factor: the multiplier of each spatial size (a float, or one per dimension).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-d), ``'bilinear'`` /
            ``'bicubic'`` (4-d), ``'trilinear'`` (5-d) or ``'area'``.
        align_corners: for the interpolating modes, map the corner pixels' centres onto each
            other (default False); must stay None for the others.
        recompute_scale_factor: compute the output size from ``scale_factor`` and then
            interpolate from the sizes alone, ignoring the given scale.
        antialias: for ``'bilinear'`` / ``'bicubic'`` on 4-d input, low-pass filter when
            downsampling (PIL's resize).

    Returns:
        The resampled tensor, differentiable with respect to ``input``.

    Example:
        >>> F.interpolate(brickwork.ones(1, 1, 2, 2), scale_factor=2).shape
        brickwork.Size([1, 1, 4, 4])

    See: torch.nn.functional.interpolate.
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the "
                             "interpolating modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    output_size, scales = _output_geometry(input, size, scale_factor,
                                           recompute_scale_factor, mode)
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    nd = input.ndim
    if mode == "lanczos" and nd == 4:
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    if antialias and mode == "lanczos":
        raise NotImplementedError("brickwork: interpolate(mode='lanczos') is not supported")
    if nd in (3, 4, 5) and mode == "area":
        from ..ops import pooling, _spatial_pool

        pool = {3: pooling.adaptive_avg_pool1d, 4: pooling.adaptive_avg_pool2d,
                5: _spatial_pool.adaptive_avg_pool3d}[nd]
        return pool(input, output_size if nd > 3 else output_size[0])
    if nd in (3, 4, 5) and (mode in ("nearest", "nearest-exact") or _NEEDS_ND.get(mode) == nd):
        return _resample(input, output_size, scales, mode, align_corners, antialias)
    for m, want in _NEEDS_ND.items():
        if mode == m and nd in (3, 4, 5) and m != "bicubic":
            raise NotImplementedError(f"Got {nd}D input, but {m} mode needs {want}D input")
    raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                              f"{nd}D) for the modes: {_MODES} (got {mode})")


def _resample(input: Tensor, output_size, scales, mode: str, align_corners: bool,
              antialias: bool) -> Tensor:
    in_sizes = list(input.shape[2:])
    _check_sizes(in_sizes, output_size)
    nearest = mode.startswith("nearest")
    if not nearest and not input.is_floating_point():
        raise NotImplementedError(f"interpolate(mode={mode!r}) is not implemented for "
                                  f"{input.dtype}: it needs a floating-point input")
    x = input
    low = input.dtype.name in ("float16", "bfloat16")
    if low:  # ATen accumulates half-precision weights and sums in float32
        x = x.float()
    ft = _opmath(x.dtype)
    axes = list(enumerate(zip(in_sizes, output_size)))
    if antialias:
        # ATen resamples the last axis first and skips axes that keep their size (even with
        # a scale_factor other than 1). Its backward does not skip them, so there PyTorch's
        # gradient is not the adjoint of its forward; autograd gives brickwork the exact one.
        axes = [a for a in reversed(axes) if a[1][0] != a[1][1]]
    name = "Upsample" + _NAMES.get(mode, "") + f"{len(in_sizes)}D" + \
        ("Aa" if antialias else "") + "Backward0"
    for k, (n_in, n_out) in axes:
        scale = None if scales is None else scales[k]
        if antialias:
            taps = _antialias_taps(n_in, n_out, scale, align_corners, ft, mode == "bicubic")
            x = _resample_axis(x, k + 2, *taps, name)
        elif nearest:
            idx = _nearest_indices(n_in, n_out, scale, mode == "nearest-exact")
            if not (n_in == n_out and np.array_equal(idx, np.arange(n_out))):
                x = _apply_taps(x, k + 2, [idx], [None])
        elif mode == "bicubic":
            x = _resample_axis(x, k + 2, *_cubic_taps(n_in, n_out, scale, align_corners, ft),
                               name)
        else:
            x = _resample_axis(x, k + 2, *_linear_taps(n_in, n_out, scale, align_corners, ft),
                               name)
    if x is input:  # same size with nearest: a new tensor, as ATen's copy
        return input.clone()
    return x.to(input.dtype) if low else x


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate` (warns). See: torch.nn.functional.upsample."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(mode='nearest')`` (warns).

    See: torch.nn.functional.upsample_nearest.
    """
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(mode='bilinear', align_corners=True)`` (warns).

    See: torch.nn.functional.upsample_bilinear.
    """
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__: list = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "fold",
                 "unfold", "dropout3d"]

guard_functions(globals(), ["interpolate"])  # runs on its input's GPU (see device.py)
