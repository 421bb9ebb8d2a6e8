"""Placeholder: filled in by the ops work."""
TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__: list = []
