"""Autocast's state and its interception of ops: the thread-local settings per device type,
the cache of casted weights, and the wrapper each listed op is called through.

Cost when autocast is off: nothing until autocast is first enabled (the wrappers are put in
place then, see ``_autocast_install``); after that a listed op's wrapper reads one module
global (``_ON``, how many (thread, device type) pairs have autocast enabled) and calls the op.
Ops on no list are never wrapped. Only when ``_ON`` is set does the wrapper look at the
thread's own state.
"""
from __future__ import annotations

import functools
import inspect
import threading
import weakref

from .. import dtypes as _dt
from ..device import off_current_gpu, on_device
from ..tensor import Tensor

# The device types PyTorch's autocast knows, with their default lower-precision dtypes
# (``autocast_dtype`` in autocast_mode.cpp).
DEFAULT_DTYPES = {
    "cpu": _dt.bfloat16, "cuda": _dt.float16, "ipu": _dt.float16, "xpu": _dt.float16,
    "maia": _dt.bfloat16, "xla": _dt.bfloat16, "mps": _dt.float16, "hpu": _dt.bfloat16,
    "mtia": _dt.float16, "privateuseone": _dt.float16,
}
# Device types torch.device accepts but autocast has no state for.
OTHER_DEVICE_TYPES = ("mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "lazy",
                      "vulkan", "meta")

_ON = 0  # (thread, device type) pairs with autocast enabled; the wrappers' one check
_ON_LOCK = threading.Lock()


class _State(threading.local):
    """One thread's autocast settings (PyTorch keeps them thread-local too)."""

    def __init__(self) -> None:
        self.enabled: dict[str, bool] = {}
        self.dtype: dict = dict(DEFAULT_DTYPES)
        self.nesting = 0
        self.cache_enabled = True
        self.busy = False  # inside an autocasted op: its inner ops are not autocast again


STATE = _State()

# Casts of float32 leaf weights to the lower dtype, reused within an autocast region:
# id(weight) -> (weakref(weight), cast). Shared by threads, as PyTorch's cache is.
_CACHE: dict[int, tuple] = {}
_CACHE_LOCK = threading.Lock()


def check_device_type(device_type: str) -> str:
    """``device_type`` if autocast has state for it, else PyTorch's RuntimeError."""
    if device_type in DEFAULT_DTYPES:
        return device_type
    if not isinstance(device_type, str):
        raise TypeError(f"expected a device type string such as 'cpu' or 'cuda', got "
                        f"{type(device_type).__name__}")
    if device_type in OTHER_DEVICE_TYPES:
        raise RuntimeError(f"autocast has no state for device type '{device_type}'")
    raise RuntimeError("Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, "
                       "hip, ve, fpga, maia, xla, lazy, vulkan, mps, meta, hpu, mtia, "
                       f"privateuseone device type at start of device string: {device_type}")


def set_enabled(device_type: str, enabled: bool) -> None:
    """Turn autocast on or off for ``device_type`` in this thread, keeping ``_ON`` in step."""
    global _ON
    state = STATE
    old = state.enabled.get(device_type, False)
    if old == enabled:
        return
    state.enabled[device_type] = enabled
    with _ON_LOCK:
        _ON += 1 if enabled else -1
    if enabled:
        from ._autocast_install import install

        install()  # wrap ops once, and any modules imported since (cheap when nothing's new)


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


# -- casting -----------------------------------------------------------------------------------
def _eligible(t, dev: str) -> bool:
    """PyTorch's ``is_eligible``: a floating tensor on ``dev`` that is not float64."""
    return (isinstance(t, Tensor) and t._device.type == dev and _dt.is_float_array(t._data)
            and t._data.dtype != _F64)


