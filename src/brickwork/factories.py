"""Tensor creation: ``tensor``, ``zeros``, ``rand``... and the legacy ``FloatTensor`` forms.

Every factory takes ``dtype``, ``device`` and ``requires_grad`` keywords as PyTorch's do. Data and
random draws are built with NumPy and moved to the device once, so there is one code path for
every device; constant fills are made on the device directly.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .device import _DEFAULT_STACK, CPU, array_module, resolve
from .tensor import Tensor, _make, _size_args


class layout:
    """How a tensor's elements are stored. brickwork tensors are dense (``strided``); the sparse
    layouts exist so that code naming them reads, and factories refuse them by name.

    See: torch.layout.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"brickwork.{self._name}"

    def __reduce__(self):
        return self._name  # pickles as the module-level singleton


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")


def _check_layout(name: str, value) -> None:
    """``layout=`` is honoured when it is ``strided`` (the only layout brickwork has)."""
    if value is None or value is strided:
        return
    if not isinstance(value, layout):
        raise TypeError(f"{name}(): argument 'layout' must be brickwork.layout, not "
                        f"{type(value).__name__}")
    raise NotImplementedError(f"{name}(): layout={value} is not supported: brickwork tensors "
                              "are dense (brickwork.strided)")


def _check_options(name: str, layout, pin_memory) -> None:
    """Refuse the ``layout``/``pin_memory`` a factory cannot honour (see the two checks)."""
    _check_layout(name, layout)
    _check_pin(pin_memory)


def _check_pin(pin_memory) -> None:
    """``pin_memory=True`` is refused: NumPy host memory cannot be page-locked here."""
    if pin_memory:
        raise NotImplementedError("pin_memory=True is not supported: brickwork's host memory is "
                                  "NumPy memory, which is not page-locked (leave it False)")


def _filled(shape: tuple, value, np_dtype, device, requires_grad: bool) -> Tensor:
    """A constant tensor, allocated and filled on its device (no host copy for a GPU)."""
    dev = CPU if device is None and not _DEFAULT_STACK else resolve(device)
    if dev is CPU:
        arr = np.zeros(shape, np_dtype) if value == 0 else np.full(shape, value, np_dtype)
    else:
        from .ops._bf16 import check_device

        check_device(np.dtype(np_dtype), dev)
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
        from .ops._bf16 import check_device

        check_device(arr.dtype, dev)
        xp = array_module(dev)
        with xp.cuda.Device(dev.index):
            arr = xp.asarray(arr)
    t = _make(arr, dev)
    if requires_grad:
        if arr.dtype.kind not in "fcV":  # 'V': bfloat16
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t._requires_grad = True
    return t


def _infer_array(data, keep_float64: bool = False) -> np.ndarray:
    """NumPy array for Python data, with PyTorch's defaults (float32 for floats, int64 ints).

    ``keep_float64``: leave Python floats in float64 (a caller about to cast to a requested
    dtype, so that ``tensor([170.2], dtype=float64)`` is not rounded through float32).
    """
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
        if arr.dtype == np.float64 and not keep_float64:
            arr = arr.astype(_dt.get_default_dtype().np)
        elif arr.dtype == np.complex128 and not keep_float64:  # Python complex: the default's
            arr = arr.astype(_dt.get_default_dtype().to_complex().np)
    if arr.dtype == object:
        _raise_ragged(data, 0)
        bad = _first_non_number(data)
        raise RuntimeError(f"Could not infer dtype of {type(bad).__name__}")
    if arr.dtype.kind in "USV" and arr.dtype != _dt.bfloat16.np:  # ml_dtypes' bfloat16 is 'V'
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
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
    ``pin_memory=True`` is refused: NumPy memory is not page-locked.

    Example:
        >>> brickwork.tensor([[1., 2.], [3., 4.]]).shape
        brickwork.Size([2, 2])

    See: torch.tensor.
    """
    if pin_memory:
        _check_pin(pin_memory)
    if device is None and isinstance(data, Tensor):
        device = data._device  # a copy of a tensor stays on its device, as in PyTorch
    return _finish(_infer_array(data, keep_float64=dtype is not None), dtype, device,
                   requires_grad)


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


def full(size, fill_value, *, dtype=None, layout=None, device=None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it). See: torch.full."""
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("full", layout, pin_memory)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
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
        args = (size,)
    elif len(args) > 1 and isinstance(args[0], (tuple, list)):
        raise TypeError(f"{name}() takes 1 positional argument but {len(args)} were given")
    return _size_args(args, name)


