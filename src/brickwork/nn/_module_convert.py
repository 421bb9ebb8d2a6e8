"""Moving a module's parameters and buffers between dtypes and devices, in place.

``net.to(...)``, ``float()``, ``double()``, ``half()``, ``cpu()``, ``cuda()`` change each
parameter's data (``param.data = converted``) so Parameter objects keep their identity: an
optimizer built before the move still holds the right tensors. Gradients move along. Like
PyTorch, dtype conversions touch floating-point tensors only (``type()`` converts all).
"""
from __future__ import annotations

from .. import dtypes as _dt
from ..tensor import Tensor
from .parameter import is_lazy


def apply_to_tensors(self, fn, recurse: bool = True):
    """Replace the data of every parameter, buffer and gradient ``t`` by ``fn(t)``."""
    if recurse:
        for m in self.children():
            m._apply(fn, recurse)
    for p in self._parameters.values():
        if p is None or is_lazy(p):
            continue
        _rebind(p, fn(p.detach()))
        if p._grad is not None:
            _rebind(p._grad, fn(p._grad.detach()))
    for name, b in self._buffers.items():
        if b is not None and not is_lazy(b):
            _rebind(b, fn(b.detach()))
    return self


def _rebind(t: Tensor, new: Tensor) -> None:
    t._data = new._data
    t._device = new._device


def _parse(args, kwargs):
    from ..ops.conversion import parse_to_args

    return parse_to_args(args, dict(kwargs), with_format=True)


def to(self, *args, **kwargs):
    """Move parameters and buffers to a device and/or floating dtype, in place; returns self.

    Accepts ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` and keywords;
    ``memory_format`` re-lays out the 4-d and 5-d tensors (as PyTorch does).

    See: torch.nn.Module.to.
    """
    dev, dtype, _, fmt = _parse(args, kwargs)
    if dtype is not None and not dtype.is_floating_point:
        raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got "
                        f"desired dtype={dtype}")

    def convert(t: Tensor) -> Tensor:
        d = dtype if dtype is not None and t.is_floating_point() else None
        if fmt is not None and t.dim() in (4, 5):
            return t.to(device=dev, dtype=d, memory_format=fmt)
        return t.to(device=dev, dtype=d)

    for m in self.modules():
        _set_lazy_target(m, dev, dtype)
    return self._apply(convert)


def _set_lazy_target(module, dev, dtype) -> None:
    # Uninitialized parameters have no data to move: remember where they must be created.
    for p in list(module._parameters.values()) + list(module._buffers.values()):
        if p is not None and is_lazy(p):
            if dev is not None:
                p.__dict__["_device"] = dev
            if dtype is not None:
                p.__dict__["_lazy_dtype"] = dtype


def cpu(self):
    """Move every parameter and buffer to the CPU (in place); returns self."""
    return to(self, "cpu")


def cuda(self, device=None):
    """Move every parameter and buffer to a CUDA device (in place); returns self."""
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = f"cuda:{device}"
    return to(self, device)


def float_(self):
    """Cast floating-point parameters and buffers to float32; returns self."""
    return to(self, _dt.float32)


def double(self):
    """Cast floating-point parameters and buffers to float64; returns self."""
    return to(self, _dt.float64)


def half(self):
    """Cast floating-point parameters and buffers to float16; returns self."""
    return to(self, _dt.float16)


def bfloat16(self):
    """Cast floating-point parameters and buffers to bfloat16; returns self."""
    return to(self, _dt.bfloat16)


def type_(self, dst_type):
    """Cast every parameter and buffer to ``dst_type``; returns self."""
    dst = _dt.to_dtype(dst_type)
    return self._apply(lambda t: t.to(dst))


__all__: list = []
