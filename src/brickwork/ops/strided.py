"""Views with computed strides: as_strided, unfold, diagonal; and stride / storage_offset.

Part of the shape family (``ops/shape.py`` re-exports these as functions and Tensor methods).
Each op returns a NumPy/CuPy view (``lib.stride_tricks.as_strided``) marked as a view of its
input, so writes through it reach the input, as in PyTorch. Their backwards scatter the
gradient back through an *index map*: the same view taken of ``arange(n)`` says which input
element each output element reads, so overlapping windows (unfold, as_strided) add up.

brickwork's storage is the root base's array: ``as_strided`` addresses it in C order, so it
needs that array to be C-contiguous (any tensor made by brickwork's factories and ops is).
"""
from __future__ import annotations

import numpy as np

from ..autograd._views import index_map, mark_view, root_of, view_apply
from ..autograd.function import Function
from ..device import runs_on_input_device
from ..tensor import Tensor, _make
from ._util import add_at, normalize_dim, xp_of


def _strided(a, shape: tuple, strides: tuple):
    """A view of ``a``'s memory with ``shape`` and byte ``strides`` (writeable, like torch)."""
    return xp_of(a).lib.stride_tricks.as_strided(a, shape, strides)


def _scatter_add(g, positions, numel: int):
    """A flat gradient of ``numel`` elements: ``g[i]`` added at ``positions[i]``."""
    xp = xp_of(g)
    flat = xp.zeros(numel, dtype=g.dtype)
    add_at(flat, positions.reshape(-1), g.reshape(-1))
    return flat


def _gather(x: Tensor, positions) -> Tensor:
    """``x``'s elements at the flat ``positions`` (differentiable): the composites' forward."""
    return x.reshape(-1)[_make(positions, x._device)]


def _input_map(shape: tuple, xp):
    return xp.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


# -- unfold ---------------------------------------------------------------------------------------
def _unfold(a, dim: int, size: int, step: int):
    shape, strides = list(a.shape), list(a.strides)
    n = (shape[dim] - size) // step + 1
    new_shape = shape[:dim] + [n] + shape[dim + 1:] + [size]
    new_strides = strides[:dim] + [strides[dim] * step] + strides[dim + 1:] + [strides[dim]]
    return _strided(a, tuple(new_shape), tuple(new_strides))


class Unfold(Function):
    """Windows of ``size`` elements every ``step`` along ``dim``, as a new last dim."""

    _array_level = True
    _backward_name = "UnfoldBackward0"
    _overlapping = True  # windows may share elements (see _views._Region)

    @staticmethod
    def forward(ctx, a, dim, size, step):
        if ctx.needs_input_grad[0]:
            ctx.in_shape, ctx.window = a.shape, (dim, size, step)
        return _unfold(a, dim, size, step)

    @staticmethod
    def backward(ctx, g):
        shape = ctx.in_shape
        where = _unfold(_input_map(shape, xp_of(g)), *ctx.window)
        return _scatter_add(g, where, int(np.prod(shape))).reshape(shape), None, None, None

    @staticmethod
    def composite(x, dim, size, step):
        """The forward as a gather, for ``create_graph``."""
        return _gather(x, _unfold(_input_map(x._data.shape, xp_of(x._data)), dim, size, step))


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """The windows of ``size`` elements, ``step`` apart, along ``dimension`` (a view).

    Example:
        >>> brickwork.arange(5.).unfold(0, 2, 2).tolist()
        [[0.0, 1.0], [2.0, 3.0]]

    See: torch.Tensor.unfold.
    """
    if input._data.ndim == 0:
        if size > 1:
            raise RuntimeError(f"maximum size for tensor at dimension 0 is 1 but size is {size}")
        input = input.reshape(1)
    d = normalize_dim(dimension, input._data.ndim)
    n = input._data.shape[d]
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return view_apply(Unfold, input, d, int(size), int(step))


# -- diagonal -------------------------------------------------------------------------------------
def _diagonal(a, offset: int, d1: int, d2: int):
    n1, n2 = a.shape[d1], a.shape[d2]
    if offset >= 0:
        length, start = max(0, min(n1, n2 - offset)), (0, offset)
    else:
        length, start = max(0, min(n1 + offset, n2)), (-offset, 0)
    key = [slice(None)] * a.ndim
    if length:  # step onto the diagonal's first element
        key[d1], key[d2] = slice(start[0], None), slice(start[1], None)
    b = a[tuple(key)]
    rest = [i for i in range(a.ndim) if i not in (d1, d2)]
    shape = tuple(b.shape[i] for i in rest) + (length,)
    strides = tuple(b.strides[i] for i in rest) + (b.strides[d1] + b.strides[d2],)
    return _strided(b, shape, strides)


