"""Grid sampling (``grid_sampler`` / ``grid_sample``) and affine grids (``affine_grid``).

Written in differentiable Tensor ops after PyTorch's kernels (``GridSampler.h``): the grid's
normalized coordinates are unnormalized, passed through the padding mode (clipped for
'border', reflected then clipped for 'reflection'), and the input is read at the integer
neighbours with one gather per neighbour (``take_along_dim`` over the flattened spatial
axes), masked to zero outside the input. The interpolation weights are functions of the grid,
so autograd gives gradients (and second derivatives) with respect to both the input and the
grid. Modes: 0 bilinear (trilinear for 5-D input), 1 nearest, 2 bicubic (4-D input only, with
PyTorch's cubic convolution, A = -0.75); padding modes: 0 zeros, 1 border, 2 reflection.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from ..tensor import Tensor
from ._util import wrap
from .conv import scalar_name

_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
_PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}
_CUBIC_A = -0.75


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _clip(coord: Tensor, size: int) -> Tensor:
    return coord.clamp(0, size - 1)


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """Reflect into [twice_low / 2, twice_high / 2], as PyTorch's reflect_coordinates."""
    if twice_low == twice_high:
        return coord * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = (coord - low).abs()
    flips = (c / span).detach().floor()
    extra = c - flips * span  # fmod(c, span), differentiable in c
    even = wrap((flips._data % 2) == 0, c)
    return extra.where(even, span - extra) + low


def _pad_coord(coord: Tensor, size: int, padding: int, align_corners: bool) -> Tensor:
    """PyTorch's compute_coordinates: the padding mode applied to an unnormalized coordinate."""
    if padding == 1:
        return _clip(coord, size)
    if padding == 2:
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        return _clip(coord, size)
    return coord


def _read(flat: Tensor, corner, sizes, strides) -> Tensor:
    """Input values at integer ``corner`` coordinates (arrays (N, P)); zero outside the input.

    ``flat`` is (N, C, S). Returns (N, C, P).
    """
    inside = True
    index = 0
    for c, size, st in zip(corner, sizes, strides):
        inside = inside & (c >= 0) & (c < size)
        index = index + c.clip(0, size - 1) * st
    idx = wrap(index.astype(np.int64)[:, None, :], flat)
    vals = flat.take_along_dim(idx, 2)
    return vals * wrap(inside[:, None, :].astype(flat._data.dtype), flat)


