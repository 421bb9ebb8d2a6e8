"""glibc's malloc, kept from handing large arrays back to the kernel between training steps.

Every op returns a fresh NumPy array, so a training step frees and re-allocates the same few
megabyte-sized buffers each time. glibc serves blocks over its mmap threshold (dynamic,
128 KiB up to 32 MiB) with a fresh ``mmap`` and returns them with ``munmap``, and gives the top
of its heap back once more than its trim threshold is free: either way the next step touches
new pages, and each first touch is a page fault (a few hundred microseconds per megabyte,
more when two threads fault at once). PyTorch's CPU allocator keeps such memory.

At import brickwork sets the mmap threshold to glibc's maximum (32 MiB) and the trim threshold
to 256 MiB, so freed blocks of up to 32 MiB stay in the heap for the next step. Measured on
2 cores: the LeNet step at batch 128, 29-34 ms -> 19.5-21 ms; batch norm forward+backward on
(32, 64, 32, 32), 17.4 -> 11.7 ms; peak memory of the LeNet step unchanged (40 MB). The cost
is that up to 256 MiB freed at the top of the heap stays with the process.

It is skipped where the process set ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` or
``GLIBC_TUNABLES`` itself, with ``BRICKWORK_MALLOC_TUNING=0``, and off glibc.
"""
from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's upper limit on 64-bit systems
TRIM_THRESHOLD = 256 << 20
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def tune() -> bool:
    """Apply the thresholds above; True when glibc took them."""
    if os.environ.get("BRICKWORK_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith(
            "linux") or any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, or no libc.so.6)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
