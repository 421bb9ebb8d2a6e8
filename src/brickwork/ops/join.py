"""Joining and splitting: cat, stack (and h/v/dstack), split, chunk, unbind.

Part of the shape family (``ops/shape.py`` re-exports these as functions and Tensor methods).
``cat``/``stack`` promote the inputs to a common dtype as PyTorch does; ``split``/``chunk``/
``unbind`` are one multi-output node each whose pieces are NumPy views of the input.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd._views import mark_split
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import normalize_dim, xp_of
from .shape import _int_list, reshape


# -- joining ------------------------------------------------------------------------------------
class Cat(Function):
    _array_level = True
    _backward_name = "CatBackward0"

    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim, ctx.shapes = dim, [a.shape for a in arrays]
        kept = [a for a in arrays if a.shape != (0,)] or arrays[:1]
        return xp_of(arrays[0]).concatenate(kept, axis=dim)

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        grads, start = [None], 0
        for shp in ctx.shapes:
            if shp == (0,) and g.ndim != 1:  # a skipped legacy empty tensor
                grads.append(xp.zeros(shp, g.dtype))
                continue
            stop = start + shp[ctx.dim]
            grads.append(g[(slice(None),) * ctx.dim + (slice(start, stop),)])
            start = stop
        return tuple(grads)


class Stack(Function):
    _array_level = True
    _backward_name = "StackBackward0"

    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim = dim
        return xp_of(arrays[0]).stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.dim
        return (None, *(g[lead + (i,)] for i in range(g.shape[ctx.dim])))


def _common(tensors, op: str) -> list:
    """Check the list and cast every tensor to the promoted dtype (as PyTorch's cat)."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    if not tensors:
        return []
    rt = tensors[0].dtype
    for t in tensors[1:]:
        rt = _dt.promote_types(rt, t.dtype)
    return [t if t.dtype is rt else t.to(rt) for t in tensors]


def cat(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim, promoting dtypes. See: torch.cat.

    Example:
        >>> brickwork.cat([brickwork.zeros(2, 3), brickwork.ones(1, 3)]).shape
        brickwork.Size([3, 3])
    """
    dim = dim if axis is None else axis  # NumPy's name, accepted by PyTorch too
    tensors = _common(tensors, "cat")
    if not tensors:
        raise ValueError("brickwork.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    # Legacy rule kept by PyTorch: 1-D empty tensors are skipped whatever their shape.
    kept = [i for i, t in enumerate(tensors) if t._data.shape != (0,)] or [0]
    ref = tensors[kept[0]]._data.shape
    d = normalize_dim(dim, len(ref))
    for i in kept:
        shp = tensors[i]._data.shape
        if len(shp) != len(ref):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(ref)} "
                               f"and {len(shp)}")
        for k, (x, y) in enumerate(zip(ref, shp)):
            if k != d and x != y:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {x} but got size {y} for tensor number "
                                   f"{i} in the list.")
    return Cat.apply(d, *tensors)


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join equal-shaped tensors along a new dim. See: torch.stack."""
    dim = dim if axis is None else axis
    tensors = _common(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != ref:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(ref)} at entry 0 and {list(t._data.shape)} at entry {i}")
    return Stack.apply(normalize_dim(dim, len(ref) + 1), *tensors)


def atleast_1d(*tensors):
    """Tensors with at least one dim. See: torch.atleast_1d."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors):
    """Tensors with at least two dims. See: torch.atleast_2d."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors):
    """Tensors with at least three dims. See: torch.atleast_3d."""
    return _atleast(tensors, 3)


def _atleast(tensors, n: int):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    seq = tensors[0] if len(tensors) == 1 and not single else tensors
    out = []
    for t in seq:
        shp = t._data.shape
        if len(shp) < n:
            # PyTorch's layout: 1-D (k,) -> (1, k) -> (1, k, 1).
            new = {0: (1,) * n, 1: ((1,) + shp + (1,))[:n] if n == 3 else (1,) * (n - 1) + shp,
                   2: shp + (1,)}[len(shp)]
            t = reshape(t, new)
        out.append(t)
    return out[0] if single else tuple(out)


def hstack(tensors) -> Tensor:
    """Concatenate column-wise (dim 1, or dim 0 for 1-D tensors). See: torch.hstack."""
    ts = atleast_1d(tuple(tensors))
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate row-wise after making tensors 2-D. See: torch.vstack."""
    return cat(atleast_2d(tuple(tensors)), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Concatenate depth-wise (dim 2) after making tensors 3-D. See: torch.dstack."""
    return cat(atleast_3d(tuple(tensors)), 2)


# -- splitting ----------------------------------------------------------------------------------
class Split(Function):
    """Several slices of one dim at once: one graph node with one output per piece."""

    _array_level = True
    _backward_name = "SplitBackward0"

    @staticmethod
    def forward(ctx, a, sizes, dim):
        ctx.dim = dim
        lead = (slice(None),) * dim
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        return tuple(a[lead + (slice(starts[i], starts[i + 1]),)] for i in range(len(sizes)))

    @staticmethod
    def backward(ctx, *grads):
        return xp_of(grads[0]).concatenate(grads, axis=ctx.dim), None, None


class SplitWithSizes(Split):
    _backward_name = "SplitWithSizesBackward0"


class Unbind(Function):
    _array_level = True
    _backward_name = "UnbindBackward0"

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        lead = (slice(None),) * dim
        # The trailing `...` keeps 0-d pieces views of `a` (NumPy would copy them out).
        return tuple(a[lead + (i, Ellipsis)] for i in range(a.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return xp_of(grads[0]).stack(grads, axis=ctx.dim), None


def split(tensor: Tensor, split_size_or_sections=None, dim: int = 0, *,
          split_size=None) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the given
    sizes. See: torch.split."""
    if split_size_or_sections is None:
        split_size_or_sections = split_size
    d = normalize_dim(dim, tensor._data.ndim)
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = _int_list((split_size_or_sections,), "split", "split_size")
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
        return _split_views(SplitWithSizes, tensor, tuple(sizes), d)
    size = int(split_size_or_sections)
    if size < 0 or (size == 0 and n != 0):
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {n}")
    sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else []
    return _split_views(Split, tensor, tuple(sizes or [n]), d)


def _split_views(cls, tensor: Tensor, sizes: tuple, d: int) -> tuple:
    """The pieces, each a view of ``tensor`` (one that may not be modified in place)."""
    lead = (slice(None),) * d
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
    keys = [lead + (slice(starts[i], starts[i + 1]),) for i in range(len(sizes))]
    return mark_split(cls.apply(tensor, sizes, d), tensor, keys)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of equal size (the last may be smaller). See: torch.chunk."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = normalize_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    return split(input, max(-(-n // chunks), 1) if n else 0, d)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, that dim removed. See: torch.unbind."""
    d = normalize_dim(dim, input._data.ndim)
    keys = [(slice(None),) * d + (i,) for i in range(input._data.shape[d])]
    return mark_split(Unbind.apply(input, d), input, keys)