def _sample(input: Tensor, grid: Tensor, mode: int, padding: int, align_corners: bool) -> Tensor:
    nd = input.ndim - 2
    n, c = input.shape[:2]
    sizes = tuple(input.shape[2:])[::-1]  # (W, H[, D]): the grid's x, y, z order
    strides = [int(np.prod(sizes[:i])) for i in range(nd)]
    out_sp = tuple(grid.shape[1:-1])
    p = int(np.prod(out_sp))
    flat = input.reshape(n, c, int(np.prod(sizes)))
    coords = [grid[..., i].reshape(n, p) for i in range(nd)]
    coords = [_unnormalize(x, s, align_corners) for x, s in zip(coords, sizes)]
    if mode == 2:
        return _bicubic(flat, coords, sizes, strides, padding, align_corners).reshape(
            (n, c) + out_sp)
    coords = [_pad_coord(x, s, padding, align_corners) for x, s in zip(coords, sizes)]
    if mode == 1:
        # std::nearbyint: halves round to even, like NumPy's rint.
        corner = [x.detach()._data.round() for x in coords]
        out = _read(flat, corner, sizes, strides)
        return out.reshape((n, c) + out_sp)
    lows = [x.detach()._data // 1 for x in coords]
    out = None
    for offs in itertools.product((0, 1), repeat=nd):
        weight = None
        for x, lo, o in zip(coords, lows, offs):
            lo_t = wrap(lo, x)
            w = (x - lo_t) if o else (lo_t + 1 - x)
            weight = w if weight is None else weight * w
        corner = [lo + o for lo, o in zip(lows, offs)]
        term = _read(flat, corner, sizes, strides) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out.reshape((n, c) + out_sp)


def _cubic_coefficients(t: Tensor):
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _bicubic(flat, coords, sizes, strides, padding, align_corners) -> Tensor:
    ix, iy = coords
    x0, y0 = ix.detach()._data // 1, iy.detach()._data // 1
    wx = _cubic_coefficients(ix - wrap(x0, ix))
    wy = _cubic_coefficients(iy - wrap(y0, iy))
    xp_ = wrap(x0, ix)

    def tap(arr, k, size):
        # Each tap's integer coordinate goes through the padding mode on its own (PyTorch's
        # get_value_bounded), then is read with zeros outside the input.
        t = wrap(arr + k, xp_)
        return _pad_coord(t, size, padding, align_corners).detach()._data

    xs = [tap(x0, k - 1, sizes[0]) for k in range(4)]
    ys = [tap(y0, k - 1, sizes[1]) for k in range(4)]
    out = None
    for j in range(4):
        row = None
        for i in range(4):
            v = _read(flat, [xs[i].astype(np.int64), ys[j].astype(np.int64)], sizes, strides)
            term = v * wx[i].unsqueeze(1)
            row = term if row is None else row + term
        term = row * wy[j].unsqueeze(1)
        out = term if out is None else out + term
    return out


def _check_sampler(input: Tensor, grid: Tensor, mode: int, padding: int, nd=None) -> None:
    if input.dtype != grid.dtype:
        raise RuntimeError(f"expected scalar type {scalar_name(input.dtype)} but found "
                           f"{scalar_name(grid.dtype)}")
    if nd is not None and (input.ndim != nd + 2 or grid.ndim != nd + 2):
        raise RuntimeError(f"grid_sampler(): expected {nd + 2}D input and grid with same number "
                           f"of dimensions, but got input with sizes {list(input.shape)} and "
                           f"grid with sizes {list(grid.shape)}")
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {list(input.shape)} and "
                           f"grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last "
                           f"dimension, but got grid with sizes {list(grid.shape)}")
    for i in range(2, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i} being empty")
    if mode == 2 and input.ndim != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if mode not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): interpolation_mode must be 0 (bilinear), 1 "
                           f"(nearest) or 2 (bicubic), but got {mode}")
    if padding not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): padding_mode must be 0 (zeros), 1 (border) or 2 "
                           f"(reflection), but got {padding}")
    if not input.is_floating_point():
        kernel = "grid_sampler_2d_cpu_kernel_impl" if input.ndim == 4 else \
            "grid_sampler_3d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{scalar_name(input.dtype)}'")


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                 align_corners: bool) -> Tensor:
    """Sample ``input`` (N, C, [D,] H, W) at ``grid`` (N, [Do,] Ho, Wo, 2 or 3) in [-1, 1].

    Args:
        interpolation_mode: 0 bilinear, 1 nearest, 2 bicubic (4-D input only).
        padding_mode: 0 zeros, 1 border, 2 reflection.
        align_corners: whether -1 and 1 are the centres (True) or the outer edges of the
            corner pixels.

    See: torch.grid_sampler.
    """
    _check_sampler(input, grid, interpolation_mode, padding_mode)
    return _sample(input, grid, int(interpolation_mode), int(padding_mode), bool(align_corners))


def grid_sampler_2d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """``grid_sampler`` for 4-D input and grid. See: torch.grid_sampler_2d."""
    _check_sampler(input, grid, interpolation_mode, padding_mode, 2)
    return _sample(input, grid, int(interpolation_mode), int(padding_mode), bool(align_corners))


def grid_sampler_3d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """``grid_sampler`` for 5-D input and grid. See: torch.grid_sampler_3d."""
    _check_sampler(input, grid, interpolation_mode, padding_mode, 3)
    return _sample(input, grid, int(interpolation_mode), int(padding_mode), bool(align_corners))


