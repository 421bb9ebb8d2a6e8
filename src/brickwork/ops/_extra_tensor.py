"""Small Tensor methods and properties: sums to a size, unsafe splits, legacy constructors,
element-wise Python callbacks, memory addresses, hooks and flags.

Part of the ``tensor_extra`` family (see ``ops/tensor_extra.py``).
"""
from __future__ import annotations


import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE as _GRAD
from ..tensor import Tensor, _make, _size_args
from ._util import normalize_dim, xp_of


# -- reductions and splits -----------------------------------------------------------------------
def sum_to_size(self: Tensor, *size) -> Tensor:
    """Sum ``self`` down to ``size`` (which ``self`` must be expandable from).

    Example:
        >>> brickwork.ones(2, 3).sum_to_size(1, 3).tolist()
        [[2.0, 2.0, 2.0]]

    See: torch.Tensor.sum_to_size.
    """
    shape = _size_args(size, "sum_to_size")
    have = tuple(self._data.shape)
    lead = len(have) - len(shape)
    ok = lead >= 0 and all(s == h or s == 1 for s, h in zip(shape, have[lead:]))
    if not ok:
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(have)}}}.")
    out = self
    if lead:
        out = out.sum(tuple(range(lead)))
    dims = tuple(i for i, (s, h) in enumerate(zip(shape, have[lead:])) if s == 1 and h != 1)
    if dims:
        out = out.sum(dims, keepdim=True)
    return out


class _UnsafeSplit(Function):
    """Consecutive pieces of ``dim`` that share the input's memory but are not recorded as its
    views ("unsafe": in-place updates of them are allowed, and autograd does not see them
    alias the input); one node computes every piece's gradient (UnsafeSplitBackward0)."""

    _array_level = True

    @staticmethod
    def forward(ctx, a, dim, sizes):
        ctx.dim, ctx.sizes, ctx.dtype, ctx.shape = dim, sizes, a.dtype, a.shape
        bounds = np.cumsum((0,) + sizes)
        key = [slice(None)] * a.ndim
        outs = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            key[dim] = slice(int(lo), int(hi))
            outs.append(a[tuple(key)])
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        xp = xp_of(next(g for g in grads if g is not None))
        full = []
        for g, n in zip(grads, ctx.sizes):
            if g is None:  # a piece that got no gradient
                shape = list(ctx.shape)
                shape[ctx.dim] = n
                g = xp.zeros(tuple(shape), dtype=ctx.dtype)
            full.append(g)
        return xp.concatenate(full, axis=ctx.dim), None, None


class _UnsafeSplitWithSizes(_UnsafeSplit):
    _backward_name = "UnsafeSplitWithSizesBackward0"


class _UnsafeSplitEven(_UnsafeSplit):
    _backward_name = "UnsafeSplitBackward0"


def _split_sizes(input: Tensor, split_size, dim: int) -> list:
    n = input._data.shape[dim]
    if isinstance(split_size, (list, tuple)):
        sizes = [int(s) for s in split_size]
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {dim}), but got "
                               f"split_sizes={sizes}")
        return sizes
    split_size = int(split_size)
    if split_size < 0 or (split_size == 0 and n != 0):
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {n}" if split_size == 0 else
                           f"split expects split_size be non-negative, but got split_size="
                           f"{split_size}")
    if n == 0:
        return [0]
    return [min(split_size, n - i) for i in range(0, n, split_size)]


def unsafe_split(input: Tensor, split_size, dim: int = 0) -> tuple:
    """``split`` whose pieces autograd does not track as views (in-place updates of them are
    allowed). See: torch.unsafe_split.
    """
    if isinstance(split_size, (list, tuple)):
        raise TypeError(f"unsafe_split(): argument 'split_size' (position 1) must be int, not "
                        f"{type(split_size).__name__}")
    if input._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = normalize_dim(dim, input._data.ndim)
    return _UnsafeSplitEven.apply(input, d, tuple(_split_sizes(input, split_size, d)))


