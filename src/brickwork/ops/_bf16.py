"""bfloat16 arithmetic as PyTorch does it on the CPU: compute in float32, round once.

PyTorch keeps bfloat16 for storage only. Its CPU kernels load each bfloat16 element as a
float32, do all the work (the whole of a sigmoid, every partial sum of a reduction, every
product of a matmul) in float32 and round the result to bfloat16 once. NumPy has no bfloat16;
``ml_dtypes`` gives one whose single ufuncs do the same, but an op built from several NumPy
steps (a softmax, a layer norm, a loss) would round after each step, and reductions and
matmuls would accumulate in bfloat16, far from PyTorch's numbers.

:func:`float32_compute` wraps such an op's public function: when its tensor arguments are
bfloat16 (and no other floating-point dtype is among them, which would decide the result type
by promotion), it runs the op on float32 copies and rounds each float32 result back to
bfloat16. The copies are made with the differentiable ``to``, so gradients take the same path
back: computed in float32 by the op's backward, rounded once on the way to the bfloat16 input,
as PyTorch's do. Calls that name an output dtype (``dtype=``), an output tensor (``out=``) or
ask to work in place (``inplace=True``) are passed through unchanged: they decide their own
result.

Single elementwise ufuncs (``exp``, ``add`` of two tensors...) already round once in
``ml_dtypes`` and need no wrapping.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from .. import dtypes as _dt

_F32 = np.dtype(np.float32)
# Arguments that make the op choose its own result (see the module docstring).
_OWN_RESULT = ("out", "dtype", "inplace")


def is_bf16(x) -> bool:
    """Whether ``x`` is a bfloat16 tensor (inlined test: this runs on every wrapped call)."""
    d = getattr(x, "_data", None)
    return d is not None and d.dtype.kind == "V" and d.dtype.name == "bfloat16"


_is_bf16 = is_bf16


def rounded(x: float) -> float:
    """The Python float ``x`` rounded to the nearest bfloat16."""
    return float(np.asarray(x, _F32).astype(_dt.bfloat16.np))


def float32_compute(fn):
    """Make ``fn`` compute in float32 and round once when its tensor arguments are bfloat16.

    Args:
        fn: a public op function taking tensors (positionally, by keyword, or in a list such
            as einsum's operands).

    Returns:
        A wrapper with ``fn``'s name, docstring and signature (``functools.wraps``).
    """
    params = inspect.signature(fn).parameters
    names = list(params)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    own = tuple((n, names.index(n) if params[n].kind in positional else None)
                for n in _OWN_RESULT if n in params)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for a in args:
            if _is_bf16(a) or (a.__class__ in (list, tuple) and any(map(_is_bf16, a))):
                break
        else:
            if not kwargs or not any(map(_is_bf16, kwargs.values())):
                return fn(*args, **kwargs)
        for name, pos in own:
            in_kwargs = name in kwargs
            v = kwargs[name] if in_kwargs else \
                args[pos] if pos is not None and pos < len(args) else None
            if v is None or v is False:
                continue
            if name == "dtype" and v is _dt.bfloat16:
                # dtype=bfloat16 on bfloat16 input asks for nothing more: still float32 inside.
                if in_kwargs:
                    kwargs = {k: x for k, x in kwargs.items() if k != name}
                else:
                    args = args[:pos] + (None,) + args[pos + 1:]
                continue
            return fn(*args, **kwargs)
        return _in_float32(fn, args, kwargs)

    wrapper._float32_compute = True
    return wrapper


def _in_float32(fn, args, kwargs):
    tensors = [a for a in _flat(args) if hasattr(a, "_data")] + \
        [v for v in kwargs.values() if hasattr(v, "_data")]
    for t in tensors:
        d = t._data.dtype
        if not _dt.is_bfloat16(d) and (d.kind in "fc"):  # another float dtype: promotion decides
            return fn(*args, **kwargs)
    up_args = [_up(a) for a in args]
    up_kwargs = {k: _up(v) for k, v in kwargs.items()}
    return _down(fn(*up_args, **up_kwargs))


def _flat(args):
    for a in args:
        if a.__class__ in (list, tuple):
            yield from a
        else:
            yield a


def _up(x):
    if x.__class__ in (list, tuple):
        return x.__class__(_up(v) for v in x)
    return x.to(_dt.float32) if _is_bf16(x) else x


def _down(res):
    if isinstance(res, tuple):
        items = [_down(r) for r in res]
        return type(res)(*items) if hasattr(res, "_fields") else type(res)(items)
    if isinstance(res, list):
        return [_down(r) for r in res]
    d = getattr(res, "_data", None)
    if d is not None and d.dtype == _F32:
        return res.to(_dt.bfloat16)
    return res


# -- the GPU backend ---------------------------------------------------------------------------
# CuPy learned bfloat16 (through ml_dtypes) only recently and experimentally (CuPy 14); older
# CuPy has none. brickwork asks the installed CuPy once, by running one tiny kernel, and lets
# bfloat16 tensors onto a GPU only when that works; otherwise creating or moving one there
# raises a TypeError naming bfloat16 and the device, instead of a CuPy error deep in some op.
_GPU_BF16: dict = {}  # id(cupy module) -> answer (tests swap in a simulated CuPy)


def gpu_supports_bfloat16() -> bool:
    """Whether the installed CuPy can hold and compute on bfloat16 arrays (asked once)."""
    from ..device import cupy_module

    cp = cupy_module()
    if cp is None:
        return False
    ok = _GPU_BF16.get(id(cp))
    if ok is None:
        try:
            a = cp.ones(2, dtype=_dt.bfloat16.np)
            ok = bool(((a + a).astype(_F32) == 2).all())
        except Exception:  # any failure (no dtype, no kernel) means unsupported
            ok = False
        _GPU_BF16[id(cp)] = ok
    return ok


def check_device(np_dtype, dev) -> None:
    """Raise TypeError when a bfloat16 array would be made on a GPU that cannot hold one."""
    if getattr(dev, "type", "cpu") != "cpu" and _dt.is_bfloat16(np_dtype) \
            and not gpu_supports_bfloat16():
        raise TypeError(f"bfloat16 tensors are not supported on {dev}: the installed CuPy has "
                        "no bfloat16 (CuPy 14 or later with ml_dtypes adds it). Keep bfloat16 "
                        "tensors on the CPU, or use float16 or float32 on the GPU.")


__all__: list = []
