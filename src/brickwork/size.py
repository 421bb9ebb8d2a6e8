"""``Size``: the tuple subclass that ``Tensor.shape`` and ``Tensor.size()`` return."""
from __future__ import annotations


class Size(tuple):
    """A tensor's shape, printed ``brickwork.Size([2, 3])``. See: torch.Size."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"brickwork.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __reduce__(self):
        return (Size, (tuple(self),))
