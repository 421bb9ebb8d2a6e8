"""Mixed precision: ``autocast`` runs each listed op in the dtype PyTorch's autocast chooses.

Inside ``with brickwork.autocast("cpu"):`` (or ``"cuda"``), matrix products and convolutions
run in the lower-precision dtype (bfloat16 on CPU, float16 on CUDA by default), ops that need
range or accuracy (losses, reductions, ``exp``/``log`` on CUDA, linear algebra on CPU) run in
float32, and ops that combine several inputs (``cat``, ``stack``...) run in the widest one.
The lists are PyTorch's, per device (see ``_autocast_lists``); ops on no list follow ordinary
type promotion. The casts are differentiable, so float32 parameters get float32 gradients.

Example:
    >>> model = brickwork.nn.Linear(4, 3)
    >>> with brickwork.autocast("cpu"):
    ...     y = model(brickwork.ones(2, 4))
    >>> y.dtype
    brickwork.bfloat16

See: torch.autocast, torch.amp.autocast.
"""
from __future__ import annotations

import collections.abc
import functools
import warnings
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _autocast_core as _core
from ._autocast_core import STATE as _STATE, check_device_type as _check

__all__ = [
    "autocast", "autocast_decrement_nesting", "autocast_increment_nesting",
    "clear_autocast_cache", "get_autocast_cpu_dtype", "get_autocast_dtype",
    "get_autocast_gpu_dtype", "get_autocast_ipu_dtype", "get_autocast_xla_dtype",
    "is_autocast_cache_enabled", "is_autocast_cpu_enabled", "is_autocast_enabled",
    "is_autocast_ipu_enabled", "is_autocast_xla_enabled", "set_autocast_cache_enabled",
    "set_autocast_cpu_dtype", "set_autocast_cpu_enabled", "set_autocast_dtype",
    "set_autocast_enabled", "set_autocast_gpu_dtype", "set_autocast_ipu_dtype",
    "set_autocast_ipu_enabled", "set_autocast_xla_dtype", "set_autocast_xla_enabled",
]


