"""Views, in-place updates and version counters: PyTorch's aliasing rules.

A *view* (``x[0]``, ``x.t()``, ``x.view(2, 3)``, ``x.split(2)``...) holds a NumPy/CuPy view of
its base's array, so a write through either one is seen by both. Each view records

- ``_base``: the root tensor it was taken from (a view of a view points at the root, as in
  PyTorch);
- ``_view_steps``: the view ops, ``((Function class, params), ...)``, that turn the root's array
  into the view's; replayed on an index map they tell which root elements the view covers;
- ``_vc``: the root's version counter, shared by every alias (``detach()`` shares it too, not
  being a view; ``.data`` does not);
- ``_view_meta``: how it was made (normally, in no_grad mode, or as one of several outputs),
  which decides whether in-place updates through it are allowed (PyTorch's CreationMeta).

An in-place op (``Tensor._inplace``) computes the out-of-place result, writes it into the
existing buffer and bumps the version counter. When autograd records the update:

- on a tensor that is not a view, the tensor's ``grad_fn`` becomes the op's node;
- on a view, the *base*'s ``grad_fn`` becomes ``CopySlices``: the base's gradient passes
  through outside the view's region and flows back through the in-place op inside it (whose own
  graph reaches the base's old history through the view);
- every live view of the base then gets a fresh ``grad_fn`` (``AsStridedBackward0``) that reads
  its region out of the base's new history, as PyTorch regenerates a view's grad_fn.

PyTorch regenerates lazily, when a view's ``grad_fn`` is read; here ``grad_fn`` is a plain
attribute on the ops' hot path, so the base keeps weak references to its views and they are
updated eagerly, right after the update. One consequence: where PyTorch refuses to regenerate
(views made in no_grad mode or by split/chunk/unbind), the error comes when backward reaches the
view, not when the view is next used.

Which saved values an update invalidates is checked in ``_saved.py``.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..device import array_module, array_writeable
from ..tensor import _SCALAR_TYPE_NAMES, Tensor, _can_cast, _make
from .function import Function, _edge
from .grad_mode import STATE as _GRAD
from ._saved import (CLOCK, display_name, note_user_saved, record_saved_output, replace_saved,
                     saves)

DEFAULT, NO_GRAD, MULTI = 0, 1, 2  # how a view was made (PyTorch's CreationMeta)
_NO_EDGE = (None, 0)
_HISTORY = 64  # update times a counter keeps


# -- version counters -----------------------------------------------------------------------------
def counter(t: Tensor) -> list:
    """``t``'s version counter, made on first need: a list shared by its aliases, holding the
    version and then the clock times of its recent updates."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    return vc


