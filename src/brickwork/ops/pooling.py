"""Placeholder: filled in by the layers work."""
TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__: list = []
