"""The one op mechanism: ``Function`` with ``forward(ctx, ...)`` and ``backward(ctx, ...)``.

Every built-in op is a Function subclass whose forward and backward work on backend arrays
(NumPy or CuPy) and sit side by side. User-defined Functions use the same class with PyTorch's
contract: forward receives Tensors (with grad recording off) and backward receives and returns
Tensors. Calling ``apply`` creates the graph node: the ``ctx`` object, which is also the
tensor's ``grad_fn`` (an instance of a class named ``<Op>Backward0`` like PyTorch's).
"""
from __future__ import annotations

from .grad_mode import STATE

_Tensor = None  # brickwork.tensor.Tensor, bound on first use to avoid an import cycle
_make = None


def _bind_tensor():
    global _Tensor, _make
    from ..tensor import Tensor, _make as make

    _Tensor, _make = Tensor, make
    return Tensor


class Node:
    """A node of the backward graph; the ``ctx`` of a Function and a tensor's ``grad_fn``.

    Attributes:
        next_functions: one ``(node, output_nr)`` pair per tensor input, ``(None, 0)`` for
            inputs that need no gradient; leaves that require grad are reached through
            ``AccumulateGrad``. (``_edges`` holds one per argument of forward, for the engine.)
        needs_input_grad: one bool per input of forward.
    """

    # Slots for the fields every recorded node gets (measurably faster than dict entries;
    # _epoch: the in-place clock when it was recorded, see _saved.py); whatever an op saves
    # goes into __dict__, freed by _release.
    __slots__ = ("needs_input_grad", "_edges", "_epoch", "__dict__", "__weakref__")
    _forward_cls = None
    _n_out = 1
    _released = False
    _hooks = None
    _saved = ()
    _materialize = True
    _non_diff = ()
    _args = ()
    _kwargs = {}
    # Version bookkeeping (see _saved.py): watched results, a user Function's saved tensors
    # and the inputs it modified in place.
    _out_versions = ()
    _saved_checks = ()
    _dirty = ()

    @property
    def next_functions(self) -> tuple:
        """One ``(node, output_nr)`` pair per tensor input, as PyTorch lists them: the graph's
        edges less the places of non-tensor arguments (a dim, a flag)."""
        return tuple([e for e in self._edges if e is not _ARG_EDGE])

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    # -- the ctx API ---------------------------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError(_SECOND_BACKWARD)
        if self._saved_checks:
            _check_user_saved(self)
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = tuple(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that forward modified in place (and returns): their history becomes
        this node's, as PyTorch's ``ctx.mark_dirty``, which also counts one more version."""
        from ._views import bump

        self._dirty = tensors
        for t in tensors:
            bump(t)

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = bool(value)

    def register_hook(self, fn):
        """Run ``fn(grad_inputs, grad_outputs)`` after this node's backward (PyTorch's order)."""
        from .engine import RemovableHandle

        hooks = self.__dict__.setdefault("_node_hooks", [])
        hooks.append(fn)
        return RemovableHandle(hooks, fn)

    def _release(self) -> None:
        # Free what forward saved: the graph can no longer be replayed (retain_graph=False).
        d = self.__dict__
        if d.keys().isdisjoint(_STRUCTURAL):  # the common case: one C call, then clear
            d.clear()
        else:
            keep = {k: v for k, v in d.items() if k in _STRUCTURAL}
            d.clear()
            d.update(keep)
        self._released = True


_STRUCTURAL = frozenset(("needs_input_grad", "_n_out", "_hooks", "_input_meta",
                         "_out_meta", "_node_hooks", "_materialize"))
_SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward."
)


class AccumulateGrad(Node):
    """The node that adds an incoming gradient into a leaf tensor's ``.grad``."""

    _edges = ()

    def __init__(self, variable) -> None:
        self.variable = variable


