"""``brickwork.backends.cuda``: cuBLAS switches and whether the GPU backend is built in.

The matmul switches permit reduced-precision arithmetic; they never require it. brickwork's GPU
matmuls run through CuPy in its default mode, which computes float32 products in full float32
(no TF32) and accumulates float16 products in float32, so every setting gives the results of
the strictest one. They are stored, validated and read back as in PyTorch.

See: torch.backends.cuda.
"""
from __future__ import annotations

import importlib.util

from .. import _settings

__all__ = ["is_built", "matmul"]


def is_built() -> bool:
    """Whether brickwork's CUDA backend, CuPy, is installed (a GPU may still be missing).

    See: torch.backends.cuda.is_built.
    """
    from ..device import cupy_module

    return cupy_module() is not None or importlib.util.find_spec("cupy") is not None


class cuBLASModule:  # noqa: N801 - PyTorch's class name
    """``backends.cuda.matmul``: ``allow_tf32``, ``allow_fp16_reduced_precision_reduction``
    and ``allow_bf16_reduced_precision_reduction``. Unknown names raise AttributeError.

    ``allow_tf32`` is the float32 matmul precision seen as a bool (True for ``'high'`` or
    ``'medium'``), as in PyTorch.
    """

    _REDUCTIONS = ("allow_fp16_reduced_precision_reduction",
                   "allow_bf16_reduced_precision_reduction")

    def __init__(self) -> None:
        object.__setattr__(self, "_reduction", {name: True for name in self._REDUCTIONS})

    def __getattr__(self, name: str):
        if name == "allow_tf32":
            return _settings.get_float32_matmul_precision() != "highest"
        if name in self._REDUCTIONS:
            return self._reduction[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name: str, value) -> None:
        if name == "allow_tf32":
            if not isinstance(value, bool):
                raise RuntimeError(f"set_allow_tf32_cublas expects a bool, but got "
                                   f"{type(value).__name__}")
            _settings.set_float32_matmul_precision("high" if value else "highest")
        elif name in self._REDUCTIONS:
            # PyTorch also takes (allow_reduced_precision, allow_splitk); split-K has no
            # meaning without cuBLAS's reduced-precision kernels, so only the first is kept.
            flags = value if isinstance(value, (tuple, list)) else (value,)
            if not flags or len(flags) > 2 or not all(isinstance(f, bool) for f in flags):
                raise TypeError(f"{name} expects a bool or a tuple/list of bools, but got "
                                f"{type(value)}")
            self._reduction[name] = flags[0]
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = cuBLASModule()
