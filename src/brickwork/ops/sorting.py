"""Sorting and searching: sort, argsort, topk, unique, nonzero/argwhere.

Part of the indexing family (``ops/indexing.py`` re-exports these as functions and Tensor
methods). ``sort`` and ``topk`` return ``(values, indices)`` named tuples like PyTorch's
``torch.return_types``; the values' gradient goes back to the positions the indices name.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..device import runs_on_input_device
from ..tensor import Tensor
from ._complex_grad import refuse_complex_kernel
from ._util import normalize_dim, wrap, xp_of
from .reduction import return_types


# The named (values, indices) pairs shared with max/min, exposed as brickwork.return_types.
sort_result = return_types["sort"]
topk_result = return_types["topk"]


def _order(a, axis: int, descending: bool):
    """Stable ``argsort`` along ``axis``; NaN counts as the largest value, as in PyTorch."""
    xp = xp_of(a)
    if a.dtype.kind == "b":
        a = a.astype(np.int8)
    elif a.dtype.kind == "u":
        a = a.astype(np.int64)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    if a.dtype.kind == "f":
        nan = xp.isnan(a)
        order = xp.argsort(xp.where(nan, 0, -a), axis=axis, kind="stable")
        if not nan.any():
            return order
        # A second stable pass moves NaN (the largest value to PyTorch) to the front.
        first = xp.argsort(~xp.take_along_axis(nan, order, axis), axis=axis, kind="stable")
        return xp.take_along_axis(order, first, axis)
    return xp.argsort(-a, axis=axis, kind="stable")


class _Select(Function):
    """Values picked along ``dim`` by precomputed indices; also returns the indices."""

    _array_level = True

    @staticmethod
    def forward(ctx, a, idx, dim):
        ctx.idx, ctx.dim, ctx.in_shape = idx, dim, a.shape
        if a.ndim == 0:
            return a.copy(), idx
        return xp_of(a).take_along_axis(a, idx, axis=dim), idx

    @staticmethod
    def backward(ctx, g, _gi=None):
        if g.ndim == 0:
            return g, None, None
        xp = xp_of(g)
        gx = xp.zeros(ctx.in_shape, g.dtype)
        xp.put_along_axis(gx, ctx.idx, g, axis=ctx.dim)
        return gx, None, None


class Sort(_Select):
    _backward_name = "SortBackward0"


class Topk(_Select):
    _backward_name = "TopkBackward0"


def _apply_select(cls, input: Tensor, idx, dim: int, result):
    if input._data.ndim == 0:
        idx = idx.reshape(())
    return result(cls.apply(input, idx.astype(np.int64, copy=False), dim))


@runs_on_input_device
def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sorted values along ``dim`` and the indices they came from. See: torch.sort.

    The sort is always stable, so ``stable`` is accepted for PyTorch's signature (a stable
    order is a valid answer to ``stable=False`` too).

    Example:
        >>> brickwork.tensor([3., 1., 2.]).sort().indices.tolist()
        [1, 2, 0]
    """
    if input._data.dtype.kind == "c":
        raise RuntimeError(" Sort does not support complex dtypes on CPU")
    nd = input._data.ndim
    d = normalize_dim(dim, nd)
    a = input._data if nd else input._data.reshape(1)
    idx = _order(a, d, descending)
    return _apply_select(Sort, input, idx, d, sort_result)


@runs_on_input_device
def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``. See: torch.argsort.

    The sort is always stable, so ``stable`` is accepted for PyTorch's signature.
    """
    if input._data.dtype.kind == "c":
        raise RuntimeError(" Sort does not support complex dtypes on CPU")
    nd = input._data.ndim
    d = normalize_dim(dim, nd)
    if nd == 0:
        return wrap(xp_of(input._data).zeros((), np.int64), input)
    return wrap(_order(input._data, d, descending).astype(np.int64, copy=False), input)


@runs_on_input_device
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices.

    They always come sorted: ``sorted=False`` (any order allowed) is accepted for PyTorch's
    signature.

    See: torch.topk.
    """
    if input._data.dtype.kind == "c":
        raise RuntimeError(" topk does not support complex dtypes on CPU")
    nd = input._data.ndim
    d = normalize_dim(dim, nd)
    size = input._data.shape[d] if nd else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    a = input._data if nd else input._data.reshape(1)
    idx = _first_k(a, d, k, largest)
    if idx is None:
        idx = _order(a, d, largest)
        idx = idx[(slice(None),) * d + (slice(0, k),)]
    return _apply_select(Topk, input, idx, d, topk_result)


