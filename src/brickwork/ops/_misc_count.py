"""Counting and searching ops, none differentiable: histc, histogram, bincount, bucketize,
searchsorted, isin, unique_consecutive.

They work on the backend arrays directly (NumPy or CuPy have every function needed) and wrap
the result on the input's device.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._util import wrap, xp_of
from .reduction import _return_type, _torch_type_name


def _histogram_type(name: str):
    """``torch.return_types.histogram``: a tuple with ``.hist`` and ``.bin_edges``."""

    def __repr__(self) -> str:
        return f"brickwork.return_types.{name}(\nhist={self[0]!r},\nbin_edges={self[1]!r})"

    def __reduce__(self):
        return (cls, (tuple(self),))

    cls = type(name, (tuple,), {
        "__slots__": (), "__doc__": "The (hist, bin_edges) pair of ``histogram``.",
        "__new__": lambda c, seq: tuple.__new__(c, seq),
        "hist": property(lambda self: self[0]), "bin_edges": property(lambda self: self[1]),
        "n_fields": 2, "n_sequence_fields": 2, "n_unnamed_fields": 0,
        "__repr__": __repr__, "__reduce__": __reduce__, "__module__": "brickwork.return_types"})
    return cls


# Named results this family returns (``name_out``: what PyTorch returns for out=(a, b)), to be
# listed in brickwork.return_types too, which pickling them needs.
return_types = {n + s: (_histogram_type if n == "histogram" else _return_type)(n + s)
                for n in ("histogram", "cummax", "cummin") for s in ("", "_out")}


def _require_float(t: Tensor, kernel: str) -> None:
    # bfloat16 counts as float, except for PyTorch's histogramdd, which has no kernel for it.
    if t._data.dtype.kind != "f" and (kernel == "histogramdd" or not _dt.is_float_array(t._data)):
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_torch_type_name(t._data.dtype)}'")


def _bin_counts(x, edges, weight=None):
    """Counts of ``x`` per bin of the sorted ``edges`` (the last bin closed, as PyTorch).

    Values outside ``[edges[0], edges[-1]]`` and NaN are left out.
    """
    xp = xp_of(x)
    bins = edges.shape[0] - 1
    pos = xp.searchsorted(edges, x, side="right") - 1
    pos = xp.where(x == edges[-1], bins - 1, pos)
    keep = (x >= edges[0]) & (x <= edges[-1])
    w = keep.astype(x.dtype) if weight is None else xp.where(keep, weight, 0)
    pos = xp.where(keep, pos, 0)
    return xp.bincount(pos.astype(np.int64), weights=w, minlength=bins)[:bins].astype(x.dtype)


def _linear_edges(xp, lo: float, hi: float, bins: int, dtype):
    return xp.linspace(lo, hi, bins + 1).astype(dtype)


@float32_compute  # bfloat16: the bin edges in float32, as PyTorch
def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Histogram of ``bins`` equal bins over ``[min, max]`` (the data's range if both are 0).

    Elements outside the range are ignored. See: torch.histc.
    """
    _require_float(input, "histogram_cpu")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    if min > max:
        raise RuntimeError("torch.histc: max must be larger than min")
    x = input._data.reshape(-1)
    xp = xp_of(x)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    return wrap(_bin_counts(x, _linear_edges(xp, lo, hi, bins, x.dtype)), input)


def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None,
              density: bool = False):
    """Histogram with ``bins`` equal bins (an int) or the given edges (a 1-D tensor).

    Returns:
        ``(hist, bin_edges)`` as ``brickwork.return_types.histogram``.

    See: torch.histogram.
    """
    _require_float(input, "histogramdd")
    x = input._data.reshape(-1)
    xp = xp_of(x)
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have "
                               f"the same shape as the input tensor excluding its innermost "
                               f"dimension, but got input with shape [{x.size}, 1] and weight "
                               f"with shape {list(weight.shape)}")
        w = weight._data.reshape(-1).astype(x.dtype, copy=False)
    else:
        w = None
    if isinstance(bins, Tensor):
        if bins._data.ndim != 1:
            raise RuntimeError(f"torch.histogramdd(): expected bins tensor to have one "
                               f"dimension, but got {bins._data.ndim}")
        if range is not None:
            raise TypeError("histogram(): range cannot be given with a tensor of bin edges")
        edges = bins._data.astype(x.dtype, copy=False)
        if edges.shape[0] < 1:
            raise RuntimeError("torch.histogramdd(): bins tensor should have at least 1 element")
    else:
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                               f"dimension 0")
        if range is not None:
            lo, hi = (float(v) for v in range)
            if lo > hi:
                raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                                   f"{lo:g} max {hi:g} for dimension 0")
        elif x.size:
            lo, hi = float(x.min()), float(x.max())
        else:  # PyTorch's default range for no data
            lo, hi = 0.0, 1.0
        if lo == hi:  # PyTorch widens an empty range by half a unit each side
            lo, hi = lo - 0.5, hi + 0.5
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise RuntimeError(f"torch.histogramdd(): dimension 0's range [{lo:g}, {hi:g}] is "
                               f"not finite")
        edges = _linear_edges(xp, lo, hi, int(bins), x.dtype)
    hist = _bin_counts(x, edges, w) if edges.shape[0] > 1 else xp.zeros(0, x.dtype)
    if density and hist.size:
        widths = edges[1:] - edges[:-1]
        hist = (hist / (hist.sum() * widths)).astype(x.dtype)
    return return_types["histogram"]((wrap(hist, input), wrap(edges.copy(), input)))


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count each value of a 1-D tensor of non-negative ints (weighted by ``weights``).

    See: torch.bincount.
    """
    x = input._data
    if x.dtype.kind not in "iub" or x.dtype.kind == "b":
        raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                  f"'{_torch_type_name(x.dtype)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if x.ndim != 1 or (x.size and int(x.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    xp = xp_of(x)
    if weights is None:
        out = xp.bincount(x, minlength=minlength).astype(np.int64)
    else:
        w = weights._data
        if w.ndim != 1 or w.shape[0] != x.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        # PyTorch keeps float32 weights as float32 and counts every other dtype in float64.
        dtype = np.float32 if w.dtype == np.float32 else np.float64
        out = xp.bincount(x, weights=w.astype(np.float64), minlength=minlength).astype(dtype)
    return wrap(out, input)


def _as_tensor_like(value, like: Tensor) -> Tensor:
    """A Python number as a 0-d tensor on ``like``'s device (tensors pass through)."""
    if isinstance(value, Tensor):
        return value
    from ..factories import tensor

    return tensor(value, device=like._device)


