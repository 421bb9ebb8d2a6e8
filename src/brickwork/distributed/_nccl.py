"""NCCL transport for CUDA tensors (placeholder until the NCCL communicator lands)."""
from __future__ import annotations


def available() -> bool:
    """True when CuPy with NCCL support is installed."""
    try:
        from cupy.cuda import nccl
    except Exception:  # noqa: BLE001  (no CuPy, or CuPy built without NCCL)
        return False
    return getattr(nccl, "available", True) is not False
