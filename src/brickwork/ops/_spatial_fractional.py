"""Fractional max pooling (Graham, 2014): ``fractional_max_pool2d`` / ``fractional_max_pool3d``.

Each (batch, channel) plane gets its own pseudo-random window starts, from one sample
``u`` in [0, 1) per axis, by PyTorch's ``generate_intervals``: with
``alpha = (in - k) / (out - 1)``, start ``i`` is ``int((i + u) * alpha) - int(u * alpha)`` and
the last start is ``in - k``. As in ``_spatial_pool.py``, the indices are chosen on the arrays
(first maximum; a window with NaN: its last NaN) and the values read with ``take_along_dim``,
so autograd gives the gradients.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from . import pooling as _pool
from ._util import wrap, xp_of
from .conv import scalar_name

_AXIS_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _intervals(u, in_size: int, out_size: int, k: int):
    """Window starts (planes, out) from per-plane samples ``u`` (planes,), on u's backend."""
    xp = xp_of(u)
    starts = xp.empty(u.shape + (out_size,), dtype=np.int64)
    if out_size > 1:
        alpha = u.dtype.type(in_size - k) / u.dtype.type(out_size - 1)
        i = xp.arange(out_size - 1, dtype=u.dtype)
        # C++'s static_cast<int>: truncation toward zero, computed in the input's dtype.
        starts[:, :-1] = (xp.trunc((i[None] + u[:, None]) * alpha)
                          - xp.trunc(u * alpha)[:, None]).astype(np.int64)
    if out_size > 0:
        starts[:, -1] = in_size - k
    return starts


def _fractional(nd: int, input: Tensor, kernel_size, output_size, output_ratio,
                random_samples):
    op = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    k = _pool._pair(kernel_size, nd)
    if any(v <= 0 for v in k):
        raise RuntimeError(f"{op}(): kernel_size must be greater than zero, but got {list(k)}")
    sizes = tuple(input.shape[-nd:])
    if output_size is None:
        ratio = tuple(float(r) for r in output_ratio) if isinstance(output_ratio, (
            tuple, list)) else (float(output_ratio),) * nd
        if len(ratio) == 1:
            ratio *= nd
        if len(ratio) != nd:
            raise ValueError(f"{op} requires output_ratio to either be a single float or a "
                             f"tuple of {nd} floats, but got {output_ratio}")
        out = tuple(int(s * r) for s, r in zip(sizes, ratio))
    else:
        out = _pool._pair(output_size, nd)
    for name, s, kk, o in zip(_AXIS_NAMES[nd], sizes, k, out):
        # (PyTorch's 3-d kernel also refuses a last window ending exactly at the edge.)
        if o + kk - 1 > s or (nd == 3 and o + kk - 1 == s):
            where = f"{op}()" if nd == 2 else f"{op}_out()"
            raise RuntimeError(f"{where}: pool {name} {kk} too large relative to input {name} "
                               f"{s}")
    batched = input.ndim == nd + 2
    x = input if batched else input.unsqueeze(0)
    n, c = x.shape[:2]
    if random_samples is None:
        from ..factories import rand

        random_samples = rand(n, c, nd, dtype=input.dtype, device=input.device)
    if random_samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if random_samples.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got "
                           f"{random_samples.ndim}")
    if random_samples.shape[2] != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got "
                           f"{random_samples.shape[2]}.")
    if random_samples.shape[1] != c:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if random_samples.shape[0] < n:
        raise RuntimeError(f"Expect _random_samples.size(0) to be at least the batch size "
                           f"{n}; got {random_samples.shape[0]}.")
    if not _dt.is_float_array(x._data):
        raise NotImplementedError(f'"{op}_out_frame" not implemented for '
                                  f"'{scalar_name(x.dtype)}'")
    idx = _indices(x, random_samples._data[:n].reshape(n * c, nd), nd, k, out)
    planes = n * c
    y = x.reshape(planes, int(np.prod(sizes))).take_along_dim(idx.reshape(planes, -1), 1)
    shape = (n, c) + out
    y, idx = y.reshape(shape), idx.reshape(shape)
    return (y, idx) if batched else (y.squeeze(0), idx.squeeze(0))


def _indices(x: Tensor, samples, nd: int, k, out) -> Tensor:
    """Flat (D,) H, W indices of each plane's window maxima: (planes, O)."""
    arr = x._data
    xp = xp_of(arr)
    sizes = arr.shape[2:]
    planes = arr.shape[0] * arr.shape[1]
    # PyTorch's 2-d kernel reads sample 0 for the width and 1 for the height; the 3-d kernel
    # reads them in (time, height, width) order.
    order = (1, 0) if nd == 2 else (0, 1, 2)
    idx = 0
    step = 1
    for axis in range(nd - 1, -1, -1):
        starts = _intervals(samples[:, order[axis]], sizes[axis], out[axis], k[axis])
        pos = starts[:, :, None] + xp.arange(k[axis])[None, None, :]  # (planes, o, k)
        shape = [planes] + [1] * (2 * nd)
        shape[1 + axis], shape[1 + nd + axis] = out[axis], k[axis]
        idx = idx + pos.reshape(shape) * step
        step *= sizes[axis]
    n_out, n_win = int(np.prod(out)), int(np.prod(k))
    idx = xp.broadcast_to(idx, (planes,) + tuple(out) + tuple(k)).reshape(planes, n_out, n_win)
    flat = arr.reshape(planes, -1)
    vals = xp.take_along_axis(flat, idx.reshape(planes, -1), 1).reshape(planes, n_out, n_win)
    arg = vals.argmax(-1)
    if _dt.is_float_array(arr):
        nan = xp.isnan(vals)
        arg = xp.where(nan.any(-1), n_win - 1 - nan[..., ::-1].argmax(-1), arg)
    chosen = xp.take_along_axis(idx, arg[..., None], -1)[..., 0]
    return wrap(xp.ascontiguousarray(chosen).astype(np.int64), x)


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None):
    """2-d fractional max pooling returning ``(values, indices)``.

    ``return_indices`` is accepted for PyTorch's signature; the pair is always returned.
    See: torch.nn.functional.fractional_max_pool2d_with_indices.
    """
    return _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None):
    """3-d fractional max pooling returning ``(values, indices)``.

    ``return_indices`` is accepted for PyTorch's signature; the pair is always returned.
    See: torch.nn.functional.fractional_max_pool3d_with_indices.
    """
    return _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False,
                          _random_samples: Tensor | None = None):
    """Max pooling over pseudo-randomly placed windows, to ``output_size`` or
    ``output_ratio`` of the input; ``_random_samples`` (N, C, 2) fixes the placement.

    See: torch.nn.functional.fractional_max_pool2d.
    """
    y, idx = _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)
    return (y, idx) if return_indices else y


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False,
                          _random_samples: Tensor | None = None):
    """3-d fractional max pooling; ``_random_samples`` is (N, C, 3).

    See: torch.nn.functional.fractional_max_pool3d.
    """
    y, idx = _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)
    return (y, idx) if return_indices else y


__all__ = ["fractional_max_pool2d", "fractional_max_pool3d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"]
