"""NumPy's functions for ``Lifted`` values: the recording versions and the array namespace.

``np.X(lifted)`` reaches ``FUNCTIONS["X"]`` through ``Lifted.__array_function__``; backward
code that asks ``xp_of(lifted)`` for its array module gets a ``LiftedNamespace``, whose
functions record when given a Lifted and are the real module's otherwise. Each entry maps one
NumPy function onto brickwork ops with NumPy's semantics (argument names, axis conventions,
keepdims), so the op code that calls it needs no second version.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ._lifted import (Lifted, _first_tensor, _key, _lib, _operand, _raw, _tensor, _ufunc,
                      _unlift)
from .function import Function


# -- reductions and shapes -------------------------------------------------------------------------
def _axes(axis, ndim):
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        return tuple(int(a) % ndim for a in axis) if ndim else ()
    return int(axis)


def _reduce(name, x, axis=None, keepdims=False, dtype=None, **_):
    """NumPy's ``sum``/``mean``/``prod``/``max``/``min`` (``name``: brickwork's) on a Lifted."""
    x = x if isinstance(x, Lifted) else Lifted(_tensor(x, _first_tensor((x,))))
    t = x.t
    if dtype is not None and np.dtype(dtype) != x.dtype:
        t = t.to(_dt._FROM_NP[np.dtype(dtype)])
    ax = _axes(axis, x.ndim)
    fn = getattr(_lib(), name)
    if ax == ():  # NumPy reduces over no axis: the values themselves
        return Lifted(t)
    if ax is None:
        res = fn(t)
        if keepdims:
            res = res.reshape((1,) * x.ndim)
        return Lifted(res)
    if isinstance(ax, tuple) and name == "prod":
        for a in sorted(ax, reverse=True):
            t = fn(t, a, keepdim=keepdims)
        return Lifted(t)
    if name in ("amax", "amin") and not isinstance(ax, tuple):
        ax = (ax,)
    return Lifted(fn(t, ax, keepdim=keepdims))


def _squeeze(x, axis=None):
    if axis is None:
        return Lifted(x.t.squeeze())
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    t = x.t
    for a in sorted((a % x.ndim for a in axes), reverse=True):
        t = t.squeeze(a)
    return Lifted(t)


def _where(cond, a=None, b=None):
    if a is None:
        return np.where(_raw(cond))
    like = _first_tensor((a, b))
    if like is None:
        return np.where(_raw(cond), a, b)
    bw = _lib()
    ta, tb = _operand(a, like), _operand(b, like)
    c = _tensor(_raw(cond), like)
    if isinstance(ta, (int, float)):
        ta = bw.full_like(tb, ta)
    if isinstance(tb, (int, float)):
        tb = bw.full_like(ta, tb)
    return Lifted(bw.where(c, ta, tb))


def _broadcast_to(x, shape, **_):
    return Lifted(_tensor(x, None).expand(*shape)) if isinstance(x, Lifted) \
        else np.broadcast_to(x, shape)


def _expand_dims(x, axis):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    t = x.t
    nd = x.ndim + len(axes)
    for a in sorted(a % nd for a in axes):
        t = t.unsqueeze(a)
    return Lifted(t)


def _concatenate(arrays, axis=0, **_):
    like = _first_tensor(arrays)
    return Lifted(_lib().cat([_tensor(a, like) for a in arrays], axis))


def _stack(arrays, axis=0, **_):
    like = _first_tensor(arrays)
    return Lifted(_lib().stack([_tensor(a, like) for a in arrays], axis))


def _take_along_axis(arr, indices, axis):
    like = _first_tensor((arr,))
    return Lifted(_lib().take_along_dim(arr.t, _tensor(_raw(indices), like), axis))


def _put_along_axis(arr, indices, values, axis):
    like = _first_tensor((arr, values))
    idx = _tensor(_raw(indices), like)
    src = _tensor(values, like)
    base = _tensor(arr, like)
    shape = np.broadcast_shapes(idx.shape, src.shape)
    arr.t = base.scatter(axis, idx.expand(*shape), src.expand(*shape))


def _einsum(subscripts, *operands, **_):
    like = _first_tensor(operands)
    return Lifted(_lib().einsum(subscripts, *[_tensor(o, like) for o in operands]))


def _like(fill):
    def make(a, dtype=None, shape=None, **_):
        t = a.t
        dt = _dt._FROM_NP[np.dtype(dtype)] if dtype is not None else t.dtype
        size = tuple(shape) if shape is not None else t.shape
        return Lifted(_lib().full(size, fill, dtype=dt, device=t.device))
    return make


def _add_at(target, key, values):
    """``add.at(target, key, values)`` recorded: target += scatter of values at key."""
    like = _first_tensor((target, values))
    add = IndexAddZeros.apply(_tensor(values, like).to(_dt._FROM_NP[target.dtype]),
                              _key(key, like), target.shape)
    if isinstance(target, Lifted):
        target.t = target.t + add
    else:
        raise TypeError("add.at into a plain array cannot record a gradient")


def _matmul(a, b, **_):
    return _ufunc(np.matmul, a, b)


# -- plain results and functions mapped onto brickwork's ----------------------------------------
def _module(args):
    """The real array module of the first Lifted among ``args``."""
    from ..device import array_module

    return array_module(_first_tensor(args)._device)


def _raw_all(x):
    """``x`` with every Lifted replaced by its data, inside lists and tuples too."""
    if isinstance(x, (list, tuple)):
        return type(x)(_raw_all(v) for v in x)
    return _raw(x)


def _plain(name: str):
    """A NumPy function whose result carries no gradient (indices, masks, counts, rounding):
    it runs on the data and returns a plain array."""
    def call(*args, **kwargs):
        fn = getattr(_module(args + tuple(kwargs.values())), name)
        return fn(*_raw_all(args), **{k: _raw_all(v) for k, v in kwargs.items()})
    call.__name__ = name
    return call


def _on_array(name: str):
    """Record ``name`` when its first argument is a Lifted, else run it on the data: the other
    arguments (indices, shifts) carry no gradient."""
    def decorate(fn):
        plain = _plain(name)

        def call(a, *args, **kwargs):
            return fn(a, *args, **kwargs) if isinstance(a, Lifted) else plain(a, *args, **kwargs)
        call.__name__ = name
        return call
    return decorate


def _index_array(idx, like: Lifted):
    """An index (int, list, host or device array) ready to sit in a key for ``like``."""
    idx = _raw(idx)
    if isinstance(idx, (int, np.integer)):
        return int(idx)
    from ..device import array_module

    return array_module(like.t._device).asarray(idx)


@_on_array("take")
def _take(a, indices, axis=None, **_):
    if axis is None:
        a, axis = a.reshape(-1), 0
    return a[(slice(None),) * (axis % a.ndim) + (_index_array(indices, a),)]


@_on_array("delete")
def _delete(arr, obj, axis=None):
    if axis is None:
        arr, axis = arr.reshape(-1), 0
    keep = np.ones(arr.shape[axis], dtype=bool)
    keep[obj] = False
    return _take(arr, np.flatnonzero(keep), axis)


@_on_array("repeat")
def _repeat(a, repeats, axis=None):
    if axis is None:
        a, axis = a.reshape(-1), 0
    return _take(a, np.repeat(np.arange(a.shape[axis]), _raw(repeats)), axis)


@_on_array("sort")
def _sort(a, axis=-1, **kw):
    order = _module((a,)).argsort(_raw(a), axis=axis, **kw)
    return _take_along_axis(a, order, axis)


def _var(x, axis=None, ddof=0, keepdims=False):
    """NumPy's ``var``: the mean squared deviation, divided by ``n - ddof``."""
    axes = _axes(axis, x.ndim)
    axes = tuple(range(x.ndim)) if axes is None else (axes,) if isinstance(axes, int) else axes
    n = int(np.prod([x.shape[a] for a in axes]))
    c = x - x.mean(axis=axis, keepdims=True)
    return (c * c).sum(axis=axis, keepdims=keepdims) / max(n - ddof, 0)


