"""Ops that arrange or repeat elements: meshgrid, broadcast_tensors/broadcast_shapes,
block_diag, cartesian_prod, combinations, tril_indices/triu_indices, repeat_interleave, rot90,
vander, diag_embed, diagflat and narrow_copy.

Index patterns (which element goes where) are computed on the host or with the array module;
the elements are then moved with differentiable ops (``index_select``, ``expand``, ``cat``,
``flip``), so gradients come from those. ``diag_embed`` is its own Function: writing a diagonal
into zeros is one assignment forward and one ``diagonal`` backward.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..size import Size
from ..tensor import Tensor
from ._util import broadcast_mismatch, normalize_dim, wrap, xp_of


def _tensor_list(tensors) -> tuple:
    """Varargs or one list/tuple of tensors, as PyTorch's ``*tensors`` functions accept."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(tensors[0])
    return tuple(tensors)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 0-D/1-D tensors (``indexing='ij'``: matrix, ``'xy'``: Cartesian).

    The grids are broadcast views of the inputs. Without ``indexing`` PyTorch uses ``'ij'``
    and warns that the argument will become required.

    Example:
        >>> xs, ys = brickwork.meshgrid(brickwork.arange(2), brickwork.arange(3), indexing='ij')
        >>> xs.shape
        brickwork.Size([2, 3])

    See: torch.meshgrid.
    """
    tensors = _tensor_list(tensors)
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
                           f'{indexing}')
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t!r}")
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t._device != tensors[0]._device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:  # Cartesian: the first two axes swap
        order[0], order[1] = 1, 0
    grid = [tensors[i]._data.size for i in order]
    out = [None] * len(tensors)
    for axis, i in enumerate(order):
        view = [1] * len(grid)
        view[axis] = -1
        out[i] = tensors[i].reshape(view).expand(grid)
    return tuple(out)


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of ``shapes`` broadcast to. See: torch.broadcast_shapes."""
    shapes = [(s,) if isinstance(s, (int, np.integer)) else s for s in shapes if s is not None]
    for s in shapes:
        if not isinstance(s, (tuple, list)):
            raise RuntimeError(f"Input shapes should be of type ints, a tuple of ints, or a list "
                               f"of ints, got {s}")
    common = [1] * max((len(s) for s in shapes), default=0)
    for arg, s in enumerate(shapes):
        for idx in range(-1, -1 - len(s), -1):
            if common[idx] == 1:
                if s[idx] < 0:
                    raise ValueError("Attempting to broadcast a dimension with negative length!")
                common[idx] = s[idx]
            elif s[idx] != 1 and s[idx] != common[idx]:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {s[idx]} at "
                                   f"{idx}! Mismatching argument at index {arg} had {s}; but "
                                   f"expected shape should be broadcastable to {common}")
    return Size(common)


def broadcast_tensors(*tensors) -> tuple:
    """Views of the tensors expanded to their common shape. See: torch.broadcast_tensors."""
    tensors = _tensor_list(tensors)
    shape = ()
    for t in tensors:
        try:
            shape = tuple(np.broadcast_shapes(shape, t._data.shape))
        except ValueError:
            raise RuntimeError(broadcast_mismatch(shape, t._data.shape)) from None
    return tuple(t.expand(shape) for t in tensors)


