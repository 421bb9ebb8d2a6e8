"""(placeholder: filled in by issue 15's work)"""
from __future__ import annotations

TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__: list = []
