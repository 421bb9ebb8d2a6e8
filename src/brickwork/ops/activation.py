"""Activations with their gradients: relu, sigmoid, softmax, log_softmax, gelu, leaky_relu, elu,
silu, softplus, hardtanh, relu6, mish, softmin, and dropout.

softmax and log_softmax subtract the row maximum before exponentiating (log-sum-exp), so they
stay finite for large inputs, as PyTorch's do. The pointwise activations past ``log_softmax``
live in ``activation_extra.py`` (split to keep files short) and are re-exported here.
"""
from __future__ import annotations

import numpy as np

from .._parallel import run_slices
from . import _rowwise
from ..autograd.function import Function
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._complex_grad import cj
from ._util import int_view, normalize_dim, numpy_floats, select_bits, xp_of
from .activation_extra import _sigmoid_into
from .elementwise import _float_input


# From this many values relu's one-pass loops run on threads: below, handing a slice to a
# thread cost more than it saved ((128, 6, 28, 28) forward+backward 0.84 -> 1.08 ms, while
# (32, 64, 32, 32) went 3.05 -> 2.49 ms).
_THREADED = 1 << 20
# NumPy's maximum against a scalar runs a loop about 3x slower than against an array of the same
# length (602K float32 values: 221 vs 95 us on 2026-12 hardware), so relu takes the maximum of
# rows of this many values with one cached row of zeros.
_ZERO_ROW = 1 << 15
# Sigmoid's exp pays for threads from fewer values: (256, 6, 24, 24) forward 0.73 -> 0.54 ms on
# two, at half that size equal.
_THREADED_EXP = 1 << 19
_zero_rows: dict = {}


def _relu_flat(x, out) -> None:
    """``out[:] = max(x, 0)`` for 1-D ``x`` and ``out``, against rows of cached zeros."""
    zeros = _zero_rows.get(x.dtype)
    if zeros is None:
        zeros = _zero_rows[x.dtype] = np.zeros(_ZERO_ROW, dtype=x.dtype)
    whole = len(x) - len(x) % _ZERO_ROW
    if whole:
        np.maximum(x[:whole].reshape(-1, _ZERO_ROW), zeros,
                   out=out[:whole].reshape(-1, _ZERO_ROW))
    np.maximum(x[whole:], zeros[:len(x) - whole], out=out[whole:])


class Relu(Function):
    _array_level = True
    _backward_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, x):
        if x.__class__ is np.ndarray and x.dtype.kind == "f" and x.flags.c_contiguous:
            out = np.empty(x.shape, dtype=x.dtype)
            flat, flat_out = x.reshape(-1), out.reshape(-1)
            if x.size >= _THREADED:  # big activations: slices on separate threads
                run_slices(lambda sl: _relu_flat(flat[sl], flat_out[sl]), x.size, x.size, np)
            else:
                _relu_flat(flat, flat_out)
        else:
            out = np.maximum(x, 0)
        if ctx.needs_input_grad[0]:
            ctx.out = out
        return out

    @staticmethod
    def backward(ctx, g):
        # NOTE: as PyTorch's threshold_backward, the gradient is 0 where the output is <= 0
        # (so 0 at exactly 0: the mask is taken from the output, not x >= 0), whatever g holds
        # there (inf and NaN too), and g passes where the output is NaN.
        out = ctx.out
        if g.__class__ is np.ndarray and out.__class__ is np.ndarray and \
                g.shape == out.shape and g.dtype == out.dtype and g.dtype.kind == "f" and \
                int_view(g) is not None:
            gx = np.empty(g.shape, dtype=g.dtype)
            if g.size >= _THREADED:  # big activations: slices on separate threads
                run_slices(lambda sl: _select(g[sl], out[sl], gx[sl]), len(g), g.size, np)
            else:
                _select(g, out, gx)
            return gx
        return xp_of(g).where(out <= 0, 0, g)


