"""Small ``torch.*`` names: the deprecated ``range``, ``unravel_index``, ``typename``,
``empty_permuted``, ``from_file``, DLPack exchange, process-wide switches (denormals, warn-always,
the deterministic debug mode, the default tensor type), build facts (``has_lapack``...), error
classes and ``classproperty``.

Part of the ``torch_extra`` family (see ``ops/torch_extra.py``).
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, _make
from ._util import xp_of


# -- factories ------------------------------------------------------------------------------------
def range(start=None, end=None, step=1, *, dtype=None, layout=None, device=None,  # noqa: A001
          requires_grad: bool = False) -> Tensor:
    """Deprecated: ``start, start + step, ...`` up to and *including* ``end`` (warns).

    Default dtype: the default float dtype, as in PyTorch. See: torch.range.
    """
    from ..factories import tensor

    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    if start is None or end is None:
        raise TypeError(f'range() missing 1 required positional arguments: '
                        f'"{"start" if start is None else "end"}"')
    if layout is not None:
        from ..factories import strided

        if layout is not strided:
            raise NotImplementedError(f"range: layout={layout} is not supported")
    vals = [float(v) if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = int(math.floor((end - start) / step)) + 1
    dtype = dtype or _dt.get_default_dtype()
    if dtype is _dt.bool:
        raise NotImplementedError("\"range_cpu\" not implemented for 'Bool'")
    values = np.asarray(start, dtype=np.float64) + np.arange(n, dtype=np.float64) * step
    return tensor(values.astype(dtype.np), dtype=dtype, device=device,
                  requires_grad=requires_grad)


def unravel_index(indices, shape) -> tuple:
    """The coordinates in an array of ``shape`` of each flat index (computed with floor
    division and modulo, so negative and out-of-range indices wrap, as PyTorch's).

    See: torch.unravel_index."""
    if not isinstance(indices, Tensor):
        raise AttributeError(f"'{type(indices).__name__}' object has no attribute 'is_complex'")
    if indices._data.dtype.kind not in "iu" and indices._data.dtype.kind != "b":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(shape)))
    idx = indices._data.astype(np.int64)
    # Floor division and modulo, as PyTorch: out-of-range and negative indices wrap.
    out = []
    for size in reversed(shape):
        out.append(idx % size if size else idx * 0)
        idx = idx // size if size else idx
    xp = xp_of(indices._data)
    out = [xp.asarray(o, dtype=np.int64).reshape(indices._data.shape) for o in out]
    return tuple(_make(o, indices._device) for o in reversed(out))


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of logical shape ``size`` whose memory is laid out in the dim order
    ``physical_layout`` (outermost first), filled with zeros. See: torch.empty_permuted."""
    from ..factories import zeros

    size = tuple(int(s) for s in size)
    perm = tuple(int(p) for p in physical_layout)
    if len(set(perm)) != len(perm):
        raise RuntimeError("Duplicate dim not allowed")
    if sorted(perm) != list(_py_range(len(size))):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the "
                           f"physical_layout; or physical_layout is not a permutation: "
                           f"{list(size)} vs {list(perm)}")
    physical = tuple(size[p] for p in perm)
    inverse = tuple(int(i) for i in np.argsort(perm))
    base = zeros(physical, dtype=dtype, layout=layout, device=device, pin_memory=pin_memory)
    out = _make(base._data.transpose(inverse), base._device)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _py_range(n):
    import builtins

    return builtins.range(n)