def bump(t: Tensor) -> None:
    """Count one in-place update of ``t``'s data (seen by every alias sharing the counter).

    The counter also remembers when (on the in-place clock, ``_saved.CLOCK``) its recent updates
    happened, so backward can tell which saved values changed after they were saved.
    """
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    CLOCK.n += 1
    vc[0] += 1
    vc.append(CLOCK.n)
    if len(vc) > _HISTORY:
        del vc[1:_HISTORY // 2]  # only very old nodes need older ones (see _saved.check_saved)


def root_of(t: Tensor) -> Tensor:
    base = t._base
    return t if base is None else base


# -- making views ---------------------------------------------------------------------------------
class _ViewList(list):
    """A base's weak references to its views; dead ones are dropped when the list doubles.

    ``recorded``: whether any of them was made with a history (else, while the base needs no
    gradient, an update has no view history to refresh).
    """

    __slots__ = ("limit", "recorded")

    def __init__(self, ref) -> None:
        super().__init__((ref,))
        self.limit = 64
        self.recorded = False

    def add(self, ref) -> None:
        self.append(ref)
        if len(self) > self.limit:
            self[:] = [r for r in self if r() is not None]
            self.limit = max(64, 2 * len(self))


def mark_view(out: Tensor, input: Tensor, step: tuple, meta: int = DEFAULT,
              from_root: bool = False) -> Tensor:
    """Record that ``out`` (made by the view op ``step = (cls, params)`` on ``input``) aliases it.

    ``from_root`` says that ``step`` applies to the root's array itself (``as_strided``, which
    addresses storage), not to ``input``'s.
    """
    base = input._base
    if base is None:
        base, steps = input, (step,)
    else:
        steps = (step,) if from_root else input._view_steps + (step,)
    out._base = base
    vc = base._vc
    if vc is None:
        vc = base._vc = [0]
    out._vc = vc
    out._view_steps = steps
    if not _GRAD.enabled:
        out._view_meta = NO_GRAD
    elif meta:
        out._view_meta = meta
    views = base._views
    if views is None:
        views = base._views = _ViewList(weakref.ref(out))
    else:
        views.add(weakref.ref(out))
    if out.grad_fn is not None:
        views.recorded = True
    return out


def view_apply(cls, input: Tensor, *params) -> Tensor:
    """``cls.apply(input, *params)`` for a view op: the result is marked as a view of input."""
    return mark_view(cls.apply(input, *params), input, (cls, params))


def mark_split(outs: tuple, input: Tensor, keys) -> tuple:
    """Mark the outputs of split/chunk/unbind (``input[key]`` each) as views that must not be
    modified in place (PyTorch refuses: one node computes every piece's gradient)."""
    from ..ops.shape import Slice

    for o, key in zip(outs, keys):
        mark_view(o, input, (Slice, (key,)), MULTI)
    return outs


def detached(t: Tensor) -> Tensor:
    """``t.detach()``: same data and version counter, no history, not a view."""
    out = _make(t._data, t._device)
    out._vc = counter(t)
    # An update through the detached alias must invalidate what t's node saved of t.
    pin_saved_output(root_of(t))
    return out


def index_map(shape: tuple, steps: tuple, device):
    """For each element of the view ``steps`` make of a base of ``shape``, its flat position
    in the base (an int array on ``device``)."""
    idx = array_module(device).arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    for cls, params in steps:
        ctx = cls._node_cls()
        ctx.needs_input_grad = (False,) * (1 + len(params))
        idx = cls.forward(ctx, idx, *params)
    return idx


# -- the in-place rule ----------------------------------------------------------------------------
def inplace(self: Tensor, fn, args: tuple, kwargs: dict) -> Tensor:
    """Store out-of-place ``fn(self, *args, **kwargs)`` into ``self``'s buffer (see module doc)."""
    tracked = _GRAD.enabled and (self.requires_grad or any(
        isinstance(a, Tensor) and a._requires_grad for a in args))
    if tracked:
        check_inplace(self)
        out = fn(self, *args, **kwargs)
    else:
        prev, _GRAD.enabled = _GRAD.enabled, False
        try:
            out = fn(self, *args, **kwargs)
        finally:
            _GRAD.enabled = prev
    dst, res = self._data, out._data
    if res.dtype != dst.dtype:
        if not _can_cast(res.dtype, dst.dtype):
            raise RuntimeError(f"result type {_SCALAR_TYPE_NAMES[res.dtype.name]} can't be cast "
                               f"to the desired output type {_SCALAR_TYPE_NAMES[dst.dtype.name]}")
        if tracked:
            out = out.to(self.dtype)
            res = out._data
    if res.shape != dst.shape:
        raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast "
                           f"shape {list(res.shape)}")
    node = out.grad_fn if tracked else None
    root = root_of(self)
    pin_saved_output(root)
    saved_result = False
    if res is not dst:
        if node is not None:
            _keep_original_self(node, self, dst)
        write(self, dst, res)
        if node is not None:
            # The node's saved result now lives in self's buffer, watched by self's counter.
            saved_result = replace_saved(node.__dict__, res, dst)
    bump(self)
    if node is None:
        if root._views is not None:
            regenerate_views(root)
        return self
    rebase_history(self, out.grad_fn, out._output_nr, out._data.shape)
    if saved_result:
        # PyTorch names the value by self's history after the update (a view's is regenerated).
        name = None if self._base is None else display_name(self.grad_fn)
        record_saved_output(node, counter(self), self._output_nr, dst, name)
    return self


