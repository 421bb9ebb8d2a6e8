"""Small helpers the layer families share."""
from __future__ import annotations

from collections.abc import Iterable


def _ntuple(v, n: int) -> tuple:
    """PyTorch's ``_ntuple(n)``: an iterable (not a string such as ``'same'``) becomes a tuple as
    given, its length checked by the function it reaches; a single value is repeated ``n``
    times."""
    if isinstance(v, Iterable) and not isinstance(v, str):
        return tuple(v)
    return (v,) * n
