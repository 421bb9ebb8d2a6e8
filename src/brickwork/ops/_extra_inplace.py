"""In-place forms that PyTorch's Tensor has and the op families do not install themselves.

- comparisons written into ``self`` (``eq_``, ``lt_``...): the result is stored in self's dtype
  and, under autograd, carries a zero gradient (PyTorch's ``EqBackward0``/``EqBackward1``);
- ``logical_*_`` and ``bitwise_not_``, bitwise shifts (and the ``<<``/``>>`` operators);
- in-place *view* ops (``squeeze_``, ``unsqueeze_``, ``t_``, ``transpose_``, ``swapaxes_``,
  ``swapdims_``, ``as_strided_``): the tensor itself takes the view's shape and strides;
- ``fill_diagonal_``.

An in-place view op changes only metadata: the tensor keeps its buffer, its version counter
moves on, and under autograd its ``grad_fn`` becomes the view op's node (``SqueezeBackward4``...).
brickwork records views as steps from their root's array (``autograd/_views.py``), so when the
root itself is reshaped in place, each live view's steps get the inverse step prepended: they
then start from the root's new layout.
"""
from __future__ import annotations

import numpy as np

from ..autograd._views import bump, check_inplace, regenerate_views
from ..autograd.function import Function
from ..autograd.grad_mode import STATE as _GRAD
from ..device import runs_on_input_device
from ..tensor import Tensor
from ._util import normalize_dim, promote, xp_of
from ._util import wrap as _wrap_array  # fill_diagonal_ has a parameter named wrap
from .comparison import eq, ge, gt, le, logical_and, logical_or, logical_xor, lt, ne

# -- comparisons written into self ---------------------------------------------------------------
_NODE_NAMES: dict = {}


def _renamed(node, name: str) -> None:
    """Give ``node`` PyTorch's name for the in-place variant (``SqueezeBackward4``...): a
    subclass of its node class that differs only in name, so its backward is unchanged."""
    cls = type(node)
    key = (cls, name)
    sub = _NODE_NAMES.get(key)
    if sub is None:
        sub = _NODE_NAMES[key] = type(name, (cls,), {})
    node.__class__ = sub


class _ZeroGrad(Function):
    """Holds a comparison's result (in the input's float dtype) with a zero gradient."""

    _array_level = True

    @staticmethod
    def forward(ctx, values, a, b):
        ctx.shapes = (a.shape, None if np.isscalar(b) or b is None else b.shape)
        return values

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        sa, sb = ctx.shapes
        gb = None if sb is None else xp.zeros(sb, dtype=g.dtype)
        return None, xp.zeros(sa, dtype=g.dtype), gb


def _compare_inplace(name: str, fn, backward: str):
    def method(self: Tensor, other) -> Tensor:
        def compute(input, other):
            res = fn(input, other)
            tracked = _GRAD.enabled and (input.requires_grad or (
                isinstance(other, Tensor) and other.requires_grad))
            if not tracked or input._data.dtype.kind != "f":
                return res
            values = res._data.astype(input._data.dtype)
            o = other if isinstance(other, Tensor) else None
            out = _ZeroGrad.apply(values, input, o)
            _renamed(out.grad_fn, backward + ("1" if o is not None else "0"))
            return out

        return self._inplace(compute, other)

    method.__name__ = name + "_"
    method.__doc__ = (f"In-place ``{name}``: 1/True where it holds, 0/False elsewhere, in self's "
                      f"dtype. See: torch.Tensor.{name}_.")
    return method


_COMPARISONS = {"eq": (eq, "EqBackward"), "ne": (ne, "NeBackward"), "lt": (lt, "LtBackward"),
                "le": (le, "LeBackward"), "gt": (gt, "GtBackward"), "ge": (ge, "GeBackward")}
_ALIASES = {"not_equal": "ne", "less": "lt", "less_equal": "le", "greater": "gt",
            "greater_equal": "ge"}

COMPARE_INPLACE = {f"{n}_": _compare_inplace(n, fn, bw) for n, (fn, bw) in _COMPARISONS.items()}
COMPARE_INPLACE.update({f"{a}_": _compare_inplace(a, *_COMPARISONS[n])
                        for a, n in _ALIASES.items()})


def _logical_inplace(name: str, fn):
    def method(self: Tensor, other: Tensor) -> Tensor:
        return self._inplace(fn, other)

    method.__name__ = name + "_"
    method.__doc__ = f"In-place ``{name}``, stored in self's dtype. See: torch.Tensor.{name}_."
    return method


LOGICAL_INPLACE = {"logical_and_": _logical_inplace("logical_and", logical_and),
                   "logical_or_": _logical_inplace("logical_or", logical_or),
                   "logical_xor_": _logical_inplace("logical_xor", logical_xor)}