def _select(g, out, gx) -> None:
    """``gx[:] = 0 where out <= 0 else g``, exactly (``_util.select_bits``): the comparison
    written as 1/0 integers, minus 1, is the mask of no bits or all bits."""
    bits = int_view(gx)
    np.less_equal(out, 0, out=bits)
    np.subtract(bits, 1, out=bits)
    select_bits(bits, g, gx)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``. See: torch.relu."""
    if input._data.dtype.kind == "c":  # PyTorch's relu is a clamp, which refuses complex
        raise NotImplementedError("clamp is not supported for complex types")
    if inplace:
        return input._inplace(lambda t: Relu.apply(t))
    return Relu.apply(input)


class Sigmoid(Function):
    _array_level = True
    _backward_name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "c":  # complex
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                out = 1 / (1 + np.exp(-x))
        elif x.__class__ is np.ndarray:
            # One buffer and no select: (128, 6, 24, 24) float32 2.6 -> 0.45 ms against
            # splitting by sign (exp(-|x|), then 1/(1+e) or e/(1+e)).
            out = np.empty(x.shape, dtype=x.dtype)
            if x.size >= _THREADED_EXP:
                run_slices(lambda sl: _sigmoid_into(x[sl], out[sl]), len(x), x.size, np)
            else:
                _sigmoid_into(x, out)
        else:  # CuPy, or the recording arrays of a create_graph backward
            with np.errstate(over="ignore"):
                out = 1 / (1 + xp_of(x).exp(-x))
        if ctx.needs_input_grad[0]:
            ctx.out = out
        return out

    @staticmethod
    def backward(ctx, g):
        y = ctx.out
        if y.dtype.kind == "c":
            return g * cj(y * (1 - y))  # conjugated for complex (see _complex_grad)
        if g.__class__ is not np.ndarray or y.__class__ is not np.ndarray or \
                g.shape != y.shape or g.dtype != y.dtype:
            return g * (1 - y) * y
        # PyTorch's order, (g * (1 - y)) * y, in one buffer
        gx = np.empty(y.shape, dtype=y.dtype)
        np.subtract(1, y, out=gx)
        gx *= g
        gx *= y
        return gx


@float32_compute
def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))``. See: torch.sigmoid."""
    return Sigmoid.apply(_float_input(input))


class Softmax(Function):
    _array_level = True
    _backward_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        if x.size == 0:  # max over an empty dim has no identity; the result is empty anyway
            ctx.out, ctx.dim = x.copy(), dim
            return ctx.out
        if numpy_floats(x):
            out = _rowwise.softmax(x, dim, log=False)
        else:
            e = np.exp(x - x.max(axis=dim, keepdims=True))
            out = e / e.sum(axis=dim, keepdims=True)
        ctx.out, ctx.dim = out, dim
        return out

    @staticmethod
    def backward(ctx, g):
        y = ctx.out
        if numpy_floats(y, g) and g.shape == y.shape:
            return _rowwise.softmax_backward(g, y, ctx.dim, log=False), None
        return y * (g - (g * y).sum(axis=ctx.dim, keepdims=True)), None


class LogSoftmax(Function):
    _array_level = True
    _backward_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        if x.size == 0:
            ctx.out, ctx.dim = x.copy(), dim
            return ctx.out
        if numpy_floats(x):
            out = _rowwise.softmax(x, dim, log=True)
        else:
            shifted = x - x.max(axis=dim, keepdims=True)
            out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.out, ctx.dim = out, dim
        return out

    @staticmethod
    def backward(ctx, g):
        if numpy_floats(ctx.out, g) and g.shape == ctx.out.shape:
            return _rowwise.softmax_backward(g, ctx.out, ctx.dim, log=True), None
        return g - np.exp(ctx.out) * g.sum(axis=ctx.dim, keepdims=True), None


def _softmax_dim(input: Tensor, dim, dtype, op: str = "softmax"):
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        # PyTorch's legacy implicit choice (with a warning): 0 for 0-, 1- and 3-d inputs, else 1.
        dim = 0 if input.ndim in (0, 1, 3) else 1
    if not input.is_floating_point():
        from .reduction import _torch_type_name

        raise NotImplementedError(f'"{op}_lastdim_kernel_impl" not implemented for '
                                  f"'{_torch_type_name(input.dtype)}'")
    return input, normalize_dim(dim, input.ndim) if input.ndim else None


@float32_compute
def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``. See: torch.softmax."""
    input, dim = _softmax_dim(input, dim, dtype)
    return Softmax.apply(input, dim)


@float32_compute
def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``log(softmax(x))`` computed stably along ``dim``. See: torch.log_softmax."""
    input, dim = _softmax_dim(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, dim)


from .activation_extra import (dropout, elu, erf, gelu, hardtanh, leaky_relu,  # noqa: E402
                               mish, relu6, silu, softmin, softplus)

TENSOR_METHODS = {"relu": relu, "sigmoid": sigmoid, "softmax": softmax,
                  "log_softmax": log_softmax, "erf": erf}
INPLACE_METHODS = ("relu", "sigmoid")
# torch.* has only these; the rest are nn.functional-only (exported there).
__all__ = list(TENSOR_METHODS) + ["dropout"]
FUNCTIONAL = ["gelu", "leaky_relu", "elu", "silu", "softplus", "hardtanh", "relu6", "mish",
              "softmin", "dropout"]

from ._numpy_names import install as _numpy_names  # noqa: E402

_numpy_names(globals(), TENSOR_METHODS)  # axis=/keepdims= for dim/keepdim, as PyTorch accepts