def _cast(t, to, dev: str, lower):
    """``cached_cast``: ``t`` in dtype ``to`` if eligible; float32 leaf weights cast to the lower
    dtype are cached until the outermost autocast region exits."""
    if not _eligible(t, dev) or t.dtype is to:
        return t
    if (to is lower and t._data.dtype == _F32 and t._requires_grad and t.grad_fn is None
            and t._base is None and STATE.cache_enabled):
        with _CACHE_LOCK:
            hit = _CACHE.get(id(t))
            if hit is not None and hit[0]() is t:
                return hit[1]
            out = _to(t, to)
            _CACHE[id(t)] = (weakref.ref(t), out)
            return out
    return _to(t, to)


def _to(t, to):
    # On its own GPU: ``to`` of a strided tensor on another GPU than CuPy's current one copies
    # outside the device guard that ops run under.
    if off_current_gpu(t._device):
        with on_device(t._device):
            return t.to(to)
    return t.to(to)


def _cast_value(v, to, dev, lower):
    if isinstance(v, Tensor):
        return _cast(v, to, dev, lower)
    if isinstance(v, (list, tuple)) and v and isinstance(v[0], Tensor):
        return type(v)(_cast(x, to, dev, lower) if isinstance(x, Tensor) else x for x in v)
    return v


def _cast_all(args, kwargs, to, dev, lower):
    return (tuple([_cast_value(a, to, dev, lower) for a in args]),
            {k: _cast_value(v, to, dev, lower) for k, v in kwargs.items()})


