"""``linear`` (``x @ W.T + b``) and ``bilinear``: the fully connected layers' ops.

One Function computes linear for any input rank; subclasses only change the ``grad_fn`` name so
it prints as PyTorch's does (``AddmmBackward0`` for a 2-D input with bias, ``MmBackward0``
without, ``ViewBackward0``/``UnsafeViewBackward0`` for other ranks). The backward flattens the
leading dimensions so the weight gradient is one matrix product.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..device import guard_functions
from ..tensor import Tensor

_DTYPE_TITLE = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


class Linear(Function):
    _array_level = True
    _backward_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, w, b):
        out = np.matmul(x, w.T)
        if b is not None:
            out += b
        need = ctx.needs_input_grad
        if need[0] or need[1] or need[2]:
            ctx.x, ctx.w, ctx.has_bias = (x if need[1] else None), \
                (w if need[0] else None), b is not None
        return out

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gx = np.matmul(g, ctx.w) if need[0] else None
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gw = None
        if need[1]:
            x2 = ctx.x.reshape(-1, ctx.x.shape[-1]) if ctx.x.ndim != 2 else ctx.x
            gw = np.matmul(g2.T, x2)
        gb = g2.sum(axis=0) if need[2] else None
        return gx, gw, gb


class _Mm(Linear):
    _backward_name = "MmBackward0"


class _View(Linear):
    _backward_name = "ViewBackward0"


class _UnsafeView(Linear):
    _backward_name = "UnsafeViewBackward0"


class _Squeeze(Linear):
    _backward_name = "SqueezeBackward4"


def _check(input: Tensor, weight: Tensor, bias) -> None:
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
    nd = input._data.ndim
    if nd == 2:
        op = Linear if bias is not None else _Mm
    elif nd == 1:
        op = _Squeeze if bias is None else _View
    else:
        op = _View if bias is not None else _UnsafeView
    return op.apply(input, weight, bias)


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
