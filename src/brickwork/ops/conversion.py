"""dtype and device conversion (``Tensor.to``), ``copy_`` and ``fill_``, differentiable."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd._views import OVERLAP, overlapping, write_direct
from ..autograd.function import Function
from ..autograd.grad_mode import STATE as _GRAD
from ..device import array_module, array_writeable, device as _device, device_of_array, resolve
from ..tensor import Tensor
from ._complex_grad import real_part
from ._bf16 import check_device
from ._util import broadcast_mismatch, unbroadcast


def _discard_imag_warning() -> None:
    import warnings

    warnings.warn("Casting complex values to real discards the imaginary part", UserWarning,
                  stacklevel=5)


class ToCopy(Function):
    _array_level = True
    _backward_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, np_dtype, dev, copy):
        ctx.src_dtype, ctx.src_dev = x.dtype, None
        src_dev = device_of_array(x)
        if dev is not None and dev != src_dev:
            ctx.src_dev = src_dev
            x = _move(x, dev)
        if np_dtype is not None and np_dtype != x.dtype:
            if x.dtype.kind == "c" and np.dtype(np_dtype).kind != "c":
                _discard_imag_warning()
                x = x.real
            return x.astype(np_dtype)
        return x.copy() if copy or ctx.src_dev is None else x

    @staticmethod
    def backward(ctx, g):
        if g.dtype.kind == "c" and ctx.src_dtype.kind != "c":
            g = real_part(g)  # a real input's gradient is the real part (PyTorch)
        g = g.astype(ctx.src_dtype, copy=False)  # on g's device, before it moves
        if ctx.src_dev is not None:
            g = _move(g, ctx.src_dev)
        return g, None, None, None


def _move(arr, dev):
    """Copy an array to another device (host <-> GPU, GPU <-> GPU)."""
    if dev.type == "cpu":
        return arr.get() if hasattr(arr, "get") and not hasattr(arr, "__array_interface__") \
            else arr
    cp = array_module(dev)
    with cp.cuda.Device(dev.index):
        # asarray copies host data over but may hand back a device array as it is (on its own
        # GPU); copy() always allocates on the current device, copying across GPUs.
        return cp.asarray(arr) if isinstance(arr, np.ndarray) else cp.copy(arr)


def to_copy(t: Tensor, dev, dtype, copy: bool = False, memory_format=None) -> Tensor:
    """``t`` on ``dev`` with ``dtype`` laid out as ``memory_format`` asks (``None``: preserve);
    ``t`` itself when nothing changes and no copy is asked (PyTorch's ``to_will_alias``)."""
    same_dev = dev is None or dev is t._device
    same_dtype = dtype is None or dtype.np == t._data.dtype
    if same_dev and same_dtype and not copy and (
            memory_format is None or _keeps_format(t, memory_format)):
        return t
    check_device(t._data.dtype if same_dtype else dtype.np, dev or t._device)
    out = ToCopy.apply(t, None if same_dtype else dtype.np, None if same_dev else dev, copy)
    if out._device is not (dev or t._device):
        out._device = dev
    if out is not t:  # a fresh copy: PyTorch's empty_like(t, memory_format) then copy_
        from ._memory_format import relayout_fresh, target_strides

        relayout_fresh(out, target_strides(t, memory_format))
    return out


def _keeps_format(t: Tensor, memory_format) -> bool:
    from ._memory_format import check_format, suggest_memory_format
    from ._more_numeric import preserve_format

    check_format("to", memory_format)
    return memory_format is preserve_format or suggest_memory_format(t) is memory_format


def parse_to_args(args, kwargs, with_format: bool = False):
    """Read ``to(...)``'s overloads: (dtype), (device, dtype), (tensor), plus keywords.

    Returns ``(device, dtype, copy)``, with ``memory_format`` last when ``with_format``; without
    it, a ``memory_format`` other than ``preserve_format`` is refused (the caller can't honour it).
    """
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    fmt = kwargs.pop("memory_format", None)
    if fmt is not None:
        from ._memory_format import check_format
        from ._more_numeric import preserve_format

        check_format("to", fmt)
        if not with_format and fmt is not preserve_format:
            raise NotImplementedError(f"to(): memory_format={fmt} is not supported here")
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a._device, a.dtype
        elif isinstance(a, _dt.dtype):
            dtype = a
        elif isinstance(a, (str, _device, int)) and not isinstance(a, bool):
            dev = a
        elif isinstance(a, bool):
            pass  # the positional non_blocking flag
        else:
            dtype = _dt.to_dtype(a)
    if dev is not None:
        dev = resolve(dev)
    if dtype is not None:
        dtype = _dt.to_dtype(dtype)
    return (dev, dtype, copy, fmt) if with_format else (dev, dtype, copy)


def copy_into(dst: Tensor, src: Tensor) -> Tensor:
    """``dst.copy_(src)``: ``src`` broadcast, cast and moved into ``dst``, differentiably."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(src).__name__}")
    if src._device != dst._device:
        src = src.to(dst._device)
    dst_shape, src_shape = dst._data.shape, src._data.shape
    if src_shape != dst_shape:
        out_shape = _broadcast_shape(dst_shape, src_shape)
        if out_shape != dst_shape:
            raise RuntimeError(f"output with shape {list(dst_shape)} doesn't match the "
                               f"broadcast shape {list(out_shape)}")
    return dst._inplace(_CopyFrom.apply, src)


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    """``np.broadcast_shapes`` with PyTorch's error text."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise RuntimeError(broadcast_mismatch(a, b)) from None


class _CopyFrom(Function):
    """``dst.copy_(src)`` as an op of (dst, src): the result is src broadcast into dst."""

    _array_level = True
    _backward_name = "CopyBackwards"

    @staticmethod
    def forward(ctx, dst, src):
        xp = array_module(device_of_array(dst))
        out = xp.empty_like(dst)
        out[...] = src  # broadcasts and casts (float -> int truncates, as PyTorch does)
        if ctx.needs_input_grad[1]:
            ctx.src_shape, ctx.src_dtype = src.shape, src.dtype
        return out

    @staticmethod
    def backward(ctx, grad):
        g_dst = grad * 0 if ctx.needs_input_grad[0] else None
        g_src = None
        if ctx.needs_input_grad[1]:
            g_src = unbroadcast(grad, ctx.src_shape).astype(ctx.src_dtype, copy=False)
        return g_dst, g_src


class Fill(Function):
    """``fill_(value)`` as an op of the filled tensor: the result no longer depends on it."""

    _array_level = True
    _backward_name = "FillBackward2"

    @staticmethod
    def forward(ctx, a, value):
        out = array_module(device_of_array(a)).empty_like(a)
        out[...] = value
        return out

    @staticmethod
    def backward(ctx, g):
        return g * 0, None


class Zero(Fill):
    _backward_name = "ZeroBackward0"


def fill_into(t: Tensor, value, zero: bool = False) -> Tensor:
    """``t.fill_(value)`` (``t.zero_()`` with ``zero``): write ``value`` everywhere, in place."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")
        value = value.item()
    if _GRAD.enabled and t.requires_grad:
        return t._inplace((Zero if zero else Fill).apply, value)
    arr = t._data
    if not array_writeable(arr) and overlapping(arr):
        raise RuntimeError(OVERLAP)
    return write_direct(t, lambda: arr.__setitem__(Ellipsis, value))
