"""The hook-based weight normalization (``weight_g``/``weight_v``), PyTorch's older API.

A forward pre-hook recomputes ``module.weight = g * v / ||v||`` before every call; ``weight``
itself is then a plain attribute, not a parameter. The parametrization-based
``parametrizations.weight_norm`` is the recommended replacement, as in PyTorch.

See: torch.nn.utils.weight_norm.
"""
from __future__ import annotations

import warnings
from typing import Any, TypeVar

from ..module import Module
from ..parameter import Parameter, is_lazy
from .parametrizations import _weight_norm

import brickwork as _bw


class WeightNorm:
    """The forward pre-hook behind ``weight_norm``. See: torch.nn.utils.weight_norm.WeightNorm."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int) -> None:
        if dim is None:
            dim = -1
        self.name = name
        self.dim = dim

    def compute_weight(self, module: Module) -> Any:
        """``g * v / ||v||`` from the module's ``<name>_g`` and ``<name>_v``."""
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int) -> "WeightNorm":
        """Split ``module.<name>`` into ``<name>_g`` and ``<name>_v`` and install the hook."""
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning,
                      stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError("Cannot register two weight_norm hooks on the same parameter "
                                   f"{name}")
        if dim is None:
            dim = -1
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if is_lazy(weight):
            raise ValueError("The module passed to `WeightNorm` can't have uninitialized "
                             "parameters. Make sure to run the dummy forward before applying "
                             "weight normalization")
        del module._parameters[name]
        module.register_parameter(name + "_g",
                                  Parameter(_bw.norm_except_dim(weight, 2, dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        """Turn ``<name>`` back into a Parameter holding its current value."""
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module: Module, inputs: Any) -> None:
        """The forward pre-hook: recompute ``module.<name>``."""
        setattr(module, self.name, self.compute_weight(module))


T_module = TypeVar("T_module", bound=Module)


def weight_norm(module: T_module, name: str = "weight", dim: int = 0) -> T_module:
    """Split ``module.<name>`` into a magnitude ``<name>_g`` and a direction ``<name>_v``.

    ``weight = g * v / ||v||`` with the norm over every dim but ``dim`` (all when None),
    recomputed before each forward.

    Example:
        >>> m = weight_norm(nn.Linear(20, 40), name="weight")
        >>> m.weight_g.shape, m.weight_v.shape
        (brickwork.Size([40, 1]), brickwork.Size([40, 20]))

    See: torch.nn.utils.weight_norm.
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo ``weight_norm``: ``<name>`` becomes a Parameter again, with its current value.

    See: torch.nn.utils.remove_weight_norm.
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")


__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]
