"""``linear`` (``x @ W.T + b``) and ``bilinear``: the fully connected layers' ops.

The graph reads as PyTorch's: ``AddmmBackward0`` (with bias) or ``MmBackward0`` whose inputs are,
in PyTorch's order, the bias, the input (2-D, else through a ``ViewBackward0`` /
``UnsqueezeBackward0`` that flattens it) and ``W.t()`` (a ``TBackward0`` node); inputs of other
ranks get their shape back through ``ViewBackward0``/``UnsafeViewBackward0``/
``SqueezeBackward4``. One fused Function does the arithmetic; the ``TBackward0`` node is built
directly rather than through ``Function.apply`` (linear is the hot op of every MLP), sharing the
weight's version counter as PyTorch's ``t()`` view does, so an in-place update of the weight
before backward is still refused.
"""
from __future__ import annotations

import numpy as np

from ..autograd._saved import CLOCK
from ..autograd._views import counter
from ..autograd.function import Function, _edge
from ..autograd.grad_mode import STATE
from ..device import guard_functions
from ..tensor import Tensor, _make
from ._bf16 import float32_compute
from ._products import matmul_2d, matmul_nd
from .linalg import T
from .shape import UnsafeView, Unsqueeze, View

_DTYPE_TITLE = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


class Linear(Function):
    """``bias + x @ wt`` for a 2-D ``x`` and ``wt = W.t()``; the gradient of ``wt`` is
    produced as the transpose of a contiguous ``g^T x``, so ``W.grad`` comes out contiguous."""

    _array_level = True
    _backward_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, b, x, wt):
        out = matmul_2d(x, wt, b)
        need = ctx.needs_input_grad
        if need[1] or need[2]:
            ctx.x, ctx.wt = (x if need[2] else None), (wt if need[1] else None)
        return out

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gx = matmul_nd(g, ctx.wt.T) if need[1] else None
        gwt = matmul_nd(g.T, ctx.x).T if need[2] else None
        gb = g.sum(axis=0) if need[0] else None
        return gb, gx, gwt


class _Mm(Function):
    """``x @ wt`` (no bias): PyTorch's ``MmBackward0`` has two inputs."""

    _array_level = True
    _backward_name = "MmBackward0"

    @staticmethod
    def forward(ctx, x, wt):
        nx, nw = ctx.needs_input_grad
        if nx or nw:
            ctx.x, ctx.wt = (x if nw else None), (wt if nx else None)
        return matmul_2d(x, wt)

    @staticmethod
    def backward(ctx, g):
        nx, nw = ctx.needs_input_grad
        return (matmul_nd(g, ctx.wt.T) if nx else None), \
            (matmul_nd(g.T, ctx.x).T if nw else None)


_Squeeze4 = type("Squeeze4", (View,), {"_backward_name": "SqueezeBackward4"})


def _transposed(w: Tensor) -> Tensor:
    """``w.t()`` with PyTorch's ``TBackward0`` node, without ``Function.apply``'s general path."""
    wt = _make(w._data.T, w._device)
    if w._requires_grad and STATE.enabled:
        node = T._node_cls()
        node.needs_input_grad = (True,)
        node._edges = (_edge(w),)
        node._args = (w,)  # what create_graph replays
        node._epoch = CLOCK.n
        wt._requires_grad = True
        wt.grad_fn = node
        wt._vc = counter(w)  # a view: updates of w invalidate what reads wt
    return wt