def block_diag(*tensors: Tensor) -> Tensor:
    """A block-diagonal matrix of the (0-D, 1-D or 2-D) tensors. See: torch.block_diag."""
    from ..factories import zeros
    from .join import cat

    mats = []
    for i, t in enumerate(tensors):
        nd = t._data.ndim
        if nd > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {nd} dimensions")
        mats.append(t.reshape(1, 1) if nd == 0 else t.reshape(1, -1) if nd == 1 else t)
    if not mats:
        return zeros(1, 0)
    dtype = mats[0].dtype
    for m in mats[1:]:
        dtype = _dt.promote_types(dtype, m.dtype)
    total = sum(m._data.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m._data.shape
        parts = [m.new_zeros((r, left), dtype=dtype), m.to(dtype),
                 m.new_zeros((r, total - left - c), dtype=dtype)]
        rows.append(cat(parts, 1))
        left += c
    return cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element from each 1-D tensor, one row each.

    See: torch.cartesian_prod.
    """
    for t in tensors:
        if t._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    from .join import stack

    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.flatten() for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """All length-``r`` combinations of a 1-D tensor's elements, one row each (in order).

    See: torch.combinations.
    """
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input._data.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_zeros((0,))
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(pick(range(input._data.shape[0]), r)), np.int64).reshape(-1, r)
    from .scatter import index_select

    return index_select(input, 0, wrap(idx.reshape(-1), input)).reshape(-1, r)


def _tri_indices(fn, row: int, col: int, offset: int, dtype, device, layout, name: str):
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    if layout is not None and layout is not _dt_strided():
        raise RuntimeError(f"{name}: only the strided layout is supported, got {layout}")
    d = _dt.to_dtype(dtype) if dtype is not None else _dt.int64
    if d not in (_dt.int32, _dt.int64):
        from .reduction import _torch_type_name

        raise NotImplementedError(f'"{name}" not implemented for '
                                  f"'{_torch_type_name(np.dtype(d.np))}'")
    from ..factories import tensor

    rows, cols = fn(row, offset, col)
    return tensor(np.stack([rows, cols]).astype(d.np).reshape(2, -1), device=device)


def _dt_strided():
    import brickwork

    return getattr(brickwork, "strided", None)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """Coordinates (a 2 x N tensor) of the lower triangle of a ``row`` x ``col`` matrix.

    See: torch.tril_indices.
    """
    return _tri_indices(np.tril_indices, row, col, offset, dtype, device, layout,
                        "tril_indices")


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """Coordinates (a 2 x N tensor) of the upper triangle of a ``row`` x ``col`` matrix.

    See: torch.triu_indices.
    """
    return _tri_indices(np.triu_indices, row, col, offset, dtype, device, layout,
                        "triu_indices")


def _repeat_counts(repeats, size: int):
    """The repeat count of each of ``size`` slices, as a host array, checked as PyTorch."""
    if isinstance(repeats, Tensor):
        if repeats._data.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        counts = np.asarray(repeats._host()).reshape(-1)
        if counts.dtype not in (np.int32, np.int64):
            from .reduction import _torch_type_name

            raise NotImplementedError(f'"repeat_interleave_cpu" not implemented for '
                                      f"'{_torch_type_name(counts.dtype)}'")
        if counts.size == 1:
            counts = np.full(size, counts[0])
        elif counts.size != size:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {counts.size} and input.size(0) = {size}")
        if counts.size and counts.min() < 0:
            raise RuntimeError("repeats can not be negative")
        return counts.astype(np.int64)
    if repeats < 0:
        raise RuntimeError("Repeats must be non-negative")
    return np.full(size, int(repeats), np.int64)


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (or each slice along ``dim``) ``repeats`` times in place.

    ``repeats`` is an int or a tensor of per-slice counts; without ``dim`` the input is
    flattened. With one argument, ``repeat_interleave(counts)`` repeats ``0, 1, ...`` by
    ``counts``. ``output_size``, when given, must be the total length.

    See: torch.repeat_interleave.
    """
    if repeats is None:  # the one-argument form: input holds the counts
        if input._data.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        counts = _repeat_counts(input, input._data.size)
        out = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
        _check_output_size(output_size, out.size)
        return wrap(out, input)
    if dim is None:
        x, d = input.reshape(-1), 0
    else:
        if input._data.ndim == 0:  # PyTorch refuses every dim of a 0-d input, in two ways
            if isinstance(repeats, Tensor):
                raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
            got = 1 if -1 <= dim <= 1 else dim
            raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but "
                             f"got {got})")
        x, d = input, normalize_dim(dim, input._data.ndim)
    size = x._data.shape[d]
    counts = _repeat_counts(repeats, size)
    idx = np.repeat(np.arange(size, dtype=np.int64), counts)
    if output_size is not None and output_size != idx.size and not isinstance(repeats, Tensor):
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {idx.size} but "
                           f"got {output_size}")
    _check_output_size(output_size, idx.size)
    from .scatter import index_select

    return index_select(x, d, wrap(idx, input))


def _check_output_size(output_size, total: int) -> None:
    if output_size is not None and output_size != total:
        raise RuntimeError("allocated size does not match required size")


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the
    second). See: torch.rot90.
    """
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = dims
    if d0 == d1 or abs(d0 - d1) == nd:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    d0, d1 = normalize_dim(d0, nd), normalize_dim(d1, nd)
    k %= 4
    if k == 1:
        return input.flip(d1).transpose(d0, d1)
    if k == 2:
        return input.flip(d0, d1)
    if k == 3:
        return input.flip(d0).transpose(d0, d1)
    return input.clone()


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-D tensor: columns ``x**(N-1), ..., x**0`` (reversed when
    ``increasing``). Integer and bool inputs give int64. See: torch.vander.
    """
    if x._data.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x._data.shape[0]
    if N is None:
        N = n
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    if x._data.dtype.kind in "biu":
        x = x.to(_dt.int64)
    if N == 0:
        return x.new_zeros((n, 0))
    from .join import cat

    # A running product of [1, x, x, ...] per row, as PyTorch builds it.
    cols = cat([x.new_ones((n, 1)), x.unsqueeze(1).expand(n, N - 1)], 1).cumprod(1)
    return cols if increasing else cols.flip(1)


class DiagEmbed(Function):
    _array_level = True
    _backward_name = "DiagEmbedBackward0"

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        xp = xp_of(x)
        length = x.shape[-1]
        n = length + abs(offset)
        out = xp.zeros(x.shape[:-1] + (n, n), x.dtype)
        k = xp.arange(length)
        out[..., k + max(-offset, 0), k + max(offset, 0)] = x
        ctx.args = offset, dim1, dim2
        return xp.moveaxis(out, (-2, -1), (dim1, dim2))

    @staticmethod
    def backward(ctx, g):
        offset, dim1, dim2 = ctx.args
        return g.diagonal(offset, dim1, dim2), None, None, None


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Tensors whose diagonals (``offset``, in dims ``dim1``/``dim2``) hold the last dim of
    ``input``; zeros elsewhere. See: torch.diag_embed.
    """
    nd = input._data.ndim + 1
    d1, d2 = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagEmbed.apply(input, int(offset), d1, d2)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D tensor with the flattened input on diagonal ``offset``. See: torch.diagflat."""
    from .reorder import diag

    return diag(input.reshape(-1), offset)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``narrow`` as a new tensor rather than a view. See: torch.narrow_copy."""
    return input.narrow(dim, start, length).clone()


__all__ = ["meshgrid", "broadcast_shapes", "broadcast_tensors", "block_diag", "cartesian_prod",
           "combinations", "tril_indices", "triu_indices", "repeat_interleave", "rot90",
           "vander", "diag_embed", "diagflat", "narrow_copy"]
