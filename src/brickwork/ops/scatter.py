"""Index-driven reads and writes: gather/scatter, index_select/add/fill, masked ops, take.

Part of the indexing family (``ops/indexing.py`` re-exports these as functions and Tensor
methods). Reads scatter their gradient back with ``add.at`` (repeated indices accumulate);
writes zero the gradient of the overwritten elements and hand the rest to the source.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..device import runs_on_input_device
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._util import (add_at, add_at_zeros, gather_grad, normalize_dim, out_of_range, unbroadcast,
                    xp_of)


# -- helpers ------------------------------------------------------------------------------------
def _grid(idx, dim: int):
    """The NumPy key that reads ``a[i][j][idx[i][j][k]]``-style along ``dim`` (gather)."""
    xp = xp_of(idx)
    nd = idx.ndim
    key = []
    for d, n in enumerate(idx.shape):
        if d == dim:
            key.append(idx)
        else:
            key.append(xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1)))
    return tuple(key)


def _region(shape) -> tuple:
    """The slices selecting the leading ``shape`` block of a larger array."""
    return tuple(slice(0, n) for n in shape)


def _long_index(index, op: str) -> None:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    name = index._data.dtype.name
    if op == "take":
        if name != "int64":
            raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                               f"{index.dtype.name.capitalize().replace('32', '')}")
    elif name not in ("int64", "int32"):
        sep = " or " if op.startswith("index_") else "/"
        raise RuntimeError(f"{op}(): Expected dtype int32{sep}int64 for index")


def _check_bounds(idx, size: int, dim: int) -> None:
    bad = out_of_range(idx, -size, size)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _check_gather_shapes(op: str, input: Tensor, index: Tensor, dim: int, src=None) -> None:
    shp, ishp = input._data.shape, index._data.shape
    if len(ishp) != len(shp) and index._data.size:
        raise RuntimeError("Index tensor must have the same number of dimensions as input "
                           "tensor")
    for d, n in enumerate(ishp):
        too_big = d != dim and n > shp[d]
        if src is None and too_big:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(ishp)} to be no larger than self {list(shp)} apart "
                               f"from dimension {dim}")
        if src is not None and (too_big or n > src.shape[d]):
            raise RuntimeError(f"Expected index {list(ishp)} to be no larger than self "
                               f"{list(shp)} apart from dimension {dim} and to be no larger "
                               f"size than src {list(src.shape)}")


def _broadcast_shapes(a, b) -> tuple:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        n = max(len(a), len(b))
        pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
        for i, (x, y) in enumerate(zip(pa, pb)):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                                   f"({y}) at non-singleton dimension {i}") from None
        raise


# -- gather / scatter ---------------------------------------------------------------------------
class Gather(Function):
    _array_level = True
    _backward_name = "GatherBackward0"

    @staticmethod
    def forward(ctx, a, idx, dim):
        key = _grid(idx, dim)
        ctx.key, ctx.in_shape = key, a.shape
        return a[key]

    @staticmethod
    def backward(ctx, g):
        return add_at_zeros(ctx.in_shape, ctx.key, g), None, None


@runs_on_input_device
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` (for dim=1). See: torch.gather."""
    if sparse_grad:
        raise NotImplementedError("gather(sparse_grad=True): brickwork has no sparse tensors; "
                                  "use sparse_grad=False (a dense gradient)")
    _long_index(index, "gather")
    d = normalize_dim(dim, input._data.ndim)
    _check_gather_shapes("gather", input, index, d)
    if input._data.ndim:
        _check_bounds(index._data, input._data.shape[d], d)
    return Gather.apply(input, index, d)


class Scatter(Function):
    _array_level = True
    _backward_name = "ScatterBackward0"

    @staticmethod
    def forward(ctx, a, idx, src, dim):
        key = _grid(idx, dim)
        ctx.key, ctx.src_shape = key, getattr(src, "shape", None)
        out = a.copy()
        out[key] = src[_region(idx.shape)] if ctx.src_shape is not None else src
        return out

    @staticmethod
    def backward(ctx, g):
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = g.copy()
            ga[ctx.key] = 0
        if ctx.needs_input_grad[2]:
            gs = xp_of(g).zeros(ctx.src_shape, g.dtype)
            sel = g[ctx.key]
            gs[_region(sel.shape)] = sel
        return ga, None, gs, None


class ScatterValue(Scatter):
    _backward_name = "ScatterBackward1"


