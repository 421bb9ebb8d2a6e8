"""The thread count of NumPy's bundled OpenBLAS, reached through ctypes.

Kernels that split their own work over threads (``nn/_sdpa_kernel.py``) run many small GEMMs
at once; letting OpenBLAS also spread each of those over every core makes the calls queue on
its one thread server and spin on each other. ``single_threaded()`` turns OpenBLAS to one thread
for such a section and back afterwards. This is what ``threadpoolctl`` does, reduced to the one
library NumPy's wheels ship (``numpy.libs``/``.dylibs``); with any other BLAS (MKL, Accelerate)
the functions are not found and nothing changes.
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading

_NAMES = ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads",
          "openblas_{}_num_threads64_", "openblas_{}_num_threads")
_state: dict = {}
_lock = threading.Lock()
_depth = [0]


def _functions():
    """``(get, set)`` of the OpenBLAS NumPy loaded, or None."""
    if "fns" in _state:
        return _state["fns"]
    fns = None
    import numpy as np

    root = os.path.dirname(np.__file__)
    for path in (glob.glob(os.path.join(os.path.dirname(root), "numpy.libs", "*openblas*"))
                 + glob.glob(os.path.join(root, ".dylibs", "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)  # already loaded by NumPy: the same handle
        except OSError:
            continue
        for name in _NAMES:
            get = getattr(lib, name.format("get"), None)
            set_ = getattr(lib, name.format("set"), None)
            if get is not None and set_ is not None:
                get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                fns = (get, set_)
                break
        if fns:
            break
    _state["fns"] = fns
    return fns


@contextlib.contextmanager
def single_threaded():
    """Run the block with OpenBLAS on one thread (nested and concurrent uses are counted: the
    old count comes back when the last one leaves)."""
    fns = _functions()
    if fns is None:
        yield
        return
    get, set_ = fns
    with _lock:
        if _depth[0] == 0:
            _state["saved"] = get()
            set_(1)
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0:
                set_(_state["saved"])
