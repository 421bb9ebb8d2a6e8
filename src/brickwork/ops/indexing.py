"""Indexing: ``x[key]`` and ``x[key] = value`` with PyTorch's rules and errors.

A key is first checked and translated into a NumPy key (``_parse``). A basic key (ints, slices,
None, ``...``) gives a view (``autograd/_views.py``), so ``x[0]`` shares memory with ``x`` and
writes through it reach ``x``, as in PyTorch. A key with index tensors or bool masks (advanced
indexing) copies; its backward scatters the gradient with ``add.at`` so that repeated indices
accumulate. ``x[key] = v`` is an in-place update of ``x``, under the same rules as ``add_``.

Gather/scatter, masked ops and sorting live in ``ops/scatter.py`` and ``ops/sorting.py``; this
module re-exports them so that the indexing family has one ``TENSOR_METHODS`` table.
"""
from __future__ import annotations

import numpy as np

from ..autograd._views import OVERLAP, mark_view, overlapping, write_direct
from ..autograd.function import Function
from ..device import array_writeable, runs_on_input_device
from ..autograd.grad_mode import STATE as _GRAD
from ..tensor import Tensor, _make
from ._util import add_at_zeros, out_of_range, unbroadcast, xp_of
from .shape import Alias, Select, Slice

_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
              "are valid indices (got {})")


class Unsqueeze(Slice):
    """``a[None]``: PyTorch records an unsqueeze."""

    _backward_name = "UnsqueezeBackward0"


# -- key parsing --------------------------------------------------------------------------------
def _as_key_tuple(key) -> tuple:
    """PyTorch's reading of a key: a list holding slices, None, ... or sequences is a tuple."""
    if isinstance(key, tuple):
        return key
    if isinstance(key, list) and any(
            k is None or k is Ellipsis
            or isinstance(k, (slice, list, tuple, range, Tensor, np.ndarray)) for k in key):
        return tuple(key)
    return (key,)


def _mask_ndim(k):
    """The number of dims a mask key covers, or None when ``k`` is not a mask."""
    if isinstance(k, Tensor):
        k = k._data
    elif isinstance(k, list):
        k = np.asarray(k)
    dt = getattr(k, "dtype", None)
    if dt is not None and (dt.kind == "b" or dt == np.uint8) and hasattr(k, "ndim"):
        return k.ndim
    return None


_INDEX_DTYPES = frozenset({np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.uint8),
                           np.dtype(np.bool_)})


def _index_array(k, xp):
    """A Tensor, ndarray, list or range used as an index -> a backend int or bool array.

    PyTorch turns a sequence (list, range, NumPy array) into a long tensor, so float values are
    truncated (``x[[1.0]]`` is ``x[[1]]``); an index *tensor* must be long, int, byte or bool.
    """
    if isinstance(k, Tensor):
        arr = k._data
        if arr.dtype not in _INDEX_DTYPES:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    else:
        try:
            arr = np.asarray(k)
        except ValueError:
            raise IndexError(_BAD_INDEX.format(type(k).__name__)) from None
        if arr.size == 0 and isinstance(k, (list, range)):
            arr = arr.astype(np.int64)  # x[[]] selects nothing along dim 0, as PyTorch
        elif arr.dtype.kind in "fi" and arr.dtype != np.int64:
            arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iub":
        raise IndexError(_BAD_INDEX.format(type(k).__name__))
    if arr.dtype == np.uint8:  # PyTorch's legacy rule: byte tensors are masks
        arr = arr.astype(bool)
    return xp.asarray(arr)