def _via(name: str, convert=None):
    """The brickwork function ``name`` on the first argument's tensor (NumPy's argument order
    where it matches PyTorch's, else through ``convert``)."""
    @_on_array(name)
    def call(a, *args, **kwargs):
        args, kwargs = convert(a, *args, **kwargs) if convert else (args, kwargs)
        return Lifted(getattr(_lib(), name)(a.t, *args, **kwargs))
    return call


def _roll_args(a, shift, axis=None):
    return ((shift,) if axis is None else (shift, axis)), {}


def _tile_args(a, reps):
    return ((reps,) if isinstance(reps, int) else tuple(reps),), {}


def _outer(a, b, out=None):
    like = _first_tensor((a, b))
    return Lifted(_tensor(a, like).reshape(-1, 1) * _tensor(b, like).reshape(1, -1))


FUNCTIONS = {
    "where": _where, "sum": lambda a, *args, **kw: _reduce("sum", a, *args, **kw),
    "mean": lambda a, *args, **kw: _reduce("mean", a, *args, **kw),
    "prod": lambda a, *args, **kw: _reduce("prod", a, *args, **kw),
    "amax": lambda a, *args, **kw: _reduce("amax", a, *args, **kw),
    "amin": lambda a, *args, **kw: _reduce("amin", a, *args, **kw),
    "max": lambda a, *args, **kw: _reduce("amax", a, *args, **kw),
    "min": lambda a, *args, **kw: _reduce("amin", a, *args, **kw),
    "reshape": lambda a, shape, **_: a.reshape(shape),
    "transpose": lambda a, axes=None: a.transpose(*(axes or ())),
    "swapaxes": lambda a, x, y: a.swapaxes(x, y),
    "moveaxis": lambda a, s, d: Lifted(a.t.movedim(s, d)),
    "squeeze": lambda a, axis=None: _squeeze(a, axis),
    "expand_dims": _expand_dims, "broadcast_to": _broadcast_to,
    "concatenate": _concatenate, "stack": _stack, "take_along_axis": _take_along_axis,
    "put_along_axis": _put_along_axis, "einsum": _einsum, "matmul": _matmul, "dot": _matmul,
    "zeros_like": _like(0), "ones_like": _like(1), "empty_like": _like(0),
    "full_like": lambda a, fill_value, dtype=None, **kw: _like(_unlift(fill_value))(a, dtype),
    "ascontiguousarray": lambda a, **_: a, "asarray": lambda a, dtype=None, **_:
        a if dtype is None else a.astype(dtype, copy=False),
    "copy": lambda a, **_: a.copy(), "clip": lambda a, lo=None, hi=None, **_: a.clip(lo, hi),
    "cumsum": lambda a, axis=None, **_: a.cumsum(axis),
    "flip": lambda a, axis=None: Lifted(a.t.flip(tuple(range(a.ndim)) if axis is None else
                                                  ((axis,) if isinstance(axis, int) else axis))),
    "shape": lambda a: a.shape, "ndim": lambda a: a.ndim, "size": lambda a: a.size,
    "result_type": lambda *a: np.result_type(*[_raw(x) for x in a]),
    "copyto": lambda dst, src, **_: dst.__setitem__(Ellipsis, src),
    "cumprod": lambda a, axis=None, **_: a.cumprod(axis), "take": _take, "delete": _delete,
    "repeat": _repeat, "sort": _sort, "outer": _outer, "diagonal": _via("diagonal"),
    "var": lambda a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **_:
        _var(a, axis, ddof, keepdims),
    "std": lambda a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **_:
        _var(a, axis, ddof, keepdims) ** 0.5,
    "roll": _via("roll", _roll_args), "tile": _via("tile", _tile_args), "tril": _via("tril"),
    "triu": _via("triu"), "diag": _via("diag"),
}
FUNCTIONS.update({name: _plain(name) for name in (
    "argmax", "argmin", "argsort", "argwhere", "nonzero", "flatnonzero", "count_nonzero",
    "searchsorted", "unique", "bincount", "isclose", "allclose", "array_equal", "any", "all",
    "round", "around", "sign", "isnan", "isinf", "isfinite", "floor", "ceil", "trunc",
)})


