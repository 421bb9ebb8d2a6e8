"""Order statistics built on sort and gather: msort, kthvalue, mode, nanmedian, quantile,
nanquantile, nanmean, aminmax.

Values are gathered from the (differentiable) input or its sort, so gradients reach exactly
the selected elements, as PyTorch's value-selecting backward does; the positions themselves are
computed on the backend arrays and carry no gradient.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from ._util import wrap, xp_of
from .reduction import _return_type, _torch_type_name, return_types as _reduction_types


def _minmax_type(name: str):
    """``torch.return_types.aminmax``: a tuple with ``.min`` and ``.max``."""

    def __repr__(self) -> str:
        return f"brickwork.return_types.{name}(\nmin={self[0]!r},\nmax={self[1]!r})"

    def __reduce__(self):
        return (cls, (tuple(self),))

    cls = type(name, (tuple,), {
        "__slots__": (), "__doc__": "The (min, max) pair of ``aminmax``.",
        "__new__": lambda c, seq: tuple.__new__(c, seq),
        "min": property(lambda self: self[0]), "max": property(lambda self: self[1]),
        "n_fields": 2, "n_sequence_fields": 2, "n_unnamed_fields": 0,
        "__repr__": __repr__, "__reduce__": __reduce__, "__module__": "brickwork.return_types"})
    return cls


# Named results of this file; nanmedian's (values, indices) pair is the reduction family's kind.
return_types = {"aminmax": _minmax_type("aminmax"), "aminmax_out": _minmax_type("aminmax_out"),
                "nanmedian": _return_type("nanmedian"),
                "nanmedian_out": _return_type("nanmedian_out")}


def _dim(input: Tensor, dim: int) -> int:
    nd = max(input.dim(), 1)
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}]"
                         f", but got {dim})")
    return dim % nd


def _pick(values: Tensor, indices: Tensor, pos, d: int, keepdim: bool, name: str):
    """Gather ``values``/``indices`` at backend positions ``pos`` (keepdim shape) along ``d``."""
    p = wrap(pos.astype(np.int64), values)
    v, i = values.gather(d, p), indices.gather(d, p)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return return_types[name]((v, i)) if name in return_types else _reduction_types[name]((v, i))


def msort(input: Tensor) -> Tensor:
    """Sort along the first dimension. See: torch.msort."""
    return input.sort(dim=0).values


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element along ``dim`` and its index. See: torch.kthvalue."""
    d = _dim(input, dim)
    x = input if input.dim() else input.reshape(1)
    if not 1 <= k <= x.shape[d]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    values, indices = x.sort(dim=d)
    shape = list(x.shape)
    shape[d] = 1
    pos = xp_of(x._data).full(shape, k - 1)
    out = _pick(values, indices, pos, d, keepdim or input.dim() == 0, "kthvalue")
    return out if input.dim() else _reduction_types["kthvalue"]((out[0].reshape(()),
                                                                  out[1].reshape(())))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest among ties) and the last index
    where it occurs. See: torch.mode."""
    d = _dim(input, dim)
    x = input if input.dim() else input.reshape(1)
    if x.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    arr = xp_of(x._data).moveaxis(x._data, d, -1)
    xp = xp_of(arr)
    n = arr.shape[-1]
    order = xp.argsort(arr, axis=-1, kind="stable")
    s = xp.take_along_axis(arr, order, -1)
    # Run lengths over the sorted row: the mode is the longest run, the first (smallest) one
    # among equally long runs; its index is the last position of that value in the input.
    new_run = xp.concatenate([xp.ones(s.shape[:-1] + (1,), bool), s[..., 1:] != s[..., :-1]],
                             -1)
    run_id = xp.cumsum(new_run, -1) - 1
    run_len = xp.zeros(s.shape, np.int64)
    flat_ids = run_id.reshape(-1, n) + (xp.arange(run_id.size // max(n, 1)) * n)[:, None]
    counts = xp.bincount(flat_ids.reshape(-1), minlength=run_id.size).reshape(-1, n)
    run_len = xp.take_along_axis(counts, run_id.reshape(-1, n), -1).reshape(s.shape)
    best_pos = xp.argmax(run_len, axis=-1)  # first position of the longest run
    best_val = xp.take_along_axis(s, best_pos[..., None], -1)
    last = n - 1 - xp.argmax((arr == best_val)[..., ::-1], axis=-1)
    pos = xp.moveaxis(last[..., None], -1, d)
    idx = wrap(xp.moveaxis(xp.broadcast_to(xp.arange(n), arr.shape), -1, d).copy(), x)
    out = _pick(x, idx, pos, d, keepdim or input.dim() == 0, "mode")
    return out if input.dim() else _reduction_types["mode"]((out[0].reshape(()),
                                                              out[1].reshape(())))


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """Median ignoring NaN (the lower of the two middle values); NaN where a row is all NaN.

    Without ``dim``, the median of all elements; with ``dim``, values and indices.
    See: torch.nanmedian.
    """
    if dim is None:
        flat = input.reshape(-1)
        if flat.numel() == 0:
            return wrap(xp_of(input._data).asarray(np.nan, input._data.dtype), input)
        return nanmedian(flat, 0).values.reshape(())
    d = _dim(input, dim)
    x = input if input.dim() else input.reshape(1)
    if x.shape[d] == 0:
        raise IndexError(f"nanmedian(): Expected reduction dim {d} to have non-zero size.")
    values, indices = x.sort(dim=d)  # NaN sorts last
    xp = xp_of(x._data)
    valid = (~xp.isnan(x._data)).sum(axis=d, keepdims=True) if x._data.dtype.kind == "f" \
        else xp.full([1 if i == d else s for i, s in enumerate(x.shape)], x.shape[d])
    # An all-NaN row answers its middle element (a NaN), as PyTorch does.
    pos = xp.where(valid > 0, (valid - 1) // 2, x.shape[d] // 2)
    out = _pick(values, indices, pos, d, keepdim or input.dim() == 0, "nanmedian")
    return out if input.dim() else return_types["nanmedian"]((out[0].reshape(()),
                                                               out[1].reshape(())))


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool):
    name = "quantile"  # PyTorch's messages name quantile for nanquantile too
    if input.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if input._data.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    xp = xp_of(input._data)
    if isinstance(q, Tensor):
        if q.dim() > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q._data.dtype != input._data.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        qs = xp.asarray(q._data).reshape(-1)
        q_dims = q.dim()
    elif isinstance(q, (int, float)) and not isinstance(q, bool):
        qs = xp.asarray([float(q)], input._data.dtype)
        q_dims = 0
    else:
        raise TypeError(f"{name}(): argument 'q' must be a float or a Tensor, not "
                        f"{type(q).__name__}")
    if not bool(((qs >= 0) & (qs <= 1)).all()):
        if not isinstance(q, Tensor):
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    if dim is None:
        x, d = input.reshape(-1), 0
    else:
        d = _dim(input, dim)
        x = input if input.dim() else input.reshape(1)
    srt = x.sort(dim=d).values.movedim(d, -1)  # (..., n), NaN last
    n = srt.shape[-1]
    nan = xp.isnan(srt._data)
    if ignore_nan:
        count = (~nan).sum(-1, keepdims=True)
        no_value = count == 0
    else:
        count = xp.full(nan.shape[:-1] + (1,), n)
        no_value = nan.any(-1, keepdims=True)
    ranks = qs.reshape((-1,) + (1,) * srt.dim()) * (count - 1).astype(qs.dtype)  # (Q, ..., 1)
    # Rows with no answer point every rank at their last element, a NaN, as PyTorch does.
    ranks = xp.where(xp.broadcast_to(no_value, ranks.shape), n - 1, ranks)
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.round(ranks)  # half to even, as PyTorch's round
    below = xp.floor(ranks).astype(np.int64)
    above = xp.ceil(ranks).astype(np.int64)
    weight = xp.full(ranks.shape, 0.5, qs.dtype) if interpolation == "midpoint" \
        else (ranks - below).astype(qs.dtype)
    shape = (len(qs),) + tuple(srt.shape)
    rows = srt.unsqueeze(0).expand(*shape)
    lo = rows.gather(-1, wrap(xp.ascontiguousarray(below), x))
    hi = rows.gather(-1, wrap(xp.ascontiguousarray(above), x))
    w = wrap(weight, x)
    if isinstance(q, Tensor) and interpolation == "linear" and q.requires_grad:
        # PyTorch's linear weight is rank - floor(rank): differentiable in q.
        scale = wrap(xp.where(no_value, 0, count - 1).astype(qs.dtype), x)
        ranks_t = q.reshape((-1,) + (1,) * srt.dim()) * scale
        w = ranks_t.where(wrap(~xp.broadcast_to(no_value, ranks.shape), x), w) \
            - wrap(below.astype(qs.dtype), x)
        w = w.where(wrap(~xp.broadcast_to(no_value, ranks.shape), x), 0.0)
    out = lo + w * (hi - lo)  # (Q, ..., 1)
    if dim is None:
        out = out.reshape((len(qs),) + ((1,) * input.dim() if keepdim else ()))
    else:
        out = out.movedim(-1, d + 1)
        if not keepdim or input.dim() == 0:
            out = out.squeeze(d + 1)
    return out if q_dims else out.squeeze(0)


def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles along ``dim`` (of all elements without it); NaN where a row has
    NaN. See: torch.quantile."""
    return _quantile(input, q, dim, keepdim, interpolation, False)