def _check(input: Tensor, weight: Tensor, bias) -> None:
    # the valid case on the arrays' shape tuples, first: a layer's call pays for this check
    x, w = input._data, weight._data
    xs, ws = x.shape, w.shape
    if x.dtype is w.dtype and len(ws) == 2 and xs and xs[-1] == ws[1] and (
            bias is None or (bias._data.dtype is w.dtype and bias._data.shape == ws[:1])):
        return
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{_DTYPE_TITLE[input.dtype.name]} and "
                           f"{_DTYPE_TITLE[weight.dtype.name]}")
    in_f = input.shape[-1] if input.ndim else 1
    if weight.ndim != 2 or in_f != weight.shape[1] or input.ndim == 0:
        rows = int(np.prod(input.shape[:-1])) if input.ndim > 1 else 1
        w_shape = "x".join(str(s) for s in reversed(weight.shape))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{in_f} and "
                           f"{w_shape})")
    if bias is not None:
        if bias._data.dtype != weight._data.dtype:
            raise RuntimeError(f"linear: expected bias of dtype {weight.dtype}, got "
                               f"{bias.dtype}")
        if bias.ndim > 1 or (bias.numel() != 1 and bias.shape[-1] != weight.shape[0]):
            raise RuntimeError(f"The expanded size of the tensor ({weight.shape[0]}) must match "
                               f"the existing size ({bias.shape[-1] if bias.ndim else 1}) at "
                               f"non-singleton dimension 1.  Target sizes: "
                               f"[{', '.join(map(str, input.shape[:-1]))}, {weight.shape[0]}]."
                               f"  Tensor sizes: {list(bias.shape)}")


@float32_compute
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dimension of ``input``.

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None.

    Example:
        >>> F.linear(brickwork.ones(2, 3), brickwork.ones(4, 3)).shape
        brickwork.Size([2, 4])

    See: torch.nn.functional.linear.
    """
    _check(input, weight, bias)
    wt = _transposed(weight)
    nd = input._data.ndim
    if nd == 2:
        return Linear.apply(bias, input, wt) if bias is not None else _Mm.apply(input, wt)
    out_f = weight._data.shape[0]
    if nd == 1:
        if bias is not None:
            x2 = _shared(View.apply(input, (1, -1)), input)
            return View.apply(Linear.apply(bias, x2, wt), (out_f,))
        x2 = _shared(Unsqueeze.apply(input, (1, -1)), input)
        return _Squeeze4.apply(_Mm.apply(x2, wt), (out_f,))
    shape = input._data.shape[:-1] + (out_f,)
    x2 = _shared(View.apply(input, (-1, input._data.shape[-1])), input)
    if bias is not None:
        return View.apply(Linear.apply(bias, x2, wt), shape)
    return UnsafeView.apply(_Mm.apply(x2, wt), shape)


def _shared(view: Tensor, base: Tensor) -> Tensor:
    """A flattened input shares its base's version counter (an update of the base must
    invalidate what linear saved of the view), as PyTorch's view does."""
    if view._requires_grad:
        view._vc = counter(base)
    return view


class Bilinear(Function):
    _array_level = True
    _backward_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x1, x2, w, b):
        # out[..., o] = sum_ij x1[..., i] w[o, i, j] x2[..., j]
        out = np.einsum("...i,oij,...j->...o", x1, w, x2, optimize=True)
        if b is not None:
            out += b
        ctx.saved = (x1, x2, w)
        return out

    @staticmethod
    def backward(ctx, g):
        x1, x2, w = ctx.saved
        need = ctx.needs_input_grad
        g1 = np.einsum("...o,oij,...j->...i", g, w, x2, optimize=True) if need[0] else None
        g2 = np.einsum("...o,oij,...i->...j", g, w, x1, optimize=True) if need[1] else None
        gw = np.einsum("...o,...i,...j->oij", g, x1, x2, optimize=True) if need[2] else None
        gb = g.reshape(-1, g.shape[-1]).sum(axis=0) if need[3] else None
        return g1, g2, gw, gb


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None):
    """``x1^T A x2 + b`` for each output feature. See: torch.nn.functional.bilinear."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input sizes {list(input1.shape)} and "
                           f"{list(input2.shape)} do not match weight {list(weight.shape)}")
    return Bilinear.apply(input1, input2, weight, bias)


TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__ = ["linear", "bilinear"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
