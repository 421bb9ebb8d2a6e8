"""Array look-alikes that record a graph: how one backward serves every order of derivative.

Built-in ops write forward and backward once, against backend arrays (NumPy or CuPy). For
``create_graph=True`` the engine runs the *same* code on ``Lifted`` values instead: each wraps a
brickwork Tensor and answers NumPy's array protocol (``shape``, ``dtype``, methods, operators,
``__array_ufunc__``, ``__array_function__``), turning every array operation into the matching
differentiable brickwork op. ``xp_of`` hands backward code the ``LiftedNamespace`` for them, so
``xp.zeros(...)`` and ``xp.add.at(...)`` are recorded too. The backward's result is then itself a
graph, differentiable again, to any order.

A Lifted that needs a gradient refuses to turn into a plain array (``__array__``): code that
would silently drop out of the graph fails loudly instead. Index-valued and boolean results
(``argmax``, comparisons, ``sign``, rounding) carry no gradient and come back as plain arrays.
The results an op saves for its backward are linked to the op's own outputs
(``link_saved_outputs``), as PyTorch's saved outputs are.

This file holds the class, operators and ufuncs; NumPy's other functions and the namespace are
in ``_lifted_functions.py``.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt

_bw = None  # the brickwork package, bound on first use (import cycle)


def _lib():
    global _bw
    if _bw is None:
        import brickwork

        _bw = brickwork
    return _bw


class Lifted:
    """A Tensor dressed as a backend array; every operation on it is a recorded brickwork op.

    In-place array operations (``+=``, ``x[k] = v``, ``add.at``) rebind the wrapped tensor to a
    recorded out-of-place result, so later reads through the same object see the update.
    """

    __slots__ = ("t",)
    __array_priority__ = 2000  # NumPy defers binary operators to us

    def __init__(self, t) -> None:
        self.t = t

    # -- array attributes ----------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.t._data.shape

    @property
    def ndim(self) -> int:
        return self.t._data.ndim

    @property
    def size(self) -> int:
        return self.t._data.size

    @property
    def dtype(self) -> np.dtype:
        return self.t._data.dtype

    @property
    def itemsize(self) -> int:
        return self.t._data.itemsize

    @property
    def flags(self):
        return self.t._data.flags

    @property
    def strides(self):
        return self.t._data.strides

    @property
    def device(self):
        # CuPy's Device, or NumPy's "cpu" (NumPy < 2 arrays have no such attribute).
        return getattr(self.t._data, "device", "cpu")

    @property
    def T(self) -> "Lifted":
        return self.transpose()

    def __len__(self) -> int:
        return len(self.t._data)

    def __array__(self, dtype=None, copy=None):
        if self.t._requires_grad:
            raise TypeError("a value recorded for a higher-order gradient cannot become a plain "
                            "array (the op's backward would leave the graph); write it with "
                            "array methods or the array module from xp_of")
        arr = self.t._host()
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self) -> str:
        return f"Lifted({self.t!r})"

    def item(self):
        return self.t.item()

    def __float__(self) -> float:
        return float(self.t)

    def __int__(self) -> int:
        return int(self.t)

    def __bool__(self) -> bool:
        return bool(self.t)

    # -- methods -------------------------------------------------------------------------------
    def reshape(self, *shape, order="C") -> "Lifted":
        _c_order(order)
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Lifted(self.t.reshape(tuple(shape))) if tuple(shape) != self.shape else self

    def transpose(self, *axes) -> "Lifted":
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(range(self.ndim - 1, -1, -1))
        return Lifted(self.t.permute(tuple(axes))) if axes else self

    def swapaxes(self, a: int, b: int) -> "Lifted":
        return Lifted(self.t.transpose(a, b))

    def astype(self, dtype, copy=True, **_) -> "Lifted":
        dt = np.dtype(dtype)
        if dt == self.dtype:
            return Lifted(self.t.clone()) if copy else self
        return Lifted(self.t.to(_dt._FROM_NP[dt]))

    def copy(self, order="C") -> "Lifted":
        _c_order(order)
        return Lifted(self.t.clone())

    def ravel(self, order="C") -> "Lifted":
        return self.reshape(-1, order=order)

    flatten = ravel

    def squeeze(self, axis=None) -> "Lifted":
        return _squeeze(self, axis)

    def sum(self, axis=None, dtype=None, keepdims=False, **_) -> "Lifted":
        return _reduce("sum", self, axis, keepdims, dtype)

    def mean(self, axis=None, dtype=None, keepdims=False, **_) -> "Lifted":
        return _reduce("mean", self, axis, keepdims, dtype)

    def prod(self, axis=None, dtype=None, keepdims=False, **_) -> "Lifted":
        return _reduce("prod", self, axis, keepdims, dtype)

    def max(self, axis=None, keepdims=False, **_) -> "Lifted":
        return _reduce("amax", self, axis, keepdims)

    def min(self, axis=None, keepdims=False, **_) -> "Lifted":
        return _reduce("amin", self, axis, keepdims)

    def clip(self, a_min=None, a_max=None, **_) -> "Lifted":
        return Lifted(self.t.clamp(_unlift(a_min), _unlift(a_max)))

    def cumsum(self, axis=None, **_) -> "Lifted":
        if axis is None:
            return Lifted(self.t.reshape(-1).cumsum(0))
        return Lifted(self.t.cumsum(axis))

    def cumprod(self, axis=None, **_) -> "Lifted":
        if axis is None:
            return Lifted(self.t.reshape(-1).cumprod(0))
        return Lifted(self.t.cumprod(axis))

    def var(self, axis=None, dtype=None, ddof=0, keepdims=False, **_) -> "Lifted":
        x = self if dtype is None else self.astype(dtype, copy=False)
        return _var(x, axis, ddof, keepdims)

    def std(self, axis=None, dtype=None, ddof=0, keepdims=False, **_) -> "Lifted":
        return self.var(axis, dtype, ddof, keepdims) ** 0.5

    def dot(self, other) -> "Lifted":
        return _ufunc(np.matmul, self, other)

    def take(self, indices, axis=None, **_) -> "Lifted":
        return FUNCTIONS["take"](self, indices, axis)

    def repeat(self, repeats, axis=None) -> "Lifted":
        return FUNCTIONS["repeat"](self, repeats, axis)

    def diagonal(self, offset=0, axis1=0, axis2=1) -> "Lifted":
        return FUNCTIONS["diagonal"](self, offset, axis1, axis2)

    def fill(self, value) -> None:
        self.t = _lib().full_like(self.t, _unlift(value)) if not isinstance(value, Lifted) \
            else value.t.expand(*self.shape).to(self.t.dtype)

    # Index-valued and boolean results carry no gradient: computed on the data, returned plain.
    def argmax(self, axis=None, **kw):
        return self.t._data.argmax(axis=axis, **kw)

    def argmin(self, axis=None, **kw):
        return self.t._data.argmin(axis=axis, **kw)

    def argsort(self, axis=-1, **kw):
        return self.t._data.argsort(axis=axis, **kw)

    def nonzero(self):
        return self.t._data.nonzero()

    def any(self, *args, **kw):
        return self.t._data.any(*args, **kw)

    def all(self, *args, **kw):
        return self.t._data.all(*args, **kw)

    def round(self, decimals=0, **_):
        # Rounding is piecewise constant: a constant (zero derivative), as PyTorch's round.
        return self.t._data.round(decimals)

    def tolist(self):
        return self.t._data.tolist()

    def __getitem__(self, key) -> "Lifted":
        from ..ops.indexing import Index
        from ..ops.shape import Slice

        # The key is already NumPy's (backward code indexes arrays): apply the op directly,
        # without the Tensor-level parsing of PyTorch keys (which also makes it a tuple).
        key = _key(key if isinstance(key, tuple) else (key,), self.t)
        advanced = any(not (k is None or k is Ellipsis or isinstance(k, (int, slice, np.integer)))
                       for k in key)
        return Lifted((Index if advanced else Slice).apply(self.t, key))

    def __setitem__(self, key, value) -> None:
        from ..ops.indexing import IndexPut

        v = _tensor(value, self.t)
        if v._data.dtype != self.dtype:
            v = v.to(_dt._FROM_NP[self.dtype])
        self.t = IndexPut.apply(self.t, v, _key(key, self.t))

    # -- operators -----------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "at" and ufunc is np.add:
            _add_at(*inputs)
            return None
        if method == "outer" and len(inputs) == 2:  # a[..., None, None] op b
            like = _first_tensor(inputs)
            a, b = (Lifted(_tensor(x, like)) for x in inputs)
            return _ufunc(ufunc, a.reshape(a.shape + (1,) * b.ndim), b, **kwargs)
        if method != "__call__":
            return NotImplemented
        out = kwargs.pop("out", None)
        kwargs.pop("casting", None)
        res = _ufunc(ufunc, *inputs, **kwargs)
        if out is not None:  # ufunc(..., out=(x,)): rebind x, as an in-place write would
            target = out[0] if isinstance(out, tuple) else out
            if isinstance(target, Lifted):
                target.t = _tensor(res, target.t).to(_dt._FROM_NP[target.dtype])
                return target
            return NotImplemented
        return res

    def __array_function__(self, func, types, args, kwargs):
        impl = FUNCTIONS.get(func.__name__)
        if impl is None:
            raise NotImplementedError(f"numpy.{func.__name__} has no graph-recording version "
                                      "for higher-order gradients yet")
        return impl(*args, **kwargs)


def _binary(ufunc, reflected: bool = False):
    if reflected:
        return lambda self, other: _ufunc(ufunc, other, self)
    return lambda self, other: _ufunc(ufunc, self, other)


def _inplace(ufunc):
    def op(self, other):
        self.t = _ufunc(ufunc, self, other).t
        return self
    return op


for _name, _uf in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("pow", np.power), ("matmul", np.matmul),
                   ("floordiv", np.floor_divide), ("mod", np.remainder)):
    setattr(Lifted, f"__{_name}__", _binary(_uf))
    setattr(Lifted, f"__r{_name}__", _binary(_uf, reflected=True))
    setattr(Lifted, f"__i{_name}__", _inplace(_uf))
for _name, _uf in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal),
                   ("and", np.logical_and), ("or", np.logical_or)):
    setattr(Lifted, f"__{_name}__", _binary(_uf))
Lifted.__neg__ = lambda self: _ufunc(np.negative, self)
Lifted.__abs__ = lambda self: _ufunc(np.absolute, self)
Lifted.__invert__ = lambda self: _ufunc(np.invert, self)
Lifted.__hash__ = object.__hash__


# -- converting between Lifted, Tensors and plain arrays ---------------------------------------
def _c_order(order) -> None:
    """Tensors are row-major: a backward asking for another element order cannot be recorded."""
    if order != "C":
        raise NotImplementedError(f"order={order!r}: recorded arrays are row-major (C order) "
                                  "only")


def unlift(x, like):
    """A backward's result as a Tensor (constants become tensors outside the graph)."""
    if x is None:
        return None
    if isinstance(x, Lifted):
        return x.t
    return _tensor(x, like)