def unsafe_split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split_with_sizes`` whose pieces autograd does not track as views.

    See: torch.unsafe_split_with_sizes.
    """
    if input._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = normalize_dim(dim, input._data.ndim)
    return _UnsafeSplitWithSizes.apply(input, d, tuple(_split_sizes(input, list(split_sizes), d)))


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` whose pieces autograd does not track as views. See: torch.unsafe_chunk."""
    if input._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = normalize_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    step = -(-n // chunks) if n else 0
    if step == 0:
        return unsafe_split(input, 0, d) if n == 0 else ()
    return unsafe_split(input, step, d)


def slice_inverse(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """The inverse of a slice, as functionalization uses it: ``input``'s storage viewed with
    ``src``'s size, strides and storage offset (``input`` being ``src``'s slice along ``dim``
    from ``start`` to ``end`` by ``step``, which PyTorch checks no further either).

    See: torch.slice_inverse.
    """
    from ._extra_inplace import _renamed
    from .strided import storage_offset_of, stride

    normalize_dim(dim, max(src._data.ndim, 1))
    for name, v in (("start", start), ("end", end), ("step", step)):
        if v is not None and not isinstance(v, (int, np.integer)):
            raise TypeError(f"slice_inverse(): argument '{name}' must be int, not "
                            f"{type(v).__name__}")
    out = input.as_strided(tuple(src._data.shape), stride(src), storage_offset_of(src))
    if out.grad_fn is not None:
        _renamed(out.grad_fn, "SliceInverseBackward0")
    return out


# -- legacy constructors -------------------------------------------------------------------------
def new(self: Tensor, *args, device=None) -> Tensor:
    """The legacy constructor with ``self``'s dtype: ``new(*sizes)`` or ``new(Size)`` (zeros
    here; PyTorch's are uninitialized), ``new(sequence)`` (data), ``new(tensor)`` (same dtype:
    shares its memory), ``new()`` (empty).

    See: torch.Tensor.new.
    """
    from ..factories import tensor, zeros
    from ..size import Size

    dev = self._device if device is None else device
    if not args:
        return zeros((0,), dtype=self.dtype, device=dev)
    if len(args) == 1:
        data = args[0]
        if isinstance(data, Tensor):
            if data.dtype != self.dtype or data._device != self._device:
                raise TypeError(f"expected {_options(self)} (got {_options(data)})")
            return _make(data._data, data._device)
        if isinstance(data, (list, tuple)) and not isinstance(data, Size):
            return tensor(data, dtype=self.dtype, device=dev)
        if isinstance(data, float):
            raise TypeError("new(): data must be a sequence (got float)")
    return zeros(_size_args(args, "new"), dtype=self.dtype, device=dev)


_C_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "int64": "long int",
            "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}


def _options(t: Tensor) -> str:
    """PyTorch's TensorOptions text, which its legacy constructor errors print."""
    name = _C_NAMES.get(t._data.dtype.name, t._data.dtype.name)
    dev = "cpu" if t._device.type == "cpu" else f"cuda:{t._device.index}"
    return (f"TensorOptions(dtype={name}, device={dev}, layout=Strided, requires_grad=false "
            "(default), pinned_memory=false (default), memory_format=(nullopt))")


def new_empty_strided(self: Tensor, size, stride, *, dtype=None, device=None,
                      requires_grad: bool = False, layout=None, pin_memory: bool = False
                      ) -> Tensor:
    """``empty_strided`` with ``self``'s dtype and device by default.

    See: torch.Tensor.new_empty_strided.
    """
    from .. import empty_strided

    return empty_strided(size, stride, dtype=dtype or self.dtype,
                         device=device or self._device, requires_grad=requires_grad,
                         layout=layout, pin_memory=pin_memory)


# -- element-wise Python callbacks (CPU only, as in PyTorch) ------------------------------------
def _callback_target(self: Tensor, name: str) -> None:
    if self._device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")
    if self.requires_grad and _GRAD.enabled:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use "
                           f"var.detach().{name}() instead.")


def _run_callback(self: Tensor, fn, others: tuple) -> Tensor:
    data = self._data
    if not data.flags.writeable:
        raise RuntimeError("the tensor's memory is read-only")
    arrays = [np.broadcast_to(o._host(), data.shape) for o in others]
    py = data.dtype.kind  # each element reaches fn as a Python number of the tensor's kind
    conv = bool if py == "b" else int if py in "iu" else float
    out = np.empty(data.shape, dtype=data.dtype)
    flat_in = [a.reshape(-1) if a.flags.c_contiguous else a.ravel() for a in [data] + arrays]
    flat_out = out.reshape(-1)
    for i in range(out.size):
        flat_out[i] = fn(*[conv(a[i]) for a in flat_in])
    # Written outside autograd and without a version bump, as PyTorch's apply_/map_ do.
    data[...] = out
    return self


def _check_broadcast(self: Tensor, other: Tensor) -> None:
    want, have = tuple(self._data.shape), tuple(other._data.shape)
    try:
        np.broadcast_shapes(want, have)
        ok = np.broadcast_shapes(want, have) == want
    except ValueError:
        ok = False
    if not ok:
        for i in range(1, max(len(want), len(have)) + 1):
            w = want[-i] if i <= len(want) else 1
            h = have[-i] if i <= len(have) else 1
            if h != w and h != 1:
                raise RuntimeError(
                    f"The expanded size of the tensor ({w}) must match the existing size ({h}) "
                    f"at non-singleton dimension {len(want) - i}.  Target sizes: {list(want)}.  "
                    f"Tensor sizes: {list(have)}")


def apply_(self: Tensor, callable) -> Tensor:  # noqa: A002 - PyTorch's parameter name
    """Replace each element ``x`` with ``callable(x)`` (slow: a Python call per element).

    See: torch.Tensor.apply_.
    """
    _callback_target(self, "apply_")
    return _run_callback(self, callable, ())


def map_(self: Tensor, tensor: Tensor, callable) -> Tensor:  # noqa: A002
    """``self[i] = callable(self[i], tensor[i])``, ``tensor`` broadcast to ``self``.

    See: torch.Tensor.map_.
    """
    _callback_target(self, "map_")
    _check_broadcast(self, tensor)
    return _run_callback(self, callable, (tensor,))


def map2_(self: Tensor, x: Tensor, y: Tensor, callable) -> Tensor:  # noqa: A002
    """``self[i] = callable(self[i], x[i], y[i])``, ``x`` and ``y`` broadcast to ``self``.

    See: torch.Tensor.map2_.
    """
    _callback_target(self, "map2_")
    _check_broadcast(self, x)
    _check_broadcast(self, y)
    return _run_callback(self, callable, (x, y))


def __reversed__(self: Tensor) -> Tensor:
    """``reversed(t)``: the tensor flipped along dim 0 (a 0-d tensor is itself), not a Python
    iterator. See: torch.Tensor.__reversed__."""
    return self if self.dim() == 0 else self.flip(0)


TENSOR_METHODS: dict = {
    "__reversed__": __reversed__, "sum_to_size": sum_to_size, "unsafe_split": unsafe_split,
    "unsafe_split_with_sizes": unsafe_split_with_sizes, "unsafe_chunk": unsafe_chunk,
    "slice_inverse": slice_inverse, "new": new, "new_empty_strided": new_empty_strided,
    "apply_": apply_, "map_": map_, "map2_": map2_,
}
__all__: list = ["unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk", "slice_inverse"]


def as_strided_scatter(input: Tensor, src: Tensor, size, stride,
                       storage_offset: int | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` written where ``input.as_strided(size, stride,
    storage_offset)`` would read (differentiable in both).

    Positions count in ``input``'s own memory order (its strides), as a stride-preserving
    clone of it lays them out. See: torch.as_strided_scatter.
    """
    from .strided import _positions, storage_offset_of, stride as strides_of

    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if tuple(src._data.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._data.shape)}, slice size = {list(size)}")
    xp = xp_of(input._data)
    shape = input._data.shape
    st = strides_of(input)
    if any(s == 0 for s, n in zip(st, shape) if n > 1):  # broadcast memory: lay out row-major
        st = tuple(int(np.prod(shape[i + 1:])) for i in range(len(shape)))
    mine = _positions(xp, tuple(shape), tuple(st), 0).reshape(-1)
    base = storage_offset_of(input)
    offset = (base if storage_offset is None else int(storage_offset)) - base
    n = int(mine.max()) + 1 if mine.size else 0
    where = _positions(xp, size, stride, offset).reshape(-1)
    if where.size and (int(where.min()) < 0 or int(where.max()) >= n):
        raise RuntimeError(f"as_strided_scatter: sizes {list(size)}, strides {list(stride)} and "
                           f"storage offset {offset + base} reach outside the input's memory")
    inverse = xp.full(max(n, 1), -1, dtype=np.int64)
    inverse[mine] = xp.arange(mine.size, dtype=np.int64)
    idx = inverse[where]
    if bool((idx < 0).any()):
        raise RuntimeError("as_strided_scatter: the view reaches memory the input does not use")
    flat = input.reshape(-1).index_put((_make(idx, input._device),), src.reshape(-1))
    return flat.reshape(shape)


TENSOR_METHODS["as_strided_scatter"] = as_strided_scatter
__all__.append("as_strided_scatter")
