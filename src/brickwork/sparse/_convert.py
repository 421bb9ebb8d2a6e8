"""Moving sparse COO tensors between dtypes and devices (``Tensor.to``) and pickling them."""
from __future__ import annotations

from .._sparse_coo import SparseCOO
from ..autograd.function import Function
from ..tensor import Tensor, _make


class SparseToCopy(Function):
    _array_level = True
    _backward_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, np_dtype, dev, copy):
        from ..device import device_of_array

        ctx.src_dtype, ctx.src_dev = x.dtype, None
        src = device_of_array(x)
        if dev is not None and dev != src:
            ctx.src_dev = src
            x = _move(x, dev)
        elif copy:
            x = x.copy()
        if np_dtype is not None and np_dtype != x.dtype:
            x = x.astype(np_dtype)
        return x

    @staticmethod
    def backward(ctx, g):
        if g.dtype != ctx.src_dtype:
            g = g.astype(ctx.src_dtype)
        if ctx.src_dev is not None:
            g = _move(g, ctx.src_dev)
        return g, None, None, None


def _move(x, dev):
    """A sparse payload (or a dense gradient) on ``dev``: host copy or GPU copy."""
    from ..ops.conversion import _move as move_array

    if x.__class__ is not SparseCOO:
        return move_array(x, dev)
    if dev.type == "cpu":
        return x.get()
    return SparseCOO(move_array(x.indices, dev), move_array(x.values, dev), x.shape,
                     x.coalesced)


def sparse_to(t: Tensor, dev, dtype, copy: bool) -> Tensor:
    """``Tensor.to`` for a sparse tensor (dtype and device; the layout stays COO)."""
    same_dev = dev is None or dev == t._device
    same_dtype = dtype is None or dtype.np == t._data.dtype
    if same_dev and same_dtype and not copy:
        return t
    out = SparseToCopy.apply(t, None if same_dtype else dtype.np, None if same_dev else dev,
                             copy)
    out._device = dev if dev is not None else t._device
    return out


def reduce_sparse(t: Tensor):
    """Pickling support: indices, values (host arrays), size, device, coalesced flag."""
    d = t._data.get()
    return (_rebuild_sparse, (d.indices, d.values, d.shape, str(t._device), d.coalesced,
                              t._requires_grad))


def _rebuild_sparse(indices, values, shape, dev, coalesced, requires_grad):
    from ..device import resolve

    d = resolve(dev)
    coo = SparseCOO(indices, values, shape, coalesced)
    if d.type != "cpu":
        coo = _move(coo, d)
    out = _make(coo, d)
    out._requires_grad = requires_grad
    return out
