"""Type information and predicates: finfo, iinfo, can_cast, is_* predicates, and the
complex-number views (real, imag, conj, ...) as PyTorch defines them for real tensors (brickwork
has no complex dtypes, so they are identities or raise as PyTorch does for real input)."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from ._bf16 import float32_compute

builtins_type = type  # the parameter named ``type`` (PyTorch's name) shadows the builtin


def _dtype_arg(type, name: str):  # noqa: A002 - PyTorch's parameter name
    if type is None:
        return _dt.get_default_dtype()
    if not isinstance(type, _dt.dtype):
        raise TypeError(f"{name}(): argument 'type' (position 1) must be torch.dtype, not "
                        f"{builtins_type(type).__name__}")
    return type



class finfo:
    """Numerical properties of a floating-point dtype (the default one without argument).

    Attributes: bits, eps, max, min, tiny, smallest_normal, resolution, dtype.
    See: torch.finfo.
    """

    def __init__(self, type=None) -> None:  # noqa: A002 - PyTorch's parameter name
        d = _dtype_arg(type, "finfo")
        d = d.to_real()  # a complex dtype's numbers are its real parts' (PyTorch)
        if not d.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        info = np.finfo(d.np)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # PyTorch: exactly 10**-digits
        self.dtype = d.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Numerical properties of an integer dtype: bits, max, min, dtype. See: torch.iinfo."""

    def __init__(self, type) -> None:  # noqa: A002 - PyTorch's parameter name
        d = _dtype_arg(type, "iinfo")
        if d is _dt.bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if d.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(d.np)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = d.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def can_cast(from_: _dt.dtype, to: _dt.dtype) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` -> ``to`` in type promotion: no float
    to integer, no non-bool to bool. See: torch.can_cast."""
    if from_.is_complex and not to.is_complex:  # nor complex to real
        return False
    if from_.is_floating_point and not (to.is_floating_point or to.is_complex):
        return False
    return not (from_ is not _dt.bool and to is _dt.bool)


def is_signed(input: Tensor) -> bool:
    """Whether the dtype is signed (not uint8 or bool). See: torch.is_signed."""
    return input.dtype.is_signed


def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor. See: torch.is_nonzero."""
    if input.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.reshape(-1)._data[0])


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether two tensors have the same shape. See: torch.is_same_size."""
    return tuple(input.shape) == tuple(other.shape)


def is_inference(input: Tensor) -> bool:
    """Whether ``input`` was made in inference mode. brickwork has no inference tensors
    (``inference_mode`` behaves as ``no_grad``), so this is False. See: torch.is_inference."""
    return False if isinstance(input, Tensor) else _not_tensor("is_inference", input)


def _not_tensor(name: str, value):
    raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                    f"{builtins_type(value).__name__}")


def is_neg(input: Tensor) -> bool:
    """Whether the negative bit is set: never in brickwork. See: torch.is_neg."""
    return False if isinstance(input, Tensor) else _not_tensor("is_neg", input)


def _identity(name: str, doc: str):
    def fn(input: Tensor) -> Tensor:
        return input if isinstance(input, Tensor) else _not_tensor(name, input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + f" See: torch.{name}."
    return fn


resolve_neg = _identity("resolve_neg", "``input`` with its negative bit materialised: "
                                       "``input`` itself, the bit is never set.")


@float32_compute
def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix (integers sum to int64). See: torch.trace."""
    if input.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.dim()}")
    return input.diagonal().sum()


def isposinf(input: Tensor) -> Tensor:
    """Where elements are +inf. See: torch.isposinf."""
    return input == float("inf") if input.dtype.is_floating_point else input != input


def isneginf(input: Tensor) -> Tensor:
    """Where elements are -inf. See: torch.isneginf."""
    return input == float("-inf") if input.dtype.is_floating_point else input != input


def isreal(input: Tensor) -> Tensor:
    """Where elements have zero imaginary part: everywhere for a real tensor. See: torch.isreal.
    """
    from ..factories import ones_like

    if input._data.dtype.kind == "c":
        return input.imag == 0
    return ones_like(input, dtype=_dt.bool)


def detach(input: Tensor) -> Tensor:
    """A view of ``input`` outside autograd. See: torch.detach."""
    return input.detach()


def fill(input: Tensor, value) -> Tensor:
    """A copy of ``input`` filled with ``value`` (no gradient reaches ``input``).

    See: torch.fill.
    """
    return input.clone().fill_(value)


def get_device(input: Tensor) -> int:
    """The GPU index of ``input``, -1 on the CPU. See: torch.get_device."""
    return input.get_device()


# (is_complex, is_conj, real, imag, conj, conj_physical, resolve_conj and adjoint, which know
# complex tensors, are in complex_ops.py.)
__all__ = ["finfo", "iinfo", "can_cast", "is_signed", "is_nonzero", "is_same_size",
           "is_inference", "is_neg", "resolve_neg", "trace", "isposinf", "isneginf", "isreal",
           "detach", "fill", "get_device"]
