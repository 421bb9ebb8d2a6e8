"""Reordering copies and matrix triangles: flip, roll, tril, triu, diag.

Part of the shape family (``ops/shape.py`` re-exports these as functions and Tensor methods).
Each backward applies the same (or the inverse) rearrangement to the gradient.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import normalize_dim, xp_of
from .shape import _int_list, _sizes_or_keyword


# -- reordering copies --------------------------------------------------------------------------
class Flip(Function):
    _array_level = True
    _backward_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return xp_of(a).flip(a, dims).copy()  # PyTorch's flip copies; NumPy's is a view

    @staticmethod
    def backward(ctx, g):
        return xp_of(g).flip(g, ctx.dims), None


def flip(input: Tensor, *dims, **kwargs) -> Tensor:
    """Reverse the order of elements along ``dims`` (varargs, one tuple/list or ``dims=``).

    Example:
        >>> brickwork.tensor([1, 2, 3]).flip(dims=[0])
        tensor([3, 2, 1])

    See: torch.flip.
    """
    dims = _sizes_or_keyword(dims, kwargs, "flip", "dims")
    if len(dims) == 1 and not isinstance(dims[0], (tuple, list)) and "dims" in kwargs:
        raise TypeError(f"flip(): argument 'dims' must be tuple of ints, not "
                        f"{type(dims[0]).__name__}")
    dims = _int_list(dims, "flip", "dims")
    nd = input._data.ndim
    norm = [normalize_dim(d, nd) for d in dims]
    for d in norm:
        if norm.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return Flip.apply(input, tuple(norm))


def fliplr(input: Tensor) -> Tensor:
    """Flip dim 1. See: torch.fliplr."""
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """Flip dim 0. See: torch.flipud."""
    return flip(input, 0)


class Roll(Function):
    _array_level = True
    _backward_name = "RollBackward0"

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return xp_of(a).roll(a, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return xp_of(g).roll(g, neg, ctx.dims), None, None


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically (over the flattened tensor when ``dims`` is None).

    See: torch.roll.
    """
    nd = input._data.ndim
    if dims is None:
        return Roll.apply(input, int(shifts), None)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (int(shifts),)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                           f"{len(dims)}")
    return Roll.apply(input, shifts, tuple(normalize_dim(d, nd) for d in dims))


# -- triangles and diagonals --------------------------------------------------------------------
class _Tri(Function):
    """tril/triu: the gradient keeps the same triangle. ``ctx._forward_cls`` is the concrete
    subclass, so one forward/backward serves both."""

    _array_level = True
    _fn = "tril"

    @staticmethod
    def forward(ctx, a, k):
        ctx.k = k
        return getattr(xp_of(a), ctx._forward_cls._fn)(a, k)

    @staticmethod
    def backward(ctx, g):
        return getattr(xp_of(g), ctx._forward_cls._fn)(g, ctx.k), None


class Tril(_Tri):
    _backward_name = "TrilBackward0"


class Triu(_Tri):
    _backward_name = "TriuBackward0"
    _fn = "triu"


def _check_matrix(input: Tensor, op: str) -> None:
    if input._data.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims, the rest zeroed. See: torch.tril."""
    _check_matrix(input, "tril")
    return Tril.apply(input, int(diagonal))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims, the rest zeroed. See: torch.triu."""
    _check_matrix(input, "triu")
    return Triu.apply(input, int(diagonal))


class Diag(Function):
    _array_level = True
    _backward_name = "DiagEmbedBackward0"

    @staticmethod
    def forward(ctx, a, k):
        ctx.k, ctx.in_shape = k, a.shape
        return xp_of(a).diag(a, k).copy()

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        if len(ctx.in_shape) == 1:
            return xp.diagonal(g, ctx.k).copy(), None
        gx = xp.zeros(ctx.in_shape, g.dtype)
        rows = xp.arange(g.shape[0]) + max(-ctx.k, 0)
        gx[rows, rows + ctx.k] = g
        return gx, None


class Diagonal(Diag):
    _backward_name = "DiagonalBackward0_copy"  # PyTorch's name for diag of a matrix


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as a diagonal matrix, or a matrix's diagonal as 1-D. See: torch.diag."""
    nd = input._data.ndim
    if nd not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")
    return (Diag if nd == 1 else Diagonal).apply(input, int(diagonal))
