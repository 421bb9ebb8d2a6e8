"""Dropout: zero random elements while training; the identity in eval mode."""
from __future__ import annotations

from ...ops.activation_extra import dropout
from ...tensor import Tensor
from ..module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training mode, scaling the rest by
    ``1 / (1 - p)``; do nothing after ``eval()``.

    Example:
        >>> drop = nn.Dropout(0.5)
        >>> drop.eval()(x) is x
        True

    See: torch.nn.Dropout.
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)


__all__ = ["Dropout"]
