"""Tensor creation: ``tensor``, ``zeros``, ``rand``... and the legacy ``FloatTensor`` forms.

Every factory takes ``dtype``, ``device`` and ``requires_grad`` keywords as PyTorch's do. Data and
random draws are built with NumPy and moved to the device once, so there is one code path for
every device; constant fills are made on the device directly.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .device import _DEFAULT_STACK, CPU, array_module, resolve
from .random import rng_for
from .tensor import Tensor, _make, _size_args


def _filled(shape: tuple, value, np_dtype, device, requires_grad: bool) -> Tensor:
    """A constant tensor, allocated and filled on its device (no host copy for a GPU)."""
    dev = CPU if device is None and not _DEFAULT_STACK else resolve(device)
    if dev is CPU:
        arr = np.zeros(shape, np_dtype) if value == 0 else np.full(shape, value, np_dtype)
    else:
        xp = array_module(dev)
        with xp.cuda.Device(dev.index):
            arr = xp.full(shape, value, np_dtype)
    if requires_grad:
        return _finish(arr, None, dev, requires_grad)
    return _make(arr, dev)


def _finish(arr: np.ndarray, dtype, device, requires_grad: bool) -> Tensor:
    dev = resolve(device)
    if dtype is not None:
        d = _dt.to_dtype(dtype)
        if arr.dtype != d.np:
            arr = arr.astype(d.np)
    if dev.type != "cpu" and isinstance(arr, np.ndarray):
        xp = array_module(dev)
        with xp.cuda.Device(dev.index):
            arr = xp.asarray(arr)
    t = _make(arr, dev)
    if requires_grad:
        if arr.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t._requires_grad = True
    return t


def _infer_array(data) -> np.ndarray:
    """NumPy array for Python data, with PyTorch's defaults (float32 for floats, int64 ints)."""
    if isinstance(data, Tensor):
        return data._host().copy()
    if isinstance(data, np.ndarray):
        arr = np.array(data)
    elif isinstance(data, (np.generic,)):
        arr = np.array(data)
    else:
        try:
            arr = np.array(data)
        except ValueError:
            _raise_ragged(data, 0)
            raise
        if arr.dtype == np.float64:
            arr = arr.astype(_dt.get_default_dtype().np)
    if arr.dtype == object:
        _raise_ragged(data, 0)
        bad = _first_non_number(data)
        raise RuntimeError(f"Could not infer dtype of {type(bad).__name__}")
    if arr.dtype.kind in "USV":
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if arr.dtype.kind == "c":
        raise TypeError("complex tensors are not supported")
    return _dt.from_numpy_dtype(arr.dtype) and arr


def _is_seq(x) -> bool:
    return isinstance(x, (list, tuple)) or (isinstance(x, (np.ndarray, Tensor)) and x.ndim > 0)


def _raise_ragged(data, dim: int) -> None:
    """Raise PyTorch's error for nested sequences whose lengths disagree (if they do)."""
    if not _is_seq(data) or len(data) == 0:
        return
    first = data[0]
    if _is_seq(first):
        n = len(first)
        for item in data:
            if not _is_seq(item):
                raise TypeError("not a sequence")
            if len(item) != n:
                raise ValueError(f"expected sequence of length {n} at dim {dim + 1} "
                                 f"(got {len(item)})")
        for item in data:
            _raise_ragged(item, dim + 1)
    else:
        for item in data:
            if _is_seq(item):
                raise TypeError(f"'{type(item).__name__}' object cannot be interpreted as an "
                                "integer")


def _first_non_number(data):
    if _is_seq(data):
        for item in data:
            bad = _first_non_number(item)
            if bad is not None:
                return bad
        return None
    return None if isinstance(data, (int, float, bool, np.generic, Tensor)) else data


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor copied from ``data`` (numbers, nested lists, NumPy arrays, tensors).

    Python floats become ``float32`` (the default dtype) and ints ``int64``, as in PyTorch.
    ``pin_memory`` is accepted for PyTorch's signature and ignored: NumPy memory is not
    page-locked (see ``Tensor.pin_memory``).

    Example:
        >>> brickwork.tensor([[1., 2.], [3., 4.]]).shape
        brickwork.Size([2, 2])

    See: torch.tensor.
    """
    if device is None and isinstance(data, Tensor):
        device = data._device  # a copy of a tensor stays on its device, as in PyTorch
    return _finish(_infer_array(data), dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor or NumPy array when it can."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (device or dtype) else data
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_dtype(dtype).np == data.dtype) \
            and resolve(device).type == "cpu":
        _dt.from_numpy_dtype(data.dtype)
        return _make(data, resolve(device))
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``ndarray``. See: torch.from_numpy."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dt.from_numpy_dtype(ndarray.dtype)
    return _make(ndarray, resolve("cpu"))


def _float_dtype(dtype):
    return _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it). See: torch.full."""
    size = _size_args((size,), "full")
    if dtype is None:
        dtype = _dt.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor)
                                 else fill_value)
    d = _dt.to_dtype(dtype)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _filled(size, fill_value, d.np, device, requires_grad)


