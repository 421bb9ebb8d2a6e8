"""Reductions (sum, mean, prod, max/min, var/std, all/any, logsumexp) and scans (cumsum).

Every reduction takes ``dim`` as None (all dimensions), an int or a tuple of ints, and
``keepdim``. Backward broadcasts the incoming gradient back over the reduced axes
(``_expand``); selecting reductions (max, min, median) send it to the chosen element(s).
``norm`` lives in ``linalg.py`` beside the other vector/matrix ops.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..device import runs_on_input_device
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._complex_grad import cj, refuse_complex_kernel
from ._util import normalize_dim, wrap, xp_of
from .elementwise import maximum, minimum


# -- dims and shapes ---------------------------------------------------------------------------
def _axes(dim, ndim: int):
    """``dim`` -> None (reduce everything) or a tuple of non-negative axes, as PyTorch checks it.

    A 0-d tensor accepts dim 0 / -1 and reduces nothing, hence the empty tuple.
    """
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        axes = tuple(normalize_dim(_int_dim(d), ndim) for d in dim)
        seen = set()
        for a in axes:
            if a in seen:
                raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
            seen.add(a)
    else:
        axes = (normalize_dim(_int_dim(dim), ndim),)
    return () if ndim == 0 else tuple(sorted(axes))


def _int_dim(d):
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise TypeError(f"dim must be an int or a tuple of ints, got {type(d).__name__}")
    return int(d)


def _one_axis(dim, ndim: int) -> int | None:
    """A single ``dim`` (int) -> an axis, or None for a 0-d tensor."""
    a = normalize_dim(_int_dim(dim), ndim)
    return None if ndim == 0 else a


def _expand(g, shape, axes, keepdim):
    """Broadcast a reduction's gradient back to the input ``shape`` (a read-only view)."""
    if axes is None:
        g = g.reshape((1,) * len(shape)) if not keepdim else g
    elif not keepdim:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def _count(shape, axes) -> int:
    if axes is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _acc_dtype(arr):
    """Accumulation dtype: integers and bools sum to int64 and float16 adds in float32."""
    k = arr.dtype.kind
    if k in "biu":
        return np.int64
    if arr.dtype == np.float16:
        return np.float32
    return None


def _check_nonempty(name: str, x: Tensor, axes) -> None:
    """PyTorch refuses to take max/min/argmax over an empty dimension (no identity)."""
    if axes is None:
        if x._data.size == 0:
            extra = " Specify the reduction dim with the 'dim' argument." \
                if name != "argmax" and name != "argmin" else ""
            err = IndexError if name in ("argmax", "argmin") else RuntimeError
            raise err(f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
                      f"{extra}")
        return
    for a in axes:
        if x._data.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


# -- sum and mean ------------------------------------------------------------------------------
class Sum(Function):
    _array_level = True
    _backward_name = "SumBackward0"

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        acc = _acc_dtype(x)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, silently (torch)
            out = x.sum(axis=axes, keepdims=keepdim, dtype=acc)
        if acc is np.float32:
            out = out.astype(np.float16)
        if ctx.needs_input_grad[0]:
            ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdim), None, None


class SumDim(Sum):
    _backward_name = "SumBackward1"


class Mean(Function):
    _array_level = True
    _backward_name = "MeanBackward0"

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        acc = _acc_dtype(x)
        n = _count(x.shape, axes)
        # sum / n is what np.mean computes, minus its warning for empty slices (NaN, as torch).
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (x.sum(axis=axes, keepdims=keepdim, dtype=acc) / n).astype(x.dtype, copy=False)
        if ctx.needs_input_grad[0]:
            ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        n = _count(ctx.shape, ctx.axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            g = g / g.dtype.type(n)
        return _expand(g, ctx.shape, ctx.axes, ctx.keepdim), None, None


class MeanDim(Mean):
    _backward_name = "MeanBackward1"


def _with_dtype(input: Tensor, dtype) -> Tensor:
    return input if dtype is None else input.to(_dt.to_dtype(dtype))


@float32_compute
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over all elements or over ``dim``; integers and bools sum to int64. See: torch.sum.

    Example:
        >>> brickwork.ones(2, 3).sum(dim=1)
        tensor([3., 3.])
    """
    input = _with_dtype(input, dtype)
    axes = _axes(dim, input._data.ndim)
    return (Sum if dim is None else SumDim).apply(input, axes, bool(keepdim))


@float32_compute
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Arithmetic mean over all elements or over ``dim`` (floats only). See: torch.mean."""
    input = _with_dtype(input, dtype)
    if input._data.dtype.kind not in "fc":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           "floating point or complex dtype. Got: "
                           f"{_torch_type_name(input.dtype)}")
    axes = _axes(dim, input._data.ndim)
    return (Mean if dim is None else MeanDim).apply(input, axes, bool(keepdim))


