"""Shape ops: views (reshape, transpose, expand...), joins (cat, stack) and splits.

The view ops here (reshape when it can avoid a copy, view, squeeze, transpose, expand, slicing)
return a NumPy view of their input, marked with ``view_apply`` as a view of it
(``autograd/_views.py``): writes through either are seen by both, with PyTorch's version counter
and in-place rules. Their backwards only move gradients around: reshape back, transpose back,
sum over the broadcast axes, or scatter into zeros.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd._views import mark_view, view_apply
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import normalize_dim, unbroadcast, xp_of


# -- argument parsing ---------------------------------------------------------------------------
def _int_list(args, op: str, what: str = "shape") -> list:
    """Sizes given as varargs or as one tuple/list/Size: ``(2, 3)`` or ``((2, 3),)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    out = []
    for s in args:
        if isinstance(s, Tensor):
            s = s.__index__()
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{op}(): argument '{what}' must be tuple of ints, but found element "
                            f"of type {type(s).__name__}")
        out.append(int(s))
    return out


def _sizes_or_keyword(args: tuple, kwargs: dict, op: str, name: str) -> tuple:
    """Sizes given as varargs or as the one keyword ``name`` PyTorch's signature has
    (``x.view(size=(2, 3))``, ``x.flip(dims=[0])``); any other keyword is refused."""
    if not kwargs:
        return args
    for key in kwargs:
        if key != name:
            raise TypeError(f"{op}() got an unexpected keyword argument '{key}'")
    if args:
        raise TypeError(f"{op}() got multiple values for argument '{name}'")
    return (kwargs[name],)


def _infer_shape(shape: list, numel: int) -> tuple:
    """Replace the one ``-1`` in ``shape`` by the size that keeps ``numel`` elements."""
    unknown = None
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if unknown is not None:
                raise RuntimeError("only one dimension can be inferred")
            unknown = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {shape}")
        else:
            known *= s
    if unknown is not None:
        if known == 0:
            if numel == 0:
                raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {shape} "
                                   "because the unspecified dimension size -1 can be any value "
                                   "and is ambiguous")
        elif numel % known == 0:
            shape = list(shape)
            shape[unknown] = numel // known
            return tuple(shape)
    elif known == numel:
        return tuple(shape)
    raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


def _dims(dims, ndim: int, op: str) -> tuple:
    """Normalize a list of dims, refusing repeats."""
    out = tuple(normalize_dim(int(d), ndim) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}(): duplicate dims are not allowed.")
    return out


# -- reshape family: forward reshapes, backward reshapes back ------------------------------------
class View(Function):
    """A reshape that NumPy can do without copying (contiguous input)."""

    _array_level = True
    _backward_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


def _reshape_cls(name: str):
    return type(name.replace("Backward", "").replace("0", "").replace("1", "").replace("2", ""),
                (View,), {"_backward_name": name})


UnsafeView = _reshape_cls("UnsafeViewBackward0")  # reshape that had to copy
Squeeze0 = _reshape_cls("SqueezeBackward0")
Squeeze1 = _reshape_cls("SqueezeBackward1")
Squeeze2 = _reshape_cls("SqueezeBackward2")
Unsqueeze = _reshape_cls("UnsqueezeBackward0")


def reshape(input: Tensor, *shape, **kwargs) -> Tensor:
    """The same data with a new shape; one size may be -1 (inferred). See: torch.reshape.

    Example:
        >>> brickwork.arange(6).reshape(2, -1).shape
        brickwork.Size([2, 3])
    """
    shape = _sizes_or_keyword(shape, kwargs, "reshape", "shape")
    new = _infer_shape(_int_list(shape, "reshape"), input._data.size)
    if _viewable(input._data, new):
        return view_apply(View, input, new)
    return UnsafeView.apply(input, new)


def _viewable(a, new: tuple) -> bool:
    """Whether ``a`` can take shape ``new`` without a copy (then NumPy's reshape gives a view)."""
    return new == a.shape or a.flags.c_contiguous or a.size == 0 \
        or _view_strides(a.shape, a.strides, new) is not None


def _view_strides(shape: tuple, strides: tuple, new_shape: tuple):
    """The strides that view memory laid out as ``(shape, strides)`` with ``new_shape``, or
    None when no view can (PyTorch's computeStride; NumPy's reshape follows the same rule).

    Dims are merged in chunks of memory-contiguous dims; a new dim may not span two chunks.
    """
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk = strides[-1]
    tensor_numel = view_numel = 1
    for td in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[td]
        if td == 0 or (shape[td - 1] != 1 and strides[td - 1] != tensor_numel * chunk):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if td > 0:
                chunk = strides[td - 1]
                tensor_numel = view_numel = 1
    return None if view_d != -1 else new_strides