def write_direct(self: Tensor, write_fn) -> Tensor:
    """An unrecorded in-place write (``x[k] = v``, ``fill_`` outside autograd): ``write_fn()``
    writes the buffer; the version moves on and views' histories are refreshed."""
    root = root_of(self)
    pin_saved_output(root)
    write_fn()
    bump(self)
    if root._views is not None:
        regenerate_views(root)
    return self


def write(self: Tensor, dst, res) -> None:
    """``dst[...] = res``, refusing memory where one write would land on several elements."""
    if array_writeable(dst):
        dst[...] = res
    elif overlapping(dst):
        raise RuntimeError(OVERLAP)
    else:
        # Read-only memory (a read-only NumPy array handed to from_numpy): the tensor takes a
        # new buffer, so this update is not seen through older aliases.
        self._data = res.astype(dst.dtype, copy=False)


def overlapping(arr) -> bool:
    """Whether broadcasting (a stride-0 axis) makes several elements share memory."""
    return any(st == 0 and n > 1 for st, n in zip(arr.strides, arr.shape))


OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a "
           "single memory location. Please clone() the tensor before performing the operation.")


def _keep_original_self(node, self: Tensor, dst) -> None:
    """``self``'s buffer is about to be overwritten: if the node saved it as an input, give the
    node a copy (PyTorch's ``original_self``); and point its replay arguments (``_args``, read
    by create_graph's replay) at a stand-in holding the old values and history of ``self`` (the
    real one is about to carry the new history: keeping it would also make a reference cycle).
    """
    d = node.__dict__
    args = d.get("_args")
    if args and any(a is self for a in args[1:]):
        return  # self is also another operand (x.mul_(x)): that value stays checked, as PyTorch
    replayed = bool(args) and args[0] is self
    if not (replayed or saves(d, dst)):
        return
    copy = dst.copy()
    replace_saved(d, dst, copy)
    if not replayed:
        return
    old = _make(copy, self._device)  # a private copy: its version never moves
    old.grad_fn, old._output_nr = self.grad_fn, self._output_nr
    old._requires_grad = self._requires_grad
    d["_args"] = (old,) + args[1:]


def pin_saved_output(t: Tensor) -> None:
    """If ``t``'s node saved ``t``'s own array (``exp`` saves its result), start watching ``t``'s
    version for it: called before anything that may change that array through an alias.

    Built-in ops save arrays; noting this here, when an update comes, rather than for every op
    when it runs keeps the recording of ops cheap.
    """
    node = t.grad_fn
    if node is None:
        return
    fcls = node._forward_cls
    if fcls is None or not fcls._array_level:
        return  # AccumulateGrad; user Functions note their saved tensors when they run
    arr = t._data
    if saves(node.__dict__, arr):
        record_saved_output(node, counter(t), t._output_nr, arr)


def after_user_forward(ctx, args: tuple, outs) -> None:
    """After a user Function ran under autograd: note its saved tensors' versions, and give the
    inputs it marked dirty (modified in place and returned) its node as their history."""
    if ctx._dirty:
        from .function import AccumulateGrad

        outs_t = outs if isinstance(outs, tuple) else (outs,)
        for t in ctx._dirty:
            nr = next((i for i, o in enumerate(outs_t) if o is t), None)
            if nr is None:
                raise RuntimeError("Some elements marked as dirty during the forward method were "
                                   "not returned as output. The inputs that are modified inplace "
                                   "must all be outputs of the Function.")
            j = next((i for i, a in enumerate(args) if a is t), None)
            if j is None:
                continue
            # apply gave t this node already; judge the update against t's history before it.
            old_fn, old_nr = ctx._edges[j]
            leaf = isinstance(old_fn, AccumulateGrad)
            t.grad_fn = None if leaf else old_fn
            t._output_nr = old_nr
            t._requires_grad = ctx.needs_input_grad[j]
            if leaf:
                raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                   "in-place operation.")
            check_inplace(t)
            rebase_history(t, ctx, nr, t._data.shape)
    if ctx._saved:
        note_user_saved(ctx, outs)