class Diagonal(Function):
    """The diagonal of the ``(dim1, dim2)`` planes, as a last dim."""

    _array_level = True
    _backward_name = "DiagonalBackward0"

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        if ctx.needs_input_grad[0]:
            ctx.in_shape, ctx.where = a.shape, (offset, d1, d2)
        return _diagonal(a, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        gx = xp_of(g).zeros(ctx.in_shape, dtype=g.dtype)
        _diagonal(gx, *ctx.where)[...] = g
        return gx, None, None, None

    @staticmethod
    def composite(x, offset, d1, d2):
        """The forward as a gather, for ``create_graph``."""
        return _gather(x, _diagonal(_input_map(x._data.shape, xp_of(x._data)), offset, d1, d2))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``offset`` above the main one of the ``(dim1, dim2)`` planes (a view).

    Example:
        >>> brickwork.arange(6.).view(2, 3).diagonal(1).tolist()
        [1.0, 5.0]

    See: torch.diagonal.
    """
    nd = input._data.ndim
    d1, d2 = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return view_apply(Diagonal, input, int(offset), d1, d2)


# -- as_strided -----------------------------------------------------------------------------------
def _positions(xp, size: tuple, stride: tuple, offset: int):
    """The storage position of each element of an ``as_strided(size, stride, offset)`` view."""
    pos = xp.full(size, offset, dtype=np.int64)
    for d, (n, st) in enumerate(zip(size, stride)):
        pos += (xp.arange(n, dtype=np.int64) * st).reshape((n,) + (1,) * (len(size) - d - 1))
    return pos


class _StorageView(Function):
    """The view step of ``as_strided``: applied to the root base's array (its storage)."""

    _array_level = True
    _overlapping = True

    @staticmethod
    def forward(ctx, root, size, stride, offset):
        flat = root.reshape(-1)[offset:]
        return _strided(flat, size, tuple(s * root.itemsize for s in stride))


class AsStrided(Function):
    """``input.as_strided(size, stride, offset)``: elements of the storage, read by position.

    Inputs: the tensor (its history), the storage array, and the view's geometry; ``in_pos`` is
    where each of the tensor's own elements sits in the storage, for the gradient.
    """

    _array_level = True
    _backward_name = "AsStridedBackward0"
    _overlapping = True

    @staticmethod
    def forward(ctx, a, storage, size, stride, offset, in_pos):
        """``a`` is accepted for autograd only (the gradient's way back); its values are read
        through ``storage``."""
        if ctx.needs_input_grad[0]:
            ctx.geometry, ctx.in_pos, ctx.numel = (size, stride, offset), in_pos, storage.size
        return _StorageView.forward(ctx, storage, size, stride, offset)

    @staticmethod
    def backward(ctx, g):
        where = _positions(xp_of(g), *ctx.geometry)
        flat = _scatter_add(g, where, ctx.numel)
        return flat[ctx.in_pos], None, None, None, None, None


@runs_on_input_device  # the index map of the input is made on its GPU
def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """A view of ``input``'s storage with the given ``size``, ``stride`` and offset (elements).

    Example:
        >>> brickwork.arange(6.).as_strided((2, 2), (1, 2), 1).tolist()
        [[1.0, 3.0], [2.0, 4.0]]

    See: torch.as_strided.
    """
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    offset = storage_offset_of(input) if storage_offset is None else int(storage_offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    root = root_of(input)
    storage = root._data
    if not storage.flags.c_contiguous:
        raise RuntimeError("as_strided: brickwork addresses a tensor's storage through its base, "
                           "which must be contiguous here; call .contiguous() on the base first")
    need = 0 if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if need > storage.size:
        item = storage.itemsize
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {item} requiring a storage size of "
                           f"{need * item} are out of bounds for storage of size "
                           f"{storage.size * item}")
    in_pos = index_map(storage.shape, input._view_steps, input._device)
    out = AsStrided.apply(input, storage, size, stride, offset, in_pos)
    return mark_view(out, input, (_StorageView, (size, stride, offset)), from_root=True)


@runs_on_input_device
def storage_offset_of(t: Tensor) -> int:
    """Where ``t``'s first element sits in its base's array, in elements.

    See: torch.Tensor.storage_offset.
    """
    if t._base is None or t._data.size == 0:
        return 0
    root = t._base
    return int(index_map(root._data.shape, t._view_steps, t._device).reshape(-1)[0])


def stride(input: Tensor, dim: int | None = None):
    """The step, in elements, between neighbours along each dim. See: torch.Tensor.stride."""
    a = input._data
    steps = tuple(s // a.itemsize for s in a.strides)
    return steps if dim is None else steps[normalize_dim(dim, a.ndim)]


TENSOR_METHODS = {"unfold": unfold, "diagonal": diagonal, "as_strided": as_strided,
                  "storage_offset": storage_offset_of, "stride": stride}
