"""``resize_``, ``resize_as_``, the deprecated ``resize``/``resize_as``, ``set_`` and
``is_set_to``.

brickwork's storage is a root tensor's array (see ``autograd/_views.py``): a root tensor
resized within the buffer it was made with takes a view of that buffer (so resizing back finds
the old values, as PyTorch's storage keeps them); one that outgrows it gets a new buffer with
the old elements at its front (PyTorch leaves the rest uninitialized; here it is zero). A view
is resized inside its root's array, and may not outgrow it. Views of a resized root keep
reading the memory they were made on (after a new buffer, the old one: PyTorch's would follow
the storage).
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd._views import _new_node, bump, check_inplace, counter, root_of
from ..autograd.function import Function
from ..autograd.grad_mode import STATE as _GRAD
from ..tensor import Tensor, _make, _size_args
from ._extra_storage import _address, _owner
from ._util import xp_of
from .shape import View

_C_TYPE_NAMES = {  # PyTorch's set_ error names the C++ element types
    "float16": "c10::Half", "float32": "float", "float64": "double", "int8": "signed char",
    "int16": "short int", "int32": "int", "int64": "long int", "uint8": "unsigned char",
    "bool": "bool", "complex64": "c10::complex<float>", "complex128": "c10::complex<double>",
}


def _check_format(memory_format, ndim: int) -> None:
    from ._more_numeric import contiguous_format, preserve_format

    if memory_format is None or memory_format is contiguous_format:
        return
    if memory_format is preserve_format:
        raise RuntimeError("unsupported memory format option Preserve")
    raise NotImplementedError(f"resize_: memory_format={memory_format} is not supported: "
                              f"brickwork's resized tensors are row-major (rank {ndim})")


def resize_(self: Tensor, *sizes, memory_format=None) -> Tensor:
    """Give ``self`` the shape ``sizes`` with row-major strides, keeping its first elements.

    Args:
        sizes: the new shape (varargs or one tuple).
        memory_format: ``None`` or ``contiguous_format`` (the only layout brickwork resizes to).

    Raises:
        RuntimeError: on a tensor that requires grad, as PyTorch.
        NotImplementedError: when a view would outgrow its root's array.

    See: torch.Tensor.resize_.
    """
    shape = _size_args(sizes, "resize_")
    _check_format(memory_format, len(shape))
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    if shape == self._data.shape:
        return self
    n = int(np.prod(shape))
    if self._base is not None:
        from .strided import storage_offset_of

        from ._extra_inplace import _view_inplace

        offset = storage_offset_of(self)
        if offset + n > root_of(self)._data.size:
            raise NotImplementedError("resize_: this view would outgrow its base's storage, "
                                      "which brickwork cannot enlarge under a live base")
        strides = tuple(int(np.prod(shape[i + 1:])) for i in range(len(shape)))
        return _view_inplace(self, lambda t: t.as_strided(shape, strides, offset), None,
                             "AsStridedBackward1")
    data = self._data
    owner = _owner(data)
    xp = xp_of(data)
    if (owner.flags.c_contiguous and _address(owner) == _address(data)
            and owner.size * owner.itemsize >= n * data.itemsize and owner.dtype == data.dtype):
        new = owner.reshape(-1)[:n].reshape(shape)
    else:
        new = xp.zeros(n, dtype=data.dtype)
        old = data.reshape(-1) if data.flags.c_contiguous else xp.ascontiguousarray(data)
        old = old.reshape(-1)
        k = min(n, old.size)
        new[:k] = old[:k]
        new = new.reshape(shape)
    _detach_aliasing(self)  # live views keep their memory, now apart from self's history
    self._data = new
    bump(self)
    return self


def resize_as_(self: Tensor, the_template: Tensor, *, memory_format=None) -> Tensor:
    """``resize_`` to the shape of ``the_template``. See: torch.Tensor.resize_as_."""
    return resize_(self, tuple(the_template._data.shape), memory_format=memory_format)


class _Resize(View):
    """The deprecated out-of-place resize: a reshape of a contiguous copy, same element count.

    Its backward is ``View``'s (reshape back); only the forward copies.
    """

    _backward_name = "ResizeBackward"

    @staticmethod
    def forward(ctx, a, sizes):
        ctx.in_shape = a.shape
        return xp_of(a).ascontiguousarray(a).copy().reshape(sizes)


def _resize_out_of_place(self: Tensor, sizes: tuple) -> Tensor:
    n = int(np.prod(sizes))
    if self._data.size != n:
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, sizes))} ({n} elements in total), but the "
            f"given tensor has a size of {'x'.join(map(str, self._data.shape))} "
            f"({self._data.size} elements). autograd's resize can only change the shape of a "
            "given tensor, while preserving the number of elements. ")
    return _Resize.apply(self, tuple(sizes))


def resize(self: Tensor, *sizes) -> Tensor:
    """Deprecated: a reshaped copy with the same number of elements (warns as PyTorch).

    See: torch.Tensor.resize.
    """
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    return _resize_out_of_place(self, _size_args(sizes, "resize"))


def resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    """Deprecated: ``resize`` to ``tensor``'s shape (warns as PyTorch).

    See: torch.Tensor.resize_as.
    """
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    return _resize_out_of_place(self, tuple(tensor._data.shape))


class _SetNotDifferentiable(Function):
    """The history ``set_`` leaves under autograd: PyTorch has no derivative for it."""

    _backward_name = "NotImplemented"

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for set_ is not implemented")


_SetNotDifferentiable._node_cls.name = lambda self: "torch::autograd::NotImplemented"


def set_(self: Tensor, source: Tensor | None = None) -> Tensor:
    """Make ``self`` share ``source``'s memory, shape and strides (``set_()``: empty).

    Only the tensor forms exist: brickwork has no separate storage objects.

    See: torch.Tensor.set_.
    """
    if source is not None and not isinstance(source, Tensor):
        raise TypeError(f"set_() received an invalid combination of arguments - got "
                        f"({type(source).__name__}), but expected one of: (), "
                        f"(Tensor source)")
    if source is None:
        new = xp_of(self._data).zeros((0,), dtype=self._data.dtype)
    else:
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(f"Could not set tensor of type "
                               f"{_C_TYPE_NAMES.get(source._data.dtype.name)} to a tensor of "
                               f"type {_C_TYPE_NAMES.get(self._data.dtype.name)}")
        if source._device != self._device:
            raise RuntimeError(f"Attempted to call `variable.set_data(tensor)`, but `variable` "
                               f"and `tensor` are on different devices: {self._device} and "
                               f"{source._device}")
        new = source._data
    tracked = _GRAD.enabled and (self.requires_grad or (
        source is not None and source.requires_grad))
    if tracked:
        check_inplace(self)
    vc = counter(self)
    _detach_aliasing(self)
    self._data = new
    self._vc = vc
    if tracked:
        node = _new_node(_SetNotDifferentiable, ((None, 0),), ((new.shape, self.dtype),),
                         (True,))
        self.grad_fn, self._output_nr, self._requires_grad = node, 0, True
    bump(self)
    return self


def _detach_aliasing(self: Tensor) -> None:
    """Before ``self`` takes other memory: it stops being a view, and its own live views move
    to a stand-in holding its old memory and history (they keep reading it, as in PyTorch)."""
    base = self._base
    if base is not None:
        if base._views is not None:
            base._views[:] = [r for r in base._views if r() is not self]
        self._base, self._view_steps, self._view_meta = None, (), 0
    views = self._views
    if views is not None and any(r() is not None for r in views):
        old = _make(self._data, self._device)
        old.grad_fn, old._output_nr = self.grad_fn, self._output_nr
        old._requires_grad, old._accum, old._vc = self._requires_grad, self._accum, self._vc
        for ref in views:
            w = ref()
            if w is not None:
                w._base = old
        old._views = views
    self._views = None


def is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """Whether both tensors are the same memory with the same shape, strides and dtype.

    See: torch.Tensor.is_set_to.
    """
    a, b = self._data, tensor._data
    return (self._device == tensor._device and a.dtype == b.dtype and a.shape == b.shape
            and a.strides == b.strides and _address(a) == _address(b))


TENSOR_METHODS: dict = {"resize_": resize_, "resize_as_": resize_as_, "resize": resize,
                        "resize_as": resize_as, "set_": set_, "is_set_to": is_set_to}
__all__: list = ["resize_as_"]
