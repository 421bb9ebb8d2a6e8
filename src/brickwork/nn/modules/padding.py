"""Padding layers: Zero/Constant/Reflection/Replication/CircularPad{1,2,3}d over ``F.pad``.

The reflect/replicate/circular layers check their input the way PyTorch's kernels do (rank,
empty dimensions, padding larger than the input, negative padding) before calling ``F.pad``,
so that the same inputs fail with the same messages.
"""
from __future__ import annotations

from collections.abc import Iterable

from ...ops.conv import pad as _pad
from ...tensor import Tensor
from ..module import Module

_UNSUPPORTED = ("Padding size {n} is not supported for {d}D input tensor.\n"
                "Supported combinations for non-constant padding:\n"
                "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _ntuple(padding, n: int) -> tuple:
    """PyTorch's ``_ntuple(n)``: an iterable is kept as given (its length is checked later, by
    ``F.pad``), a single number is repeated ``n`` times."""
    if isinstance(padding, Iterable) and not isinstance(padding, str):
        return tuple(padding)
    return (padding,) * n


def _too_small(mode: str, sizes: list, outs: list) -> RuntimeError:
    """PyTorch's "input is too small" error, in the exact wording of each kernel."""
    if len(sizes) == 1:
        return RuntimeError(f"input (W: {sizes[0]}) is too small. Calculated output W: {outs[0]}")
    if len(sizes) == 2:
        gap = " " if mode == "replicate" else ""  # PyTorch's replicate kernel has this space
        return RuntimeError(f"input (H: {sizes[0]}, W: {sizes[1]}{gap}) is too small. "
                            f"Calculated output H: {outs[0]} W: {outs[1]}")
    return RuntimeError(f"input (D: {sizes[0]} H: {sizes[1]}, W: {sizes[2]}) is too small. "
                        f"Calculated output D: {outs[0]} H: {outs[1]} W: {outs[2]}")


def _pad_non_constant(input: Tensor, padding: tuple, mode: str) -> Tensor:
    """``F.pad(input, padding, mode)`` for reflect/replicate/circular with PyTorch's checks,
    and negative amounts (crops) handled as PyTorch does."""
    padding = tuple(int(p) for p in padding)
    n, dim = len(padding) // 2, input.dim()
    if len(padding) % 2 or n > dim:
        return _pad(input, padding, mode)  # raises F.pad's own error
    if n not in (1, 2, 3) or dim not in (n + 1, n + 2):
        raise NotImplementedError(_UNSUPPORTED.format(n=len(padding), d=dim))
    shape = list(input.shape)
    axes = list(range(dim - n, dim))  # the padded axes, outermost first
    pairs = [(padding[2 * (dim - 1 - a)], padding[2 * (dim - 1 - a) + 1]) for a in axes]
    if mode == "circular":
        if any(lo > shape[a] or hi > shape[a] for a, (lo, hi) in zip(axes, pairs)):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if any(shape[a] + lo + hi < 0 for a, (lo, hi) in zip(axes, pairs)):
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
        # Circular padding crops first, then wraps around what is left.
        cropped = [s + min(lo, 0) + min(hi, 0) for s, (lo, hi) in zip(shape[dim - n:], pairs)]
        if any(max(lo, 0) > c or max(hi, 0) > c for c, (lo, hi) in zip(cropped, pairs)):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        out = _pad(input, tuple(min(p, 0) for p in padding), "constant")
        return _pad(out, tuple(max(p, 0) for p in padding), mode)
    first = 1 if dim == n + 2 else 0  # only a batch dimension may be empty
    if any(s == 0 for s in shape[first:]):
        raise RuntimeError(f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with possibly 0 "
                           f"batch size and other non-zero dimensions for input, but got: "
                           f"{shape}")
    if mode == "reflect":
        for k in range(n):  # the last dimension first, as PyTorch reports it
            a = dim - 1 - k
            lo, hi = padding[2 * k], padding[2 * k + 1]
            if lo >= shape[a] or hi >= shape[a]:
                raise RuntimeError(f"Argument #{4 + 2 * k}: Padding size should be less than "
                                   f"the corresponding input dimension, but got: padding ({lo}, "
                                   f"{hi}) at dimension {a} of input {shape}")
    outs = [shape[a] + lo + hi for a, (lo, hi) in zip(axes, pairs)]
    if all(o < 1 for o in outs) or any(o < 0 for o in outs):
        raise _too_small(mode, shape[dim - n:], outs)
    # Reflect and replicate index the whole input (a negative amount on one side does not move
    # the mirror on the other): pad the positive amounts, then crop the negative ones.
    out = _pad(input, tuple(max(p, 0) for p in padding), mode)
    if any(p < 0 for p in padding):
        out = _pad(out, tuple(min(p, 0) for p in padding), "constant")
    return out


class _ConstantPadNd(Module):
    """Base of the constant and zero padding layers."""

    __constants__ = ["padding", "value"]
    _n = 2

    def __init__(self, padding, value: float) -> None:
        super().__init__()
        self.value = value
        self.padding = _ntuple(padding, self._n)

    def forward(self, input: Tensor) -> Tensor:
        return _pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value``; ``padding`` is an int or ``(left, right)``.
    See: torch.nn.ConstantPad1d.
    """

    def __init__(self, padding: int | tuple, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dimensions with ``value``; ``padding`` is an int or
    ``(left, right, top, bottom)``.

    Example:
        >>> nn.ConstantPad2d(1, 3.5)(brickwork.zeros(1, 2, 2)).shape
        brickwork.Size([1, 4, 4])

    See: torch.nn.ConstantPad2d.
    """

    _n = 4

    def __init__(self, padding: int | tuple, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dimensions with ``value``; ``padding`` is an int or a 6-tuple.
    See: torch.nn.ConstantPad3d.
    """

    _n = 6

    def __init__(self, padding: int | tuple, value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(ConstantPad1d):
    """Pad the last dimension with zeros. See: torch.nn.ZeroPad1d."""

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dimensions with zeros. See: torch.nn.ZeroPad2d."""

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last three dimensions with zeros. See: torch.nn.ZeroPad3d."""

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _IndexPadNd(Module):
    """Base of the reflection, replication and circular padding layers."""

    __constants__ = ["padding"]
    _n = 2
    _mode = "reflect"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _ntuple(padding, self._n)

    def _check_input_dim(self, input: Tensor) -> None:
        """Only the circular layers check the rank themselves (with ValueError); the others
        leave it to the padding (NotImplementedError), as PyTorch does."""

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        return _pad_non_constant(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_IndexPadNd):
    """Pad the last dimension with its reflection (edge not repeated).

    Example:
        >>> nn.ReflectionPad1d(2)(brickwork.arange(4.0).reshape(1, 4)).tolist()
        [[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0]]

    See: torch.nn.ReflectionPad1d.
    """

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding)


class ReflectionPad2d(_IndexPadNd):
    """Pad the last two dimensions with their reflection. See: torch.nn.ReflectionPad2d."""

    _n = 4

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding)


class ReflectionPad3d(_IndexPadNd):
    """Pad the last three dimensions with their reflection. See: torch.nn.ReflectionPad3d."""

    _n = 6

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding)


class ReplicationPad1d(_IndexPadNd):
    """Pad the last dimension by repeating its edge values. See: torch.nn.ReplicationPad1d."""

    _mode = "replicate"

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding)


class ReplicationPad2d(_IndexPadNd):
    """Pad the last two dimensions by repeating their edges. See: torch.nn.ReplicationPad2d."""

    _n, _mode = 4, "replicate"

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding)


class ReplicationPad3d(_IndexPadNd):
    """Pad the last three dimensions by repeating their edges. See: torch.nn.ReplicationPad3d."""

    _n, _mode = 6, "replicate"

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding)


class _CircularPadNd(_IndexPadNd):
    """Base of the circular padding layers: wrap around, after checking the rank."""

    _mode = "circular"

    def _check_input_dim(self, input: Tensor) -> None:
        k = self._n // 2
        if input.dim() not in (k + 1, k + 2):
            raise ValueError(f"expected {k + 1}D or {k + 2}D input (got {input.dim()}D input)")


class CircularPad1d(_CircularPadNd):
    """Pad the last dimension by wrapping around. See: torch.nn.CircularPad1d."""

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding)


class CircularPad2d(_CircularPadNd):
    """Pad the last two dimensions by wrapping around. See: torch.nn.CircularPad2d."""

    _n = 4

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding)


class CircularPad3d(_CircularPadNd):
    """Pad the last three dimensions by wrapping around. See: torch.nn.CircularPad3d."""

    _n = 6

    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding)


__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d"]