class ScatterAdd(Function):
    _array_level = True
    _backward_name = "ScatterAddBackward0"

    @staticmethod
    def forward(ctx, a, idx, src, dim):
        key = _grid(idx, dim)
        ctx.key, ctx.src_shape = key, src.shape
        out = a.copy()
        add_at(out, key, src[_region(idx.shape)])
        return out

    @staticmethod
    def backward(ctx, g):
        gs = None
        if ctx.needs_input_grad[2]:
            gs = xp_of(g).zeros(ctx.src_shape, g.dtype)
            sel = g[ctx.key]
            gs[_region(sel.shape)] = sel
        return g, None, gs, None


def _scatter_args(op: str, input: Tensor, dim: int, index: Tensor, src) -> int:
    _long_index(index, op)
    d = normalize_dim(dim, input._data.ndim)
    if isinstance(src, Tensor) and src._data.dtype != input._data.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
    _check_gather_shapes(op, input, index, d, src if isinstance(src, Tensor) else None)
    if input._data.ndim:
        _check_bounds(index._data, input._data.shape[d], d)
    return d


@runs_on_input_device
def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *,
            reduce: str | None = None) -> Tensor:
    """Write ``src`` (a tensor or a number) at ``index`` along ``dim``. See: torch.scatter."""
    if src is None:
        src = value
    if reduce == "add":
        if not isinstance(src, Tensor):
            src = input.new_full(index.shape, src)
        return scatter_add(input, dim, index, src)
    if reduce is not None and reduce != "multiply":
        raise RuntimeError("reduce argument must be either add or multiply.")
    d = _scatter_args("scatter", input, dim, index, src)
    if reduce == "multiply":
        from ._scatter_prod import scatter_multiply

        return scatter_multiply(input, d, index, src)
    if isinstance(src, Tensor):
        return Scatter.apply(input, index, src, d)
    if not isinstance(src, (int, float, bool)):
        raise TypeError(f"scatter(): argument 'src' must be Tensor or a number, not "
                        f"{type(src).__name__}")
    return ScatterValue.apply(input, index, src, d)


@runs_on_input_device
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Add ``src`` at ``index`` along ``dim``; repeats accumulate. See: torch.scatter_add."""
    d = _scatter_args("scatter_add", input, dim, index, src)
    return ScatterAdd.apply(input, index, src, d)


# -- index_select / index_add / index_fill ------------------------------------------------------
class IndexSelect(Function):
    _array_level = True
    _backward_name = "IndexSelectBackward0"

    @staticmethod
    def forward(ctx, a, idx, dim):
        ctx.dim, ctx.idx, ctx.in_shape = dim, idx, a.shape
        return xp_of(a).take(a, idx, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return gather_grad(ctx.in_shape, ctx.dim, ctx.idx, g), None, None


def _vector_index(input: Tensor, dim: int, index: Tensor, op: str):
    _long_index(index, op)
    if index._data.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    nd = input._data.ndim
    d = normalize_dim(dim, nd)
    idx = index._data.reshape(-1)
    size = input._data.shape[d] if nd else 1
    if idx.size and (int(idx.max()) >= size or int(idx.min()) < -size):
        bad = int(idx.max()) if int(idx.max()) >= size else int(idx.min())
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={size}")
    return d, idx


@runs_on_input_device
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` at ``index`` along ``dim``. See: torch.index_select."""
    d, idx = _vector_index(input, dim, index, "index_select")
    if input._data.ndim == 0:
        return IndexSelect.apply(input.reshape(1), idx, 0).reshape(())
    return IndexSelect.apply(input, idx, d)


class IndexAdd(Function):
    _array_level = True
    _backward_name = "IndexAddBackward0"

    @staticmethod
    def forward(ctx, a, idx, src, dim, alpha):
        ctx.key, ctx.dim, ctx.idx, ctx.alpha = (slice(None),) * dim + (idx,), dim, idx, alpha
        out = a.copy()
        xp_of(a).add.at(out, ctx.key, src * alpha if alpha != 1 else src)
        return out

    @staticmethod
    def backward(ctx, g):
        gs = None
        if ctx.needs_input_grad[2]:
            gs = xp_of(g).take(g, ctx.idx, axis=ctx.dim)
            if ctx.alpha != 1:
                gs = gs * ctx.alpha
        return g, None, gs, None, None


@float32_compute
@runs_on_input_device
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """Add ``alpha * source`` into the slices at ``index`` along ``dim``. See: torch.index_add."""
    d, idx = _vector_index(input, dim, index, "index_add")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_add_(): self ({input.dtype}) and source ({source.dtype}) "
                           "must have the same scalar type")
    return IndexAdd.apply(input, idx, source, d, alpha)


