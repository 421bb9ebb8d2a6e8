"""Process-wide settings of the ``torch`` namespace: default device, matmul precision,
determinism, thread counts, and ``compile``.

Each setting either takes effect or says in its docstring why it cannot matter on brickwork's
backends (NumPy and CuPy); none is silently dropped.
"""
from __future__ import annotations

import os
import warnings
from typing import Callable

from ._blas import _functions as _blas_functions
from .device import _DEFAULT_STACK, CPU, device, resolve, set_base_default_device
from .version import __version__

__all__ = [
    "__version__", "set_default_device", "get_default_device",
    "set_float32_matmul_precision", "get_float32_matmul_precision",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "set_num_threads", "get_num_threads",
    "set_num_interop_threads", "get_num_interop_threads", "compile",
]


# -- default device ---------------------------------------------------------------------------
def set_default_device(device) -> None:  # noqa: F811 - PyTorch's parameter name
    """Make factory functions (``zeros``, ``tensor``, ``rand``...) allocate on ``device``.

    ``None`` puts the default back to the CPU. A ``with brickwork.device(...)`` block still
    wins inside it. ``'cuda'`` needs CuPy and a GPU when a tensor is made, as PyTorch's CPU
    build fails then too; ``'meta'`` raises NotImplementedError (brickwork has no meta tensors).

    See: torch.set_default_device.
    """
    if device is None:
        set_base_default_device(None)
        return
    dev = _as_device(device)
    if dev.type == "meta":
        raise NotImplementedError("set_default_device('meta'): brickwork has no meta tensors, "
                                  "so factory functions could not create them")
    set_base_default_device(None if dev is CPU else dev)


def _as_device(d) -> device:
    if isinstance(d, int) and not isinstance(d, bool):
        # PyTorch reads a bare index as the current accelerator's device.
        from . import accelerator

        acc = accelerator.current_accelerator(check_available=True)
        if acc is None:
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return device(acc.type, d)
    return device(d)


def get_default_device() -> device:
    """The device factory functions use when none is given (``cuda`` gets its index).

    See: torch.get_default_device.
    """
    dev = _DEFAULT_STACK[-1] if _DEFAULT_STACK else CPU
    if dev.type == "cuda" and dev.index is None:
        return resolve(dev)
    return dev