def bitwise_not_(self: Tensor) -> Tensor:
    """In-place ``bitwise_not``. See: torch.Tensor.bitwise_not_."""
    if self._data.dtype.kind not in "biu":
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for "
                                  f"'{_scalar_type(self)}'")
    from .comparison import bitwise_not

    return self._inplace(bitwise_not)


def _scalar_type(t: Tensor) -> str:
    from ..tensor import _SCALAR_TYPE_NAMES

    return _SCALAR_TYPE_NAMES.get(t._data.dtype.name, t._data.dtype.name)


# -- bitwise shifts ------------------------------------------------------------------------------
def _shift(name: str, kernel: str, left: bool):
    @runs_on_input_device
    def op(input, other) -> Tensor:
        if not isinstance(input, Tensor) and not isinstance(other, Tensor):
            raise TypeError(f"{name}(): expected a Tensor for 'input' or 'other', got "
                            f"{type(input).__name__} and {type(other).__name__}")
        a, b = promote(input, other)
        for x in (a, b):
            if isinstance(x, Tensor) and x._data.dtype.kind not in "biu" \
                    or isinstance(x, float):
                kind = _scalar_type(x) if isinstance(x, Tensor) else "Float"
                raise NotImplementedError(f'"{kernel}_cpu" not implemented for \'{kind}\'')
        like = a if isinstance(a, Tensor) else b
        if isinstance(a, Tensor) and isinstance(b, Tensor) and a._device is not b._device:
            from ..autograd.function import _raise_device_mismatch

            _raise_device_mismatch(name, a._device, b._device)
        ad = a._data if isinstance(a, Tensor) else a
        bd = b._data if isinstance(b, Tensor) else b
        xp = xp_of(like._data)
        dtype = like._data.dtype
        if dtype.kind == "b":  # bool << bool: PyTorch computes in uint8, back to bool
            dtype = np.dtype(np.uint8)
        ad = xp.asarray(ad, dtype=dtype)
        # The amounts are judged as int64 (a Python int may not fit the tensor's dtype).
        bd = xp.asarray(bd).astype(np.int64)
        bits = dtype.itemsize * 8
        # PyTorch: a shift by a negative amount or by the width or more gives 0 (or, shifting a
        # negative number right, -1); NumPy's result there is undefined.
        out_of_range = (bd < 0) | (bd >= bits)
        safe = xp.where(out_of_range, 0, bd).astype(dtype)
        if left:
            res = xp.left_shift(ad, safe)
            res = xp.where(out_of_range, 0, res)
        else:
            res = xp.right_shift(ad, safe)
            fill = xp.where(ad < 0, -1, 0) if dtype.kind == "i" else 0
            res = xp.where(out_of_range, fill, res)
        res = xp.asarray(res, dtype=dtype)
        if like._data.dtype.kind == "b":
            res = res.astype(bool)
        return _wrap_array(res, like)

    op.__name__ = name
    op.__doc__ = (f"Element-wise {'left' if left else 'right'} shift of integers (``"
                  f"{'<<' if left else '>>'}``); shifts by a negative amount or by the type's "
                  f"width or more give 0{'' if left else ' (-1 for negative values)'}. "
                  f"See: torch.{name}.")
    return op


bitwise_left_shift = _shift("bitwise_left_shift", "lshift", True)
bitwise_right_shift = _shift("bitwise_right_shift", "rshift", False)


def _reflected(fn, name):
    def method(self, other):
        return fn(other, self)

    method.__name__ = name
    return method


SHIFT_METHODS = {
    "bitwise_left_shift": bitwise_left_shift, "bitwise_right_shift": bitwise_right_shift,
    "__lshift__": bitwise_left_shift, "__rshift__": bitwise_right_shift,
    "__rlshift__": _reflected(bitwise_left_shift, "__rlshift__"),
    "__rrshift__": _reflected(bitwise_right_shift, "__rrshift__"),
    "__ilshift__": lambda self, other: self._inplace(bitwise_left_shift, other),
    "__irshift__": lambda self, other: self._inplace(bitwise_right_shift, other),
}


