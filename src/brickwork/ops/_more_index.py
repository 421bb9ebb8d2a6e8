"""Out-of-place scatter-style composites: slice_scatter, select_scatter, diagonal_scatter,
index_copy, index_put, put; and the factories scalar_tensor, empty_strided, frombuffer.

Each scatter copies ``input`` and writes ``src`` through a view of the copy (or adds with
``index_add`` when accumulating), so autograd routes the gradient to both: ``input`` gets it
where it was not overwritten, ``src`` the part at its positions.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from ._util import wrap, xp_of
from .reduction import _torch_type_name


def _check_src(src: Tensor, view: Tensor) -> None:
    if tuple(src.shape) != tuple(view.shape):
        raise RuntimeError("expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(view.shape)}")


def _scatter_into(input: Tensor, src: Tensor, view_of) -> Tensor:
    out = input.clone()
    view = view_of(out)
    _check_src(src, view)
    view.copy_(src)
    return out


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None,
                  step: int = 1) -> Tensor:
    """``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by ``src``.

    See: torch.slice_scatter.
    """
    d = dim % max(input.dim(), 1)
    return _scatter_into(input, src, lambda t: t[(slice(None),) * d + (slice(start, end, step),)])


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``input`` with ``input.select(dim, index)`` replaced by ``src``. See: torch.select_scatter.
    """
    return _scatter_into(input, src, lambda t: t.select(dim, index))


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """``input`` with ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``.

    See: torch.diagonal_scatter.
    """
    return _scatter_into(input, src, lambda t: t.diagonal(offset, dim1, dim2))


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """``input`` with the slices ``index`` along ``dim`` replaced by ``source``'s.

    See: torch.index_copy.
    """
    if index.dim() > 1:
        raise IndexError("index_copy_(): Index should have dimension 1 or 0 (got "
                         f"{index.dim()})")
    if index._data.dtype != np.int64:
        raise RuntimeError("index_copy_(): Expected a long tensor for index, but got "
                           f"{_torch_type_name(index._data.dtype)}")
    d = dim % max(input.dim(), 1)
    out = input.clone()
    if source.dim() != input.dim() and (source.dim() or input.dim()):
        raise IndexError("index_copy_(): When source and destination are not scalars, their "
                         f"dimensionality must match. Source dimensionality ({source.dim()}), "
                         f"destination dimensionality ({input.dim()})")
    n_idx = index.numel()
    src_n = source.shape[d] if source.dim() else 1
    if n_idx != src_n:
        raise IndexError(f"index_copy_(): Number of indices ({n_idx}) should be equal to "
                         f"source.size(dim) ({src_n})")
    for i in range(input.dim()):
        if i != d and source.shape[i] != input.shape[i]:
            raise RuntimeError("index_copy_(): Source/destination tensor must have same slice "
                               "shapes. Destination slice shape: "
                               f"{' '.join(str(s) for j, s in enumerate(input.shape) if j != d)}"
                               f" at dimension {d} and source slice shape: "
                               f"{' '.join(str(s) for j, s in enumerate(source.shape) if j != d)}"
                               " at dimension 0.")
    out = input.clone()
    if input.dim() == 0:  # index is 0 (checked by the count above): source replaces all
        return out.copy_(source)
    out[(slice(None),) * d + (index.reshape(-1),)] = source
    return out


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` with ``input[indices] = values`` (``+=``, duplicates summed, if
    ``accumulate``). See: torch.index_put."""
    out = input.clone()
    idx = tuple(indices)
    if not accumulate:
        out[idx] = values
        return out
    xp = xp_of(input._data)
    arrays = []
    for i in idx:  # a bool mask stands for the long indices of its nonzero positions
        a = i._data
        arrays.extend(xp.nonzero(a) if a.dtype == np.bool_ else [a.astype(np.int64)])
    k = len(arrays)
    lead = input.shape[:k]
    arrays = xp.broadcast_arrays(*arrays)
    arrays = [xp.where(a < 0, a + n, a) for a, n in zip(arrays, lead)]
    lin = xp.ravel_multi_index(tuple(a.reshape(-1) for a in arrays), lead) if k else \
        xp.zeros(1, np.int64)
    rest = tuple(input.shape[k:])
    vals = values.expand(*(arrays[0].shape + rest)).reshape((-1,) + rest)
    flat = out.reshape((int(np.prod(lead)),) + rest)
    return flat.index_add(0, wrap(lin.astype(np.int64), input), vals).reshape(input.shape)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` (viewed flat) with positions ``index`` set to (or, with ``accumulate``,
    increased by) ``source``. See: torch.put."""
    if index.numel() != source.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source.numel()}, "
                         f"index.numel() = {index.numel()}")
    flat = input.reshape(-1)
    n = flat.shape[0]
    xp = xp_of(index._data)
    i = index._data.reshape(-1).astype(np.int64)
    if i.size and (bool((i >= n).any()) or bool((i < -n).any())):
        bad = int(i[(i >= n) | (i < -n)][0])
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    i = wrap(xp.where(i < 0, i + n, i), input)
    return index_put(flat, (i,), source.reshape(-1), accumulate).reshape(input.shape)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding ``s``, of the default float dtype unless ``dtype`` says otherwise.

    See: torch.scalar_tensor.
    """
    from ..factories import _check_layout, _check_pin, tensor

    _check_layout("scalar_tensor", layout)
    _check_pin(pin_memory)
    d = _dt.get_default_dtype() if dtype is None else dtype
    return tensor(s, dtype=d, device=device, requires_grad=requires_grad)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor with the given ``stride``s. See: torch.empty_strided."""
    from ..factories import empty

    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality "
                           f"of strides ({len(stride)})")
    extent = 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    base = empty(extent, dtype=dtype, layout=layout, device=device, pin_memory=pin_memory)
    return base.as_strided(size, stride).requires_grad_(requires_grad)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-d tensor sharing memory with a Python buffer. See: torch.frombuffer."""
    from ..factories import from_numpy

    view = memoryview(buffer)
    length, size = view.nbytes, dtype.itemsize
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if offset < 0 or offset >= length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    if count < 0:
        if (length - offset) % size:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} "
                             f"bytes) must be a multiple of element size ({size})")
        count = (length - offset) // size
    elif count * size > length - offset:
        raise ValueError(f"requested buffer length ({count} * {size} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length "
                         f"({length} bytes)")
    if view.readonly:
        warnings.warn("The given buffer is not writable, and PyTorch does not support "
                      "non-writable tensors. This means you can write to the underlying "
                      "(supposedly non-writable) buffer using the tensor. You may want to copy "
                      "the buffer to protect its data or make it writable before converting it "
                      "to a tensor. This type of warning will be suppressed for the rest of "
                      "this program.", UserWarning, stacklevel=2)
    arr = np.frombuffer(buffer, dtype.np, count, offset)
    if view.readonly:
        arr = arr.copy()  # NumPy refuses to hand out a writable view of read-only memory
    return from_numpy(arr).requires_grad_(requires_grad)


