"""Placeholder: the optimizers of the second set, imported into ``optim``."""
__all__: list = []
