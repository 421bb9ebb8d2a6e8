"""``out=``: write a function's result into a tensor the caller already has.

PyTorch gives most of its functions an ``out`` keyword. brickwork adds it in one place: each
public namespace (``brickwork``, ``brickwork.linalg``, ``brickwork.nn.functional``) ends with
``install_out(globals(), prefix)``, which replaces every function named in ``SPECS`` by a
wrapper with the same signature plus ``out=None``. The ops themselves, the Tensor methods and
the operators (``a + b``) never see ``out`` (PyTorch's methods have none either), so their hot
path is untouched; the wrappers are generated with the wrapped function's exact parameters, so
a call without ``out`` costs one extra frame and no ``*args`` packing.

With ``out`` given, the result is computed as usual and then, as PyTorch does:

- when grad mode is on and an argument (or ``out``) requires grad: ``RuntimeError``
  ("functions with out=... arguments don't support automatic differentiation");
- ``out`` on another device than the result: ``RuntimeError``;
- ``out``'s dtype is checked by the function's rule (``_out_rules._Rule``: most ops cast to
  it when PyTorch's ``canCast`` allows, others want exactly the result's dtype, with their own
  text);
- an ``out`` of the right shape is written in place (views of it see the values, its version
  counter moves on); one of another shape is resized, with PyTorch's deprecation
  ``UserWarning`` unless it was empty.

Factories and dtype-taking scans/sums (``zeros``, ``arange``, ``sum``, ``cumsum``...) take their
dtype, and factories their device, from ``out`` when none is given, as PyTorch does.

Example:
    >>> r = brickwork.empty(0)
    >>> brickwork.add(brickwork.ones(2), 1, out=r) is r
    True
    >>> r
    tensor([2., 2.])

Which functions take ``out=``, and each one's dtype rule and names, are the tables of
``_out_rules.py``: a new function that PyTorch gives ``out`` gets it by an entry in its
``_RULES`` (``_out_rules.py``; tests/test_out.py fails until it has one, and a case in its table).
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import warnings

import numpy as np

from .autograd import _views
from .autograd.grad_mode import STATE as _GRAD
from .device import off_current_gpu, on_device
from ._out_rules import (_CAST, _FROM_OUT, _GRAD_NAMES, _OUT_NEEDS_DIM, _RULES, _SILENT_RESIZE,
                         _UNCHECKED_INPUTS, _Rule)
from .tensor import Tensor

_RESIZE_WARNING = (
    "An output with one or more elements was resized since it had shape {old}, which does not "
    "match the required output shape {new}. This behavior is deprecated, and in a future "
    "PyTorch release outputs will not be resized unless they have zero elements. You can "
    "explicitly reuse an out tensor t by resizing it, inplace, to zero elements with "
    "t.resize_(0).")
_ARANGE_WARNING = (
    "The number of elements in the out tensor of shape {old} is {n_old} which does not match "
    "the computed number of elements {n_new}. Note that this may occur as a result of rounding "
    "error. The out tensor will be resized to a tensor of shape ({n_new},).")


class OutSpec:
    """What ``out=`` does for one function: its names in errors, dtype rule and resizing.

    Attributes:
        name: the function's name in argument errors (``"exp"``, ``"linalg_norm"``).
        grad_name: its name in the autograd error (PyTorch names the underlying op:
            ``clip`` -> ``"clamp"``); None where PyTorch never raises it.
        rule: a ``_Rule``, or a tuple of them, one per output of a (values, indices) result,
            checked in the order ``order`` gives (PyTorch's median checks indices first).
        from_out: for functions that take ``dtype`` (and ``device``) from ``out`` when the
            call gives none, the ``_Rule`` for a call whose ``dtype`` is not out's; else None.
        check_inputs: raise the autograd error for inputs that require grad (PyTorch's
            composite ``softmax``/``diag``... write ``out`` without a check).
        resize: ``"warn"`` (PyTorch's deprecation warning), ``"silent"`` (factories) or
            ``"arange"`` (its own warning; keeps out's shape when the count matches).
    """

    __slots__ = ("name", "grad_name", "rule", "order", "from_out", "check_inputs", "resize")

    def __init__(self, name, grad_name, rule, order, from_out, check_inputs, resize) -> None:
        self.name, self.grad_name, self.rule, self.order = name, grad_name, rule, order
        self.from_out, self.check_inputs, self.resize = from_out, check_inputs, resize


def write_out(spec: OutSpec, result, out, inputs: tuple = ()):
    """Check ``out`` against ``result`` as PyTorch does, write the result into it, return it.

    ``result`` is one tensor or a tuple of them (``max(x, dim)``); ``out`` must match.
    ``inputs`` are the call's arguments, for the autograd check.
    """
    # The argument's kind first (PyTorch's binding), then autograd's refusal, then the kernel's
    # dtype rule.
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)):
            raise TypeError(f"{spec.name}(): argument 'out' must be tuple of Tensors, not "
                            f"{type(out).__name__}")
        if len(out) != len(result):
            raise TypeError(f"expected tuple of {len(result)} elements but got {len(out)}")
        for o in out:
            if not isinstance(o, Tensor):
                raise TypeError(f"{spec.name}(): argument 'out' must be tuple of Tensors, not "
                                f"{type(o).__name__}")
    elif spec.name in _OUT_NEEDS_DIM:
        # PyTorch's median(input) has no out= overload: its binding asks for the dim form's.
        raise TypeError(f'{spec.name}() missing 1 required positional arguments: "dim"')
    elif not isinstance(out, Tensor):
        raise TypeError(f"{spec.name}(): argument 'out' must be Tensor, not "
                        f"{type(out).__name__}")
    if _GRAD.enabled and spec.grad_name is not None:
        _check_grad(spec, inputs, out)
    if isinstance(result, tuple):
        rules = spec.rule if isinstance(spec.rule, tuple) else (spec.rule,) * len(result)
        for i in spec.order or range(len(result)):
            _check(rules[i], result[i], out[i])
        for r, o in zip(result, out):
            _store(spec, r, o)
        named = _out_type(type(result))  # PyTorch's `max_out`...
        return named(tuple(out)) if named is not None else tuple(out)
    rule = spec.rule if not isinstance(spec.rule, tuple) else _CAST
    _check(rule, result, out)
    _store(spec, result, out)
    return out


@functools.cache
def _out_type(cls: type):
    """The named tuple PyTorch returns for ``out=`` (``max_out``) where it returns ``cls``
    (``max``) without; None for a plain tuple."""
    if cls is tuple:
        return None
    from .ops.reduction import return_types

    name = cls.__name__ + "_out"
    if name in return_types:
        return return_types[name]
    # Same fields, PyTorch's name: a subclass keeps cls's properties and constructor.
    return type(name, (cls,), {"__slots__": (), "__module__": cls.__module__,
                               "__qualname__": name})


def out_dtype(spec: OutSpec, out, dtype):
    """The dtype a factory (or ``sum``...) computes in: ``dtype``, which must then be out's,
    or else out's."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{spec.name}(): argument 'out' must be Tensor, not "
                        f"{type(out).__name__}")
    if dtype is None:
        if isinstance(spec.rule, _Rule) and spec.rule.kind == "float":
            # nanmean: PyTorch's kernel refuses a non-floating out before computing anything
            # (the result's own dtype plays no part in a "float" rule).
            spec.rule.check(np.dtype(np.float32), out._data.dtype)
        return out.dtype
    from .dtypes import to_dtype

    spec.from_out.check(to_dtype(dtype).np, out._data.dtype)
    return dtype


def _check_grad(spec: OutSpec, inputs: tuple, out) -> None:
    """PyTorch's refusal to record an op that writes into ``out`` (it checks the arguments,
    so even ops with a zero gradient such as ``sign`` refuse)."""
    args = [*inputs, *(out if isinstance(out, (tuple, list)) else (out,))]
    if not spec.check_inputs:
        args = args[len(inputs):]
    for a in args:
        if isinstance(a, (tuple, list)):  # cat's tensors
            args.extend(a)
        elif isinstance(a, Tensor) and a._requires_grad:
            raise RuntimeError(f"{spec.grad_name}(): functions with out=... arguments don't "
                               "support automatic differentiation, but one of the arguments "
                               "requires grad.")


def _check(rule: _Rule, result: Tensor, out: Tensor) -> None:
    if out._device != result._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                           f"least two devices, {out._device} and {result._device}!")
    rule.check(result._data.dtype, out._data.dtype)


def _store(spec: OutSpec, result: Tensor, out: Tensor) -> None:
    """Write ``result`` into ``out``: the one place an ``out=`` write happens.

    It is an unrecorded in-place update (``_views.write_direct``): out's version counter moves
    on, so backward notices if out was saved for it, and its views' histories are refreshed.
    """
    res, dst = result._data, out._data
    if res.shape != dst.shape and spec.resize == "arange" and res.size == dst.size:
        res = res.reshape(dst.shape)  # PyTorch's arange fills out's storage, keeping its shape
    gpu = on_device(out._device) if off_current_gpu(out._device) else contextlib.nullcontext()
    with gpu:
        if res.shape == dst.shape:
            # The same buffer: views of out (and out's own views) see the values.
            _views.write_direct(out, lambda: _views.write(out, dst, res))
            return
        if dst.size:
            # stacklevel 4: _store, write_out, the wrapper, then the caller's line.
            if spec.resize == "warn":
                warnings.warn(_RESIZE_WARNING.format(old=list(dst.shape), new=list(res.shape)),
                              UserWarning, stacklevel=4)
            elif spec.resize == "arange":
                warnings.warn(_ARANGE_WARNING.format(old=list(dst.shape), n_old=dst.size,
                                                     n_new=res.size), UserWarning, stacklevel=4)

        def resize() -> None:  # a new buffer, copied: the result may share an input's memory
            out._data = res.astype(dst.dtype, copy=True)

        _views.write_direct(out, resize)


def _spec(key: str) -> OutSpec:
    short = key.rpartition(".")[2]
    name = "linalg_" + short if key.startswith("linalg.") else \
        "fft_" + short if key.startswith("fft.") else short
    return OutSpec(name, _GRAD_NAMES.get(key, short), _RULES[key],
                   (1, 0) if key in ("median", "nanmedian") else None, _FROM_OUT.get(key),
                   key not in _UNCHECKED_INPUTS,
                   "arange" if key in ("arange", "fft.fftfreq", "fft.rfftfreq")
                   else "silent" if key in _SILENT_RESIZE
                   else "warn")


SPECS = {key: _spec(key) for key in _RULES}


# -- the wrappers ------------------------------------------------------------------------------
def with_out(fn, spec: OutSpec):
    """``fn`` with PyTorch's ``out=`` keyword added (see the module docstring).

    The wrapper is generated with ``fn``'s own parameters so that a call without ``out`` only
    adds one frame; ``inspect.signature`` shows them plus ``out``.
    """
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    env = {"_fn": fn, "_spec": spec, "_write": write_out, "_dtype": out_dtype}
    head, call, inputs = [], [], []
    star = False
    kinds = inspect.Parameter
    for i, p in enumerate(params):
        default = ""
        if p.default is not p.empty:
            env[f"_d{i}"] = p.default
            default = f"=_d{i}"
        if p.kind is kinds.VAR_POSITIONAL:
            head.append(f"*{p.name}")
            call.append(f"*{p.name}")
            inputs.append(f"*{p.name}")
            star = True
        elif p.kind is kinds.VAR_KEYWORD:
            head.append(("" if star else "*, ") + "out=None")
            head.append(f"**{p.name}")
            call.append(f"**{p.name}")
            inputs.append(f"*{p.name}.values()")
            star = True
            continue
        elif p.kind is kinds.KEYWORD_ONLY:
            if not star:
                head.append("*")
                star = True
            head.append(p.name + default)
            call.append(f"{p.name}={p.name}")
            inputs.append(p.name)
        else:
            head.append(p.name + default)
            call.append(p.name)
            inputs.append(p.name)
        if p.kind is kinds.POSITIONAL_ONLY and (
                i + 1 == len(params) or params[i + 1].kind is not kinds.POSITIONAL_ONLY):
            head.append("/")
    if not any(p.kind is kinds.VAR_KEYWORD for p in params):
        head.append(("" if star else "*, ") + "out=None")
    infer = []
    if spec.from_out and "dtype" in sig.parameters:
        infer.append("    dtype = _dtype(_spec, out, dtype)\n")
    if spec.from_out and "device" in sig.parameters:
        infer.append("    if device is None:\n        device = out.device\n")
    args = ", ".join(call)
    src = (f"def _wrapper({', '.join(head)}):\n"
           f"    if out is None:\n        return _fn({args})\n"
           f"{''.join(infer)}"
           f"    return _write(_spec, _fn({args}), out, ({''.join(i + ', ' for i in inputs)}))\n")
    exec(compile(src, f"<out= wrapper of {fn.__name__}>", "exec"), env)  # noqa: S102
    wrapper = functools.update_wrapper(env["_wrapper"], fn)
    new = [p for p in params if p.kind is not kinds.VAR_KEYWORD]
    new.append(inspect.Parameter("out", kinds.KEYWORD_ONLY, default=None))
    new += [p for p in params if p.kind is kinds.VAR_KEYWORD]
    wrapper.__signature__ = sig.replace(parameters=new)
    wrapper._out_spec = spec
    return wrapper


def install_out(namespace: dict, prefix: str = "") -> None:
    """Give every function of ``namespace`` that ``SPECS`` names (under ``prefix``) ``out=``.

    Args:
        namespace: a module's ``globals()``.
        prefix: the module's path below ``brickwork``, with a trailing dot (``"linalg."``);
            ``""`` for the top level.
    """
    wrapped = {}  # id(fn) -> (fn, wrapper): aliases (arcsin, asin) stay one function
    keys = [k for k in SPECS if k.startswith(prefix) and "." not in k[len(prefix):]]
    # A function's own name first, so that a shared wrapper's errors use it (asin, not arcsin).
    keys.sort(key=lambda k: getattr(namespace.get(k[len(prefix):]), "__name__", None)
              != k[len(prefix):])
    for key in keys:
        spec = SPECS[key]
        name = key[len(prefix):]
        fn = namespace.get(name)
        if fn is None:
            raise RuntimeError(f"_out.SPECS names {key}, which brickwork does not define")
        if getattr(fn, "_out_spec", None) is not None:
            continue
        shared = wrapped.get(id(fn))
        if shared is not None and _same_behaviour(shared[1]._out_spec, spec):
            namespace[name] = shared[1]
            continue
        namespace[name] = with_out(fn, spec)
        wrapped.setdefault(id(fn), (fn, namespace[name]))


def _same_behaviour(a: OutSpec, b: OutSpec) -> bool:
    """Whether two specs differ at most in the function's name in argument errors."""
    return all(getattr(a, f) == getattr(b, f) for f in OutSpec.__slots__ if f != "name")