def from_file(filename: str, shared: bool | None = None, size: int = 0, *, dtype=None,
              layout=None, device=None, pin_memory: bool = False) -> Tensor:
    """A 1-D tensor of ``size`` elements read from the binary file ``filename``.

    ``shared=True`` maps the file (writes reach it, as PyTorch's shared mapping); otherwise the
    values are copied. See: torch.from_file.
    """
    from ..factories import tensor

    dtype = dtype or _dt.get_default_dtype()
    if layout is not None:
        from ..factories import strided

        if layout is not strided:
            raise NotImplementedError(f"from_file: layout={layout} is not supported")
    if pin_memory:
        raise NotImplementedError("from_file: pin_memory=True is not supported (NumPy memory is "
                                  "not page-locked)")
    nbytes = int(size) * dtype.itemsize
    have = os.path.getsize(filename)
    if have < nbytes:
        raise RuntimeError(f"file <{filename}> size <{have}> is smaller than the required "
                           f"mapping size <{nbytes}>")
    if shared:
        arr = np.memmap(filename, dtype=dtype.np, mode="r+", shape=(int(size),))
        arr = np.ndarray((int(size),), dtype=dtype.np, buffer=arr)
        if device is not None and str(device) != "cpu":
            raise RuntimeError("from_file: shared=True maps the file into host memory; it cannot "
                               f"place the tensor on {device}")
        return _make(arr, _cpu())
    arr = np.fromfile(filename, dtype=dtype.np, count=int(size))
    return tensor(arr, dtype=dtype, device=device)


def _cpu():
    from ..device import CPU

    return CPU


