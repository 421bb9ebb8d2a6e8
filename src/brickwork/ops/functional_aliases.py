"""Op family placeholder: filled in by the work on the rest of the torch namespace."""
from __future__ import annotations

TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__: list = []
