"""Devices and the array module (NumPy or CuPy) behind each one.

Every op takes its array module from its inputs' device, so the CPU and the GPU share one code
path. CuPy is imported only when a CUDA device is first asked for, which keeps ``import
brickwork`` fast and working on machines without it.
"""
from __future__ import annotations

import functools
import re

import numpy as np

_CUPY = None  # the cupy module once imported; False when it is not installed
_CUPY_HINT = (
    "CUDA tensors need CuPy: install brickwork with `pip install brickwork[cuda12]` (CUDA 12) or "
    "`pip install brickwork[cuda13]` (CUDA 13)"
)


def cupy_module():
    """The cupy module, or None when CuPy is not installed or no GPU can be used."""
    global _CUPY
    if _CUPY is None:
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _CUPY = cupy
        except Exception:  # ImportError, or CuPy present but no driver/GPU
            _CUPY = False
    return _CUPY or None


class device:
    """Where a tensor's memory lives: ``device('cpu')``, ``device('cuda:1')``, ``device('cuda', 1)``
    or ``device(type='cuda', index=1)``.

    Equal devices compare equal and hash alike; ``repr`` matches PyTorch's. A device is also a
    context manager that makes factory functions allocate on it.

    See: torch.device.
    """

    __slots__ = ("type", "index", "_str")

    def __new__(cls, type_or_str=None, index: int | None = None, **kwargs):
        if kwargs:  # device(type='cuda', index=1), PyTorch's keyword form
            if set(kwargs) != {"type"} or type_or_str is not None:
                raise TypeError(f"device() got unexpected keyword argument(s) "
                                f"{sorted(set(kwargs) - {'type'})} (expected type= and index=)")
            type_or_str = kwargs["type"]
        if isinstance(type_or_str, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            return type_or_str
        if isinstance(type_or_str, int) and not isinstance(type_or_str, bool):
            type_or_str, index = "cuda", type_or_str
        if isinstance(type_or_str, tuple):
            type_or_str, index = type_or_str
        if not isinstance(type_or_str, str):
            raise TypeError(
                f"device() received an invalid combination of arguments - got "
                f"({type(type_or_str).__name__}), expected a string like 'cpu' or 'cuda:0'"
            )
        key = (type_or_str, index)
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        if _DEVICE_STRING.fullmatch(type_or_str) is None:
            raise RuntimeError(f"Invalid device string: '{type_or_str}'")
        dev_type, _, idx_str = type_or_str.partition(":")
        if dev_type not in _TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_TYPES)} device type at start of device string: "
                f"{type_or_str}"
            )
        if idx_str:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type_or_str}")
            index = int(idx_str)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self = object.__new__(cls)
        self.type = dev_type
        self.index = index
        self._str = dev_type if index is None else f"{dev_type}:{index}"
        _CACHE[key] = self
        return self

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self._str

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self._str == other._str

    def __hash__(self) -> int:
        return hash(self._str)

    def __reduce__(self):
        return (device, (self._str,))

    def __enter__(self):
        _DEFAULT_STACK.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _DEFAULT_STACK.pop()


_TYPES = ("cpu", "cuda", "meta")
_DEVICE_STRING = re.compile(r"[a-zA-Z_]+(?::(?:[1-9]\d*|0))?")  # PyTorch's form: type[:index]
_CACHE: dict = {}
_DEFAULT_STACK: list = []
CPU = device("cpu")


_BASE_DEFAULT: list = []  # [the device set by set_default_device], at _DEFAULT_STACK[0]


def default_device() -> device:
    """The device factories use when none is given: the innermost ``with device(...)``, else
    the one ``set_default_device`` chose, else the CPU."""
    return _DEFAULT_STACK[-1] if _DEFAULT_STACK else CPU


def set_base_default_device(dev: device | None) -> None:
    """Install ``dev`` (None: the CPU) as the default under every ``with device(...)`` block.

    It sits at the bottom of ``_DEFAULT_STACK`` so that factories, which read only that stack
    (and take a fast path when it is empty), need no second lookup; ``with`` blocks push and pop
    above it. A CPU default leaves the stack empty, keeping that fast path.
    """
    if _BASE_DEFAULT:
        _BASE_DEFAULT.pop()
        del _DEFAULT_STACK[0]
    if dev is not None:
        _DEFAULT_STACK.insert(0, dev)
        _BASE_DEFAULT.append(dev)