# Above this k the candidates are put in order by one stable sort, at or below it by k passes of
# argmax (each far cheaper than a sort pass).
ARGMAX_MAX_K = 32


def _first_k(a, axis: int, k: int, largest: bool):
    """The first ``k`` positions of the stable sort ``_order`` along ``axis`` for NumPy int and
    float arrays without NaN, from a few candidates per row instead of a sort of each whole
    row; None where the candidates cannot settle it (then the caller sorts).

    Each row is cut into ``groups`` interleaved groups (values ``j, j + groups, ...``) and
    the k groups with the largest maxima are kept: every other value is at most the k-th
    largest maximum, and k kept values are at least that, so the first k lie in the kept
    groups unless another group's maximum ties it (then None). The kept values, in position
    order, go through k argmax passes (each takes the first of equal values, as the stable
    sort does) or one stable sort. (256, 1024) float32, k = 10: 13 -> 1.0 ms.
    """
    n = a.shape[axis]
    groups = max(4 * k, 64)
    # short rows (fewer than two values a group) cost more per row here than sorting them
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "fi" or k == 0 or n < 2 * groups:
        return None
    key = np.moveaxis(a, axis, -1).reshape(-1, n)
    if not largest:  # order-reversing and exact: negation for floats, ~ for integers
        key = np.negative(key) if key.dtype.kind == "f" else np.invert(key)
    if key.dtype.kind == "f":
        if np.isnan(key).any():
            return None
        floor = key.dtype.type(-np.inf)
    else:
        floor = np.iinfo(key.dtype).min
    per = -(-n // groups)
    if per * groups != n:  # pad to whole groups with the lowest value
        padded = np.full((key.shape[0], per * groups), floor, dtype=key.dtype)
        padded[:, :n] = key
        key = padded
    key = key.reshape(-1, per, groups)
    tops = key.max(axis=1)
    kept = np.argpartition(tops, groups - k, axis=-1)[:, groups - k:]
    kth = np.take_along_axis(tops, kept, -1).min(-1, keepdims=True)
    if (kth <= floor).any() or ((tops >= kth).sum(-1) != k).any():
        return None
    kept.sort(axis=-1)
    cand = np.take_along_axis(key, kept[:, None, :], 2).reshape(key.shape[0], -1)
    pos = (np.arange(per)[:, None] * groups + kept[:, None, :]).reshape(key.shape[0], -1)
    if k > ARGMAX_MAX_K:
        order = np.argsort(np.negative(cand) if cand.dtype.kind == "f" else np.invert(cand),
                           axis=-1, kind="stable")[:, :k]
    else:
        order = np.empty((cand.shape[0], k), np.int64)
        rows = np.arange(cand.shape[0])
        for i in range(k):
            j = cand.argmax(axis=-1)
            order[:, i] = j
            cand[rows, j] = floor
    idx = np.take_along_axis(pos, order, -1)
    return np.moveaxis(idx.reshape(a.shape[:axis] + a.shape[axis + 1:] + (k,)), -1, axis)


@runs_on_input_device
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The indices of the non-zero elements, one row each (or one tensor per dim).

    See: torch.nonzero.
    """
    a = input._data
    xp = xp_of(a)
    if as_tuple:
        if a.ndim == 0:
            return (wrap(xp.zeros(int(a != 0), np.int64), input),)
        return tuple(wrap(i.astype(np.int64, copy=False), input) for i in a.nonzero())
    if a.ndim == 0:
        return wrap(xp.zeros((int(a != 0), 0), np.int64), input)
    return wrap(xp.argwhere(a).astype(np.int64, copy=False), input)


@runs_on_input_device
def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: one row of indices per non-zero element. See: torch.argwhere."""
    return nonzero(input)


@runs_on_input_device
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements (sorted), optionally with inverse indices and counts.

    They always come sorted (as PyTorch's do on the CPU): ``sorted`` is accepted for
    PyTorch's signature.

    See: torch.unique.
    """
    refuse_complex_kernel("unique", input)
    a = input._data
    xp = xp_of(a)
    axis = None if dim is None else normalize_dim(dim, a.ndim)
    res = xp.unique(a, return_inverse=return_inverse, return_counts=return_counts, axis=axis)
    if not (return_inverse or return_counts):
        return wrap(res, input)
    out = [wrap(res[0], input)]
    if return_inverse:
        inv = res[1].astype(np.int64, copy=False)
        out.append(wrap(inv.reshape(a.shape) if axis is None else inv.reshape(-1), input))
    if return_counts:
        out.append(wrap(res[-1].astype(np.int64, copy=False), input))
    return tuple(out)