# -- DLPack ---------------------------------------------------------------------------------------
def to_dlpack(tensor: Tensor):
    """A DLPack capsule of ``tensor``'s memory (shared, not copied). See: torch.to_dlpack."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack(): argument 'data' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    return tensor._data.__dlpack__()


class _Capsule:
    """A DLPack capsule made to look like an exporter, for NumPy/CuPy's ``from_dlpack``."""

    def __init__(self, capsule, device) -> None:
        self.capsule, self.dev = capsule, device

    def __dlpack__(self, stream=None, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return self.dev


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing the memory of any DLPack exporter (a PyTorch, NumPy, CuPy... array, or
    a capsule from ``to_dlpack``). See: torch.from_dlpack."""
    from ..device import resolve

    if isinstance(ext_tensor, Tensor):
        return _make(ext_tensor._data, ext_tensor._device)
    if type(ext_tensor).__name__ == "PyCapsule":
        raise NotImplementedError("from_dlpack: a bare DLPack capsule does not say which device "
                                  "it is on; pass the exporting array itself")
    dev_type, dev_id = ext_tensor.__dlpack_device__()
    if int(dev_type) == 1:  # kDLCPU
        if hasattr(ext_tensor, "detach") and hasattr(ext_tensor, "requires_grad"):
            ext_tensor = ext_tensor.detach()  # PyTorch refuses to export a tensor needing grad
        arr = np.from_dlpack(ext_tensor)
        return _make(arr, _cpu())
    if int(dev_type) in (2, 13):  # kDLCUDA, kDLCUDAManaged
        from ..device import array_module, device as _device

        dev = resolve(_device("cuda", int(dev_id)))
        cp = array_module(dev)
        return _make(cp.from_dlpack(ext_tensor), dev)
    raise RuntimeError(f"from_dlpack: unsupported DLPack device type {int(dev_type)}")


# -- process-wide switches ------------------------------------------------------------------------
def set_flush_denormal(mode: bool) -> bool:
    """Would flush denormal floats to zero on the CPU; NumPy gives no control over the FPU's
    denormal mode, so ``mode`` is ignored and this returns False (not supported), as PyTorch
    does on CPUs without the feature.

    See: torch.set_flush_denormal.
    """
    return False


_WARN_ALWAYS = [False]


def set_warn_always(b: bool) -> None:
    """Make warnings that PyTorch gives once per process warn every time.

    brickwork's warnings go through Python's ``warnings``, whose filters decide repetition;
    the flag is kept for ``is_warn_always_enabled`` and, when on, adds an ``always`` filter
    for brickwork's UserWarnings. See: torch.set_warn_always.
    """
    _WARN_ALWAYS[0] = bool(b)
    if b:
        warnings.filterwarnings("always", category=UserWarning, module=r"brickwork(\.|$)")
    else:
        warnings.filters[:] = [f for f in warnings.filters
                               if not (f[0] == "always" and f[3] is not None
                                       and getattr(f[3], "pattern", "") == r"brickwork(\.|$)")]


def is_warn_always_enabled() -> bool:
    """Whether ``set_warn_always(True)`` is in force. See: torch.is_warn_always_enabled."""
    return _WARN_ALWAYS[0]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode) -> None:
    """``'default'``/0, ``'warn'``/1 or ``'error'``/2: ``use_deterministic_algorithms`` off, on
    with ``warn_only``, or on. See: torch.set_deterministic_debug_mode."""
    from .._settings import use_deterministic_algorithms

    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if not isinstance(debug_mode, int) or isinstance(debug_mode, bool):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode).__name__}")
    if debug_mode == 0:
        use_deterministic_algorithms(False)
    elif debug_mode == 1:
        use_deterministic_algorithms(True, warn_only=True)
    elif debug_mode == 2:
        use_deterministic_algorithms(True)
    else:
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")


def get_deterministic_debug_mode() -> int:
    """0, 1 or 2 as set by ``set_deterministic_debug_mode`` (or ``use_deterministic_algorithms``).

    See: torch.get_deterministic_debug_mode.
    """
    from .._settings import (are_deterministic_algorithms_enabled,
                             is_deterministic_algorithms_warn_only_enabled)

    if not are_deterministic_algorithms_enabled():
        return 0
    return 1 if is_deterministic_algorithms_warn_only_enabled() else 2


def set_default_tensor_type(t) -> None:
    """Deprecated: set the default float dtype from a tensor type (``DoubleTensor`` or its name;
    a ``cuda`` type name also makes ``cuda`` the default device). Warns as PyTorch.

    See: torch.set_default_tensor_type.
    """
    from ..tensor import _LEGACY_TYPE_NAMES

    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    name = t if isinstance(t, str) else getattr(t, "__name__", None)
    if name is None:
        raise TypeError(f"invalid type object: {t!r}")
    parts = name.split(".")
    cuda = "cuda" in parts[:-1]
    by_name = {v.split(".")[-1]: k for k, v in _LEGACY_TYPE_NAMES.items()}
    dtype = by_name.get(parts[-1])
    if dtype is None:
        raise TypeError(f"invalid type: '{name}'")
    if not dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    from .._settings import set_default_device

    _dt.set_default_dtype(dtype)
    set_default_device("cuda" if cuda else None)


def init_num_threads() -> None:
    """Set up the calling thread's intra-op thread pool: NumPy's BLAS keeps its own per
    process, so there is nothing to do. See: torch.init_num_threads."""
    return None


def is_vulkan_available() -> bool:
    """False: brickwork has no Vulkan backend. See: torch.is_vulkan_available."""
    return False


def is_distributed(input: Tensor) -> bool:
    """False: brickwork has no distributed tensors (``input`` is ignored).

    See: torch.is_distributed.
    """
    return False


def compiled_with_cxx11_abi() -> bool:
    """True, as PyTorch's builds; brickwork has no C++ extension ABI of its own.

    See: torch.compiled_with_cxx11_abi.
    """
    return True


def _lapack_available() -> bool:
    # NumPy's linalg always has a LAPACK (its own lapack_lite when no system one is linked).
    return True


def _blas_config() -> str:
    try:
        cfg = np.show_config(mode="dicts")
    except TypeError:  # pragma: no cover - NumPy < 1.26
        return ""
    return str(cfg.get("Build Dependencies", {})).lower() if cfg else ""


has_lapack = _lapack_available()
has_mkl = "mkl" in _blas_config()
has_openmp = "openmp" in _blas_config()  # NumPy's BLAS threads with OpenMP
has_spectral = True  # brickwork.fft exists (on NumPy's pocketfft)


def get_device_module(device=None):
    """The module of a device type (``brickwork.cuda`` for ``'cuda'``); with no device, the
    current accelerator's, else the CPU's. See: torch.get_device_module."""
    import brickwork
    from ..device import device as _device

    if isinstance(device, _device):
        name = device.type
    elif isinstance(device, str):
        name = _device(device).type
    elif device is None:
        name = "cuda" if brickwork.cuda.is_available() else "cpu"
    else:
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or "
                           "None")
    module = getattr(brickwork, name, None)
    if module is None:
        raise RuntimeError(f"Device '{name}' does not have a corresponding module registered as "
                           f"'brickwork.{name}'.")
    return module


def get_file_path(*path_components: str) -> str:
    """A path under the directory that holds the ``brickwork`` package.

    See: torch.get_file_path.
    """
    parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(parent, *path_components)


def prepare_multiprocessing_environment(path: str) -> None:
    """A hook PyTorch's internal builds use before starting worker processes; a no-op in
    PyTorch's open-source build, and here (``path`` is ignored).

    See: torch.prepare_multiprocessing_environment.
    """
    return None


def typename(obj, /) -> str:
    """The fully qualified type name: ``'brickwork.FloatTensor'`` for a float32 tensor.

    See: torch.typename.
    """
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    if module in {"", "builtins"}:
        return qualname
    return f"{module}.{qualname}"


def thread_safe_generator():
    """The DataLoader thread worker's own generator, or None (use the global one).

    brickwork's DataLoader workers are processes, each with its own global generator, so this
    is None everywhere, as PyTorch's in the main process and process workers.

    See: torch.thread_safe_generator.
    """
    from ..utils.data import get_worker_info

    info = get_worker_info()
    if info is not None and getattr(info, "worker_method", None) == "thread" \
            and getattr(info, "rng", None) is not None:
        return info.rng.torch_generator
    return None


def as_strided_(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """``input.as_strided_(size, stride, storage_offset)``. See: torch.as_strided_."""
    return input.as_strided_(size, stride, storage_offset)


def is_storage(obj) -> bool:
    """False for everything: brickwork has no storage objects (``obj`` is ignored).

    See: torch.is_storage.
    """
    return False


class _ClassPropertyDescriptor:
    def __init__(self, fget) -> None:
        self.fget = fget

    def __get__(self, instance, owner=None):
        if owner is None:
            owner = type(instance)
        return self.fget.__get__(instance, owner)()


def classproperty(func):
    """A read-only property of the class itself (PyTorch's ``torch.classproperty``)."""
    if not isinstance(func, (classmethod, staticmethod)):
        func = classmethod(func)
    return _ClassPropertyDescriptor(func)


# -- errors ---------------------------------------------------------------------------------------
class AcceleratorError(RuntimeError):
    """An error reported by the accelerator (CUDA) runtime. See: torch.AcceleratorError."""


class OutOfMemoryError(RuntimeError):
    """The device ran out of memory. See: torch.OutOfMemoryError."""


class FatalError(Exception):
    """An unrecoverable internal error. See: torch.FatalError."""


class AggregationType:
    """How a monitored statistic is aggregated (PyTorch's ``torch.AggregationType``, whose
    members are exported as ``torch.SUM`` and ``torch.AVG``)."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: int) -> None:
        self.name, self.value = name, value

    def __repr__(self) -> str:
        return f"<AggregationType.{self.name}: {self.value}>"

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    def __eq__(self, other) -> bool:
        return isinstance(other, AggregationType) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


SUM = AggregationType("SUM", 0)
AVG = AggregationType("AVG", 1)

__all__ = ["range", "unravel_index", "empty_permuted", "from_file", "to_dlpack", "from_dlpack",
           "set_flush_denormal", "set_warn_always", "is_warn_always_enabled",
           "set_deterministic_debug_mode", "get_deterministic_debug_mode",
           "set_default_tensor_type", "init_num_threads", "is_vulkan_available",
           "is_distributed", "compiled_with_cxx11_abi", "has_lapack", "has_mkl", "has_openmp",
           "has_spectral", "get_device_module", "get_file_path",
           "prepare_multiprocessing_environment", "typename", "is_storage", "classproperty",
           "thread_safe_generator", "as_strided_",
           "AcceleratorError", "OutOfMemoryError", "FatalError", "SUM", "AVG"]