def _shape(args: tuple, size, name: str) -> tuple:
    """The shape given as varargs (``zeros(2, 3)``, ``zeros((2, 3))``) or ``size=(2, 3)``."""
    if size is not None:
        if args:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        args = (size,) if isinstance(size, (tuple, list)) else (size,)
    return _size_args(args, name)


def zeros(*args, size=None, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros; the shape as varargs, a tuple or ``size=``. See: torch.zeros.

    Example:
        >>> brickwork.zeros(2, 3).shape
        brickwork.Size([2, 3])
    """
    d = _float_dtype(dtype)
    return _filled(_shape(args, size, "zeros"), 0, d.np, device, requires_grad)


def ones(*args, size=None, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones. See: torch.ones."""
    d = _float_dtype(dtype)
    return _filled(_shape(args, size, "ones"), 1, d.np, device, requires_grad)


def empty(*args, size=None, dtype=None, device=None, requires_grad: bool = False,
          memory_format=None) -> Tensor:
    """An uninitialised tensor (zero-filled here, which costs little). See: torch.empty.

    ``memory_format`` is accepted for PyTorch's signature and ignored: tensors are row-major.
    """
    d = _float_dtype(dtype)
    return _filled(_shape(args, size, "empty"), 0, d.np, device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """A 2-D identity matrix. See: torch.eye."""
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None and m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype).np), None, device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``. See: torch.arange.

    The dtype is int64 when all bounds are integers, else the default float dtype.
    """
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = _dt.int64 if all(isinstance(v, (int, np.integer)) for v in vals) \
            else _dt.get_default_dtype()
    d = _dt.to_dtype(dtype)
    # Compute in float64/int64 then cast, as PyTorch does, so float32 ranges have the right length.
    arr = np.arange(*vals, dtype=np.float64 if d.is_floating_point else np.int64)
    return _finish(arr, d, device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``. See: torch.linspace."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _float_dtype(dtype)
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    if steps <= 1:
        arr = np.full(steps, start).astype(d.np)
    else:
        # PyTorch's kernel: the step in the output dtype (float64 for integers), the first half
        # counted up from start and the second half down from end, so both ends are exact.
        # `start + step * i` is then evaluated in float64 and rounded once, as the fused
        # multiply-add of PyTorch's compiled kernel does for float32/float16.
        idx = np.arange(steps)
        exact = d.np if d.is_floating_point else np.dtype(np.float64)
        lo, hi = (np.asarray(v).astype(d.np).astype(exact) for v in (start, end))
        step = ((hi - lo) / exact.type(steps - 1)).astype(np.float64)
        lo, hi = lo.astype(np.float64), hi.astype(np.float64)
        up = lo + step * idx
        down = hi - step * (steps - 1 - idx)
        arr = np.where(idx < steps // 2, up, down).astype(d.np)
    return _finish(arr, None, device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    arr = np.logspace(start, end, steps, base=base)
    return _finish(arr, _float_dtype(dtype), device, requires_grad)


def rand(*args, size=None, generator=None, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1). See: torch.rand."""
    d = _float_dtype(dtype)
    shape = _shape(args, size, "rand")
    arr = rng_for(generator).random(shape, dtype=_draw_dtype(d, "check_uniform_bounds"))
    return _finish(arr, d, device, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples. See: torch.randn."""
    d = _float_dtype(dtype)
    shape = _shape(args, size, "randn")
    arr = rng_for(generator).standard_normal(shape, dtype=_draw_dtype(d, "normal_kernel_cpu"))
    return _finish(arr, d, device, requires_grad)


def _draw_dtype(d, kernel: str):
    if not d.is_floating_point:
        from .tensor import _SCALAR_TYPE_NAMES

        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_SCALAR_TYPE_NAMES[d.name]}'")
    return np.float64 if d is _dt.float64 else np.float32


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high). See: torch.randint."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        raise TypeError("randint() missing required argument 'size'")
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    shape = _size_args((size,), "randint")
    arr = rng_for(generator).integers(low, high, shape, dtype=np.int64)
    return _finish(arr, dtype or _dt.int64, device, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0..n-1``. See: torch.randperm."""
    return _finish(rng_for(generator).permutation(n).astype(np.int64), dtype or _dt.int64,
                   device, False)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples with the given mean and std (scalars or tensors). See: torch.normal."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        z = rng_for(generator).standard_normal(shape).astype(ref._data.dtype)
        return _finish(np.asarray(m + s * z), ref.dtype, ref.device, requires_grad)
    if size is None:
        raise TypeError("normal() with float mean and std needs a size")
    d = _float_dtype(dtype)
    shape = _size_args((size,), "normal")
    arr = rng_for(generator).normal(mean, std, shape)
    return _finish(arr, d, device, requires_grad)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or ``p``). See: torch.bernoulli."""
    probs = input._host() if p is None else np.full(input.shape, p)
    arr = (rng_for(generator).random(probs.shape) < probs).astype(input._data.dtype)
    return _finish(arr, None, input.device, False)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Indices drawn from the rows of ``input`` as unnormalised probabilities."""
    probs = np.atleast_2d(input._host().astype(np.float64))
    rng = rng_for(generator)
    rows = [rng.choice(probs.shape[1], num_samples, replace=replacement, p=row / row.sum())
            for row in probs]
    arr = np.array(rows, dtype=np.int64)
    return _finish(arr if input.ndim == 2 else arr[0], None, input.device, False)