def reached_leaves(outputs) -> set:
    """``id`` of every leaf tensor whose gradient the outputs' graph reaches (an output that
    is itself a leaf requiring grad counts)."""
    seen: set = set()
    leaves: set = set()
    stack = []
    for t in outputs:
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
        elif t.requires_grad:
            leaves.add(id(t))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, AccumulateGrad):
            leaves.add(id(node.variable))
            continue
        for nxt, _ in node._edges:
            if nxt is not None and nxt not in seen:
                stack.append(nxt)
    return leaves


class Function:
    """Base class for differentiable operations. See: torch.autograd.Function.

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` and call
    ``MyOp.apply(*args)``. ``backward`` returns one gradient (or None) per forward argument.

    Example:
        >>> class Exp(Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         y = x.exp()
        ...         ctx.save_for_backward(y)
        ...         return y
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (y,) = ctx.saved_tensors
        ...         return grad * y
    """

    # Built-in ops set this: forward/backward then take and return backend arrays, which keeps
    # the per-op cost low. User Functions keep PyTorch's Tensor-level contract.
    _array_level = False
    _backward_name: str | None = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("_backward_name") or f"{cls.__name__}Backward"
        cls._node_cls = type(name, (Node,), {"_forward_cls": cls})

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    @classmethod
    def _apply2(cls, a, b):
        """``apply(a, b)`` for an array-level op of two tensors of one dtype, with one output
        (``a + b`` and the other binary operators): the general path's argument loop and
        lists cost about a fifth of such an op."""
        dev = a._device
        if b._device is not dev:
            _raise_device_mismatch(cls, dev, b._device)
        if dev.index is not None and dev.index != _cuda_index():
            return cls.apply(a, b)
        ra, rb = a._requires_grad, b._requires_grad
        ctx = cls._node_cls()
        requires = (ra or rb) and STATE.enabled
        ctx.needs_input_grad = (ra, rb) if requires else _NO_GRADS[2]
        out = cls.forward(ctx, a._data, b._data)
        if out.__class__ is not _NDARRAY:
            out = _as_array(out)
        outs = _new(_Tensor or _bind_tensor())
        outs._data = out
        outs._device = dev
        if not requires:
            return outs
        ctx._args = (a, b)
        ctx._epoch = _CLOCK.n
        fa, fb = a.grad_fn, b.grad_fn
        ctx._edges = (
            ((fa, a._output_nr) if fa is not None else _edge(a)) if ra else _NO_EDGE,
            ((fb, b._output_nr) if fb is not None else _edge(b)) if rb else _NO_EDGE)
        if out.dtype.kind in "fVc":  # integer results carry no gradient
            outs._requires_grad = True
            outs.grad_fn = ctx
        return outs

    @classmethod
    def apply(cls, *args, **kwargs):
        # The hot path of every op: one pass over the arguments, no generator expressions.
        Tensor = _Tensor or _bind_tensor()
        dev = None
        requires = False
        arrays = []
        needs = []
        edges = []  # next_functions, built here: a comprehension later costs a frame per op
        for a in args:
            if isinstance(a, Tensor):
                d = a._device
                if dev is None:
                    dev = d
                elif d is not dev:
                    _raise_device_mismatch(cls, dev, d)
                arrays.append(a._data)
                if a._requires_grad:
                    requires = True
                    needs.append(True)
                    fn = a.grad_fn
                    edges.append((fn, a._output_nr) if fn is not None else _edge(a))
                else:
                    needs.append(False)
                    edges.append(_NO_EDGE)
            else:
                arrays.append(a)
                needs.append(False)
                edges.append(_ARG_EDGE)
        if dev is not None and dev.index is not None and dev.index != _cuda_index():
            # On a GPU that is not CuPy's current one: run there (see device.on_device).
            with _on_device(dev):
                return cls.apply(*args, **kwargs)
        ctx = cls._node_cls()
        if requires and STATE.enabled:
            ctx.needs_input_grad = tuple(needs)
        else:
            requires = False
            ctx.needs_input_grad = _NO_GRADS[len(args)] if len(args) < 8 \
                else (False,) * len(args)
        if cls._array_level:
            user = False
            out = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
            if dev is None:
                from ..device import device_of_array

                # No tensor arguments (e.g. an op on two Python scalars): NumPy may have
                # returned a scalar, which has no device of its own.
                dev = device_of_array(_as_array(out[0] if isinstance(out, tuple) else out))
            if isinstance(out, tuple):
                outs = tuple([_make(_as_array(o), dev) for o in out])
            else:
                if out.__class__ is not _NDARRAY:
                    out = _as_array(out)
                outs = _new(Tensor)
                outs._data = out
                outs._device = dev
        else:
            user = True
            prev, STATE.enabled = STATE.enabled, False
            try:
                outs = cls.forward(ctx, *args, **kwargs)
            finally:
                STATE.enabled = prev
            if requires:
                ctx._input_meta = tuple([(a.shape, a.dtype) if isinstance(a, Tensor) else None
                                         for a in args])
        if not requires:
            return outs
        # What create_graph=True needs to re-run this op on graph-recording inputs.
        ctx._args = args
        if kwargs:
            ctx._kwargs = kwargs
        ctx._epoch = _CLOCK.n  # in-place updates after this one may invalidate what it saves
        ctx._edges = tuple(edges)
        if isinstance(outs, tuple):
            ctx._n_out = len(outs)
            ctx._out_meta = tuple([(o._data.shape, o._data.dtype) for o in outs])
            non_diff = ctx._non_diff
            for i, o in enumerate(outs):
                if id(o) not in non_diff and o._data.dtype.kind in "fVc":  # 'V': bfloat16
                    o._requires_grad = True
                    o.grad_fn = ctx
                    o._output_nr = i
        elif (not ctx._non_diff or id(outs) not in ctx._non_diff) \
                and outs._data.dtype.kind in "fVc":  # integer results carry no gradient
            outs._requires_grad = True
            outs.grad_fn = ctx
        if user:  # saved tensors and mark_dirty of a user Function
            _after_user_forward(ctx, args, outs)
        return outs