def _torch_type_name(d) -> str:
    # PyTorch's ScalarType names as they appear in its messages.
    from ..tensor import _SCALAR_TYPE_NAMES

    return _SCALAR_TYPE_NAMES[d.name]


@float32_compute
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum treating NaN as zero. See: torch.nansum."""
    from .comparison import isnan, where

    if input._data.dtype.kind == "c":
        raise RuntimeError("nansum on CPU does not support complex inputs")
    if input.is_floating_point():
        input = where(isnan(input), 0.0, input)
    return sum(input, dim, keepdim, dtype=dtype)


# -- prod --------------------------------------------------------------------------------------
def _excl_prod(x, axis):
    """Product of all other elements along ``axis`` for each element, without dividing.

    Dividing ``prod / x`` breaks on zeros; the exclusive prefix and suffix products do not.
    """
    xp = xp_of(x)
    ones = xp.ones_like(xp.take(x, [0], axis=axis))
    left = xp.cumprod(xp.concatenate([ones, xp.delete(x, -1, axis=axis)], axis=axis), axis=axis)
    rev = xp.flip(x, axis=axis)
    right = xp.cumprod(xp.concatenate([ones, xp.delete(rev, -1, axis=axis)], axis=axis),
                       axis=axis)
    return left * xp.flip(right, axis=axis)


class Prod(Function):
    _array_level = True
    _backward_name = "ProdBackward0"

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        acc = _acc_dtype(x)
        out = x.prod(axis=axis, keepdims=keepdim, dtype=acc)
        if acc is np.float32:
            out = out.astype(np.float16)
        if ctx.needs_input_grad[0]:
            ctx.x, ctx.axis, ctx.keepdim = x, axis, keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        x, axis = ctx.x, ctx.axis
        if x.size == 0:
            return np.zeros_like(x), None, None
        if axis is None:
            others = _excl_prod(x.reshape(-1), 0).reshape(x.shape)
            axes = None
        elif x.ndim == 0:
            return g * np.ones_like(x), None, None
        else:
            others = _excl_prod(x, axis)
            axes = (axis,)
        return _expand(g, x.shape, axes, ctx.keepdim) * cj(others), None, None


class ProdDim(Prod):
    _backward_name = "ProdBackward1"


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or along one ``dim``. See: torch.prod."""
    input = _with_dtype(input, dtype)
    if dim is None:
        return Prod.apply(input, None, bool(keepdim))
    return ProdDim.apply(input, _one_axis(dim, input._data.ndim), bool(keepdim))


# -- max, min, amax, amin, argmax, argmin ------------------------------------------------------
def _return_type(name: str):
    """A named pair like ``torch.return_types.max``: a tuple with ``.values`` and ``.indices``."""

    def __repr__(self) -> str:
        return f"brickwork.return_types.{name}(\nvalues={self[0]!r},\nindices={self[1]!r})"

    def __reduce__(self):
        return (cls, (tuple(self),))

    cls = type(name, (tuple,), {
        "__slots__": (), "__doc__": f"The (values, indices) pair of ``{name}`` along a dim.",
        "__new__": lambda c, seq: tuple.__new__(c, seq),
        "values": property(lambda self: self[0]), "indices": property(lambda self: self[1]),
        "n_fields": 2, "n_sequence_fields": 2, "n_unnamed_fields": 0,
        "__repr__": __repr__, "__reduce__": __reduce__, "__module__": "brickwork.return_types"})
    return cls


# `name_out` is what PyTorch returns when the call passed out=(values, indices).
return_types = {n + s: _return_type(n + s) for n in ("max", "min", "median", "mode", "sort",
                                                     "topk", "kthvalue")
                for s in ("", "_out")}


class _SelectAll(Function):
    """Full max/min: PyTorch splits the gradient evenly among tied extreme elements."""

    _array_level = True
    _pick = None

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        # ctx._forward_cls is the concrete subclass (MaxAll, MinAll...): its _pick decides.
        out = ctx._forward_cls._pick(x, axis=axes, keepdims=keepdim)
        if ctx.needs_input_grad[0]:
            ctx.x, ctx.out, ctx.axes, ctx.keepdim = x, out, axes, keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        x, axes, keepdim = ctx.x, ctx.axes, ctx.keepdim
        hit = x == _expand(ctx.out, x.shape, axes, keepdim)
        n = hit.sum(axis=axes, keepdims=keepdim).astype(g.dtype)
        share = _expand(g / n, x.shape, axes, keepdim)
        return np.where(hit, share, 0).astype(g.dtype, copy=False), None, None