# -- state -------------------------------------------------------------------------------------
def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` in this thread (CUDA when omitted).

    See: torch.is_autocast_enabled."""
    return _STATE.enabled.get("cuda" if device_type is None else _check(device_type), False)


def set_autocast_enabled(*args: Any) -> None:
    """``set_autocast_enabled(device_type, enabled)``, or ``(enabled)`` for CUDA.

    See: torch.set_autocast_enabled."""
    if len(args) == 1:
        device_type, enabled = "cuda", args[0]
    elif len(args) == 2:
        device_type, enabled = args
        _check(device_type)
    else:
        raise TypeError(f"set_autocast_enabled() takes (enabled) or (device_type, enabled), but "
                        f"{len(args)} arguments were given")
    if not isinstance(enabled, bool):
        raise TypeError(f"set_autocast_enabled(): argument 'enabled' must be bool, not "
                        f"{type(enabled).__name__}")
    _core.set_enabled(device_type, enabled)


def get_autocast_dtype(device_type: str) -> _dt.dtype:
    """The lower-precision dtype autocast uses on ``device_type``. See: torch.get_autocast_dtype."""
    return _STATE.dtype[_check(device_type)]


def set_autocast_dtype(device_type: str, dtype: _dt.dtype) -> None:
    """Set the lower-precision dtype for ``device_type`` (this thread).

    See: torch.set_autocast_dtype."""
    if not isinstance(dtype, _dt.dtype):
        raise TypeError(f"set_autocast_dtype(): argument 'dtype' must be brickwork.dtype, not "
                        f"{type(dtype).__name__}")
    _STATE.dtype[_check(device_type)] = dtype


def autocast_increment_nesting() -> int:
    """Count one more entered autocast region; returns the new depth.

    See: torch.autocast_increment_nesting."""
    _STATE.nesting += 1
    return _STATE.nesting


def autocast_decrement_nesting() -> int:
    """Count one region exited; returns the new depth. See: torch.autocast_decrement_nesting."""
    _STATE.nesting -= 1
    return _STATE.nesting


def clear_autocast_cache() -> None:
    """Drop the cached low-precision casts of weights. See: torch.clear_autocast_cache."""
    _core.clear_cache()


def is_autocast_cache_enabled() -> bool:
    """Whether casts of weights are cached. See: torch.is_autocast_cache_enabled."""
    return _STATE.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Turn the cache of casted weights on or off. See: torch.set_autocast_cache_enabled."""
    if not isinstance(enabled, bool):
        raise TypeError(f"set_autocast_cache_enabled(): argument 'enabled' must be bool, not "
                        f"{type(enabled).__name__}")
    _STATE.cache_enabled = enabled


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"brickwork.{old} is deprecated. Please use brickwork.{new} instead.",
                  DeprecationWarning, stacklevel=3)


def _device_variants(dev: str, label: str):
    """PyTorch's deprecated per-device spellings, e.g. ``is_autocast_cpu_enabled()``."""

    def is_enabled() -> bool:
        _deprecated(f"is_autocast_{label}_enabled()", f"is_autocast_enabled('{dev}')")
        return is_autocast_enabled(dev)

    def set_enabled(enabled: bool) -> None:
        _deprecated(f"set_autocast_{label}_enabled(enabled)",
                    f"set_autocast_enabled('{dev}', enabled)")
        set_autocast_enabled(dev, enabled)

    def get_dtype() -> _dt.dtype:
        _deprecated(f"get_autocast_{label}_dtype()", f"get_autocast_dtype('{dev}')")
        return get_autocast_dtype(dev)

    def set_dtype(dtype: _dt.dtype) -> None:
        _deprecated(f"set_autocast_{label}_dtype(dtype)", f"set_autocast_dtype('{dev}', dtype)")
        set_autocast_dtype(dev, dtype)

    for f, what in ((is_enabled, f"is_autocast_{label}_enabled"),
                    (set_enabled, f"set_autocast_{label}_enabled"),
                    (get_dtype, f"get_autocast_{label}_dtype"),
                    (set_dtype, f"set_autocast_{label}_dtype")):
        f.__name__ = f.__qualname__ = what
        f.__doc__ = f"Deprecated per-device form for '{dev}'. See: torch.{what}."
    return is_enabled, set_enabled, get_dtype, set_dtype


(is_autocast_cpu_enabled, set_autocast_cpu_enabled, get_autocast_cpu_dtype,
 set_autocast_cpu_dtype) = _device_variants("cpu", "cpu")
_, _, get_autocast_gpu_dtype, set_autocast_gpu_dtype = _device_variants("cuda", "gpu")
(is_autocast_ipu_enabled, set_autocast_ipu_enabled, get_autocast_ipu_dtype,
 set_autocast_ipu_dtype) = _device_variants("ipu", "ipu")
(is_autocast_xla_enabled, set_autocast_xla_enabled, get_autocast_xla_dtype,
 set_autocast_xla_dtype) = _device_variants("xla", "xla")


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast supports ``device_type``. See: torch.amp.is_autocast_available."""
    if device_type in _core.DEFAULT_DTYPES:
        return True
    if device_type not in _core.OTHER_DEVICE_TYPES:
        _check(device_type)  # PyTorch's error for a string that names no device type
    return False


# -- the context manager -----------------------------------------------------------------------
class autocast:
    """Run the enclosed ops in mixed precision; a context manager and a decorator.

    Args:
        device_type: ``'cpu'`` or ``'cuda'`` (other PyTorch device types are accepted and have
            no tensors to cast here).
        dtype: the lower-precision dtype (default: ``get_autocast_dtype(device_type)``:
            bfloat16 on CPU, float16 on CUDA).
        enabled: ``False`` turns autocast off inside the region.
        cache_enabled: cache the casts of float32 weights within the region (default: the
            current ``is_autocast_cache_enabled()``).

    A dtype other than bfloat16/float16 warns and disables autocast; ``'cuda'`` without a GPU
    warns and disables it, as PyTorch does.

    Example:
        >>> with brickwork.autocast("cpu", dtype=brickwork.bfloat16):
        ...     y = brickwork.mm(brickwork.ones(2, 2), brickwork.ones(2, 2))
        >>> y.dtype
        brickwork.bfloat16

    See: torch.autocast.
    """

    def __init__(self, device_type: str, dtype: _dt.dtype | None = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self.device = device_type
        if not is_autocast_available(device_type):
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}'")
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None \
            else cache_enabled
        if enabled:
            if device_type == "cuda":
                from .. import cuda

                if not cuda.is_available():
                    warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                                  "autocast.", stacklevel=2)
                    enabled = False
                elif self.fast_dtype is _dt.bfloat16 and not cuda.is_bf16_supported():
                    raise RuntimeError("Current CUDA Device does not support bfloat16. Please "
                                       "switch dtype to float16.")
            elif self.fast_dtype not in (_dt.bfloat16, _dt.float16):
                name = device_type.upper()
                warnings.warn(
                    f"In {name} autocast, but the target dtype is not supported. Disabling "
                    f"autocast.\n{name} Autocast only supports dtypes of brickwork.bfloat16, "
                    f"brickwork.float16 currently.", stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self) -> "autocast":
        self.prev_cache_enabled = is_autocast_cache_enabled()
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        # Leaving the outermost region drops the cached casts (PyTorch does the same).
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                f"Did you mean to use autocast as a context manager? For example:\n"
                f"    with brickwork.autocast(device_type=...):\n"
                f"        output = model(input)")
        return autocast_decorator(self, func)


def autocast_decorator(autocast_instance: autocast, func):
    """``func`` run inside ``autocast_instance``. See: torch.amp.autocast_mode.autocast_decorator."""

    @functools.wraps(func)
    def decorate_autocast(*args, **kwargs):
        with autocast_instance:
            return func(*args, **kwargs)

    return decorate_autocast


# -- custom autograd Functions -----------------------------------------------------------------
def _cast(value, device_type: str, dtype: _dt.dtype):
    """Cast the eligible tensors in ``value`` (and in containers of them) to ``dtype``."""
    if isinstance(value, Tensor):
        eligible = (value.is_floating_point() and value.device.type == device_type
                    and value.dtype is not _dt.float64)
        return value.to(dtype) if eligible else value
    if isinstance(value, (str, bytes, np.ndarray)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype)
                for k, v in value.items()}
    if isinstance(value, collections.abc.Iterable):
        items = (_cast(v, device_type, dtype) for v in value)
        return type(value)(items) if isinstance(value, (list, tuple)) else items
    return value


def custom_fwd(fwd=None, *, device_type: str, cast_inputs: _dt.dtype | None = None):
    """Decorate a custom Function's ``forward`` for autocast.

    With ``cast_inputs``, inside an autocast region the floating tensors arriving on
    ``device_type`` are cast to it and ``forward`` runs with autocast off; without it,
    ``forward`` runs under the current autocast state. Either way ``backward`` (decorated with
    ``custom_bwd``) later runs under the same state. See: torch.amp.custom_fwd.
    """
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        enabled = is_autocast_enabled(device_type)
        args[0]._fwd_used_autocast = False
        if enabled:
            with autocast(device_type=device_type, enabled=False):
                return fwd(*_cast(args, device_type, cast_inputs),
                           **_cast(kwargs, device_type, cast_inputs))
        return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorate a custom Function's ``backward`` to run under its forward's autocast state.

    See: torch.amp.custom_bwd."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast,
                      dtype=args[0]._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
