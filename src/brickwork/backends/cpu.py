"""``brickwork.backends.cpu``: the CPU's vector instruction level.

See: torch.backends.cpu.
"""
from __future__ import annotations

import platform

__all__ = ["get_cpu_capability"]


def get_cpu_capability() -> str:
    """The widest vector instruction set the CPU offers, in PyTorch's names.

    ``"AVX512"`` (AVX-512 F, VL, BW and DQ), ``"AVX2"`` or ``"DEFAULT"`` on x86; ``"DEFAULT"``
    elsewhere. Read from NumPy's CPU feature detection, which decides which of NumPy's SIMD
    kernels run.

    See: torch.backends.cpu.get_cpu_capability.
    """
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy 1.x keeps it in numpy.core
        from numpy.core._multiarray_umath import __cpu_features__ as features
    if platform.machine().lower() in ("x86_64", "amd64", "i686", "x86"):
        if all(features.get(f) for f in ("AVX512F", "AVX512VL", "AVX512BW", "AVX512DQ")):
            return "AVX512"
        if features.get("AVX2") and features.get("FMA3"):
            return "AVX2"
    return "DEFAULT"