def resolve(dev) -> device:
    """Normalise a user's device argument (None, str, int, device) to a concrete device.

    ``cuda`` without an index becomes the current CUDA device, as PyTorch does when allocating.
    Raises RuntimeError naming what to install or which devices exist when it cannot be used.
    """
    if dev is None:
        dev = default_device()
    dev = device(dev)
    if dev.type == "cpu":
        return CPU
    if dev.type == "cuda":
        cp = cupy_module()
        if cp is None:
            raise RuntimeError(f"Cannot use device '{dev}': {_CUPY_HINT}, and make sure an "
                               "NVIDIA GPU and driver are present.")
        count = cp.cuda.runtime.getDeviceCount()
        index = cp.cuda.runtime.getDevice() if dev.index is None else dev.index
        if index >= count:
            raise RuntimeError(
                f"CUDA error: invalid device ordinal: asked for cuda:{index} but "
                f"{count} CUDA device(s) are available (cuda:0..cuda:{count - 1})"
            )
        return device("cuda", index)
    raise RuntimeError(f"device '{dev}' cannot hold data")


def array_module(dev: device):
    """NumPy for the CPU, CuPy for CUDA devices."""
    return np if dev.type == "cpu" else cupy_module()


def current_cuda_index() -> int:
    """The index of CuPy's current device: the GPU that kernels launch on and allocate from."""
    return _CUPY.cuda.runtime.getDevice()


def off_current_gpu(dev: device) -> bool:
    """Whether ``dev`` is a GPU other than CuPy's current one, so work on it must switch.

    ``Function.apply`` inlines this test on its hot path.
    """
    return dev.index is not None and dev.index != _CUPY.cuda.runtime.getDevice()


def on_device(dev: device):
    """A context that runs CuPy work on ``dev``'s GPU (CuPy's ``cuda.Device``).

    CuPy launches kernels on, and allocates results from, its *current* device. An op on
    tensors on ``cuda:1`` must run with that GPU current, or CuPy refuses the arrays (or, with
    peer access, computes on the wrong GPU); ops that find a different current device re-run
    under this context, as PyTorch's device guard does.
    """
    return _CUPY.cuda.Device(dev.index)


class DeviceFollower:
    """Makes CuPy's current device follow work that moves between GPUs, then puts it back.

    A loop over gradients or parameters that may sit on several GPUs calls ``follow(dev)``
    before working on each, and ``restore()`` once at the end (in a ``finally``); host work
    costs one attribute check.
    """

    __slots__ = ("start",)

    def __init__(self) -> None:
        self.start: int | None = None  # the caller's device, once we have switched away

    def follow(self, dev: device) -> None:
        if dev.index is None:
            return
        runtime = _CUPY.cuda.runtime
        cur = runtime.getDevice()
        if dev.index != cur:
            if self.start is None:
                self.start = cur
            runtime.setDevice(dev.index)

    def follow_array(self, arr) -> None:
        """``follow`` the device of a NumPy or CuPy array (nothing to do for host arrays)."""
        if arr.__class__ is not np.ndarray:
            self.follow(device_of_array(arr))

    def restore(self) -> None:
        if self.start is not None:
            _CUPY.cuda.runtime.setDevice(self.start)
            self.start = None


def runs_on_input_device(fn):
    """Decorator for ops that compute on arrays outside ``Function.apply``: run on their GPU.

    ``Function.apply`` puts every differentiable op on its tensors' GPU; ops that work on the
    arrays directly (comparisons, arg-reductions, in-place writes) take this decorator, which
    does the same from their first tensor argument.
    """
    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        for a in args:
            dev = getattr(a, "_device", None)  # the first tensor argument
            if dev is not None:
                if off_current_gpu(dev):
                    with on_device(dev):
                        return fn(*args, **kwargs)
                break
        return fn(*args, **kwargs)

    return guarded


def guard_functions(namespace: dict, names) -> None:
    """Apply :func:`runs_on_input_device` to the named functions of a module, in place.

    The layer functions (``nn.functional``) prepare arrays (statistics, masks, index checks)
    before their autograd Function runs, so each of them runs wholly on its input's GPU.
    """
    for name in names:
        namespace[name] = runs_on_input_device(namespace[name])


def array_writeable(arr) -> bool:
    """Whether ``arr`` can be written in place without one write landing on several elements.

    NumPy says so in ``flags.writeable`` (broadcast views are read-only); CuPy arrays have no
    such flag, so a GPU array is checked for the stride-0 axes that broadcasting makes.
    """
    writeable = getattr(arr.flags, "writeable", None)
    if writeable is not None:
        return writeable
    return all(st != 0 for st, n in zip(arr.strides, arr.shape) if n > 1)


def device_of_array(arr) -> device:
    """The device an array lives on (NumPy arrays on the CPU, CuPy arrays on their GPU)."""
    if isinstance(arr, np.ndarray):
        return CPU
    dev = arr.device
    # A graph-recording value over host data (autograd/_lifted.py) reports NumPy's "cpu".
    return CPU if dev.__class__ is str else device("cuda", dev.id)


# Module.__call__ pushes "net.2 (Linear)"-style labels here so that a cross-device error can say
# which layer it happened in; ops never read it on their hot path.
MODULE_STACK: list = []


def describe_op_location() -> str:
    """`` while running net.2 (Linear)`` for the innermost running module, or ``''``."""
    return f", while running {MODULE_STACK[-1]}" if MODULE_STACK else ""