class IndexFill(Function):
    _array_level = True
    _backward_name = "IndexFillBackward0"

    @staticmethod
    def forward(ctx, a, idx, value, dim):
        ctx.key = (slice(None),) * dim + (idx,)
        out = a.copy()
        out[ctx.key] = value
        return out

    @staticmethod
    def backward(ctx, g):
        ga = g.copy()
        ga[ctx.key] = 0
        return ga, None, None, None


@runs_on_input_device
def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """Set the slices at ``index`` along ``dim`` to ``value``. See: torch.index_fill."""
    d, idx = _vector_index(input, dim, index, "index_fill")
    if isinstance(value, Tensor):
        value = value.item()
    return IndexFill.apply(input, idx, value, d)


# -- masked ops ---------------------------------------------------------------------------------
class MaskedFill(Function):
    _array_level = True
    _backward_name = "MaskedFillBackward0"

    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.mask, ctx.in_shape = mask, a.shape
        xp = xp_of(a)
        return xp.where(mask, xp.asarray(value, dtype=a.dtype), a)

    @staticmethod
    def backward(ctx, g):
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(g * ~ctx.mask, ctx.in_shape)
        if ctx.needs_input_grad[2]:
            gv = (g * ctx.mask).sum().astype(g.dtype)
        return ga, None, gv


class MaskedFillTensor(MaskedFill):
    _backward_name = "MaskedFillBackward1"


def _check_mask(mask, op: str) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype != np.bool_:
        if op == "masked_select":
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_c_type(mask)}")


def _c_type(t: Tensor) -> str:
    # PyTorch names dtypes by their C type in these messages ("float", "long int").
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "uint8": "unsigned char"}.get(t._data.dtype.name, t._data.dtype.name)


@runs_on_input_device
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``value`` where ``mask`` is True, ``input`` elsewhere. See: torch.masked_fill."""
    _check_mask(mask, "masked_fill")
    _broadcast_shapes(mask._data.shape, input._data.shape)
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value._data.ndim} dimension(s).")
        if value._requires_grad:
            return MaskedFillTensor.apply(input, mask, value.to(input.dtype))
        value = value.item()
    return MaskedFill.apply(input, mask, value)


class MaskedSelect(Function):
    _array_level = True
    _backward_name = "MaskedSelectBackward0"

    @staticmethod
    def forward(ctx, a, mask, shape):
        xp = xp_of(a)
        mb = xp.broadcast_to(mask, shape)
        ctx.mask, ctx.in_shape = mb, a.shape
        return xp.broadcast_to(a, shape)[mb]

    @staticmethod
    def backward(ctx, g):
        gx = xp_of(g).zeros(ctx.mask.shape, g.dtype)
        gx[ctx.mask] = g
        return unbroadcast(gx, ctx.in_shape), None, None


@runs_on_input_device
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements where ``mask`` is True, as a 1-D tensor. See: torch.masked_select."""
    _check_mask(mask, "masked_select")
    shape = _broadcast_shapes(mask._data.shape, input._data.shape)
    return MaskedSelect.apply(input, mask, shape)


# -- take ---------------------------------------------------------------------------------------
class Take(Function):
    _array_level = True
    _backward_name = "TakeBackward0"

    @staticmethod
    def forward(ctx, a, idx):
        ctx.idx, ctx.in_shape = idx, a.shape
        return a.reshape(-1)[idx]

    @staticmethod
    def backward(ctx, g):
        return add_at_zeros(int(np.prod(ctx.in_shape)), ctx.idx, g).reshape(ctx.in_shape), None


@runs_on_input_device
def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (shaped like ``index``). See: torch.take.
    """
    _long_index(index, "take")
    n = input._data.size
    idx = index._data
    if idx.size and (int(idx.max()) >= n or int(idx.min()) < -n):
        bad = int(idx.max()) if int(idx.max()) >= n else int(idx.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    return Take.apply(input, index)


@runs_on_input_device
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with broadcasting of the other dims. See: torch.take_along_dim."""
    if dim is None:  # PyTorch gathers from the flattened input here
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    nd = input._data.ndim
    d = normalize_dim(dim, nd)
    if indices._data.ndim != nd:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {nd} dimensions for input, and "
                           f"{indices._data.ndim} dimensions for indices")
    a_shape, i_shape = list(input._data.shape), list(indices._data.shape)
    a_shape[d] = i_shape[d] = 1
    common = list(_broadcast_shapes(tuple(a_shape), tuple(i_shape)))
    x_shape, idx_shape = list(common), list(common)
    x_shape[d], idx_shape[d] = input._data.shape[d], indices._data.shape[d]
    if tuple(x_shape) != input._data.shape:
        input = input.expand(x_shape)
    if tuple(idx_shape) != indices._data.shape:
        indices = indices.expand(idx_shape)
    return gather(input, d, indices)
