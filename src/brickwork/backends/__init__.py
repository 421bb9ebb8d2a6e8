"""``brickwork.backends``: the switches PyTorch keeps per computing library.

brickwork computes with NumPy on the CPU and CuPy on NVIDIA GPUs. The submodules answer
PyTorch's questions about the libraries PyTorch uses (cuDNN, MPS, oneDNN, OpenMP, MKL) for
brickwork's backends, and accept PyTorch's switches; each documents which switches have no
effect here and why.

See: torch.backends.
"""
from __future__ import annotations

import types

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp"]


def _check_bool(setter: str, value) -> None:
    """PyTorch's check on its boolean switches (RuntimeError, naming its C++ setter)."""
    if not isinstance(value, bool):
        raise RuntimeError(f"{setter} expects a bool, but got {type(value).__name__}")


class _SwitchModule(types.ModuleType):
    """A module whose boolean switches are validated on assignment, as PyTorch's are."""

    _SETTERS: dict = {}  # switch name -> PyTorch's setter name, for the error message

    def __setattr__(self, name: str, value) -> None:
        setter = self._SETTERS.get(name)
        if setter is not None:
            _check_bool(setter, value)
        super().__setattr__(name, value)


# After _SwitchModule: cudnn builds on it.
from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp  # noqa: E402,F401
