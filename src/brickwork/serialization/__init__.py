"""Saving and loading tensors and state dicts (placeholder until the files work lands)."""


def save(obj, f, *args, **kwargs):
    raise NotImplementedError("brickwork.save is not implemented yet")


def load(f, *args, **kwargs):
    raise NotImplementedError("brickwork.load is not implemented yet")
