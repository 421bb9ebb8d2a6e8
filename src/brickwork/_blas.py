"""NumPy's bundled OpenBLAS reached through ctypes: its thread count, and GEMMs that
accumulate into a strided output.

Kernels that split their own work over threads (``nn/_sdpa_kernel.py``) run many small GEMMs
at once; letting OpenBLAS also spread each of those over every core makes the calls queue on
its one thread server and spin on each other. ``single_threaded()`` turns OpenBLAS to one thread
for such a section and back afterwards. This is what ``threadpoolctl`` does, reduced to the one
library NumPy's wheels ship (``numpy.libs``/``.dylibs``); with any other BLAS (MKL, Accelerate)
the functions are not found and nothing changes.

``gemm_into(a, b, out, accumulate)`` is ``out (+)= a @ b`` with BLAS's own ``beta``: NumPy's
``matmul`` can only write a fresh product, so summing k GEMMs into one array (a convolution's
kernel offsets) costs k temporaries and k extra passes over the output, and writing into a
column window of a wider array costs a copy. Through ``cblas_?gemm`` the product is added in
place, on row-strided views. Without OpenBLAS it falls back to NumPy (same values up to the
order of the additions).
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


def _libraries() -> list:
    """The OpenBLAS libraries bundled with NumPy that load, as ctypes handles (cached)."""
    if "libs" in _state:
        return _state["libs"]
    import numpy as np

    root = os.path.dirname(np.__file__)
    libs = []
    for path in (glob.glob(os.path.join(os.path.dirname(root), "numpy.libs", "*openblas*"))
                 + glob.glob(os.path.join(root, ".dylibs", "*openblas*"))):
        try:
            libs.append(ctypes.CDLL(path))  # already loaded by NumPy: the same handle
        except OSError:
            continue
    _state["libs"] = libs
    return libs


def _functions():
    """``(get, set)`` of the OpenBLAS NumPy loaded, or None."""
    if "fns" in _state:
        return _state["fns"]
    fns = None
    for lib in _libraries():
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


# After each threaded call OpenBLAS's worker threads spin for 2**THREAD_TIMEOUT cycles before
# they sleep: 2**28 by default, about 0.1 s. A training step calls BLAS every few milliseconds
# with NumPy passes in between, so a worker spins through every elementwise op and takes a core
# from the op's second thread (``_parallel.py``). 2**20 cycles (about 0.3 ms) keeps them warm
# between back-to-back GEMMs and lets them sleep through the rest. Training steps on 2 cores,
# medians of 6 interleaved rounds: AlexNet 617 -> 584 ms, ResNet-18 791 -> 769 ms, the MLP
# 1.55 -> 1.48 ms, LeNet and the 56x56 convolution 1% faster.
SPIN_TIMEOUT = "20"


def limit_spinning() -> bool:
    """Restart the threads of NumPy's OpenBLAS with ``OPENBLAS_THREAD_TIMEOUT`` at
    ``SPIN_TIMEOUT``; True when it took. Skipped where the process set the variable itself, with
    ``BRICKWORK_BLAS_TUNING=0``, and for libraries without ``openblas_read_env`` and
    ``blas_thread_shutdown_`` (the threads start again, with the new timeout, at the next
    threaded call)."""
    if os.environ.get("BRICKWORK_BLAS_TUNING", "1") == "0" or \
            "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return False
    for lib in _libraries():
        read_env = getattr(lib, "openblas_read_env", None)
        shutdown = getattr(lib, "blas_thread_shutdown_", None)
        if read_env is None or shutdown is None:
            continue
        read_env.restype, shutdown.restype = None, ctypes.c_int
        # OpenBLAS reads the timeout from the environment only: set it for the one read
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = SPIN_TIMEOUT
        try:
            read_env()
        finally:
            del os.environ["OPENBLAS_THREAD_TIMEOUT"]
        with _lock:
            shutdown()
        _state["spin_limited"] = True
        return True
    return False


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _gemm_function(char: str):
    """``cblas_{char}gemm`` with its integer type, or None."""
    key = f"gemm_{char}"
    if key in _state:
        return _state[key]
    libs = _libraries()
    lib = libs[0] if libs else None
    fn = None
    if lib is not None:
        for name, integer in ((f"scipy_cblas_{char}gemm64_", ctypes.c_int64),
                              (f"cblas_{char}gemm64_", ctypes.c_int64),
                              (f"scipy_cblas_{char}gemm", ctypes.c_int),
                              (f"cblas_{char}gemm", ctypes.c_int)):
            fn = getattr(lib, name, None)
            if fn is not None:
                real = ctypes.c_float if char == "s" else ctypes.c_double
                p, e = ctypes.c_void_p, ctypes.c_int
                fn.argtypes = [e, e, e, integer, integer, integer, real, p, integer, p, integer,
                               real, p, integer]
                fn.restype = None
                break
    _state[key] = fn
    return fn


def _row_strided(arr, itemsize: int) -> bool:
    return arr.ndim == 2 and arr.strides[1] == itemsize and arr.strides[0] >= itemsize * \
        max(arr.shape[1], 1) and arr.strides[0] % itemsize == 0


def gemm_into(a, b, out, accumulate: bool, trans_a: bool = False,
              trans_b: bool = False) -> None:
    """``out = a @ b`` (``a.T`` with ``trans_a``, ``b.T`` with ``trans_b``), or ``out += ...``
    with ``accumulate``.

    ``a``, ``b`` and ``out`` are 2-d arrays of one dtype; each may be a row-strided view
    (unit stride along rows, any stride between them), e.g. a column window of a wider array.
    """
    import numpy as np

    fn = None
    if a.__class__ is np.ndarray and b.__class__ is np.ndarray and out.__class__ is np.ndarray \
            and a.dtype == b.dtype == out.dtype and a.dtype in (np.float32, np.float64):
        size = a.dtype.itemsize
        if _row_strided(a, size) and _row_strided(b, size) and _row_strided(out, size):
            fn = _gemm_function("s" if size == 4 else "d")
    if fn is None:
        product = (a.T if trans_a else a) @ (b.T if trans_b else b)
        if accumulate:
            out += product
        else:
            out[...] = product
        return
    m, n = out.shape
    k = a.shape[0] if trans_a else a.shape[1]
    size = a.dtype.itemsize
    fn(_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS, m, n, k, 1.0,
       a.ctypes.data, a.strides[0] // size, b.ctypes.data, b.strides[0] // size,
       1.0 if accumulate else 0.0, out.ctypes.data, out.strides[0] // size)


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