def _parse(x: Tensor, key):
    """Check ``key`` against ``x`` and translate it to a NumPy key.

    Returns:
        ``(np_key, op)`` where ``op`` is the Function class that does the indexing: one of the
        basic view classes (named after PyTorch's last applied op) or ``Index``.
    """
    shape = x._data.shape
    nd = len(shape)
    if key is Ellipsis:
        return (Ellipsis,), Alias
    if nd == 0 and (isinstance(key, slice) or isinstance(key, (int, np.integer))
                    and not isinstance(key, bool)):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                         "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    if key.__class__ is int:  # the common x[i]: skip the general walk
        size = shape[0]
        if not -size <= key < size:
            raise IndexError(f"index {key} is out of bounds for dimension 0 with size {size}")
        return (key,), Select
    if isinstance(key, slice):
        _check_slice(key)
        return (key,), Slice
    items = _as_key_tuple(key)
    xp = xp_of(x._data)
    consumed = 0
    for k in items:  # count the dims the key uses, to place the items after an ellipsis
        if k.__class__ is slice or k.__class__ is int:
            consumed += 1
            continue
        mask_nd = _mask_ndim(k)
        if mask_nd is not None:
            consumed += mask_nd
        elif not (k is None or k is Ellipsis or isinstance(k, bool)):
            consumed += 1
    if consumed > nd:
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    out, dim, op, ellipsis, first_adv = [], 0, None, False, None
    for k in items:
        if k is None:
            out.append(None)
            op = Unsqueeze if op is not Index else op
        elif k is Ellipsis:
            if ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            ellipsis = True
            out.append(Ellipsis)
            dim += nd - consumed
        elif isinstance(k, bool):
            out.append(k)
            op = Index
        elif isinstance(k, (int, np.integer)) or (
                isinstance(k, Tensor) and k._data.ndim == 0 and k._data.dtype.kind in "iu"):
            k = int(k)
            size = shape[dim]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size "
                                 f"{size}")
            out.append(k)
            op = Select if op is not Index else op
            dim += 1
        elif isinstance(k, slice):
            _check_slice(k)
            if not all(v is None or v.__class__ is int for v in (k.start, k.stop, k.step)):
                k = slice(*(None if v is None else int(v) for v in (k.start, k.stop, k.step)))
            out.append(k)
            full = k.step in (None, 1) and (k.start or 0) == 0 and \
                (k.stop is None or k.stop >= shape[dim])
            if not full and op is not Index:
                op = Slice
            dim += 1
        elif isinstance(k, (Tensor, np.ndarray, list, tuple, range)):
            arr = _index_array(k, xp)
            first_adv = dim if first_adv is None else first_adv
            if arr.dtype.kind == "b" and arr.ndim == 0:  # a 0-d mask acts as a Python bool
                out.append(bool(arr))
            elif arr.dtype.kind == "b":
                _check_mask(arr, shape, dim)
                out.extend(arr.nonzero())
                dim += arr.ndim
            else:
                _check_bounds(arr, shape[dim], dim - first_adv)
                out.append(arr)
                dim += 1
            op = Index
        elif isinstance(k, str):  # PyTorch tries to make an index tensor of it
            raise TypeError("new(): invalid data type 'str'")
        else:
            raise IndexError(_BAD_INDEX.format(type(k).__name__))
    return tuple(out), op or Alias


def _check_slice(k: slice) -> None:
    if k.step is not None:
        if int(k.step) == 0:
            raise ValueError("slice step cannot be zero")
        if int(k.step) < 0:
            raise ValueError("step must be greater than zero")


def _check_mask(mask, shape, dim: int) -> None:
    for i, s in enumerate(mask.shape):
        if s != shape[dim + i]:
            raise IndexError(f"The shape of the mask {list(mask.shape)} at index {i} does not "
                             f"match the shape of the indexed tensor {list(shape)} at index "
                             f"{dim + i}")


def _check_bounds(arr, size: int, dim: int) -> None:
    bad = out_of_range(arr, -size, size)
    if bad is not None:
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


# -- reading ------------------------------------------------------------------------------------
class Index(Function):
    """``a[key]`` with index arrays; backward accumulates into zeros with ``add.at``."""

    _array_level = True
    _backward_name = "IndexBackward0"

    @staticmethod
    def forward(ctx, a, key):
        if ctx.needs_input_grad[0]:
            ctx.in_shape, ctx.key = a.shape, key
        return a[key]

    @staticmethod
    def backward(ctx, g):
        return add_at_zeros(ctx.in_shape, ctx.key, g), None


@runs_on_input_device
def getitem(self: Tensor, key) -> Tensor:
    """``self[key]``: PyTorch's indexing (views for basic keys). See: torch.Tensor.__getitem__.

    Example:
        >>> x = brickwork.arange(6).reshape(2, 3)
        >>> x[1, 1:].tolist(), x[x > 3].tolist()
        ([4, 5], [4, 5])
    """
    np_key, op = _parse(self, key)
    if op is Index:
        return Index.apply(self, np_key)
    return mark_view(op.apply(self, np_key), self, (op, (np_key,)))


# -- writing ------------------------------------------------------------------------------------
class IndexPut(Function):
    """``out = a.copy(); out[key] = v`` as a recorded op (``x[key] = v`` under autograd)."""

    _array_level = True
    _backward_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, a, v, key):
        out = a.copy()
        out[key] = v
        ctx.key, ctx.v_shape = key, getattr(v, "shape", ())
        return out

    @staticmethod
    def backward(ctx, g):
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = g.copy()
            ga[ctx.key] = 0  # overwritten elements no longer depend on the old values
        if ctx.needs_input_grad[1]:
            sel = g[ctx.key]
            extra = len(ctx.v_shape) - sel.ndim
            if extra > 0:  # the value had leading 1-dims that broadcasting dropped
                sel = sel.reshape((1,) * extra + sel.shape)
            gv = unbroadcast(sel, ctx.v_shape)
        return ga, gv, None