def _like(name, fn):
    def like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
             memory_format=None, **kw) -> Tensor:
        """``memory_format`` is accepted for PyTorch's signature and ignored (row-major)."""
        return fn(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                  requires_grad=requires_grad, **kw)

    like.__name__ = name
    like.__doc__ = f"``{fn.__name__}`` with ``input``'s shape, dtype and device."
    return like


zeros_like = _like("zeros_like", zeros)
ones_like = _like("ones_like", ones)
empty_like = _like("empty_like", empty)
rand_like = _like("rand_like", rand)
randn_like = _like("randn_like", randn)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """``full`` with ``input``'s shape, dtype and device. See: torch.full_like.

    ``memory_format`` is accepted for PyTorch's signature and ignored: tensors are row-major.
    """
    return full(input.shape, fill_value, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, dtype=None, device=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype,
                   device=device or input.device)


# -- legacy constructors ----------------------------------------------------------------------
def _legacy_data(args, dtype, device):
    """``FloatTensor(2, 3)`` makes an empty (zero) tensor; ``FloatTensor([1, 2])`` copies data."""
    dev = resolve(device)
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        arr = _infer_array(args[0]).astype(dtype.np)
    else:
        arr = np.zeros(_size_args(args), dtype.np)
    if dev.type != "cpu":
        arr = array_module(dev).asarray(arr)
    return arr, dev


def _legacy(name, d):
    class Legacy(Tensor):
        def __new__(cls, *args, device=None):
            arr, dev = _legacy_data(args, d, device)
            return _make(arr, dev)

    Legacy.__name__ = Legacy.__qualname__ = name
    Legacy.__doc__ = f"Legacy constructor of {d} tensors (``{name}([1, 2])``, ``{name}(2, 3)``)."
    return Legacy


FloatTensor = _legacy("FloatTensor", _dt.float32)
DoubleTensor = _legacy("DoubleTensor", _dt.float64)
HalfTensor = _legacy("HalfTensor", _dt.float16)
LongTensor = _legacy("LongTensor", _dt.int64)
IntTensor = _legacy("IntTensor", _dt.int32)
ShortTensor = _legacy("ShortTensor", _dt.int16)
CharTensor = _legacy("CharTensor", _dt.int8)
ByteTensor = _legacy("ByteTensor", _dt.uint8)
BoolTensor = _legacy("BoolTensor", _dt.bool)