# -- in-place view ops ---------------------------------------------------------------------------
def _view_inplace(self: Tensor, make_view, inverse_step, name: str) -> Tensor:
    """Make ``self`` take the shape/strides of ``make_view(self)`` (a view of it).

    ``inverse_step``: the view step ``(Function class, params)`` that turns self's new layout
    back into its old one, for the steps of self's live views when self is their root; None
    where there is none (as_strided_), and then such views are refused.
    """
    tracked = _GRAD.enabled and self.requires_grad
    if tracked:
        check_inplace(self)
        out = make_view(self)
    else:
        prev, _GRAD.enabled = _GRAD.enabled, False
        try:
            out = make_view(self)
        finally:
            _GRAD.enabled = prev
    if self._base is None:
        views = [w for w in (r() for r in (self._views or ())) if w is not None and w is not out]
        if views and inverse_step is None:
            raise NotImplementedError(
                f"{name}: this tensor has live views, and brickwork cannot re-express them on "
                "its new geometry; take the view after the in-place call, or use the "
                "out-of-place form")
        for w in views:
            w._view_steps = (inverse_step,) + w._view_steps
        if self._views is not None:
            self._views[:] = [r for r in self._views if r() is not None and r() is not out]
    else:
        self._view_steps = out._view_steps
    self._data = out._data
    if tracked:
        self.grad_fn, self._output_nr = out.grad_fn, out._output_nr
        _renamed(self.grad_fn, name)
        self._requires_grad = True
    bump(self)
    if self._base is None and self._views and (tracked or self._views.recorded):
        regenerate_views(self)
    return self


def squeeze_(self: Tensor, dim=None) -> Tensor:
    """Drop dims of size 1 from ``self`` itself (all, one, or a tuple of them).

    See: torch.Tensor.squeeze_.
    """
    from .shape import View

    old = self._data.shape
    name = ("SqueezeBackward3" if dim is None else
            "SqueezeBackward5" if isinstance(dim, (tuple, list)) else "SqueezeBackward4")
    return _view_inplace(self, lambda t: t.squeeze(dim) if dim is not None else t.squeeze(),
                         (View, (old,)), name)


def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim`` of ``self`` itself. See: torch.Tensor.unsqueeze_."""
    from .shape import View

    old = self._data.shape
    return _view_inplace(self, lambda t: t.unsqueeze(dim), (View, (old,)), "UnsqueezeBackward1")


def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims of ``self`` itself. See: torch.Tensor.transpose_."""
    from .shape import Permute

    nd = self._data.ndim
    perm = list(range(nd))
    if nd:
        a, b = normalize_dim(dim0, nd), normalize_dim(dim1, nd)
        perm[a], perm[b] = perm[b], perm[a]
    return _view_inplace(self, lambda t: t.transpose(dim0, dim1), (Permute, (tuple(perm),)),
                         "TransposeBackward1")


def swapaxes_(self: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose_`` under NumPy's name. See: torch.Tensor.swapaxes_."""
    return transpose_(self, axis0, axis1)


def swapdims_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """``transpose_`` under another name. See: torch.Tensor.swapdims_."""
    return transpose_(self, dim0, dim1)


def t_(self: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims in place. See: torch.Tensor.t_."""
    from .shape import Permute

    nd = self._data.ndim
    if nd > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {nd}D")
    perm = tuple(range(nd))[::-1]
    return _view_inplace(self, lambda t: t.t(), (Permute, (perm,)), "TBackward1")


def as_strided_(self: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """Give ``self`` itself the ``size``, ``stride`` and offset of a view of its storage.

    See: torch.Tensor.as_strided_.
    """
    return _view_inplace(self, lambda t: t.as_strided(size, stride, storage_offset), None,
                         "AsStridedBackward1")


VIEW_INPLACE = {"squeeze_": squeeze_, "unsqueeze_": unsqueeze_, "transpose_": transpose_,
                "swapaxes_": swapaxes_, "swapdims_": swapdims_, "t_": t_,
                "as_strided_": as_strided_}


# -- fill_diagonal_ ------------------------------------------------------------------------------
def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Write ``fill_value`` on the main diagonal (all indices equal) of ``self``.

    For a tall 2-D matrix, ``wrap=True`` starts the diagonal again every ``ncols + 1`` rows, as
    NumPy's ``fill_diagonal``. See: torch.Tensor.fill_diagonal_.
    """
    shape = self._data.shape
    nd = len(shape)
    if nd < 2:
        raise RuntimeError("dimensions must larger than 1")
    if nd > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    xp = xp_of(self._data)
    if nd == 2:
        rows, cols = shape
        n = min(rows, cols)
        r = xp.arange(n)
        if wrap and rows > cols + 1:
            # NumPy's flat stride cols + 1 over the whole matrix: the pattern repeats after a
            # skipped row.
            flat = xp.arange(0, rows * cols, cols + 1)
            r, c = flat // cols, flat % cols
        else:
            c = r
        index = (r, c)
    else:
        r = xp.arange(shape[0])
        index = (r,) * nd
    mask = xp.zeros(shape, dtype=bool)
    mask[index] = True
    return self._inplace(lambda input: input.masked_fill(_wrap_array(mask, input), fill_value))


OTHER_INPLACE = {"bitwise_not_": bitwise_not_, "fill_diagonal_": fill_diagonal_}

__all__ = ["bitwise_left_shift", "bitwise_right_shift"]