# -- add.at and the namespace -------------------------------------------------------------------
class IndexAddZeros(Function):
    """Zeros of ``shape`` with ``values`` added at ``key`` (repeats add up): ``add.at`` recorded.

    Its backward is the gather ``g[key]``, which is how the gradient of indexing, itself
    written with ``add.at``, gets a derivative of its own.
    """

    _array_level = True
    _backward_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, values, key, shape):
        from ..ops._util import add_at_zeros

        ctx.key = key
        ctx.v_shape = values.shape
        return add_at_zeros(shape, key, values)

    @staticmethod
    def backward(ctx, g):
        sel = g[ctx.key]
        if sel.shape != ctx.v_shape:
            from ..ops._util import unbroadcast

            sel = unbroadcast(sel, ctx.v_shape)
        return sel, None, None


class _AddAt:
    """``xp.add`` of the namespace: callable, with a recording ``.at``."""

    def __call__(self, a, b, **kw):
        return _ufunc(np.add, a, b, **kw)

    @staticmethod
    def at(target, key, values) -> None:
        _add_at(target, key, values)


class LiftedNamespace:
    """The array module that ``xp_of`` returns for Lifted values.

    Functions given a Lifted argument record; creation functions (``zeros``, ``full``...) make
    Lifted constants on the device, so that writing gradients into them is recorded too; the
    rest is the real array module's.
    """

    add = _AddAt()

    def __init__(self, module, device) -> None:
        self._module = module
        self._device = device

    def _full(self, shape, fill, dtype):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        dt = _dt._FROM_NP[np.dtype(dtype if dtype is not None else np.float64)]
        return Lifted(_lib().full(shape, fill, dtype=dt, device=self._device))

    def zeros(self, shape, dtype=None, **_):
        return self._full(shape, 0, dtype)

    empty = zeros

    def ones(self, shape, dtype=None, **_):
        return self._full(shape, 1, dtype)

    def full(self, shape, fill_value, dtype=None, **_):
        if isinstance(fill_value, Lifted):  # a recorded fill: broadcast it (and its gradient)
            dt = fill_value.dtype if dtype is None else np.dtype(dtype)
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            return _broadcast_to(fill_value, shape).astype(dt, copy=False).copy()
        return self._full(shape, fill_value, dtype)

    def __getattr__(self, name):
        real = getattr(self._module, name)
        impl = FUNCTIONS.get(name)
        if impl is None and isinstance(real, np.ufunc):
            return lambda *args, **kw: (_ufunc(real, *args, **kw)
                                        if _first_tensor(args) is not None else real(*args, **kw))
        if impl is None:
            return real

        def call(*args, **kwargs):
            if _first_tensor(args) is not None or _first_tensor(tuple(kwargs.values())):
                return impl(*args, **kwargs)
            return real(*args, **kwargs)
        return call


_NAMESPACES: dict = {}


def namespace_for(x: Lifted) -> LiftedNamespace:
    """The recording array module for ``x``'s device."""
    dev = x.t._device
    ns = _NAMESPACES.get(dev)
    if ns is None:
        from ..device import array_module

        ns = _NAMESPACES[dev] = LiftedNamespace(array_module(dev), dev)
    return ns
