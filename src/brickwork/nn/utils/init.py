"""``skip_init``: build a module without caring about its initial values.

See: torch.nn.utils.init.
"""
from __future__ import annotations

import inspect
from typing import Any

from ..module import Module


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    """Instantiate ``module_cls(*args, **kwargs)`` whose parameter values are to be overwritten.

    PyTorch builds the module on the ``meta`` device and then allocates uninitialized memory.
    brickwork has no meta device, so the module is built directly on ``device`` (default
    ``'cpu'``) and its values, like PyTorch's, must be treated as unspecified.

    Args:
        module_cls: a Module class whose constructor accepts ``device``.
        *args: positional arguments for the constructor.
        **kwargs: keyword arguments for the constructor.

    Example:
        >>> m = skip_init(nn.Linear, 5, 1)
        >>> m.weight.shape
        brickwork.Size([1, 5])

    See: torch.nn.utils.skip_init.
    """
    if not isinstance(module_cls, type) or not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs["device"] = kwargs.pop("device", "cpu")
    return module_cls(*args, **kwargs)


__all__ = ["skip_init"]
