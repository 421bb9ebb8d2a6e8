"""Placeholder: the schedulers of the second set, imported into ``lr_scheduler``."""
__all__: list = []
