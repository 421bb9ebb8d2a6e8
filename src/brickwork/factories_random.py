"""The random factories: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``.

Part of ``factories.py`` (which re-exports them), kept apart for length. Draws come from the
NumPy generator of ``generator`` (or the default one) and move to the device once.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .factories import _check_options, _finish, _float_dtype, _shape
from .random import rng_for
from .tensor import Tensor, _size_args


def rand(*args, size=None, generator=None, dtype=None, layout=None, device=None,
         pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1); the shape as varargs, a tuple/list/Size or ``size=``.

    Example:
        >>> brickwork.rand(2, 3, generator=brickwork.Generator().manual_seed(0)).shape
        brickwork.Size([2, 3])

    See: torch.rand.
    """
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("rand", layout, pin_memory)
    d = _float_dtype(dtype)
    shape = _shape(args, size, "rand")
    if d.is_complex:  # real and imaginary parts each uniform in [0, 1), as PyTorch
        pair = rng_for(generator).random(shape + (2,), dtype=_draw_dtype(
            d.to_real(), "check_uniform_bounds"))
        return _finish(pair[..., 0] + 1j * pair[..., 1], d, device, requires_grad)
    arr = rng_for(generator).random(shape, dtype=_draw_dtype(d, "check_uniform_bounds"))
    return _finish(arr, d, device, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, layout=None, device=None,
          pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Standard normal samples; the shape as for ``rand``. See: torch.randn."""
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("randn", layout, pin_memory)
    d = _float_dtype(dtype)
    shape = _shape(args, size, "randn")
    if d.is_complex:  # PyTorch: real and imaginary parts each N(0, 1/2), so E|z|^2 = 1
        pair = rng_for(generator).standard_normal(shape + (2,), dtype=_draw_dtype(
            d.to_real(), "normal_kernel_cpu")) * np.sqrt(0.5).astype(d.to_real().np)
        return _finish(pair[..., 0] + 1j * pair[..., 1], d, device, requires_grad)
    arr = rng_for(generator).standard_normal(shape, dtype=_draw_dtype(d, "normal_kernel_cpu"))
    return _finish(arr, d, device, requires_grad)


def _draw_dtype(d, kernel: str):
    if not d.is_floating_point:
        from .tensor import _SCALAR_TYPE_NAMES

        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_SCALAR_TYPE_NAMES[d.name]}'")
    return np.float64 if d is _dt.float64 else np.float32


def _int_bound(value, name: str, position: int) -> int:
    """A bound of ``randint``: an int (or an integer 0-d tensor), as PyTorch's parser wants."""
    if isinstance(value, Tensor):
        return value.__index__()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"randint(): argument '{name}' (position {position}) must be int, not "
                        f"{type(value).__name__}")
    return int(value)


_RANDINT_FORMS = ("randint() received an invalid combination of arguments - got ({}), but "
                  "expected one of:\n"
                  " * (int high, tuple of ints size, *, torch.Generator generator, Tensor out = "
                  "None, torch.dtype dtype = None, torch.layout layout = None, torch.device "
                  "device = None, bool pin_memory = False, bool requires_grad = False)\n"
                  " * (int low, int high, tuple of ints size, *, torch.Generator generator, "
                  "Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, "
                  "torch.device device = None, bool pin_memory = False, bool requires_grad = "
                  "False)\n")


def randint(*args, low=None, high=None, size=None, generator=None, dtype=None, layout=None,
            device=None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from ``[low, high)`` (``low`` defaults to 0).

    PyTorch's two overloads: ``randint(high, size)`` and ``randint(low, high, size)``, each
    bound and ``size`` positional or by keyword (``randint(3, size=(4, 5))``); ``size`` is a
    tuple, list or Size. ``dtype`` defaults to int64; a floating dtype holds the integers.

    Example:
        >>> brickwork.randint(3, size=(4, 5)).shape
        brickwork.Size([4, 5])

    See: torch.randint.
    """
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("randint", layout, pin_memory)
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if size is None:
        if len(args) >= 2 and high is None and low is None:
            raise TypeError(f"randint(): argument 'size' (position {len(args)}) must be tuple "
                            f"of ints, not {type(args[-1]).__name__}")
        got = ", ".join(type(a).__name__ for a in args)
        raise TypeError(_RANDINT_FORMS.format(got))
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    names = ["high"] if len(args) == 1 and low is None else ["low", "high"]
    if len(args) > 2 or len(args) > len(names):
        raise TypeError(f"randint() takes at most 3 positional arguments ({len(args) + 1} given)")
    given = dict(zip(names, args))
    for key, value in (("low", low), ("high", high)):
        if value is not None:
            if key in given:
                raise TypeError(f"randint() got multiple values for argument '{key}'")
            given[key] = value
    if "high" not in given:
        raise TypeError(_RANDINT_FORMS.format(", ".join(type(a).__name__ for a in args)))
    lo = _int_bound(given.get("low", 0), "low", 1)
    hi = _int_bound(given["high"], "high", 2 if "low" in given else 1)
    if hi <= lo:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={lo} >= "
                           f"to={hi}")
    d = _dt.to_dtype(dtype) if dtype is not None else _dt.int64
    _check_int_range(lo, hi, d)
    shape = _size_args((size,), "randint")
    arr = rng_for(generator).integers(lo, hi, shape, dtype=np.int64)
    return _finish(arr, d, device, requires_grad)


_C_NAMES = {"bool": "bool", "int8": "signed char", "uint8": "unsigned char", "int16": "short",
            "int32": "int", "int64": "long"}


def _check_int_range(lo: int, hi: int, d) -> None:
    """Refuse bounds the integer ``dtype`` cannot hold, with PyTorch's text (no wrap-around)."""
    if d.is_floating_point:
        return
    lowest, highest = (0, 1) if d.np.kind == "b" else (np.iinfo(d.np).min, np.iinfo(d.np).max)
    if lo < lowest:
        raise RuntimeError(f"from is out of bounds for {_C_NAMES[d.name]}")
    if hi - 1 > highest:
        raise RuntimeError(f"to - 1 is out of bounds for {_C_NAMES[d.name]}")


def randint_like(input: Tensor, low=None, high=None, *, generator=None, dtype=None,
                 layout=None, device=None, pin_memory: bool = False,
                 requires_grad: bool = False, memory_format=None) -> Tensor:
    """``randint`` with ``input``'s shape, dtype and device: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``. ``memory_format``: the result's strides (default
    ``preserve_format``: a dense input's). See: torch.randint_like.
    """
    from .ops._memory_format import like_layout

    if high is None:
        if low is None:
            raise TypeError("randint_like() missing 1 required positional arguments: \"high\"")
        low, high = 0, low
    elif low is None:
        low = 0
    out = randint(low, high, tuple(input.shape), generator=generator,
                  dtype=dtype or input.dtype, layout=layout, device=device or input.device,
                  pin_memory=pin_memory, requires_grad=requires_grad)
    return like_layout(out, input, memory_format, "randint_like")


def randperm(n: int, *, generator=None, dtype=None, layout=None, device=None,
             pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0..n-1`` (int64 unless ``dtype``). See: torch.randperm."""
    if layout is not None or pin_memory:  # the common call pays one test
        _check_options("randperm", layout, pin_memory)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    return _finish(rng_for(generator).permutation(int(n)).astype(np.int64), dtype or _dt.int64,
                   device, requires_grad)
