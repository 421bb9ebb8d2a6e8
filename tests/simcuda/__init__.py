"""A simulated CUDA backend: CuPy's interface over host memory, strict where CuPy is strict.

CI has no GPU, so without this the GPU code path (the array module taken from the device,
copies between devices, running each op on its tensors' device) would never run there. This
package stands in for ``cupy`` with two simulated devices, ``cuda:0`` and ``cuda:1``, and keeps
CuPy's rules that catch host/device mix-ups:

- a device array refuses implicit conversion to NumPy (``np.asarray(gpu_array)`` raises
  TypeError, as CuPy does); ``.get()`` and ``asnumpy`` copy to the host explicitly;
- functions and operators refuse NumPy arrays as operands (device arrays, Python scalars and
  NumPy scalars only), with CuPy's ``Unsupported type`` TypeError;
- an op's arrays must live on the current device, as on GPUs without peer access;
- reductions and element reads give 0-d device arrays, not NumPy scalars;
- only the names CuPy has exist (``cupy_api.json``, read from CuPy 14.2 by ``make_api.py``);
- NumPy functions called on device arrays dispatch here, as CuPy's ``__array_function__`` does.

What it cannot check: CUDA itself (kernel compilation, streams, speed, numerics of GPU math
libraries). ``ElementwiseKernel`` bodies run through a translator of simple CUDA C statements
(``_kernel.py``), so the formulas are checked, not the C.

Use ``with simcuda.installed(): ...`` or the ``sim_cuda`` fixture in ``tests/conftest.py``.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import operator
import os
import weakref

import numpy as np

from . import _kernel, _nccl

_API = json.load(open(os.path.join(os.path.dirname(__file__), "cupy_api.json")))
_TOP = frozenset(_API["top"])
_NDARRAY = frozenset(_API["ndarray"])

__version__ = f"{_API['version']}+simulated"
N_DEVICES = 2
_current = [0]
_live: "weakref.WeakValueDictionary[int, ndarray]" = weakref.WeakValueDictionary()
_ids = itertools.count()

# Methods that read or reshape without running a kernel: CuPy allows them on any device.
_NO_KERNEL = frozenset({"get", "item", "tolist", "copy", "tobytes", "view", "reshape",
                        "transpose", "swapaxes", "squeeze", "ravel", "T", "mT", "base", "set"})


def _check_device(dev: int) -> None:
    if dev != _current[0]:
        raise ValueError(f"The device where the array resides ({dev}) is different from the "
                         f"current device ({_current[0]}). Peer access is unavailable between "
                         f"these devices.")


def _unwrap(x):
    """Host values for NumPy: device arrays on the current device, scalars; NumPy arrays refused."""
    if isinstance(x, ndarray):
        _check_device(x._dev)
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return x


def _unwrap_kw(kw: dict) -> dict:
    return {k: _unwrap(v) for k, v in kw.items()} if kw else kw


def _wrap(r, dev=None):
    """Device arrays for NumPy results; NumPy scalars become 0-d device arrays, as in CuPy."""
    if isinstance(r, np.ndarray):
        return ndarray._new(r, _current[0] if dev is None else dev)
    if isinstance(r, np.generic):
        return ndarray._new(np.asarray(r), _current[0] if dev is None else dev)
    if isinstance(r, tuple):
        return tuple(_wrap(v, dev) for v in r)
    if isinstance(r, list):
        return [_wrap(v, dev) for v in r]
    return r


def _out_result(kw, result):
    """Return the caller's ``out=`` array itself (not a new wrapper over its buffer)."""
    out = kw.get("out")
    if isinstance(out, ndarray):
        return out
    if isinstance(out, tuple) and len(out) == 1 and isinstance(out[0], ndarray):
        return out[0]
    return _wrap(result)


class _Function:
    """A NumPy function behind CuPy's name: device arrays in, device arrays out."""

    __slots__ = ("_fn", "__name__")

    def __init__(self, fn) -> None:
        self._fn = fn
        self.__name__ = fn.__name__

    def __call__(self, *args, **kw):
        return _out_result(kw, self._fn(*_unwrap(args), **_unwrap_kw(kw)))

    def __repr__(self) -> str:
        return f"<simulated cupy function {self.__name__}>"


