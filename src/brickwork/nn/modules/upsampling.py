"""Placeholder: filled in by the module family it is named for."""
__all__: list = []