class MaxAll(_SelectAll):
    _backward_name = "MaxBackward1"
    _pick = staticmethod(np.max)


class MinAll(_SelectAll):
    _backward_name = "MinBackward1"
    _pick = staticmethod(np.min)


class Amax(MaxAll):
    _backward_name = "AmaxBackward0"


class Amin(MinAll):
    _backward_name = "AminBackward0"


class _SelectDim(Function):
    """max/min/median along one dim: values and int64 indices; the gradient goes to the index."""

    _array_level = True

    @staticmethod
    def forward(ctx, x, axis, keepdim, arg):
        if axis is None:  # a 0-d tensor: the element itself at index 0
            idx = xp_of(x).zeros((), dtype=np.int64)
            values = x.copy()
        else:
            idx = arg(x, axis)
            values = _at_index(x, idx, axis)
            if keepdim:
                values, idx = _kept(values, axis), _kept(idx, axis)
        if ctx.needs_input_grad[0]:
            ctx.shape, ctx.idx, ctx.axis, ctx.keepdim = x.shape, idx, axis, keepdim
        return values, idx  # int64 indices never require grad (see Function.apply)

    @staticmethod
    def backward(ctx, g, _g_idx):
        axis = ctx.axis
        if axis is None:
            return g.copy(), None, None, None
        gx = xp_of(g).zeros(ctx.shape, dtype=g.dtype)
        idx = ctx.idx if ctx.keepdim else _kept(ctx.idx, axis)
        gv = g if ctx.keepdim else _kept(g, axis)
        np.put_along_axis(gx, idx, gv, axis=axis)
        return gx, None, None, None


def _kept(a, axis: int):
    """``a`` with a length-1 axis inserted at ``axis`` (``np.expand_dims``, whose checks cost
    more than the reshape on small arrays)."""
    return a.reshape(a.shape[:axis] + (1,) + a.shape[axis:])


# Up to this many values max/min along a dim read their values at the indices by one fancy
# index of the rows; above, take_along_axis (which builds an index per axis, about 6 us, but
# needs no copy of a moved axis).
AT_INDEX_SMALL = 1 << 12


def _at_index(x, idx, axis: int):
    """``x``'s values at the indices ``idx`` along ``axis`` (idx has x's shape without it):
    exactly the elements, signed zeros and NaN payloads included, where ``max`` would compute
    its own. A (1, 5) row: 8.8 -> 1.7 us."""
    if x.__class__ is not np.ndarray or x.size > AT_INDEX_SMALL:
        return np.take_along_axis(x, _kept(idx, axis), axis=axis).squeeze(axis)
    rows = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    return rows[np.arange(rows.shape[0]), idx.reshape(-1)].reshape(idx.shape)


class MaxDim(_SelectDim):
    _backward_name = "MaxBackward0"


class MinDim(_SelectDim):
    _backward_name = "MinBackward0"


class MedianDim(_SelectDim):
    _backward_name = "MedianBackward1"


def _apply_select(cls, name, input, dim, keepdim, arg):
    axis = _one_axis(dim, input._data.ndim)
    if axis is not None:
        _check_nonempty(name, input, (axis,))
    values, idx = cls.apply(input, axis, bool(keepdim), arg)
    return return_types[name]((values, idx))


def _argmax_first(x, axis):
    return np.argmax(x, axis=axis)


def _argmin_first(x, axis):
    return np.argmin(x, axis=axis)


def _refuse_complex_extreme(name: str, kernel: str, input: Tensor, dim) -> None:
    """max/min have no complex version; PyTorch's two messages (all elements, or a dim)."""
    if input._data.dtype.kind == "c":
        if dim is None:
            refuse_complex_kernel(kernel, input)
        raise RuntimeError(f"{name}(): does not support complex input")


def max(input: Tensor, dim=None, keepdim: bool = False, *,  # noqa: A001
        other: Tensor | None = None):
    """The largest element; with ``dim``, ``(values, indices)``; with a tensor, ``maximum``.

    Example:
        >>> brickwork.tensor([[1, 5], [7, 2]]).max(dim=1).values
        tensor([5, 7])

    See: torch.max.
    """
    if other is not None:  # max(input, other=...): PyTorch's elementwise overload
        if dim is not None or keepdim:
            raise TypeError("max() received an invalid combination of arguments: 'other' "
                            "cannot be given with 'dim' or 'keepdim'")
        return maximum(input, other)
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    _refuse_complex_extreme("max", "max_all", input, dim)
    if dim is None:
        _check_nonempty("max", input, None)
        return MaxAll.apply(input, None, False)
    return _apply_select(MaxDim, "max", input, dim, keepdim, _argmax_first)