# -- checks before an update ----------------------------------------------------------------------
def check_inplace(self: Tensor) -> None:
    """PyTorch's refusals for a recorded in-place update of ``self``."""
    base = self._base
    if base is not None:
        if self._view_meta != DEFAULT:
            raise RuntimeError(rebase_message(self, indirect=False))
        if base.grad_fn is None and (self._requires_grad or base._requires_grad):
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        if _changes_dtype(self):
            # Regions of a base are counted in its elements, which a view of another element
            # type (the real parts of complex numbers) does not cover one to one.
            raise NotImplementedError(
                "brickwork cannot record an in-place update through a real/imag/view_as_real/"
                "view_as_complex view of a tensor that requires grad; update the complex tensor "
                "out of place instead (e.g. brickwork.complex(new_real, z.imag))")
    if self._requires_grad and self.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")


def _changes_dtype(view: Tensor) -> bool:
    """Whether a view reinterprets its base's element type (complex <-> real parts)."""
    return any(getattr(cls, "_changes_dtype", False) for cls, _ in view._view_steps)


_DTYPE_VIEW_UPDATED = (
    "brickwork cannot differentiate through a real/imag/view_as_real/view_as_complex view whose "
    "base was modified in place after the view was taken; take the view after the update")


_MULTI_SUFFIX = (" This view is the output of a function that returns multiple views. Such "
                 "functions do not allow the output views to be modified inplace. You should "
                 "replace the inplace operation by an out-of-place one.")
_NO_GRAD_SUFFIX = (" Given that this use case is ambiguous and error-prone, it is forbidden. You "
                   "can clarify your code by moving both the view and the inplace either both "
                   "inside the no_grad block (if you don't want the inplace to be tracked) or "
                   "both outside (if you want the inplace to be tracked).")


def rebase_message(view: Tensor, indirect: bool) -> str:
    """PyTorch's text for an in-place update its view rules forbid (handle_view_on_rebase)."""
    meta = view._view_meta
    fn = view.grad_fn
    modified = "its base or another view of its base has been" if indirect else "is being"
    if meta == NO_GRAD or fn is None:
        prefix = (f"Output {view._output_nr} of {display_name(fn)} is a view of a view which was "
                  "created in" if fn is not None else "A view was created in")
        msg = f"{prefix} no_grad mode and {modified} modified inplace with grad mode enabled."
    else:
        msg = (f"Output {view._output_nr} of {display_name(fn)} is a view and {modified} "
               "modified inplace.")
    return msg + (_MULTI_SUFFIX if meta == MULTI else _NO_GRAD_SUFFIX)


# -- recording an update --------------------------------------------------------------------------
def rebase_history(self: Tensor, fn, output_nr: int, shape: tuple) -> None:
    """Make the graph see that ``self`` now holds output ``output_nr`` of node ``fn``."""
    base = self._base
    if base is None:
        self.grad_fn, self._output_nr = fn, output_nr
        self._requires_grad = True
        if self._views is not None:
            regenerate_views(self)
        return
    req = base._requires_grad
    node = _new_node(CopySlices, (_edge(base) if req else _NO_EDGE, (fn, output_nr)),
                     ((base._data.shape, base.dtype), (shape, self.dtype)), (req, True))
    node.region = _Region(self)
    base.grad_fn, base._output_nr = node, 0
    base._requires_grad = True
    regenerate_views(base)