class _Ufunc(_Function):
    """A ufunc with CuPy's methods (``at``, ``reduce``, ``accumulate``, ``outer``)."""

    __slots__ = ()

    def at(self, a, indices, b=None):
        args = (_unwrap(indices),) if b is None else (_unwrap(indices), _unwrap(b))
        self._fn.at(_unwrap(a), *args)

    def reduce(self, a, *args, **kw):
        return _out_result(kw, self._fn.reduce(_unwrap(a), *_unwrap(args), **_unwrap_kw(kw)))

    def accumulate(self, a, *args, **kw):
        return _out_result(kw, self._fn.accumulate(_unwrap(a), *_unwrap(args),
                                                   **_unwrap_kw(kw)))

    def outer(self, a, b, **kw):
        return _out_result(kw, self._fn.outer(_unwrap(a), _unwrap(b), **_unwrap_kw(kw)))

    @property
    def nin(self):
        return self._fn.nin

    @property
    def nout(self):
        return self._fn.nout


class _Device:
    """``cupy.cuda.Device``: an id, and a context that makes it the current device."""

    def __init__(self, device=None) -> None:
        self.id = _current[0] if device is None else int(device)
        if not 0 <= self.id < N_DEVICES:
            raise RuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
        self._prev: list = []

    def __enter__(self):
        self._prev.append(_current[0])
        _current[0] = self.id
        return self

    def __exit__(self, *exc) -> None:
        _current[0] = self._prev.pop()

    def use(self) -> None:
        _current[0] = self.id

    def synchronize(self) -> None:
        """Nothing runs asynchronously here."""

    @property
    def compute_capability(self) -> str:
        return "90"

    def __eq__(self, other) -> bool:
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


class _Flags:
    """``cupy.ndarray.flags``: contiguity and ownership only (device arrays are always writeable,
    so CuPy has no ``writeable`` flag)."""

    def __init__(self, f) -> None:
        self.c_contiguous, self.f_contiguous, self.owndata = (f.c_contiguous, f.f_contiguous,
                                                              f.owndata)
        self.forc = f.c_contiguous or f.f_contiguous
        self.fnc = f.f_contiguous and not f.c_contiguous


class _Pointer:
    def __init__(self, a: np.ndarray) -> None:
        self.ptr = a.ctypes.data


class ndarray:  # noqa: N801 - CuPy's class name
    """A device array: a NumPy array (the simulated device memory) and the device it is on."""

    __slots__ = ("_a", "_dev", "__weakref__")
    __array_priority__ = 100  # NumPy scalars defer to us, as they do to CuPy arrays
    __hash__ = None

    def __init__(self, shape, dtype=float) -> None:
        self._a = np.empty(shape, dtype)
        self._dev = _current[0]
        _live[next(_ids)] = self

    @classmethod
    def _new(cls, a: np.ndarray, dev: int) -> "ndarray":
        self = object.__new__(cls)
        self._a = a
        self._dev = dev
        _live[next(_ids)] = self
        return self

    # -- what CuPy offers beyond NumPy -----------------------------------------------------------
    @property
    def device(self) -> _Device:
        return _Device(self._dev)

    def get(self, stream=None, order="C", out=None) -> np.ndarray:
        """A host copy (``cupy.ndarray.get``)."""
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr: np.ndarray) -> None:
        """Copy host data in (``cupy.ndarray.set``)."""
        self._a[...] = arr

    def copy(self, order="C") -> "ndarray":
        """A copy on the *current* device, as CuPy's ``copy`` makes."""
        return ndarray._new(np.array(self._a, order=order, copy=True), _current[0])

    @property
    def data(self) -> _Pointer:
        return _Pointer(self._a)

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self._a.shape, "typestr": self._a.dtype.str,
                "data": (self._a.ctypes.data, False), "strides": self._a.strides,
                "version": 3}

    # -- NumPy interop, with CuPy's refusals -----------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        mine = _module_attr(ufunc.__name__, missing=None)
        if mine is None:
            return NotImplemented
        return getattr(mine, method)(*inputs, **kw) if method != "__call__" \
            else mine(*inputs, **kw)

    def __array_function__(self, func, types, args, kwargs):
        # As CuPy: the function of the same name at the same module path (numpy.linalg.qr ->
        # cupy.linalg.qr), or NotImplemented, which makes NumPy raise TypeError.
        import sys

        target = sys.modules[__name__]
        try:
            for part in (func.__module__ or "numpy").split(".")[1:]:
                target = getattr(target, part)
            mine = getattr(target, func.__name__)
        except AttributeError:
            return NotImplemented
        return mine(*args, **kwargs)

    def __reduce__(self):
        return (_rebuild, (self._a.copy(), self._dev))

    def __deepcopy__(self, memo):
        return ndarray._new(self._a.copy(), self._dev)

    def __copy__(self):
        return ndarray._new(self._a.copy(), self._dev)

    # -- plain attributes and methods ------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: _Flags(self._a.flags))  # CuPy's: no ``writeable``

    def __getattr__(self, name):
        if name not in _NDARRAY:
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        if name not in _NO_KERNEL:
            _check_device(self._dev)
        value = getattr(self._a, name)
        if not callable(value):
            return None if value is None else _wrap(value, self._dev)
        if name in ("item", "tolist", "tobytes"):
            return value

        def method(*args, **kw):
            r = value(*_unwrap(args), **_unwrap_kw(kw))
            if r is self._a:
                return self
            if "out" in kw:
                return _out_result(kw, r)
            return _wrap(r, self._dev)

        return method

    def __repr__(self) -> str:
        return repr(self._a)

    def __str__(self) -> str:
        return str(self._a)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        for i in range(len(self._a)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __complex__(self) -> complex:
        return complex(self._a)

    def __getitem__(self, key):
        if _advanced(key):  # a gather kernel; basic slicing only makes a view
            _check_device(self._dev)
        return _wrap(self._a[_unwrap(key)], self._dev)

    def __setitem__(self, key, value) -> None:
        _check_device(self._dev)
        self._a[_unwrap(key)] = _unwrap(value)


def _advanced(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, (ndarray, np.ndarray, list)) for k in keys)