def _tensors(args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            for x in a:
                if isinstance(x, Tensor):
                    yield x


def _promote_type(args, kwargs, dev, lower):
    """PyTorch's ``promote_type``: float32 if any eligible argument is float32, else the lower
    dtype; float64 arguments are ignored."""
    current = lower
    for t in _tensors(args, kwargs):
        if not _eligible(t, dev):
            continue
        nxt = t.dtype
        if current is _dt.float32 or nxt is _dt.float32:
            current = _dt.float32
        elif not (current is lower and nxt is lower):
            raise RuntimeError("Unexpected floating ScalarType in at::autocast::prioritize")
    return current


def _explicit_dtype(args, kwargs) -> bool:
    if kwargs.get("dtype") is not None:
        return True
    return any(isinstance(a, _dt.dtype) for a in args[1:])


def _pad_runs_fp32(args, kwargs) -> bool:
    """Whether ``F.pad`` reaches a kernel CPU autocast lists (reflection_pad1d/2d,
    replication_pad1d/2d/3d)."""
    mode = kwargs.get("mode", args[2] if len(args) > 2 else "constant")
    pad = kwargs.get("pad", args[1] if len(args) > 1 else ())
    dims = len(pad) // 2
    return (mode == "reflect" and dims in (1, 2)) or (mode == "replicate" and dims in (1, 2, 3))


def dispatch(fn, policies, args, kwargs):
    """Call ``fn`` as autocast would: cast the arguments by this device's policy, then run the
    op with autocast off for its inner ops (PyTorch excludes the Autocast keys likewise)."""
    state = STATE
    if state.busy or kwargs.get("out") is not None:  # out= calls are not autocast (PyTorch)
        return fn(*args, **kwargs)
    dev = None
    for t in _tensors(args, kwargs):
        dev = t._device.type
        break
    if dev is None or not state.enabled.get(dev):
        return fn(*args, **kwargs)
    policy = policies.get(dev)
    if policy is None:
        return fn(*args, **kwargs)
    lower = state.dtype[dev]
    if policy == "lower":
        args, kwargs = _cast_all(args, kwargs, lower, dev, lower)
    elif policy == "fp32" or (policy == "fp32_pad" and _pad_runs_fp32(args, kwargs)):
        args, kwargs = _cast_all(args, kwargs, _dt.float32, dev, lower)
    elif policy in ("fp32_opt", "fp32_append"):
        if args and _eligible(args[0], dev) and not _explicit_dtype(args, kwargs):
            args = (_cast(args[0], _dt.float32, dev, lower),) + tuple(args[1:])
    elif policy == "promote":
        to = _promote_type(args, kwargs, dev, lower)
        args, kwargs = _cast_all(args, kwargs, to, dev, lower)
    elif policy == "opaque":
        pass  # no casts; only the inner ops' autocast is off
    elif policy == "keep_input":
        return _keep_input(fn, args, kwargs, dev, lower)
    elif policy == "banned":
        from ._autocast_lists import BANNED_MESSAGE

        raise RuntimeError(BANNED_MESSAGE)
    state.busy = True
    try:
        return fn(*args, **kwargs)
    finally:
        state.busy = False


def _keep_input(fn, args, kwargs, dev, lower):
    """A normalization whose PyTorch kernel takes a lower-precision input with float32
    parameters: computed in float32, returned in the input's dtype."""
    x = args[0] if args else None
    if not _eligible(x, dev) or x._data.dtype == _F32:
        STATE.busy = True
        try:
            return fn(*args, **kwargs)
        finally:
            STATE.busy = False
    args, kwargs = _cast_all(args, kwargs, _dt.float32, dev, lower)
    STATE.busy = True
    try:
        return _to(fn(*args, **kwargs), x.dtype)
    finally:
        STATE.busy = False


def make_wrapper(fn, policies: dict):
    """``fn`` behind autocast's check: one global read when autocast is off everywhere.

    The wrapper is generated with ``fn``'s own parameters, so calling it costs one frame and no
    ``*args``/``**kwargs`` packing; a function taking ``*args``/``**kwargs`` gets the generic
    form."""
    wrapper = _exact_wrapper(fn, policies)
    if wrapper is None:
        def wrapper(*args, **kwargs):
            if _ON:
                return dispatch(fn, policies, args, kwargs)
            return fn(*args, **kwargs)

    functools.update_wrapper(wrapper, fn)
    wrapper._autocast_policies = policies
    return wrapper


def _exact_wrapper(fn, policies):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    kinds = inspect.Parameter
    head, pos, kw, defaults = [], [], [], []
    params = list(sig.parameters.values())
    for i, p in enumerate(params):
        if p.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD) or not p.name.isidentifier() \
                or p.name.startswith("_ac_"):
            return None
        if p.kind is kinds.KEYWORD_ONLY and "*" not in head:
            head.append("*")
        default = ""
        if p.default is not kinds.empty:
            default = f"=_ac_d{len(defaults)}"
            defaults.append(p.default)
        head.append(p.name + default)
        # ``out`` (and what follows it) travels by keyword, where ``dispatch`` looks for it.
        if p.kind is kinds.KEYWORD_ONLY or (p.kind is kinds.POSITIONAL_OR_KEYWORD and (
                p.name == "out" or (kw and kw[0] == "out"))):
            kw.append(p.name)
        else:
            pos.append(p.name)
        if p.kind is kinds.POSITIONAL_ONLY and (
                i + 1 == len(params) or params[i + 1].kind is not kinds.POSITIONAL_ONLY):
            head.append("/")
    args = "".join(n + ", " for n in pos)
    kwargs = ", ".join(f"{n!r}: {n}" for n in kw)
    call = ", ".join(pos + [f"{n}={n}" for n in kw])
    names = ", ".join(f"_ac_d{i}" for i in range(len(defaults)))
    src = (f"def _ac_make(_ac_fn, _ac_pol, _ac_dispatch{', ' if names else ''}{names}):\n"
           f"    def autocast_op({', '.join(head)}):\n"
           f"        if _ON:\n"
           f"            return _ac_dispatch(_ac_fn, _ac_pol, ({args}), {{{kwargs}}})\n"
           f"        return _ac_fn({call})\n"
           f"    return autocast_op\n")
    space: dict = {}
    # This module's globals: the generated function reads the live ``_ON``.
    exec(compile(src, f"<autocast wrapper of {fn.__name__}>", "exec"), globals(), space)  # noqa: S102
    return space["_ac_make"](fn, policies, dispatch, *defaults)


import numpy as _np  # noqa: E402

_F32 = _np.dtype(_np.float32)
_F64 = _np.dtype(_np.float64)
