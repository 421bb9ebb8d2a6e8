"""Helpers shared by the op families: broadcasting gradients back and PyTorch's promotion."""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from .._sparse_coo import SparseCOO as _SparseCOO
from ..autograd._lifted import Lifted as _Lifted
from ..tensor import Tensor, _make


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the gradient of broadcasting an input to grad's shape."""
    if grad.shape == shape:
        return grad
    nd = grad.ndim - len(shape)
    axes = tuple(range(nd)) + tuple(i + nd for i, s in enumerate(shape)
                                    if s == 1 and grad.shape[i + nd] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def add_at(out, key, values) -> None:
    """``out[key] += values`` with every repeat of an index added (``ufunc.at``).

    On the GPU, CuPy adds with atomics, whose order (and so the float rounding) changes from
    run to run. Under ``use_deterministic_algorithms(True)`` the addition runs on the host in
    index order instead: slower, the same bits every run, as that mode promises.
    """
    xp = xp_of(out)
    if xp is np and _rows_add_at(out, key, values):
        return
    if xp is np or not _deterministic_mode():
        xp.add.at(out, key, values)
        return
    host = out.get()
    np.add.at(host, _host_key(key), values.get() if hasattr(values, "get") else values)
    out[...] = xp.asarray(host)


# Index values per ufunc.at call of _rows_add_at: its flat keys stay in cache (4K: 8.6 ms, 64K:
# 6.0 ms, all at once: 6.9 ms for 30720 rows of 100).
ROWS_AT_CHUNK = 1 << 16


def _rows_add_at(out, key, values) -> bool:
    """``add.at(out, key, values)`` for whole rows (a 1-d ``key`` of non-negative rows of a
    contiguous ``out``, ``values`` one row per key) as ``add.at`` on the flat array, with one
    key per value: NumPy's fast loop for 1-d ``at``, where rows go through its general
    indexing. The same additions in the same order, so the same bits; an embedding's gradient
    of 30720 rows of 100 into 6719: 27.4 -> 6.0 ms. False where this does not apply."""
    if not (key.__class__ is np.ndarray and key.ndim == 1 and key.dtype.kind in "iu"
            and out.ndim >= 2 and out.flags.c_contiguous and values.__class__ is np.ndarray
            and values.dtype == out.dtype and values.shape == key.shape + out.shape[1:]
            and key.size and out.size and key.min() >= 0):
        return False
    d = out.size // out.shape[0]
    flat, rows = out.reshape(-1), values.reshape(key.size, d)
    cols = np.arange(d, dtype=np.intp)
    step = max(1, ROWS_AT_CHUNK // max(d, 1))
    for a in range(0, key.size, step):
        keys = key[a:a + step].astype(np.intp, copy=False)[:, None] * d + cols
        np.add.at(flat, keys.reshape(-1), rows[a:a + step].reshape(-1))
    return True


def _host_key(key):
    if isinstance(key, tuple):
        return tuple(_host_key(k) for k in key)
    return key.get() if hasattr(key, "get") else key


def _deterministic_mode() -> bool:
    from .._settings import are_deterministic_algorithms_enabled

    return are_deterministic_algorithms_enabled()


def gather_grad(shape, axis: int, idx, g):
    """Zeros of ``shape`` with ``g`` added back along ``axis`` at the 1-d ``idx``: the gradient
    of ``x.take(idx, axis)`` (a pad, ``index_select``, an interpolation tap).

    NumPy's ``add.at`` adds element by element (16 ms for one reflection pad of a U-Net level);
    here whole slices are added, round by round (see ROUNDS_MAX), deterministically. A pad
    (every input read, a few twice) is one gather plus a few slice additions.
    """
    xp = xp_of(g)
    if xp is not np or idx.ndim != 1 or g.dtype.kind not in "fc" or idx.size == 0 \
            or len(shape) == 0:
        out = xp.zeros(shape, g.dtype)
        add_at(out, (slice(None),) * axis + (idx,), g)
        return out
    idx = np.where(idx < 0, idx + shape[axis], idx)
    n = shape[axis]
    lead = (slice(None),) * axis
    reads = idx.size // n
    if reads > 1 and idx.size == n * reads and np.array_equal(idx, np.arange(idx.size)
                                                              // reads):
        # every input read ``reads`` times in a row (nearest upsampling by an integer
        # factor): the strided slices added in order, as the runs' sums below would be
        # (a 2x upsampling's gradient of (4, 64, 128, 128): along W 15.0 -> 1.8 ms, along H
        # 6.1 -> 3.1 ms)
        out = g[lead + (slice(0, None, reads),)].copy()
        for j in range(1, reads):
            out += g[lead + (slice(j, None, reads),)]
        return out
    if 0 < idx.size - n <= 64 and np.bincount(idx, minlength=n).all():
        # A pad: every input read at least once and a few read again. Gather each input's
        # first reader in one pass, then add the few repeats slice by slice.
        first = np.empty(n, np.intp)
        first[idx[::-1]] = np.arange(idx.size - 1, -1, -1)
        out = np.take(g, first, axis=axis)
        for j in np.flatnonzero(first[idx] != np.arange(idx.size)):
            out[lead + (idx[j],)] += g[lead + (j,)]
        return out
    rounds = Rounds(idx)
    if rounds.count <= ROUNDS_MAX and math.prod(shape[axis + 1:]) >= ROUNDS_MIN_RUN:
        # each position's readers added in reading order onto zeros, PyTorch's index_add_
        # order, so the same bits; (512, 1024) rows into 256: 2.2 -> 0.27 ms
        out = np.zeros(shape, g.dtype)
        for targets, readers in rounds:
            out[lead + (targets,)] += np.take(g, readers, axis=axis)
        return out
    order, sidx, starts = rounds.order, rounds.sorted, rounds.starts
    src = g if order is None else np.take(g, order, axis=axis)
    sums = np.add.reduceat(src, starts, axis=axis)
    if len(starts) == n:  # every input position read: the sums are the gradient
        return sums
    out = np.zeros(shape, g.dtype)
    out[lead + (sidx[starts],)] = sums
    return out


class Rounds:
    """The readers of a 1-d index array (positions ``k`` reading ``idx[k]``) dealt into rounds:
    round r holds every target's r-th reader in reading order, so no target comes twice in a
    round and one fancy-indexed update per round adds whole slices, in each target's reading
    order. Iterating gives ``(targets, readers)`` per round; ``count`` is how many."""

    def __init__(self, idx) -> None:
        self.order = None if (idx[1:] >= idx[:-1]).all() else np.argsort(idx, kind="stable")
        self.sorted = idx if self.order is None else idx[self.order]
        new_run = np.concatenate(([True], self.sorted[1:] != self.sorted[:-1]))
        self.starts = np.flatnonzero(new_run)
        self.rank = np.arange(idx.size) - self.starts[np.cumsum(new_run) - 1]
        self.count = int(self.rank.max()) + 1 if idx.size else 0

    def __iter__(self):
        for r in range(self.count):
            sel = np.flatnonzero(self.rank == r)
            yield self.sorted[sel], (sel if self.order is None else self.order[sel])


# gather_grad adds in rounds (one per reader of the most-read position) up to this many; more,
# and one reduceat over the sorted readers costs less than the rounds' Python loop. The rounds'
# fancy-indexed additions move runs of the values after ``axis``: below ROUNDS_MIN_RUN of them
# (index_select along the last axis) reduceat was faster ((256, 1024) read 2048 times along
# axis 1: 6.4 against 8.8 ms).
ROUNDS_MAX = 64
ROUNDS_MIN_RUN = 16


def add_at_zeros(shape, key, g):
    """Zeros of ``shape`` with ``g`` added at ``key``: the gradient of reading ``x[key]``.

    ``add.at`` (unlike ``zeros[key] += g``) adds every repeat of an index, which is what the
    gradient of a gather with repeated indices needs.
    """
    xp = xp_of(g)
    out = xp.zeros(shape, g.dtype)
    add_at(out, key, g)
    return out


def xp_of(arr):
    """The array module (NumPy or CuPy) an array belongs to."""
    if isinstance(arr, (np.ndarray, np.generic)):
        return np
    if arr.__class__ is _Lifted:  # a create_graph backward: the recording namespace
        from ..autograd._lifted import namespace_for

        return namespace_for(arr)
    if arr.__class__ is _SparseCOO:  # an op without a sparse kernel: each function raises
        return arr.refusing_namespace()
    from ..device import cupy_module

    return cupy_module()


# Signed integers of each item width: a select by bits views values as these.
_INT_OF_WIDTH = {2: np.int16, 4: np.int32, 8: np.int64}


def int_view(a):
    """``a`` viewed as signed integers of its item width (2, 4 or 8 bytes), or None."""
    width = _INT_OF_WIDTH.get(a.dtype.itemsize)
    return None if width is None else a.view(width)


def select_bits(mask, g, out) -> None:
    """``out[...] = g`` where the signed integer ``mask`` is -1 (every bit set), 0 where it is
    0: an exact select (an inf or NaN ``g`` where the mask is 0 gives 0, where multiplying by a
    0/1 mask gives NaN) in one branch-free pass; NumPy's ``where`` branches on each value and
    runs about 10x slower on a random mask. ``g`` and ``out`` must have ``int_view``s; a mask
    narrower than them (int8) is sign-extended. Callers make the mask as 0/1 integers and
    negate it (or subtract 1 from its complement) in place."""
    xp_of(g).bitwise_and(mask, int_view(g), out=int_view(out))


def sums_finite(x) -> bool:
    """Whether ``x`` holds no inf or NaN, told by its sum (one pass, no temporary): a sum that
    overflows also says no, which only sends a caller to its slower, exact path. Matrix
    products use it: they multiply every input by zeros, and inf * 0 is NaN."""
    return bool(xp_of(x).isfinite(x.sum()))


def numpy_floats(*arrays) -> bool:
    """Whether these are float32 or float64 NumPy arrays of one dtype, the first of at least
    one axis: the arrays the in-place NumPy kernels take (not CuPy's, whose ``where`` is
    cheap, nor the recording arrays of a ``create_graph`` backward, which need plain
    expressions; NumPy makes scalars, not arrays, of 0-d results)."""
    dtype = arrays[0].dtype
    return all(a.__class__ is np.ndarray and a.dtype == dtype for a in arrays) and \
        (dtype == np.float32 or dtype == np.float64) and arrays[0].ndim > 0


def bits_mask(cond, where_true: bool = True):
    """A NumPy bool array turned in place into an int8 select mask for ``select_bits`` and
    ``choose_bits``: -1 (every bit) where ``cond`` is ``where_true``, else 0."""
    xp = xp_of(cond)
    mask = cond.view(xp.int8)
    if where_true:
        xp.negative(mask, out=mask)
    else:
        xp.subtract(mask, 1, out=mask)
    return mask


def choose_bits(mask, a, b, out) -> None:
    """``out[...] = a`` where the signed integer ``mask`` is -1, ``b`` where it is 0, exactly,
    in three branch-free passes (``b ^ ((a ^ b) & mask)``): ``where`` runs about 10x slower
    per value on a random mask. ``out`` may be ``a`` but not ``b``."""
    xp = xp_of(a)
    ia, ib, io = int_view(a), int_view(b), int_view(out)
    xp.bitwise_xor(ia, ib, out=io)
    xp.bitwise_and(io, mask, out=io)
    xp.bitwise_xor(io, ib, out=io)


def out_of_range(arr, low: int, high: int):
    """The index of ``arr`` outside ``[low, high)`` that PyTorch reports, or None.

    That is the largest when one is too large, else the smallest. On a GPU both extremes come
    back in one read, since each read waits for the queued kernels.
    """
    if arr.size == 0:
        return None
    if isinstance(arr, np.ndarray):
        lo, hi = int(arr.min()), int(arr.max())
    else:
        lo, hi = xp_of(arr).stack((arr.min(), arr.max())).tolist()
    return hi if hi >= high else lo if lo < low else None


def promote(a, b):
    """Cast a pair of operands (tensors or Python scalars) to their common PyTorch dtype.

    Tensors are cast with a differentiable ``to``; Python scalars stay as they are because
    NumPy treats them as weakly typed, which matches PyTorch once the tensor side is right.
    """
    if isinstance(a, Tensor):
        ad = a._data.dtype
        if isinstance(b, Tensor):
            if b._data.dtype is ad or b._data.dtype == ad:
                return a, b
        elif isinstance(b, float) and ad.kind == "f":
            return a, b
        elif isinstance(b, int) and not isinstance(b, bool) and ad.kind in "fiu" \
                and ad != np.uint8:
            return a, b
    rt = _dt.result_type(a, b)
    return _cast(a, rt), _cast(b, rt)


def _cast(x, rt):
    if isinstance(x, Tensor):
        return x if x._data.dtype == rt.np else x.to(rt)
    if isinstance(x, complex):
        return x  # NumPy treats a Python complex as weakly typed, as PyTorch does
    if isinstance(x, (bool, int, float)):
        if rt.is_floating_point or rt.is_complex:
            return float(x)
        if rt is _dt.bool:
            return bool(x)
        return int(x)
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.asarray(x, dtype=rt.np)
    raise TypeError(f"unsupported operand type: {type(x).__name__}")


def wrap(arr, like: Tensor) -> Tensor:
    """A result array as a tensor on ``like``'s device, outside autograd.

    NumPy scalars become 0-d arrays; host results of an op on a GPU tensor (a constant, a
    count) are copied to its GPU, so a tensor's data always lives where its label says.
    """
    if isinstance(arr, (np.generic, bool, int, float)):
        arr = np.asarray(arr)
    dev = like._device
    if dev.index is not None and isinstance(arr, np.ndarray):
        from ..device import array_module, on_device

        with on_device(dev):
            arr = array_module(dev).asarray(arr)
    return _make(arr, dev)


def normalize_dim(dim, ndim: int) -> int:
    """Wrap a possibly negative ``dim`` with PyTorch's IndexError for one out of range."""
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not isinstance(dim, (int, np.integer)) or not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {dim})")
    return dim % ndim if ndim else 0


def broadcast_mismatch(sa, sb) -> str:
    """PyTorch's text for shapes that cannot broadcast, naming the rightmost clashing dim."""
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    for i in range(n - 1, -1, -1):  # PyTorch checks from the last dimension
        x, y = pa[i], pb[i]
        if x != y and x != 1 and y != 1:
            return (f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                    f"non-singleton dimension {i}")
    return f"shapes {list(sa)} and {list(sb)} cannot be broadcast together"
