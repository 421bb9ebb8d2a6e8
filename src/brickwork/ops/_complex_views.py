"""The views between complex and real tensors: ``real``, ``imag``, ``view_as_real``,
``view_as_complex``; and the conjugate.

Each view returns a NumPy/CuPy view of its input's memory (``z.real`` of a complex array, or a
strided reinterpretation of it), marked as a view so that writes through either alias are seen
by both and the version counter is shared, as in PyTorch.

These views change the element type, which brickwork's view bookkeeping (regions of the base,
counted in elements, ``autograd/_views.py``) cannot describe. Their step classes carry
``_changes_dtype``: an in-place update through such a view that autograd would have to record
is refused with ``NotImplementedError`` (unrecorded updates, e.g. under ``no_grad`` or on
tensors that need no gradient, work and change the base).
"""
from __future__ import annotations

import numpy as np

from ..autograd._views import mark_view
from ..autograd.function import Function
from ..tensor import Tensor
from ._complex_grad import cj, imag_part, real_part
from ._util import xp_of

_COMPLEX_OF = {np.dtype(np.float32): np.dtype(np.complex64),
               np.dtype(np.float64): np.dtype(np.complex128)}


class _DtypeView(Function):
    _array_level = True
    _changes_dtype = True


class RealView(_DtypeView):
    _backward_name = "SelectBackward0"  # PyTorch takes real/imag as selects of view_as_real

    @staticmethod
    def forward(ctx, z):
        ctx.dtype = z.dtype
        return z.real

    @staticmethod
    def backward(ctx, g):
        # d real(z): the gradient is g itself, as a complex number with no imaginary part.
        return g.astype(ctx.dtype)


class ImagView(_DtypeView):
    _backward_name = "SelectBackward0"

    @staticmethod
    def forward(ctx, z):
        ctx.dtype = z.dtype
        return z.imag

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype) * 1j


class ViewAsReal(_DtypeView):
    _backward_name = "ViewAsRealBackward0"

    @staticmethod
    def forward(ctx, z):
        ctx.dtype = z.dtype
        r = z.real  # a view of the real parts; the imaginary part follows at +itemsize
        return xp_of(z).lib.stride_tricks.as_strided(r, z.shape + (2,),
                                                     r.strides + (r.itemsize,))

    @staticmethod
    def backward(ctx, g):
        return g[..., 0].astype(ctx.dtype) + g[..., 1].astype(ctx.dtype) * 1j


class ViewAsComplex(_DtypeView):
    _backward_name = "ViewAsComplexBackward0"

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        cdt, shape = _COMPLEX_OF[x.dtype], x.shape[:-1]
        if x.size == 0:
            return xp.zeros(shape, cdt)
        # The first (re, im) pair as one complex number, then x's own strides over the rest.
        first = x[(0,) * (x.ndim - 1)].view(cdt)
        return xp.lib.stride_tricks.as_strided(first, shape, x.strides[:-1])

    @staticmethod
    def backward(ctx, g):
        return xp_of(g).stack((real_part(g), imag_part(g)), axis=-1)


class Conj(Function):
    _array_level = True
    _backward_name = "ConjBackward0"

    @staticmethod
    def forward(ctx, z):
        return np.conjugate(z)

    @staticmethod
    def backward(ctx, g):
        return cj(g)


class ConjPhysical(Conj):
    _backward_name = "ConjPhysicalBackward0"


def real(input: Tensor) -> Tensor:
    """The real part, a view sharing ``input``'s memory (``input`` itself if it is real).

    Example:
        >>> z = brickwork.tensor([1 + 2j]); z.real[0] = 5; z
        tensor([5.+2.j])

    See: torch.real.
    """
    _check_tensor(input, "real")
    if input._data.dtype.kind != "c":
        return input
    return mark_view(RealView.apply(input), input, (RealView, ()))


def imag(input: Tensor) -> Tensor:
    """The imaginary part, a view sharing ``input``'s memory; real tensors raise, as PyTorch.

    See: torch.imag.
    """
    _check_tensor(input, "imag")
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return mark_view(ImagView.apply(input), input, (ImagView, ()))


def view_as_real(input: Tensor) -> Tensor:
    """A real view of a complex tensor with a last dimension of size 2 (real, imaginary).

    See: torch.view_as_real.
    """
    _check_tensor(input, "view_as_real")
    if input._data.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    if getattr(input, "_conj_bit", False):
        raise RuntimeError("view_as_real doesn't work on unresolved conjugated tensors.  To "
                           "resolve the conjugate tensor so you can view it as real, use "
                           "self.resolve_conj(); however, be warned that the resulting tensor "
                           "will NOT alias the original.")
    return mark_view(ViewAsReal.apply(input), input, (ViewAsReal, ()))


def view_as_complex(input: Tensor) -> Tensor:
    """A complex view of a float tensor whose last dimension (size 2, stride 1) holds
    (real, imaginary) pairs. See: torch.view_as_complex."""
    from ..tensor import _SCALAR_TYPE_NAMES

    _check_tensor(input, "view_as_complex")
    arr = input._data
    if arr.dtype not in _COMPLEX_OF:
        name = _SCALAR_TYPE_NAMES.get(arr.dtype.name, input.dtype.name)
        if arr.dtype == np.float16:  # complex32 exists in PyTorch, not in brickwork
            raise NotImplementedError("view_as_complex of a float16 tensor makes complex32, "
                                      "which brickwork does not support")
        raise RuntimeError("view_as_complex is only supported for half, float and double "
                           f"tensors, but got a tensor of scalar type: {name}")
    if arr.ndim == 0:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if arr.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    item = arr.itemsize
    if arr.strides[-1] != item:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * item) for s, n in zip(arr.strides[:-1], arr.shape[:-1]) if n > 1):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if _offset(input) % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return mark_view(ViewAsComplex.apply(input), input, (ViewAsComplex, ()))


def _offset(t: Tensor) -> int:
    """The storage offset in elements (0 unless ``t`` is a view into its root)."""
    base = t._base
    if base is None:
        return 0
    xp_addr = _address(t._data) - _address(base._data)
    return xp_addr // t._data.itemsize


def _address(arr) -> int:
    iface = getattr(arr, "__array_interface__", None) or arr.__cuda_array_interface__
    return iface["data"][0]


def conj(input: Tensor) -> Tensor:
    """The complex conjugate (``input`` itself for a real tensor). See: torch.conj.

    PyTorch returns a lazy view with its conjugate bit set; brickwork computes the conjugate
    (a copy) and sets the bit only as a mark, so ``is_conj()`` answers as PyTorch's does.
    """
    _check_tensor(input, "conj")
    if input._data.dtype.kind != "c":
        return input
    out = Conj.apply(input)
    if not getattr(input, "_conj_bit", False):  # conj(conj(z)) has the bit cleared again
        out._conj_bit = True
    return out


def conj_physical(input: Tensor) -> Tensor:
    """The complex conjugate, computed; ``input`` itself for a real tensor (as PyTorch).

    See: torch.conj_physical.
    """
    _check_tensor(input, "conj_physical")
    if input._data.dtype.kind != "c":
        return input
    return ConjPhysical.apply(input)


def _check_tensor(input, name: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