def _value_for(self: Tensor, value):
    """The value of an assignment, cast to ``self``'s dtype (a Tensor when it needs grad)."""
    if isinstance(value, Tensor):
        if value._data.dtype != self._data.dtype:
            value = value.to(self.dtype)
        return value
    xp = xp_of(self._data)
    try:
        return xp.asarray(value, dtype=self._data.dtype)
    except (TypeError, ValueError):
        raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}") from None


def _shape_error(self: Tensor, np_key, value, op) -> RuntimeError:
    target = self._data[np_key].shape
    vs = list(getattr(value, "shape", ()))
    if op is Index:
        return RuntimeError(f"shape mismatch: value tensor of shape {vs} cannot be broadcast to "
                            f"indexing result of shape {list(target)}")
    lead = len(target) - len(vs)
    for i, s in enumerate(vs):
        t = target[lead + i] if lead + i >= 0 else 1
        if s != t and s != 1:
            return RuntimeError(f"The expanded size of the tensor ({t}) must match the existing "
                                f"size ({s}) at non-singleton dimension {lead + i}.  Target "
                                f"sizes: {list(target)}.  Tensor sizes: {vs}")
    return RuntimeError(f"cannot broadcast a value of shape {vs} to {list(target)}")


@runs_on_input_device
def setitem(self: Tensor, key, value) -> None:
    """``self[key] = value``, in place. See: torch.Tensor.__setitem__.

    An in-place update like ``add_``: every alias sees it and the version counter moves on.
    Under autograd a basic key updates the view ``self[key]`` (``self``'s history becomes
    ``CopySlices``, as PyTorch's ``self[key].copy_(value)``); an advanced key records
    ``IndexPutBackward0``.
    """
    np_key, op = _parse(self, key)
    value = _value_for(self, value)
    v_grad = isinstance(value, Tensor) and value._requires_grad
    if _GRAD.enabled and (self.requires_grad or v_grad):
        try:
            if op is Index:
                self._inplace(_index_put, value, np_key)
            else:
                view = mark_view(op.apply(self, np_key), self, (op, (np_key,)))
                if not isinstance(value, Tensor):
                    value = _make(value, self._device)
                # copy_'s op (CopyBackwards), whose forward raises ValueError on a bad shape.
                from .conversion import _CopyFrom

                view._inplace(_CopyFrom.apply, _fit(value, view._data.ndim))
        except ValueError:
            raise _shape_error(self, np_key, value, op) from None
        return
    arr = value._data if isinstance(value, Tensor) else value
    if not array_writeable(self._data) and overlapping(self._data):
        raise RuntimeError(OVERLAP)

    def write() -> None:
        try:
            self._data[np_key] = arr
        except ValueError:
            raise _shape_error(self, np_key, value, op) from None

    write_direct(self, write)


def _index_put(t: Tensor, value, np_key) -> Tensor:
    return IndexPut.apply(t, value, np_key)


def _fit(value: Tensor, ndim: int) -> Tensor:
    """Drop the value's leading size-1 dims beyond the target's rank (PyTorch allows them)."""
    extra = value._data.ndim - ndim
    if extra > 0 and all(s == 1 for s in value._data.shape[:extra]):
        return value.reshape(value._data.shape[extra:])
    return value


# The gather/scatter and sorting families use the parsing above; they come in last.
from .scatter import (gather, index_add, index_fill, index_select, masked_fill,  # noqa: E402
                      masked_select, scatter, scatter_add, take, take_along_dim)
from .sorting import argsort, argwhere, nonzero, sort, topk, unique  # noqa: E402

TENSOR_METHODS = {
    "__getitem__": getitem, "__setitem__": setitem, "gather": gather, "scatter": scatter,
    "scatter_add": scatter_add, "index_select": index_select, "index_add": index_add,
    "index_fill": index_fill, "masked_fill": masked_fill, "masked_select": masked_select,
    "take": take, "take_along_dim": take_along_dim, "nonzero": nonzero, "argwhere": argwhere,
    "topk": topk, "sort": sort, "argsort": argsort, "unique": unique,
}
INPLACE_METHODS = ("scatter", "scatter_add", "masked_fill", "index_add", "index_fill")
__all__ = [k for k in TENSOR_METHODS if not k.startswith("__")]

from ._numpy_names import install as _numpy_names  # noqa: E402

# x.gather(axis=1, ...), x.sort(axis=0); unique is Python code in PyTorch and takes no alias.
_numpy_names(globals(), TENSOR_METHODS, skip=("unique",))