def _rebuild(a: np.ndarray, dev: int) -> ndarray:
    return ndarray._new(a, dev)


def _binary(fn):
    def op(self, other):
        _check_device(self._dev)
        return _wrap(fn(self._a, _unwrap(other)), self._dev)
    return op


def _reflected(fn):
    def op(self, other):
        _check_device(self._dev)
        return _wrap(fn(_unwrap(other), self._a), self._dev)
    return op


def _inplace(fn):
    def op(self, other):
        _check_device(self._dev)
        fn(self._a, _unwrap(other))
        return self
    return op


def _unary(fn):
    def op(self):
        _check_device(self._dev)
        return _wrap(fn(self._a), self._dev)
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    _fn = getattr(operator, _name + "_" if _name in ("and", "or") else _name)
    setattr(ndarray, f"__{_name}__", _binary(_fn))
    setattr(ndarray, f"__r{_name}__", _reflected(_fn))
    setattr(ndarray, f"__i{_name}__", _inplace(getattr(operator, f"i{_name}")))
for _name in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(ndarray, f"__{_name}__", _binary(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", _unary(getattr(operator, _name)))
ndarray.__divmod__ = _binary(divmod)
ndarray.__rdivmod__ = _reflected(divmod)


# -- the module's functions -------------------------------------------------------------------
_CACHE: dict = {}


def _module_attr(name: str, missing=AttributeError):
    """CuPy's top-level name ``name``, built from NumPy's (``missing`` if CuPy lacks it)."""
    got = _CACHE.get(name)
    if got is not None:
        return got
    if name not in _TOP or not hasattr(np, name):
        if missing is AttributeError:
            raise AttributeError(f"module 'cupy' has no attribute '{name}'")
        return missing
    value = getattr(np, name)
    if isinstance(value, np.ufunc):
        got = _Ufunc(value)
    elif isinstance(value, type) or not callable(value):
        got = value  # dtypes, finfo/iinfo, constants: the same objects as NumPy's
    else:
        got = _Function(value)
    _CACHE[name] = got
    return got


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    return _module_attr(name)


def array(obj, dtype=None, copy=True, order="K", ndmin=0) -> ndarray:
    """A new array on the current device, from host data or another device array."""
    if isinstance(obj, ndarray):
        if not copy and (dtype is None or np.dtype(dtype) == obj.dtype) \
                and obj._dev == _current[0]:
            return obj
        obj = obj._a
    return ndarray._new(np.array(obj, dtype=dtype, copy=True, order=order, ndmin=ndmin),
                        _current[0])


def asarray(a, dtype=None, order=None) -> ndarray:
    """``a`` as a device array: host data is copied over; a device array is returned as is."""
    if isinstance(a, ndarray) and (dtype is None or np.dtype(dtype) == a.dtype):
        return a
    return array(a, dtype=dtype, copy=False, order=order or "K")


def asnumpy(a, stream=None, order="C", out=None):
    """A host copy of a device array (host data passes through)."""
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def copy(a, order="K") -> ndarray:
    """A copy on the current device, even of an array on another device."""
    return ndarray._new(np.array(a._a, order=order, copy=True), _current[0])


def get_array_module(*args):
    return __import__(__name__) if any(isinstance(a, ndarray) for a in args) else np


class _Namespace:
    def __init__(self, **items) -> None:
        self.__dict__.update(items)


class _MemoryPool:
    """``cupy.cuda.MemoryPool``: counts the bytes held by live device arrays, per device."""

    def used_bytes(self) -> int:
        seen: dict = {}
        for arr in list(_live.values()):
            if arr._dev != _current[0]:
                continue
            root = arr._a
            while isinstance(root.base, np.ndarray):
                root = root.base
            seen[id(root)] = root.nbytes
        return sum(seen.values())

    total_bytes = used_bytes

    def free_bytes(self) -> int:
        return 0

    def free_all_blocks(self, stream=None) -> None:
        """No cache to free: host memory is returned when arrays die."""

    def n_free_blocks(self) -> int:
        return 0


_POOL = _MemoryPool()


def get_default_memory_pool() -> _MemoryPool:
    return _POOL


def _get_device_count() -> int:
    return N_DEVICES


def _set_device(i: int) -> None:
    _Device(i).use()


def _properties(i: int) -> dict:
    _Device(i)
    return {"name": b"brickwork simulated GPU", "totalGlobalMem": 16 << 30, "major": 9,
            "minor": 0, "multiProcessorCount": 1}


class CUDARuntimeError(RuntimeError):
    pass


cuda = _Namespace(
    Device=_Device,
    runtime=_Namespace(getDeviceCount=_get_device_count, getDevice=lambda: _current[0],
                       setDevice=_set_device, getDeviceProperties=_properties,
                       CUDARuntimeError=CUDARuntimeError),
    get_device_id=lambda: _current[0],
    MemoryPool=_MemoryPool,
    nccl=_nccl,  # cupy.cuda.nccl, over MPI (_nccl.py)
    get_current_stream=_nccl.get_current_stream,
)

linalg = _Namespace(**{n: _Function(getattr(np.linalg, n)) for n in _API["linalg"]
                       if callable(getattr(np.linalg, n, None))
                       and not isinstance(getattr(np.linalg, n), type)})
linalg.LinAlgError = np.linalg.LinAlgError
# cupy.fft: NumPy's transforms behind CuPy's names (CuPy keeps complex64/float32 as NumPy 2
# does). Without this namespace ``cupy.fft`` would resolve to NumPy's module itself.
fft = _Namespace(**{n: _Function(getattr(np.fft, n)) for n in _API["fft"]
                    if callable(getattr(np.fft, n, None))})


def _as_strided(x, shape=None, strides=None):  # a view: no kernel, any device
    return ndarray._new(np.lib.stride_tricks.as_strided(x._a, shape, strides), x._dev)


def _sliding_window_view(x, window_shape, axis=None, **kw):
    return ndarray._new(np.lib.stride_tricks.sliding_window_view(x._a, window_shape, axis,
                                                                 **kw), x._dev)


lib = _Namespace(stride_tricks=_Namespace(as_strided=_as_strided,
                                          sliding_window_view=_sliding_window_view))
ElementwiseKernel = _kernel.make_elementwise_kernel(_unwrap, _wrap)


class RawKernel:
    """Raw CUDA C needs a real GPU; the simulation cannot run it."""

    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError("RawKernel needs a real GPU: the simulated backend runs "
                                  "only ElementwiseKernel bodies")


@contextlib.contextmanager
def installed():
    """Make brickwork use this simulated CuPy inside the block (and forget kernels built)."""
    import sys

    import brickwork.kernels as kernels

    _device = sys.modules["brickwork.device"]  # the module; brickwork.device is the class
    module = sys.modules[__name__]
    saved = (_device._CUPY, dict(kernels._KERNELS))
    _device._CUPY = module
    kernels._KERNELS.clear()
    _current[0] = 0
    try:
        yield module
    finally:
        _device._CUPY = saved[0]
        kernels._KERNELS.clear()
        kernels._KERNELS.update(saved[1])
        _current[0] = 0
