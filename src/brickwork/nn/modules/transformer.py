"""(placeholder: filled in by issue 16's work)"""
from __future__ import annotations

__all__: list = []
