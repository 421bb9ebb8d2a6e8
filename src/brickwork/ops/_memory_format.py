"""PyTorch's memory-format rules: which strides a new tensor gets, and layout predicates.

A brickwork tensor's strides are its NumPy/CuPy array's strides, so honouring a memory format
means allocating the result with PyTorch's strides and copying the values in. These helpers
follow c10's ``MemoryFormat.h`` / ``TensorImpl`` and ATen's ``empty_like``:

- ``contiguous_format``: row-major strides (sizes of 0 count as 1);
- ``channels_last`` / ``channels_last_3d``: C innermost, then W, H (D), N; rank 4 (5) only;
- ``preserve_format``: a non-overlapping, dense input keeps its strides exactly; another
  strided input gets dense strides in the same dim order (``infer_dense_strides``).
"""
from __future__ import annotations

import contextlib

from ..device import device_of_array, on_device
from ._util import xp_of
from ..tensor import Tensor

_ORDER = {"channels_last": (4, (1, 3, 2, 0)), "channels_last_3d": (5, (1, 4, 3, 2, 0))}


def check_format(op: str, fmt, *, allow_none: bool = True) -> None:
    """Raise PyTorch's TypeError when ``fmt`` is not a memory format."""
    from ._more_numeric import memory_format

    if fmt is None and allow_none:
        return
    if not isinstance(fmt, memory_format):
        kind = type(fmt)
        name = f"brickwork.{kind.__name__}" if kind.__module__.startswith("brickwork") \
            else kind.__name__
        raise TypeError(f"{op}(): argument 'memory_format' must be brickwork.memory_format, not "
                        f"{name}")


def contiguous_strides(shape) -> tuple:
    """Row-major strides, in elements (a size-0 dim counts as 1, as in PyTorch)."""
    out, acc = [], 1
    for n in reversed(tuple(shape)):
        out.append(acc)
        acc *= max(int(n), 1)
    return tuple(reversed(out))


def format_strides(shape, fmt) -> tuple:
    """The strides PyTorch gives a fresh tensor of ``shape`` in ``fmt`` (not preserve)."""
    from ._more_numeric import preserve_format

    if fmt is preserve_format:
        raise RuntimeError("unsupported memory format Preserve")
    name = getattr(fmt, "_name", "contiguous_format")
    if name not in _ORDER:
        return contiguous_strides(shape)
    rank, order = _ORDER[name]
    if len(shape) != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {name} format")
    strides, acc = [0] * rank, 1
    for d in order:  # no clamp of size 0 here: c10's get_channels_last_strides has none
        strides[d] = acc
        acc *= int(shape[d])
    return tuple(strides)


def non_overlapping_and_dense(shape, strides) -> bool:
    """c10's ``compute_non_overlapping_and_dense``."""
    if len(shape) == 1:
        return shape[0] < 2 or strides[0] == 1
    dims = sorted((d for d in range(len(shape)) if shape[d] >= 2), key=lambda d: strides[d])
    want = 1
    for d in dims:
        if strides[d] != want:
            return False
        want *= shape[d]
    return True


def infer_dense_strides(shape, strides) -> tuple:
    """ATen's ``infer_dense_strides``: dense strides keeping the input's dim order."""
    nd = len(shape)
    perm = list(range(nd - 1, -1, -1))  # perm[0] is the innermost dim

    def should_swap(a: int, b: int) -> int:
        sa, sb = strides[a], strides[b]
        if sa == 0 or sb == 0:
            return 0
        if sa != sb:
            return -1 if sa < sb else 1
        return 1 if shape[a] > shape[b] else 0

    for i in range(1, nd):  # insertion sort, as ATen does (stable with its tie rules)
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    out, acc = [0] * nd, 1
    for d in perm:
        out[d] = acc
        if shape[d] > 1:
            acc *= shape[d]
    return tuple(out)


def preserve_strides(shape, strides) -> tuple:
    """The strides ``preserve_format`` gives a copy of a strided tensor."""
    if non_overlapping_and_dense(shape, strides):
        return tuple(strides)
    return infer_dense_strides(shape, strides)


def _strides_like_channels_last(shape, strides) -> bool:
    """c10's ``is_channels_last_strides_2d/3d`` (used by ``suggest_memory_format``)."""
    nd = len(shape)
    if nd not in (4, 5) or strides[1] == 0:
        return False
    lo = 0
    for d in _ORDER["channels_last" if nd == 4 else "channels_last_3d"][1]:
        if shape[d] == 0 or strides[d] < lo:
            return False
        if d == 0 and lo == strides[1]:
            return False  # ambiguous (N, 1, 1, 1): PyTorch falls back to contiguous
        lo = strides[d] * (shape[d] if shape[d] > 1 else 1)
    return True


def suggest_memory_format(t: Tensor):
    """The format a tensor's strides suggest. See: torch.Tensor's suggest_memory_format."""
    from ._more_numeric import channels_last, channels_last_3d, contiguous_format

    shape, strides = t._data.shape, t.stride()
    if _strides_like_channels_last(shape, strides):
        return channels_last if len(shape) == 4 else channels_last_3d
    return contiguous_format


def is_contiguous_as(shape, strides, fmt) -> bool:
    """``is_contiguous(memory_format=fmt)``: c10's contiguity flags."""
    name = getattr(fmt, "_name", "contiguous_format")
    if name in _ORDER:
        rank, order = _ORDER[name]
        if len(shape) != rank:
            return False
    else:
        order = range(len(shape) - 1, -1, -1)
        if any(n == 0 for n in shape):
            return True
    want = 1
    for d in order:
        if shape[d] != 1:
            if strides[d] != want:
                return False
            want *= shape[d]
    return True


def target_strides(t: Tensor, fmt) -> tuple:
    """The strides a copy of ``t`` made with ``fmt`` has (``None`` means preserve)."""
    from ._more_numeric import preserve_format

    if fmt is None or fmt is preserve_format:
        return preserve_strides(t._data.shape, t.stride())
    return format_strides(t._data.shape, fmt)


def restrided(arr, strides):
    """An array with ``arr``'s values laid out with ``strides`` (elements); ``arr`` itself when
    it already is."""
    item = arr.itemsize
    if tuple(s // item for s in arr.strides) == tuple(strides):
        return arr
    xp = xp_of(arr)
    extent = 1 + sum((n - 1) * s for n, s in zip(arr.shape, strides)) if arr.size else 1
    dev = device_of_array(arr)
    with on_device(dev) if dev.type != "cpu" else contextlib.nullcontext():
        # CuPy allocates on its current GPU: the copy must land on the array's own.
        out = xp.lib.stride_tricks.as_strided(xp.empty(extent, arr.dtype), arr.shape,
                                              tuple(s * item for s in strides))
        out[...] = arr
    return out


def relayout_fresh(out: Tensor, strides) -> Tensor:
    """Give a freshly made tensor ``strides`` (its values unchanged), in place.

    Only for a result whose node saved nothing of it (factories, copies): the array is swapped.
    """
    out._data = restrided(out._data, strides)
    return out


def like_layout(out: Tensor, input: Tensor, fmt, op: str) -> Tensor:
    """The ``*_like`` rule: ``out`` (made row-major from ``input``'s shape) laid out as ``fmt``
    asks relative to ``input`` (default ``preserve_format``)."""
    from ..factories import strided

    check_format(op, fmt)
    if input.layout is not strided or out.layout is not strided:
        return out  # sparse tensors have no strides to arrange
    return relayout_fresh(out, target_strides(input, fmt))