def min(input: Tensor, dim=None, keepdim: bool = False, *,  # noqa: A001
        other: Tensor | None = None):
    """The smallest element; with ``dim``, ``(values, indices)``; with a tensor, ``minimum``.

    See: torch.min.
    """
    if other is not None:  # min(input, other=...): PyTorch's elementwise overload
        if dim is not None or keepdim:
            raise TypeError("min() received an invalid combination of arguments: 'other' "
                            "cannot be given with 'dim' or 'keepdim'")
        return minimum(input, other)
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    _refuse_complex_extreme("min", "min_all", input, dim)
    if dim is None:
        _check_nonempty("min", input, None)
        return MinAll.apply(input, None, False)
    return _apply_select(MinDim, "min", input, dim, keepdim, _argmin_first)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (all dims by default); ties share the gradient. See: torch.amax."""
    refuse_complex_kernel("max_values_cpu", input)
    axes = _axes(dim, input._data.ndim)
    _check_nonempty("amax", input, axes)
    return Amax.apply(input, axes, bool(keepdim))


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (all dims by default); ties share the gradient. See: torch.amin."""
    refuse_complex_kernel("min_values_cpu", input)
    axes = _axes(dim, input._data.ndim)
    _check_nonempty("amin", input, axes)
    return Amin.apply(input, axes, bool(keepdim))


@runs_on_input_device
def _arg(name, fn, input: Tensor, dim, keepdim):
    x = input._data
    if x.dtype.kind == "c":
        raise RuntimeError(f"{name}(): does not support complex input")
    if dim is None:
        _check_nonempty(name, input, None)
        res = fn(x.reshape(-1)).astype(np.int64)
        if keepdim:
            res = res.reshape((1,) * x.ndim)
        return wrap(res, input)
    axis = _one_axis(dim, x.ndim)
    if axis is None:
        return wrap(np.zeros((), dtype=np.int64), input)
    _check_nonempty(name, input, (axis,))
    return wrap(fn(x, axis=axis, keepdims=bool(keepdim)).astype(np.int64, copy=False), input)


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (first one on ties), flattened when ``dim`` is None.

    See: torch.argmax.
    """
    return _arg("argmax", np.argmax, input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (first one on ties). See: torch.argmin."""
    return _arg("argmin", np.argmin, input, dim, keepdim)


# -- median ------------------------------------------------------------------------------------
def _argmedian(x, axis):
    # PyTorch returns the lower of the two middle elements; a stable sort keeps the first of
    # equal values, matching its choice of index on ties.
    n = x.shape[axis]
    order = np.argsort(x, axis=axis, kind="stable")
    return np.take(order, (n - 1) // 2, axis=axis)


class MedianAll(Function):
    _array_level = True
    _backward_name = "MedianBackward0"

    @staticmethod
    def forward(ctx, x):
        flat = x.reshape(-1)
        k = _argmedian(flat, 0)
        if ctx.needs_input_grad[0]:
            ctx.shape, ctx.k = x.shape, k
        return flat[k].copy()

    @staticmethod
    def backward(ctx, g):
        gx = xp_of(g).zeros(ctx.shape, dtype=g.dtype)
        gx.reshape(-1)[ctx.k] = g
        return gx


def median(input: Tensor, dim=None, keepdim: bool = False):
    """Lower median of all elements, or ``(values, indices)`` along ``dim``. See: torch.median."""
    refuse_complex_kernel("median_cpu" if dim is None else "median_out", input)
    if dim is None:
        if input._data.size == 0:
            return wrap(np.full((), np.nan, dtype=input._data.dtype), input)
        return MedianAll.apply(input)
    return _apply_select(MedianDim, "median", input, dim, keepdim, _argmedian)


from .reduction_stats import (all, any, count_nonzero, cumprod, cumsum, logsumexp,  # noqa
                              std, std_mean, var, var_mean)

TENSOR_METHODS = {
    "sum": sum, "mean": mean, "nansum": nansum, "prod": prod, "max": max, "min": min,
    "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin, "median": median,
    "var": var, "std": std, "all": all, "any": any, "count_nonzero": count_nonzero,
    "logsumexp": logsumexp, "cumsum": cumsum, "cumprod": cumprod,
}
INPLACE_METHODS = ("cumsum", "cumprod")
__all__ = list(TENSOR_METHODS) + ["var_mean", "std_mean"]

from ._numpy_names import install as _numpy_names  # noqa: E402

_numpy_names(globals(), TENSOR_METHODS)  # x.sum(axis=0, keepdims=True), as PyTorch accepts