def link_saved_outputs(node, ctx, outs, inputs) -> None:
    """Make the results a replayed op saved on ``ctx`` the op's own outputs, as in PyTorch.

    The replay recomputes each result from primitives (``sqrt`` of the variance for ``std``). A
    backward that reads its result (exp, sigmoid, softmax, std) is differentiated instead
    through ``node`` itself, as PyTorch's saved outputs are: the same derivative, except where
    ``node``'s backward follows a convention (std's zero gradient at 0), and the very values the
    node saved (an in-place update may have overwritten the input since).
    """
    outs = outs if isinstance(outs, tuple) else (outs,)
    nr = {id(o): i for i, o in enumerate(outs)
          if o.__class__ is Lifted and o.dtype.kind in "fVc"}  # 'V': bfloat16
    for a in inputs:  # a forward that hands back an input does not make it an output
        nr.pop(id(a), None)
    if not nr:
        return
    from ..tensor import _make

    d = ctx.__dict__
    saved = node.__dict__
    for k, v in d.items():
        i = nr.get(id(v))
        if i is None:
            continue
        real = saved.get(k)
        ok = real is not None and getattr(real, "shape", None) == v.shape \
            and real.dtype == v.dtype
        t = _make(real if ok else v.t._data, v.t._device)
        t.grad_fn, t._output_nr, t._requires_grad = node, i, True
        d[k] = Lifted(t)