__all__ = ["slice_scatter", "select_scatter", "diagonal_scatter", "index_copy", "index_put",
           "put", "scalar_tensor", "empty_strided", "frombuffer"]


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into ``input`` at ``index`` along ``dim`` with ``"sum"``, ``"prod"``,
    ``"mean"``, ``"amax"`` or ``"amin"``.

    With ``include_self=False`` the scattered-to positions of ``input`` take no part.
    For amax/amin the gradient is shared evenly among the tied extreme elements, as PyTorch's;
    for prod it is PyTorch's (zeros included, see ``ops/_scatter_prod.py``).
    See: torch.scatter_reduce.
    """
    if reduce not in _REDUCES:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if reduce == "prod":
        from ._scatter_prod import scatter_prod
        from .scatter import _scatter_args

        d = _scatter_args("scatter_reduce", input, dim, index, src)
        return scatter_prod(input, d, index, src[tuple(slice(0, n) for n in index.shape)],
                            include_self)
    # Only src's index-shaped corner is read, as in scatter.
    src = src[tuple(slice(0, n) for n in index.shape)]
    hit = input.new_zeros(input.shape).scatter_add(dim, index, src.new_ones(index.shape))
    hit_arr = hit._data > 0
    keep = wrap(~hit_arr, input) if not include_self else None
    base = input if include_self else input.where(keep, 0)
    if reduce in ("sum", "mean"):
        total = base.scatter_add(dim, index, src)
        if reduce == "sum":
            return total
        count = hit + (1 if include_self else 0)
        count = count.where(wrap(hit_arr, input), 1)
        if input.dtype.is_floating_point:
            return total / count
        return total.div(count, rounding_mode="floor")
    # amax/amin: the extreme value R per position on the arrays, then a differentiable
    # average of the elements equal to R (their values are all R) so that the gradient is
    # split evenly among ties.
    xp = xp_of(input._data)
    fill = (-np.inf if reduce == "amax" else np.inf) if input.dtype.is_floating_point else \
        (np.iinfo(input._data.dtype).min if reduce == "amax" else
         np.iinfo(input._data.dtype).max)
    res = input._data.copy() if include_self else xp.where(hit_arr, fill, input._data)
    res = res.astype(input._data.dtype)
    ufunc = xp.maximum if reduce == "amax" else xp.minimum
    idx = index._data.astype(np.int64)
    d = dim % max(input.dim(), 1)
    grid = list(xp.indices(idx.shape, sparse=True)) if idx.ndim else []
    if grid:
        grid[d] = idx
        ufunc.at(res, tuple(grid), src._data)
    if not input.requires_grad and not src.requires_grad:
        return wrap(res, input)
    r = wrap(res, input)
    self_eq = input == r
    if not include_self:
        self_eq = self_eq & wrap(~hit_arr, input)
    src_eq = src == r.gather(dim, index)
    cnt = self_eq.to(input.dtype).scatter_add(dim, index, src_eq.to(input.dtype))
    cnt = cnt.where(cnt > 0, 1)
    own = input.where(self_eq, 0) / cnt
    return own.scatter_add(dim, index, src.where(src_eq, 0) / cnt.gather(dim, index))


__all__.append("scatter_reduce")


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """Reduce the slices of ``source`` into ``input``'s slices ``index`` along ``dim`` with
    ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``.

    See: torch.index_reduce.
    """
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    if index.dim() > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector, but got dim: "
                         f"{index.dim()} with type: {_torch_type_name(index._data.dtype)} and "
                         f"size: {list(index.shape)}")
    d = dim % max(input.dim(), 1)
    src_n = source.shape[d] if source.dim() else 1
    if index.numel() != src_n:
        raise RuntimeError(f"index_reduce_(): Number of indices ({index.numel()}) should be "
                           f"equal to source.size(dim): ({src_n}), for dim: {dim}")
    # The same reduction as scatter_reduce with the index spread over source's shape.
    shape = [1] * source.dim()
    if shape:
        shape[d] = -1
    full_index = index.reshape(shape).expand(*source.shape) if shape else index.reshape(())
    return scatter_reduce(input, d, full_index, source, reduce, include_self=include_self)


__all__.append("index_reduce")
