"""The remaining small public names of the ``torch`` namespace, gathered from:

- ``_extra_torch``: the deprecated ``range``, ``unravel_index``, ``typename``,
  ``empty_permuted``, ``from_file``, DLPack, process-wide switches, build facts, error classes
- ``_extra_vmap``: eager ``vmap``, ``cond``, ``while_loop``
- ``_extra_streams``: device-generic ``Stream``/``Event``, eager ``Future``/``fork``/``wait``
"""
from __future__ import annotations

from .. import functional  # noqa: F401  (brickwork.functional: torch.functional's functions)
from . import _extra_streams, _extra_torch, _extra_vmap
from ._extra_streams import *  # noqa: F401,F403
from ._extra_torch import *  # noqa: F401,F403
from ._extra_vmap import *  # noqa: F401,F403


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` block is active. See: torch.is_inference_mode_enabled."""
    from ..autograd.grad_mode import INFERENCE

    return INFERENCE.enabled


TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__: list = (_extra_torch.__all__ + _extra_vmap.__all__ + _extra_streams.__all__
                 + ["is_inference_mode_enabled"])