def view(input: Tensor, *shape, **kwargs) -> Tensor:
    """Like ``reshape``; ``view(dtype)`` reinterprets the bytes. See: torch.Tensor.view.

    The shape comes as varargs, one tuple, or ``size=``; the dtype positionally or as ``dtype=``.
    """
    if not shape and len(kwargs) == 1 and "dtype" in kwargs:
        shape = (kwargs.pop("dtype"),)
    shape = _sizes_or_keyword(shape, kwargs, "view", "size")
    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        return _reinterpret(input, shape[0])
    new = _infer_shape(_int_list(shape, "view"), input._data.size)
    if not _viewable(input._data, new):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    return view_apply(View, input, new)


class _DtypeView(Function):
    """The view step of ``view(dtype)`` (same bytes, another dtype; no gradient). It is only
    replayed on index maps (``_views.index_map``): positions stay when the item size does."""

    _array_level = True

    @staticmethod
    def forward(ctx, a, np_dtype):
        return a if a.dtype.itemsize == np_dtype.itemsize else a.view(np_dtype)


def _reinterpret(input: Tensor, dtype) -> Tensor:
    from ._util import wrap

    return mark_view(wrap(input._data.view(dtype.np), input), input, (_DtypeView, (dtype.np,)))


def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.view(other.shape)``. See: torch.Tensor.view_as."""
    return view(input, other._data.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.reshape(other.shape)``. See: torch.Tensor.reshape_as."""
    return reshape(input, other._data.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one. See: torch.flatten."""
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, 1)
    s, e = normalize_dim(start_dim, nd), normalize_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = input._data.shape
    return reshape(input, shp[:s] + (-1 if 0 in shp[s:e + 1] else
                                     int(np.prod(shp[s:e + 1])),) + shp[e + 1:])


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor. See: torch.ravel."""
    return reshape(input, -1)


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1). See: torch.unflatten."""
    shp = input._data.shape
    d = normalize_dim(dim, input._data.ndim)
    sizes = _int_list((sizes,), "unflatten", "sizes")
    try:
        inner = _infer_shape(sizes, shp[d])
    except RuntimeError:
        raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of "
                           f"dim {dim} ({shp[d]}) in the input tensor") from None
    return reshape(input, shp[:d] + inner + shp[d + 1:])


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop dims of size 1 (all, one, or a tuple of them). See: torch.squeeze."""
    shp = input._data.shape
    nd = len(shp)
    if dim is None:
        return view_apply(Squeeze0, input, tuple(s for s in shp if s != 1))
    many = isinstance(dim, (tuple, list))
    axes = {normalize_dim(d, nd) for d in (dim if many else (dim,))}
    new = tuple(s for i, s in enumerate(shp) if not (i in axes and s == 1))
    return view_apply(Squeeze2 if many else Squeeze1, input, new)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim``. See: torch.unsqueeze."""
    shp = input._data.shape
    d = normalize_dim(dim, len(shp) + 1)
    return view_apply(Unsqueeze, input, shp[:d] + (1,) + shp[d:])


# -- axis permutations --------------------------------------------------------------------------
class Permute(Function):
    _array_level = True
    _backward_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(tuple(np.argsort(ctx.dims).tolist())), None


class Transpose(Permute):
    _backward_name = "TransposeBackward0"


def permute(input: Tensor, *dims, **kwargs) -> Tensor:
    """Reorder the dims (given as varargs, one tuple or ``dims=``). See: torch.permute."""
    dims = _int_list(_sizes_or_keyword(dims, kwargs, "permute", "dims"), "permute", "dims")
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    return view_apply(Permute, input, _dims(dims, nd, "permute"))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view). See: torch.transpose."""
    nd = input._data.ndim
    a, b = normalize_dim(dim0, nd), normalize_dim(dim1, nd)
    perm = list(range(nd))
    if nd:
        perm[a], perm[b] = perm[b], perm[a]
    return view_apply(Transpose, input, tuple(perm))


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose`` under NumPy's name and parameter names. See: torch.swapaxes."""
    return transpose(input, axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """``transpose`` under another name. See: torch.swapdims."""
    return transpose(input, dim0, dim1)


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims from ``source`` to ``destination`` positions. See: torch.movedim."""
    nd = input._data.ndim
    src = list(source) if isinstance(source, (tuple, list)) else [source]
    dst = list(destination) if isinstance(destination, (tuple, list)) else [destination]
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    src, dst = _dims(src, nd, "movedim"), _dims(dst, nd, "movedim")
    rest = iter(d for d in range(nd) if d not in src)
    placed = dict(zip(dst, src))
    perm = tuple(placed[i] if i in placed else next(rest) for i in range(nd))
    return view_apply(Permute, input, perm)


moveaxis = movedim


# -- broadcasting copies ------------------------------------------------------------------------
class Expand(Function):
    _array_level = True
    _backward_name = "ExpandBackward0"
    _overlapping = True  # elements of the result share memory (see _views._Region)

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return xp_of(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.in_shape), None


def expand(input: Tensor, *sizes, **kwargs) -> Tensor:
    """A broadcast view to ``sizes`` (varargs, one tuple or ``size=``; -1 keeps a size).

    See: torch.Tensor.expand.
    """
    sizes = _int_list(_sizes_or_keyword(sizes, kwargs, "expand", "size"), "expand", "size")
    shp = input._data.shape
    lead = len(sizes) - len(shp)
    if lead < 0:
        raise RuntimeError(f"expand({input.type()}"
                           f"{{{list(shp)}}}, size={sizes}): the number of sizes provided "
                           f"({len(sizes)}) must be greater or equal to the number of dimensions "
                           f"in the tensor ({len(shp)})")
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            out.append(s)
            continue
        old = shp[i - lead]
        if s == -1:
            s = old
        elif old != 1 and s != old:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({old}) at non-singleton dimension {i}.  Target sizes: "
                               f"{sizes}.  Tensor sizes: {list(shp)}")
        out.append(s)
    return view_apply(Expand, input, tuple(out))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.size())``. See: torch.Tensor.expand_as."""
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    """Broadcast to ``size``. See: torch.broadcast_to."""
    return expand(input, size)


class Repeat(Function):
    _array_level = True
    _backward_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, a, reps):
        ctx.orig = a.shape
        ctx.in_shape = (1,) * (len(reps) - a.ndim) + a.shape
        return xp_of(a).tile(a, reps)

    @staticmethod
    def backward(ctx, g):
        # View each dim as (repeat, size) and sum the copies.
        split = [x for r, s in zip(g.shape, ctx.in_shape) for x in (r // s if s else 0, s)]
        if 0 in split:
            return xp_of(g).zeros(ctx.orig, g.dtype), None
        g = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(ctx.orig), None


def repeat(input: Tensor, *repeats, **kwargs) -> Tensor:
    """Tile the tensor ``repeats[i]`` times along each dim (varargs, a tuple or ``repeats=``).

    See: torch.Tensor.repeat.
    """
    repeats = _sizes_or_keyword(repeats, kwargs, "repeat", "repeats")
    reps = _int_list(repeats, "repeat", "repeats")
    if len(reps) < input._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    return Repeat.apply(input, tuple(reps))


def tile(input: Tensor, dims) -> Tensor:
    """``repeat`` with ``dims`` padded by leading 1s. See: torch.tile."""
    reps = _int_list((dims,), "tile", "dims")
    reps = [1] * (input._data.ndim - len(reps)) + reps
    return repeat(input, reps)


# -- slicing views (also used by indexing's __getitem__) -----------------------------------------
class Slice(Function):
    """``a[key]`` for a basic key (ints, slices, None, ...): a NumPy view of the input."""

    _array_level = True
    _backward_name = "SliceBackward0"

    @staticmethod
    def forward(ctx, a, key):
        if any(ctx.needs_input_grad):
            ctx.in_shape, ctx.key = a.shape, key
        out = a[key]
        if isinstance(out, np.generic):  # NumPy copies one element out; `...` keeps a view
            out = a[key + (Ellipsis,)]
        return out

    @staticmethod
    def backward(ctx, g):
        gx = xp_of(g).zeros(ctx.in_shape, g.dtype)
        gx[ctx.key] = g
        return gx, None


class Select(Slice):
    _backward_name = "SelectBackward0"


class Alias(Slice):
    _backward_name = "AliasBackward0"


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``length`` elements of dim ``dim`` from ``start`` (a view). See: torch.narrow."""
    d = normalize_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    start %= size if size else 1
    if length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return view_apply(Slice, input, (slice(None),) * d + (slice(start, start + length),))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, that dim removed (a view). See: torch.select."""
    d = normalize_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    return view_apply(Select, input, (slice(None),) * d + (int(index) % size,))


class Clone(Function):
    _array_level = True
    _backward_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own storage that gradients flow through. See: torch.clone.

    ``memory_format``: ``preserve_format`` (default) keeps a dense input's strides (PyTorch's
    rule, ``ops/_memory_format.py``), ``contiguous_format`` is row-major, ``channels_last``
    (N, H, W, C) order (same values, other strides).
    """
    order = _layout_order("clone", memory_format, input.ndim)
    out = Clone.apply(input)
    if order is not None:
        return _relayout(out, order)
    if (memory_format is None or memory_format._name == "preserve_format") and \
            not input._data.flags.c_contiguous and input.layout is out.layout and \
            hasattr(input._data, "strides"):
        from ._memory_format import preserve_strides, relayout_fresh

        relayout_fresh(out, preserve_strides(input._data.shape, input.stride()))
    return out


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    """``input`` itself when already laid out as asked, else a copy that is.

    ``memory_format``: row-major by default; ``channels_last`` asks for (N, H, W, C) order.

    See: torch.Tensor.contiguous.
    """
    order = _layout_order("contiguous", memory_format, input.ndim)
    if order is None:
        if input._data.flags.c_contiguous:
            return input
        if memory_format is not None and memory_format._name == "preserve_format":
            raise RuntimeError("preserve memory format is unsupported by the contiguous "
                               "operator")
        return Clone.apply(input)
    if input._data.transpose(order).flags.c_contiguous:
        return input
    return _relayout(Clone.apply(input), order)


def _layout_order(op: str, memory_format, ndim: int):
    if memory_format is None:
        return None
    from ._more_numeric import layout_order

    return layout_order(op, memory_format, ndim)


def _relayout(out: Tensor, order) -> Tensor:
    # A fresh copy's array is replaced by the same values stored in ``order``: its node saves
    # nothing of the output, so this is invisible to autograd. The strides are c10's
    # channels-last ones, size-1 dims included (a NumPy transpose would differ there).
    from ._memory_format import relayout_fresh

    shape, strides, acc = out._data.shape, [0] * len(order), 1
    for d in reversed(order):
        strides[d] = acc
        acc *= shape[d]
    return relayout_fresh(out, strides)


# The join and reorder families import the helpers above, so they come in last.
from .join import (atleast_1d, atleast_2d, atleast_3d, cat, chunk, concat,  # noqa: E402
                   concatenate, dstack, hstack, row_stack, split, stack, unbind, vstack)
from .reorder import diag, flip, fliplr, flipud, roll, tril, triu  # noqa: E402
from .strided import TENSOR_METHODS as _STRIDED, as_strided, diagonal  # noqa: E402,F401


TENSOR_METHODS = {
    "reshape": reshape, "view": view, "view_as": view_as, "reshape_as": reshape_as,
    "flatten": flatten, "ravel": ravel, "unflatten": unflatten, "squeeze": squeeze,
    "unsqueeze": unsqueeze, "permute": permute, "transpose": transpose, "swapaxes": swapaxes,
    "swapdims": swapdims, "movedim": movedim, "moveaxis": moveaxis, "expand": expand,
    "expand_as": expand_as, "broadcast_to": broadcast_to, "repeat": repeat, "tile": tile,
    "narrow": narrow, "select": select, "split": split, "chunk": chunk, "unbind": unbind,
    "flip": flip, "fliplr": fliplr, "flipud": flipud, "roll": roll, "clone": clone,
    "contiguous": contiguous, "tril": tril, "triu": triu, "diag": diag, **_STRIDED,
}
INPLACE_METHODS = ("tril", "triu")
__all__ = [k for k in TENSOR_METHODS if k not in ("view", "view_as", "reshape_as", "expand",
                                                  "expand_as", "repeat", "contiguous", "unfold",
                                                  "storage_offset", "stride", "as_strided",
                                                  "diagonal")] + [
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
    "atleast_1d", "atleast_2d", "atleast_3d", "as_strided", "diagonal",
]

from ._numpy_names import install as _numpy_names  # noqa: E402

# x.squeeze(axis=0), torch.unbind(x, axis=1)...; split and Tensor.unflatten are Python code in
# PyTorch and take no alias.
_numpy_names(globals(), TENSOR_METHODS, skip=("split", "unflatten"))