_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                  "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                  "old behavior is desired. See the documentation of grid_sample for details.")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the normalized locations of ``grid`` (spatial transformers).

    Args:
        input: (N, C, H, W) or (N, C, D, H, W).
        grid: (N, Ho, Wo, 2) or (N, Do, Ho, Wo, 3), x (width) first, values in [-1, 1].
        mode: 'bilinear', 'nearest' or 'bicubic' (4-D only).
        padding_mode: 'zeros', 'border' or 'reflection'.
        align_corners: see ``grid_sampler``; None warns and means False, as in PyTorch.

    Example:
        >>> out = grid_sample(img, affine_grid(theta, img.shape, align_corners=False),
        ...                   align_corners=False)

    See: torch.nn.functional.grid_sample.
    """
    if mode not in _MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=3)  # past the device guard
        align_corners = False
    return grid_sampler(input, grid, _MODES[mode], _PADDINGS[padding_mode], align_corners)


# -- affine grids -------------------------------------------------------------------------------


def _base_axis(n: int, align_corners: bool, dtype) -> np.ndarray:
    """PyTorch's linspace_from_neg_one: pixel centres in [-1, 1] (0 for a single pixel)."""
    if n <= 1:
        return np.zeros(max(n, 1), dtype=dtype)
    r = np.linspace(-1, 1, n).astype(dtype)
    if not align_corners:
        r = (r * (n - 1) / n).astype(dtype)
    return r


def affine_grid_generator(theta: Tensor, size, align_corners: bool) -> Tensor:
    """The sampling grid of affine maps ``theta`` (N, 2, 3) or (N, 3, 4) for output ``size``.

    Returns (N, H, W, 2) or (N, D, H, W, 3): ``theta @ [x, y, (z,) 1]`` at each output pixel.
    See: torch.affine_grid_generator.
    """
    size = [int(s) for s in size]
    if len(size) not in (4, 5):
        raise RuntimeError(f"AffineGridGenerator needs 4d (spatial) or 5d (volumetric) inputs, "
                           f"but got size {size}")
    nd = len(size) - 2
    n = size[0]
    spatial = size[2:]
    want = [n, nd + 1]
    if theta.ndim != 3 or list(theta.shape[:2]) != [n, nd] or theta.shape[2] != nd + 1:
        got = [theta.shape[0], theta.shape[2] if theta.ndim == 3 else theta.shape[-1]]
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"{want} but got: {got}.")
    dt = theta.dtype.np
    axes = [_base_axis(s, align_corners, dt) for s in reversed(spatial)]  # x, y[, z]
    mesh = np.meshgrid(*[axes[i] for i in reversed(range(nd))], indexing="ij")  # D/H, W order
    base = np.stack([mesh[nd - 1 - i] for i in range(nd)] + [np.ones_like(mesh[0])], -1)
    base = wrap(np.ascontiguousarray(base.reshape(1, -1, nd + 1)), theta)
    grid = base @ theta.transpose(1, 2)  # (N, P, nd)
    return grid.reshape([n] + spatial + [nd])


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of a batch of affine matrices, for ``grid_sample``.

    Args:
        theta: (N, 2, 3) for a 2-d output size (N, C, H, W), (N, 3, 4) for (N, C, D, H, W).
        size: the output size.
        align_corners: None warns and means False, as in PyTorch.

    See: torch.nn.functional.affine_grid.
    """
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=3)  # past the device guard
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) == 4:
        if theta.ndim != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {theta.shape}.")
    elif len(size) == 5:
        if theta.ndim != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {theta.shape}.")
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if align_corners and min(size[2:]) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=3)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    return affine_grid_generator(theta, size, align_corners)


__all__ = ["grid_sampler", "grid_sampler_2d", "grid_sampler_3d", "grid_sample",
           "affine_grid_generator", "affine_grid"]
