"""Convert the weights of every (transposed) convolution in a model to a memory format.

See: torch.nn.utils.memory_format.
"""
from __future__ import annotations

from typing import Any, TypeVar

from ..module import Module

import brickwork as _bw

_M = TypeVar("_M", bound=Module)


def _convert(module: Module, memory_format: Any, classes: tuple) -> None:
    if isinstance(module, classes):
        # .data keeps the Parameter object (and any optimizer's reference to it)
        module.weight.data = module.weight.detach().clone(memory_format=memory_format)
    for child in module.children():
        _convert(child, memory_format, classes)


def convert_conv2d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    """Give every ``Conv2d``/``ConvTranspose2d`` weight in ``module`` the ``memory_format``
    (e.g. ``brickwork.channels_last``); returns ``module``.

    See: torch.nn.utils.convert_conv2d_weight_memory_format.
    """
    _convert(module, memory_format, (_bw.nn.Conv2d, _bw.nn.ConvTranspose2d))
    return module


def convert_conv3d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    """Give every ``Conv3d``/``ConvTranspose3d`` weight in ``module`` the ``memory_format``
    (e.g. ``brickwork.channels_last_3d``); returns ``module``.

    See: torch.nn.utils.convert_conv3d_weight_memory_format.
    """
    _convert(module, memory_format, (_bw.nn.Conv3d, _bw.nn.ConvTranspose3d))
    return module


__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]