def zeros(*args, size=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros; the shape as varargs, a tuple/list/Size or ``size=``. See: torch.zeros.

    Example:
        >>> brickwork.zeros(2, 3).shape
        brickwork.Size([2, 3])
    """
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("zeros", layout, pin_memory)
    d = _float_dtype(dtype)
    return _filled(_shape(args, size, "zeros"), 0, d.np, device, requires_grad)


def ones(*args, size=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones. See: torch.ones."""
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("ones", layout, pin_memory)
    d = _float_dtype(dtype)
    return _filled(_shape(args, size, "ones"), 1, d.np, device, requires_grad)


def empty(*args, size=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
          requires_grad: bool = False, memory_format=None) -> Tensor:
    """An uninitialised tensor (zero-filled here, which costs little). See: torch.empty.

    ``memory_format``: ``contiguous_format`` (default) or ``channels_last``/``_3d`` strides.
    """
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("empty", layout, pin_memory)
    d = _float_dtype(dtype)
    out = _filled(_shape(args, size, "empty"), 0, d.np, device, requires_grad)
    if memory_format is not None:
        from .ops._memory_format import check_format, format_strides, relayout_fresh

        check_format("empty", memory_format)
        relayout_fresh(out, format_strides(out._data.shape, memory_format))
    return out


def eye(n: int, m: int | None = None, *, dtype=None, layout=None, device=None,
        pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """A 2-D identity matrix. See: torch.eye."""
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("eye", layout, pin_memory)
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None and m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype).np), None, device, requires_grad)


def arange(start=None, end=None, step=1, *, dtype=None, layout=None, device=None,
           pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``. See: torch.arange.

    ``arange(5)``, ``arange(1, 5)``, ``arange(1, 5, 2)`` and the keyword forms
    (``arange(end=5)``). The dtype is int64 when all bounds are integers, else the default float
    dtype.
    """
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("arange", layout, pin_memory)
    if end is None:
        if start is None:
            raise TypeError("arange() missing 1 required positional arguments: \"end\"")
        start, end = 0, start
    elif start is None:
        start = 0
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = _dt.int64 if all(isinstance(v, (int, np.integer)) for v in vals) \
            else _dt.get_default_dtype()
    d = _dt.to_dtype(dtype)
    if d.is_complex:
        raise NotImplementedError(f'"arange_cpu" not implemented for '
                                  f"'{_dt._LEGACY[d]}'")
    # Compute in float64/int64 then cast, as PyTorch does, so float32 ranges have the right length.
    arr = np.arange(*vals, dtype=np.float64 if d.is_floating_point else np.int64)
    return _finish(arr, d, device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, layout=None, device=None,
             pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``. See: torch.linspace."""
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("linspace", layout, pin_memory)
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


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, layout=None,
             device=None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``steps`` values ``base ** linspace(start, end)``. See: torch.logspace."""
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("logspace", layout, pin_memory)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    arr = np.logspace(start, end, steps, base=base)
    return _finish(arr, _float_dtype(dtype), device, requires_grad)


def _like(name, fn):
    def like(input: Tensor, *, dtype=None, layout=None, device=None, pin_memory: bool = False,
             requires_grad: bool = False, memory_format=None, **kw) -> Tensor:
        from .ops._memory_format import like_layout

        _check_layout(name, layout)
        out = fn(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 pin_memory=pin_memory, requires_grad=requires_grad, **kw)
        return like_layout(out, input, memory_format, name)

    like.__name__ = name
    like.__doc__ = (f"``{fn.__name__}`` with ``input``'s shape, dtype and device; strides "
                    f"as ``memory_format`` asks (default ``preserve_format``: a dense input's "
                    f"strides). See: torch.{name}.")
    return like


# The random factories live in factories_random.py; they are part of this module's namespace.
from .factories_random import (_draw_dtype, rand, randint,  # noqa: E402,F401
                               randint_like, randn, randperm)

zeros_like = _like("zeros_like", zeros)
ones_like = _like("ones_like", ones)
empty_like = _like("empty_like", empty)
rand_like = _like("rand_like", rand)
randn_like = _like("randn_like", randn)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None,
              pin_memory: bool = False, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """``full`` with ``input``'s shape, dtype and device. See: torch.full_like.

    ``memory_format``: the result's strides (default ``preserve_format``: a dense input's).
    """
    from .ops._memory_format import like_layout

    out = full(tuple(input.shape), fill_value, dtype=dtype or input.dtype, layout=layout,
               device=device or input.device, pin_memory=pin_memory,
               requires_grad=requires_grad)
    return like_layout(out, input, memory_format, "full_like")


# -- legacy constructors ----------------------------------------------------------------------
def _legacy_data(args, dtype, device):
    """``FloatTensor(2, 3)`` makes an empty (zero) tensor; ``FloatTensor([1, 2])`` copies data."""
    # The legacy types are CPU types: they ignore set_default_device, as in PyTorch.
    dev = resolve(device if device is not None else "cpu")
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        arr = _infer_array(args[0]).astype(dtype.np)
    else:
        arr = np.zeros(_size_args(args), dtype.np)
    if dev.type != "cpu":
        from .ops._bf16 import check_device

        check_device(arr.dtype, dev)
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
BFloat16Tensor = _legacy("BFloat16Tensor", _dt.bfloat16)
LongTensor = _legacy("LongTensor", _dt.int64)
IntTensor = _legacy("IntTensor", _dt.int32)
ShortTensor = _legacy("ShortTensor", _dt.int16)
CharTensor = _legacy("CharTensor", _dt.int8)
ByteTensor = _legacy("ByteTensor", _dt.uint8)
BoolTensor = _legacy("BoolTensor", _dt.bool)