def regenerate_views(root: Tensor) -> None:
    """Give each live view of ``root`` a grad_fn reading its region from root's history."""
    req = root._requires_grad
    views = root._views
    if not (req or views.recorded):
        return
    views.recorded = True
    edge = None
    for ref in views:
        w = ref()
        if w is None or (w.grad_fn is None and not req) or w._data.dtype.kind not in "fVc":
            continue  # integer views (view(dtype)) have no history
        if _changes_dtype(w):  # real/imag/view_as_real/view_as_complex: see check_inplace
            node = _new_node(_ForbiddenView, (), (), ())
            node.message = _DTYPE_VIEW_UPDATED
        elif w._view_meta != DEFAULT:
            # PyTorch refuses to regenerate these: the refusal is raised if backward gets here.
            if type(w.grad_fn) is _ForbiddenView._node_cls:
                continue  # refused already, with the view's own name in the message
            node = _new_node(_ForbiddenView, (), (), ())
            node.message = rebase_message(w, indirect=True)
        else:
            if edge is None:
                edge = _edge(root) if req else _NO_EDGE
            node = _new_node(AsStridedView, (edge,), ((root._data.shape, root.dtype),), (req,))
            node.region = _Region(w)
        w.grad_fn, w._output_nr = node, 0
        w._requires_grad = True


def _new_node(cls, edges: tuple, metas: tuple, needs: tuple):
    """A graph node of Tensor-level Function ``cls`` built outside ``apply`` (its inputs are
    histories, not the tensors an ``apply`` call would take)."""
    node = cls._node_cls()
    node.needs_input_grad = needs
    node._edges = edges
    node._input_meta = metas
    node._epoch = CLOCK.n
    return node


class _Region:
    """Which elements of its root a view covers, as flat positions (computed on first use)."""

    __slots__ = ("shape", "numel", "steps", "device", "overlaps", "_idx")

    def __init__(self, view: Tensor) -> None:
        root = root_of(view)
        self.shape, self.numel = root._data.shape, root._data.size
        self.steps, self.device = view._view_steps, view._device
        # Broadcast views (expand) and windows (unfold, as_strided) may repeat positions.
        self.overlaps = any(getattr(cls, "_overlapping", False) for cls, _ in self.steps)
        self._idx = None

    def index(self) -> Tensor:
        if self._idx is None:
            self._idx = _make(index_map(self.shape, self.steps, self.device), self.device)
        return self._idx


class CopySlices(Function):
    """A base's history after an in-place update of one of its views (PyTorch's CopySlices).

    Inputs: the base's old history and the in-place op's result. The gradient of the base
    passes through outside the view's region; inside it, it flows into the op's result (whose
    graph reaches the old base through the view's old grad_fn).
    """

    _backward_name = "CopySlices"

    @staticmethod
    def backward(ctx, g):
        region = ctx.region
        idx = region.index()
        g_view = g.reshape(-1)[idx]
        g_base = None
        if ctx.needs_input_grad[0]:
            mask = _make(array_module(g._device).zeros(region.numel, dtype=bool), g._device)
            mask[idx] = True
            g_base = g.masked_fill(mask.reshape(g.shape), 0)
        return g_base, g_view


# PyTorch's name() for this node is its C++ class name (error messages show it).
CopySlices._node_cls.name = lambda self: "torch::autograd::CopySlices"


class AsStridedView(Function):
    """A view's regenerated history: its region of the base's current history."""

    _backward_name = "AsStridedBackward0"

    @staticmethod
    def backward(ctx, g):
        region = ctx.region
        idx = region.index()
        flat = g.new_zeros(region.numel)
        if region.overlaps:
            flat = flat.index_add(0, idx.reshape(-1), g.reshape(-1))
        else:
            flat[idx] = g
        return flat.reshape(region.shape)


class _ForbiddenView(Function):
    """Stands in for the history PyTorch refuses to regenerate; raises its error in backward."""

    _backward_name = "AsStridedBackward0"

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(ctx.message)