def _search(seq, values, side: str, out_int32: bool):
    xp = xp_of(seq)
    if seq.ndim == 1:
        out = xp.searchsorted(seq, values, side=side)
    else:
        rows = seq.reshape(-1, seq.shape[-1])
        vals = values.reshape(rows.shape[0], -1)
        out = xp.stack([xp.searchsorted(r, v, side=side) for r, v in zip(rows, vals)])
        out = out.reshape(values.shape)
    return out.astype(np.int32 if out_int32 else np.int64)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None,
                 sorter: Tensor | None = None) -> Tensor:
    """Indices where ``input`` would be inserted to keep ``sorted_sequence`` sorted along its
    last dim (``side='right'`` or ``right=True``: after equal values).

    See: torch.searchsorted.
    """
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    values = _as_tensor_like(input, sorted_sequence)
    seq, v = sorted_sequence._data, values._data
    if seq.ndim > 1 and v.ndim == 0:
        raise RuntimeError(f"torch.searchsorted(): input value can be a scalar only when "
                           f"boundaries tensor dimension is 1, but we got boundaries tensor "
                           f"dim({seq.ndim}) and input value's dim(0) numel(1)")
    if seq.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if seq.ndim > 1 and (v.ndim != seq.ndim or v.shape[:-1] != seq.shape[:-1]):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor "
                           f"{list(seq.shape)} and input value tensor {list(v.shape)}")
    if sorter is not None:
        if tuple(sorter.shape) != tuple(seq.shape):
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(seq.shape)}and got sorter "
                               f"tensor {list(sorter.shape)}")
        seq = xp_of(seq).take_along_axis(seq, sorter._data.astype(np.int64), axis=-1)
    return wrap(_search(seq, v, "right" if right else "left", out_int32), sorted_sequence)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value given sorted 1-D ``boundaries``. See: torch.bucketize."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got "
                           f"dim({boundaries._data.ndim})")
    values = _as_tensor_like(input, boundaries)
    # bucketize's right=False puts a value equal to a boundary in the bucket it closes,
    # which is searchsorted's side='left'.
    return wrap(_search(boundaries._data, values._data, "right" if right else "left",
                        out_int32), values)


def isin(elements, test_elements, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (either may be a number).

    See: torch.isin.
    """
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() expects at least one of elements and test_elements to be a "
                        "Tensor")
    like = elements if isinstance(elements, Tensor) else test_elements
    a = _as_tensor_like(elements, like)._data
    b = _as_tensor_like(test_elements, like)._data
    for arr in (a, b):
        if arr.dtype == np.bool_:
            raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    xp = xp_of(a)
    return wrap(xp.isin(a, b, assume_unique=assume_unique, invert=invert), like)


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """Collapse each run of equal consecutive elements (or slices along ``dim``) to one.

    Returns:
        The output tensor, plus the inverse indices and/or the run lengths when asked.

    See: torch.unique_consecutive.
    """
    from ._util import normalize_dim

    x = input._data
    xp = xp_of(x)
    if dim is None:
        flat = x.reshape(-1)
        change = flat[1:] != flat[:-1]
        inv_shape = x.shape
    else:
        d = normalize_dim(dim, x.ndim)
        moved = xp.moveaxis(x, d, 0)
        rows = moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:])))
        change = (rows[1:] != rows[:-1]).any(axis=1) if rows.shape[1] else \
            xp.zeros(max(rows.shape[0] - 1, 0), bool)
        inv_shape = (x.shape[d],)
    n = x.size if dim is None else x.shape[d]
    starts = xp.concatenate([xp.ones(min(n, 1), bool), change]) if n else xp.zeros(0, bool)
    first = xp.nonzero(starts)[0]
    if dim is None:
        out = flat[first]
    else:
        out = xp.take(x, first, axis=d)
    result = [wrap(xp.ascontiguousarray(out), input)]
    if return_inverse:
        inverse = (xp.cumsum(starts) - 1).astype(np.int64).reshape(inv_shape)
        result.append(wrap(inverse, input))
    if return_counts:
        bounds = xp.concatenate([first, xp.asarray([n], dtype=first.dtype)])
        result.append(wrap((bounds[1:] - bounds[:-1]).astype(np.int64), input))
    return result[0] if len(result) == 1 else tuple(result)


__all__ = ["histc", "histogram", "bincount", "bucketize", "searchsorted", "isin",
           "unique_consecutive"]
