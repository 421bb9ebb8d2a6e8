"""Placeholder: interpolate, fold and unfold in functional form."""
__all__: list = []
