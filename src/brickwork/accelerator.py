"""Placeholder: filled in by the work on the rest of the torch namespace."""
__all__: list = []