_NO_GRADS = tuple((False,) * n for n in range(8))
_NO_EDGE = (None, 0)
# A non-tensor argument's place: equal to _NO_EDGE, told apart by identity (built at run time:
# the compiler would fold two equal tuple constants into one object).
_ARG_EDGE = tuple([None, 0])
_new = object.__new__


def _as_array(x):
    # NumPy reductions and 0-d arithmetic return NumPy scalars; tensors always hold arrays.
    # (An isinstance test, not hasattr(x, '__cuda_array_interface__'): CuPy builds that dict
    # on every access, which would cost each GPU op.)
    if x.__class__ is not _NDARRAY and isinstance(x, _SCALARS):
        return _np.asarray(x)
    return x


def _edge(t):
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    acc = t._accum
    if acc is None:
        acc = t._accum = AccumulateGrad(t)
    return (acc, 0)


def _raise_device_mismatch(cls, first, other):
    """PyTorch's cross-device error; ``cls`` is the op's Function class or its name."""
    from ..device import describe_op_location

    name = cls if isinstance(cls, str) else cls.__name__.lower()
    raise RuntimeError(
        f"Expected all tensors to be on the same device, but found at least two devices, "
        f"{first} and {other}! (when checking arguments for {name}"
        f"{describe_op_location()})"
    )


import numpy as _np  # noqa: E402

from ..device import current_cuda_index as _cuda_index, on_device as _on_device  # noqa: E402
from ._saved import CLOCK as _CLOCK, check_user_saved as _check_user_saved  # noqa: E402

_NDARRAY = _np.ndarray
_SCALARS = (_np.generic, bool, int, float, complex)


def _after_user_forward(ctx, args, outs) -> None:
    """Saved tensors and ``mark_dirty`` of a user Function (``_views.after_user_forward``)."""
    from ._views import after_user_forward

    after_user_forward(ctx, args, outs)