def _tensor(x, like):
    """``x`` as a Tensor on ``like``'s device: Lifted's tensor, or a constant."""
    if isinstance(x, Lifted):
        return x.t
    Tensor = _lib().Tensor
    if isinstance(x, Tensor):
        return x
    from ..ops._util import wrap

    if isinstance(x, (bool, int, float)):
        x = np.asarray(x, dtype=like._data.dtype if isinstance(x, float) else None)
    elif isinstance(x, (list, tuple)):
        x = np.asarray(x)
    return wrap(x, like)


def _unlift(x):
    return x.t if isinstance(x, Lifted) else x


def _raw(x):
    """The backend array behind a Lifted (for values that carry no gradient), else ``x``."""
    return x.t._data if isinstance(x, Lifted) else x


def _first_tensor(args):
    for a in args:
        if isinstance(a, Lifted):
            return a.t
        if isinstance(a, (list, tuple)):
            t = _first_tensor(a)
            if t is not None:
                return t
    return None


def _key(key, like):
    """An index key with Lifted parts unwrapped (index arrays carry no gradient) and lists made
    arrays on ``like``'s device (CuPy takes no lists in ``add.at``)."""
    if isinstance(key, tuple):
        return tuple(_key(k, like) for k in key)
    if isinstance(key, Lifted):
        return key.t._data
    if isinstance(key, list):
        from ..device import array_module

        return array_module(like._device).asarray(key)
    return key


