"""Padding layers: Zero/Constant/Reflection/Replication/CircularPad{1,2,3}d over ``F.pad``.

``F.pad`` checks reflect/replicate/circular input the way PyTorch's kernels do
(``ops/_pad_checks.py``), so the layers and the function fail alike.
"""
from __future__ import annotations

from ...ops.conv import pad as _pad
from ...tensor import Tensor
from ..module import Module
from ._utils import _ntuple


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
        return _pad(input, self.padding, self._mode)

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