# -- float32 matmul precision -----------------------------------------------------------------
_PRECISIONS = ("highest", "high", "medium")
_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """Allow (``'high'``, ``'medium'``) or forbid (``'highest'``) reduced-precision float32
    matmuls. Also sets ``backends.cuda.matmul.allow_tf32``, as in PyTorch.

    The setting permits faster, less precise arithmetic but never requires it; brickwork's
    matmuls (NumPy's BLAS, CuPy's cuBLAS in its default mode) always compute in full float32, so
    every level gives ``'highest'`` results. An unknown name warns and changes nothing, as in
    PyTorch.

    See: torch.set_float32_matmul_precision.
    """
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got "
                           f"{type(precision).__name__}")
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision set (``'highest'`` by default).

    See: torch.get_float32_matmul_precision.
    """
    return _matmul_precision[0]


# -- determinism ------------------------------------------------------------------------------
_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms (``warn_only``: warn instead of raising).

    Every brickwork op on the CPU is deterministic (NumPy's reductions and scatters run in a
    fixed order). On the GPU, the ops that accumulate into repeated indices (``scatter_add_``,
    ``index_add_``, the backward of indexing, of ``embedding``, of ``as_strided`` and of the
    convolutions' gathers) add with CuPy's atomics, whose float rounding can change between
    runs; in this mode they add on the host in index order instead (``ops._util.add_at``), so
    every run gives the same bits, at the cost of a copy to the host and back.

    See: torch.use_deterministic_algorithms.
    """
    for name, value in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(value, bool):
            where = " (position 1)" if name == "mode" else ""
            raise TypeError(f"use_deterministic_algorithms(): argument '{name}'{where} must be "
                            f"bool, not {type(value).__name__}")
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    """Whether ``use_deterministic_algorithms(True)`` is in force.

    See: torch.are_deterministic_algorithms_enabled.
    """
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether ``use_deterministic_algorithms`` was given ``warn_only=True``.

    See: torch.is_deterministic_algorithms_warn_only_enabled.
    """
    return _deterministic["warn_only"]


def alert_not_deterministic(caller: str) -> None:
    """For an op without a deterministic implementation: raise (or warn) if determinism is on.

    PyTorch's ``alertNotDeterministic``; ops call it before using atomics.
    """
    if not _deterministic["mode"]:
        return
    msg = (f"{caller} does not have a deterministic implementation, but you set "
           "'torch.use_deterministic_algorithms(True)'. You can turn off determinism just for "
           "this operation, or you can use the 'warn_only=True' option, if that's acceptable "
           "for your application.")
    if _deterministic["warn_only"]:
        warnings.warn(msg, UserWarning, stacklevel=3)
    else:
        raise RuntimeError(msg)


# -- threads ----------------------------------------------------------------------------------
_threads = {"intra": None, "interop": 1}


def _threadpoolctl():
    if "tpc" not in _threads:  # the failed import is remembered: ops ask on every call
        try:
            import threadpoolctl
        except ImportError:
            threadpoolctl = None
        _threads["tpc"] = threadpoolctl
    return _threads["tpc"]


def _positive_int(fn: str, n) -> None:
    if not isinstance(n, int) or isinstance(n, bool):
        raise RuntimeError(f"{fn} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{fn} expects a positive integer")


def set_num_threads(int: int) -> None:  # noqa: A002 - PyTorch's parameter name
    """Limit the threads that CPU ops use: the BLAS and OpenMP pools behind NumPy.

    Applied through ``threadpoolctl`` when it is installed, else to NumPy's bundled OpenBLAS
    directly; with neither, brickwork cannot reach NumPy's thread pools, so it records the
    number and warns that it has no effect.

    See: torch.set_num_threads.
    """
    _positive_int("set_num_threads", int)
    tpc = _threadpoolctl()
    fns = _blas_functions()
    if tpc is not None:
        tpc.threadpool_limits(limits=int)  # applies until changed again
    elif fns is not None:
        fns[1](int)
    else:
        warnings.warn("set_num_threads has no effect: brickwork limits NumPy's BLAS threads "
                      "through threadpoolctl, which is not installed (pip install "
                      "threadpoolctl)", UserWarning, stacklevel=2)
    _threads["intra"] = int


def get_num_threads() -> int:
    """The threads CPU ops may use: the last ``set_num_threads``, else the size of NumPy's
    OpenBLAS pool (asked directly, or through threadpoolctl for other BLAS libraries) or the
    CPU count.

    See: torch.get_num_threads.
    """
    if _threads["intra"] is not None:
        return _threads["intra"]
    fns = _blas_functions()
    if fns is not None:  # NumPy's own OpenBLAS, asked directly: cheap enough for every op
        return fns[0]()
    tpc = _threadpoolctl()
    if tpc is not None:
        sizes = [info["num_threads"] for info in tpc.threadpool_info()]
        if sizes:
            return max(sizes)
    return os.cpu_count() or 1


def set_num_interop_threads(int: int) -> None:  # noqa: A002 - PyTorch's parameter name
    """Set the number of threads for running independent ops at once.

    brickwork runs ops one after another, so it never uses more than one such thread; the
    number is kept as an upper limit, which it always respects. As in PyTorch it can be set
    only once.

    See: torch.set_num_interop_threads.
    """
    _positive_int("set_num_interop_threads", int)
    if _threads.get("interop_set"):
        raise RuntimeError("Error: cannot set number of interop threads after parallel work "
                           "has started or set_num_interop_threads called")
    _threads.update(interop=int, interop_set=True)


def get_num_interop_threads() -> int:
    """The inter-op thread limit (1 unless set: brickwork runs ops one at a time).

    See: torch.get_num_interop_threads.
    """
    return _threads["interop"]


# -- compile ----------------------------------------------------------------------------------
_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile(model: Callable | None = None, *, fullgraph: bool = False,  # noqa: A001
            dynamic: bool | None = None, backend: str | Callable = "inductor",
            mode: str | None = None, options: dict | None = None,
            disable: bool = False) -> Callable:
    """Return ``model`` (a module or function) unchanged: brickwork has no compiler.

    Works as a call (``compile(model)``) and as a decorator (``@compile``,
    ``@compile(mode=...)``). The keyword arguments are checked as PyTorch checks them (a
    callable model; ``mode`` and ``options`` not both) and otherwise have no effect: the model
    runs eagerly, with the same results, as PyTorch's does under ``disable=True``. Unlike
    PyTorch, a module comes back as itself rather than wrapped in an ``OptimizedModule``.

    See: torch.compile.
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: "
                           f"{', '.join(m for m in _MODES if m)}")
    if not (isinstance(backend, str) or callable(backend)):
        raise TypeError(f"backend must be a string or a callable, got "
                        f"{type(backend).__name__}")
    for name, value in (("fullgraph", fullgraph), ("disable", disable)):
        if not isinstance(value, bool):
            raise TypeError(f"compile(): {name} must be a bool, got {type(value).__name__}")
    if dynamic is not None and not isinstance(dynamic, bool):
        raise TypeError(f"compile(): dynamic must be a bool or None, got "
                        f"{type(dynamic).__name__}")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"compile(): options must be a dict, got {type(options).__name__}")
    if model is None:  # @compile(...) form: the decorator
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                  mode=mode, options=options, disable=disable)
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    return model