def _operand(x, like):
    """A ufunc operand: Lifted -> its tensor; arrays -> constant tensors; scalars stay."""
    if isinstance(x, Lifted):
        return x.t
    if isinstance(x, (bool, int, float, complex)):
        return x
    if isinstance(x, np.generic):
        return x.item()
    return _tensor(x, like)


# -- ufuncs --------------------------------------------------------------------------------------
def _nondiff(ufunc, args, kwargs):
    """A ufunc whose result carries no gradient (comparisons, sign, floor...): a plain array."""
    raw = [a.t._data if isinstance(a, Lifted) else a for a in args]
    return ufunc(*raw, **kwargs)


def _ufunc(ufunc, *args, **kwargs):
    name = ufunc.__name__
    if name in _NONDIFF_UFUNCS:
        return _nondiff(ufunc, args, kwargs)
    impl = _UFUNCS.get(name)
    if impl is None:
        raise NotImplementedError(f"numpy.{name} has no graph-recording version for "
                                  "higher-order gradients yet")
    like = _first_tensor(args)
    ops = [_operand(a, like) for a in args]
    dtype = kwargs.get("dtype")
    res = impl(*ops)
    if dtype is not None:
        res = res.to(_dt._FROM_NP[np.dtype(dtype)])
    elif any(isinstance(o, (int, float)) for o in ops) and res._data.dtype != like._data.dtype \
            and res._data.dtype.kind in "fV" and like._data.dtype.kind in "fV":
        res = res.to(_dt._FROM_NP[like._data.dtype])
    return Lifted(res)


def _extremum(pick, ties_split):
    """``maximum``/``minimum`` with PyTorch's gradient at ties.

    Op code writes ``np.maximum(value, bound)`` where PyTorch writes ``clamp_min(value, bound)``
    (``log(p).clamp_min(-100)`` in binary cross-entropy): the gradient reaches ``value`` at a
    tie, so that is the rule when one side carries no gradient. Between two recorded values it
    is ``torch.maximum``'s, which splits a tie evenly.
    """
    def impl(a, b):
        bw = _lib()
        if getattr(a, "_requires_grad", False) and getattr(b, "_requires_grad", False):
            return ties_split(a, b)
        if not getattr(a, "_requires_grad", False):
            a, b = b, a  # a: the side with the gradient (or either, when neither has one)
        a, b = _as_t(a, b), _as_t(b, a)
        return bw.where(pick(a, b), a, b)
    return impl


def _as_t(x, like):
    if isinstance(x, (int, float)):
        return _lib().full_like(like, x)
    return x


_maximum = _extremum(lambda a, b: a >= b, lambda a, b: _lib().maximum(a, b))
_minimum = _extremum(lambda a, b: a <= b, lambda a, b: _lib().minimum(a, b))


_UFUNCS = {
    "add": lambda a, b: _lib().add(a, b), "subtract": lambda a, b: _lib().sub(a, b),
    "multiply": lambda a, b: _lib().mul(a, b), "true_divide": lambda a, b: _lib().div(a, b),
    "divide": lambda a, b: _lib().div(a, b), "power": lambda a, b: _lib().pow(a, b),
    "matmul": lambda a, b: _lib().matmul(a, b), "negative": lambda a: _lib().neg(a),
    "positive": lambda a: a, "absolute": lambda a: _lib().abs(a),
    "exp": lambda a: _lib().exp(a), "log": lambda a: _lib().log(a),
    "log1p": lambda a: _lib().log1p(a), "expm1": lambda a: _lib().expm1(a),
    "sqrt": lambda a: _lib().sqrt(a), "square": lambda a: _lib().square(a),
    "reciprocal": lambda a: _lib().reciprocal(a), "tanh": lambda a: _lib().tanh(a),
    "sin": lambda a: _lib().sin(a), "cos": lambda a: _lib().cos(a),
    "tan": lambda a: _lib().tan(a), "log2": lambda a: _lib().log2(a),
    "log10": lambda a: _lib().log10(a), "maximum": _maximum, "minimum": _minimum,
    "fmax": _maximum, "fmin": _minimum,
}
_NONDIFF_UFUNCS = frozenset((
    "greater", "greater_equal", "less", "less_equal", "equal", "not_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "isfinite", "sign", "floor",
    "ceil", "trunc", "rint", "invert", "signbit", "floor_divide", "remainder", "fmod",
    "bitwise_and", "bitwise_or", "bitwise_xor",
))


# The NumPy functions and the namespace use the class and helpers above.
from ._lifted_functions import (FUNCTIONS, _add_at, _reduce, _squeeze,  # noqa: E402
                                _var, namespace_for)

__all__ = ["Lifted", "unlift", "namespace_for", "FUNCTIONS"]

