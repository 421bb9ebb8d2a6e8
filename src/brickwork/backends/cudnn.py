"""``brickwork.backends.cudnn``: cuDNN's switches. brickwork does not call cuDNN.

Its GPU convolutions and recurrent layers are CuPy array code, so ``is_available()`` is False
and ``version()`` None, and the switches change nothing: ``benchmark`` (there are no cuDNN
algorithms to try), ``allow_tf32`` (convolutions compute in full float32), ``enabled``, and
``deterministic`` (see ``use_deterministic_algorithms`` for which GPU ops are not). They are
stored, validated and read back as in PyTorch, so programs that set them run unchanged.

See: torch.backends.cudnn.
"""
from __future__ import annotations

import contextlib
import sys

from . import _SwitchModule

__all__ = ["is_available", "version", "is_acceptable", "flags", "enabled", "benchmark",
           "benchmark_limit", "deterministic", "allow_tf32"]

enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """Always False: brickwork does not use cuDNN. See: torch.backends.cudnn.is_available."""
    return False


def version() -> int | None:
    """None: brickwork does not use cuDNN. See: torch.backends.cudnn.version."""
    return None


def is_acceptable(tensor) -> bool:
    """Always False: cuDNN never runs here, so ``tensor`` is ignored.

    See: torch.backends.cudnn.is_acceptable.
    """
    return False


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10,
          deterministic: bool = False, allow_tf32: bool = True):
    """Set the switches inside a ``with`` block, then restore them.

    See: torch.backends.cudnn.flags.
    """
    module = sys.modules[__name__]
    saved = {name: getattr(module, name) for name in
             ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")}
    new = {"enabled": enabled, "benchmark": benchmark, "benchmark_limit": benchmark_limit,
           "deterministic": deterministic, "allow_tf32": allow_tf32}
    try:
        for name, value in new.items():
            setattr(module, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


class _CudnnModule(_SwitchModule):
    _SETTERS = {"enabled": "set_enabled_cudnn", "benchmark": "set_benchmark_cudnn",
                "deterministic": "set_deterministic_cudnn", "allow_tf32": "set_allow_tf32_cudnn"}


sys.modules[__name__].__class__ = _CudnnModule
