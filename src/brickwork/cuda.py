"""``brickwork.cuda``: GPU queries and control, through CuPy when it is installed.

Without CuPy (or without a GPU) everything here answers as PyTorch does on a CPU-only machine:
``is_available()`` is False and ``device_count()`` is 0.
"""
from __future__ import annotations

from .device import cupy_module


def is_available() -> bool:
    """Whether a CUDA GPU can be used. See: torch.cuda.is_available."""
    return device_count() > 0


def device_count() -> int:
    """How many CUDA GPUs are visible (0 without CuPy or a GPU). See: torch.cuda.device_count."""
    cp = cupy_module()
    return cp.cuda.runtime.getDeviceCount() if cp is not None else 0


def manual_seed(seed: int) -> None:
    """Seed the current GPU's generator (device draws come from the CPU generator here)."""


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator. See: torch.cuda.manual_seed_all."""