def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` ignoring NaN (NaN only where a row is all NaN). See: torch.nanquantile."""
    return _quantile(input, q, dim, keepdim, interpolation, True)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of the non-NaN elements. See: torch.nanmean."""
    if not _dt.is_float_array(input._data):
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_torch_type_name(input._data.dtype)}")
    if dtype is not None and not _dt.to_dtype(dtype).is_floating_point:
        raise RuntimeError("nanmean(): could not infer output dtype. Optional dtype must be "
                           "either a floating point or complex dtype. Got: "
                           f"{_torch_type_name(_dt.to_dtype(dtype).np)}")
    keep = ~input.isnan()
    total = input.where(keep, 0.0)
    return total.sum(dim=dim, keepdim=keepdim, dtype=dtype) \
        / keep.sum(dim=dim, keepdim=keepdim)


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(amin, amax)`` along ``dim`` (of all elements without it). See: torch.aminmax."""
    if input.numel() == 0 and (dim is None or input.shape[_dim(input, dim)] == 0):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    if dim is None:
        lo, hi = input.amin(), input.amax()
        if keepdim:
            lo, hi = lo.reshape((1,) * input.dim()), hi.reshape((1,) * input.dim())
    else:
        lo, hi = input.amin(dim, keepdim), input.amax(dim, keepdim)
    return return_types["aminmax"]((lo, hi))


__all__ = ["msort", "kthvalue", "mode", "nanmedian", "quantile", "nanquantile", "nanmean",
           "aminmax"]
