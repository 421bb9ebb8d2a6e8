"""Activation checkpointing: trade compute for memory. See: torch.utils.checkpoint.

``checkpoint(function, *args)`` runs ``function`` and keeps only its inputs: the values its ops
saved for backward are dropped as soon as it returns, and recomputed, by running ``function``
again with the random state it first ran with, when backward reaches it.

How (brickwork has no saved-tensor hooks; built-in ops keep what backward needs on their graph
node): the forward runs with autograd on, so the graph and its edges to every tensor the
function touched (inputs, parameters, captured tensors) exist as usual. The nodes it created
are told apart from older ones by the in-place clock (``autograd._saved.CLOCK``), ticked just
before the call: every recorded node is stamped with it. Those nodes are then emptied of what
they saved, keeping their edges. The outputs pass through one ``_Gate`` node; when backward
reaches it, the function is run again, its new nodes are matched one to one (same walk, same
order, same op types) with the emptied ones, and what they saved is moved across. Gradients
then flow through the original graph, so ``backward()`` and ``autograd.grad`` both work and
give exactly the gradients of an uncheckpointed run.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, ContextManager

from ..autograd.function import AccumulateGrad, Function, _SECOND_BACKWARD, _STRUCTURAL
from ..autograd.grad_mode import STATE, enable_grad, no_grad
from ..autograd._saved import CLOCK
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "noop_context_fn",
           "detach_variable", "check_backward_validity", "set_checkpoint_debug_enabled"]

# Set by set_checkpoint_debug_enabled: overrides checkpoint's ``debug`` when not None.
_debug_override: bool | None = None


class CheckpointError(RuntimeError):
    """The recomputation did not match the original forward. See:
    torch.utils.checkpoint.CheckpointError."""


def noop_context_fn() -> tuple[ContextManager, ContextManager]:
    """The default ``context_fn``: no context around either run."""
    return contextlib.nullcontext(), contextlib.nullcontext()


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None):
    """Override ``debug`` of every ``checkpoint`` in the block (None: each call's own).

    See: torch.utils.checkpoint.set_checkpoint_debug_enabled.
    """
    global _debug_override
    prev, _debug_override = _debug_override, enabled
    try:
        yield
    finally:
        _debug_override = prev


def detach_variable(inputs: tuple) -> tuple:
    """Detach each tensor of a tuple, keeping its ``requires_grad``.

    See: torch.utils.checkpoint.detach_variable.
    """
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for inp in inputs:
        if isinstance(inp, Tensor):
            x = inp.detach()
            x.requires_grad = inp.requires_grad
            inp = x
        out.append(inp)
    return tuple(out)


def check_backward_validity(inputs) -> None:
    """Warn when no tensor of ``inputs`` requires grad.

    See: torch.utils.checkpoint.check_backward_validity.
    """
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)


_DETERMINISM_CHECKS = ("default", "none")
_DEBUG_TIP = ("To see the ops recorded by both runs, pass debug=True to "
              "brickwork.utils.checkpoint.checkpoint.")


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None,
               context_fn: Callable[[], tuple[ContextManager, ContextManager]] = noop_context_fn,
               determinism_check: str = "default", debug: bool = False,
               early_stop: bool = True, **kwargs) -> Any:
    """Run ``function(*args, **kwargs)`` without keeping its intermediate values for backward.

    Args:
        function: what to run (a module, a function); its outputs may be a tensor or nested
            tuples/lists/dicts holding tensors and other values.
        *args: its positional arguments (tensors or anything else).
        use_reentrant: as in PyTorch, pass it explicitly (None warns, as PyTorch 2.13 does, and
            means True). brickwork runs both variants through the same graph mechanism, so
            gradients are the same; ``True`` keeps PyTorch's restrictions of the reentrant
            variant (no keyword arguments, no ``context_fn``/``debug``, outputs that need no
            gradient when no input requires grad) but, unlike PyTorch, also works with
            ``autograd.grad``.
        context_fn: returns two context managers, entered around the forward and around the
            recomputation.
        determinism_check: ``'default'`` compares the shapes and dtypes of what the
            recomputation saves with the first run (``CheckpointError`` if they differ);
            ``'none'`` skips that (the graphs must still have the same ops).
        debug: name the ops recorded by both runs in a ``CheckpointError``
            (``set_checkpoint_debug_enabled`` overrides it).
        early_stop: accepted for PyTorch's signature: brickwork always recomputes the whole
            function (the gradients are the same either way; only the cost differs).
        preserve_rng_state: (keyword) replay the random state of the first run (dropout masks
            repeat exactly); default True.
        **kwargs: keyword arguments of ``function`` (``use_reentrant=False`` only).

    Returns:
        What ``function`` returns.

    See: torch.utils.checkpoint.checkpoint.
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if not isinstance(early_stop, bool):
        raise TypeError(f"checkpoint: early_stop must be a bool, got {type(early_stop).__name__}")
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, but "
                         f"got {determinism_check}")
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        if not any(isinstance(a, Tensor) and a._requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                          stacklevel=2)
            # The reentrant variant runs the function under no_grad: nothing to backprop.
            with no_grad():
                return function(*args)
    if not STATE.enabled:
        return function(*args, **kwargs)  # nothing is recorded, so nothing to drop
    if _debug_override is not None:
        debug = _debug_override
    fwd_ctx, recompute_ctx = context_fn()
    state = _State(function, args, kwargs, bool(preserve), recompute_ctx,
                   determinism_check, bool(debug))
    with fwd_ctx:
        start = _tick()
        outputs = function(*args, **kwargs)
    leaves = []
    _flatten(outputs, leaves)
    graded = [t for t in leaves if t._requires_grad]
    if not graded:
        return outputs
    state.nodes = _inner_nodes(graded, start)
    state.meta = [_saved_meta(n) for n in state.nodes] if determinism_check == "default" else None
    for node in state.nodes:
        _drop_saved(node)
    gated = _Gate.apply(state, *graded)
    gated = gated if isinstance(gated, tuple) else (gated,)
    swap = {id(t): g for t, g in zip(graded, gated)}
    return _rebuild(outputs, swap)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Run a sequence of modules/functions in ``segments`` checkpointed pieces.

    Every segment but the last is run through ``checkpoint``; the last runs normally.

    Args:
        functions: an ``nn.Sequential`` or a list of callables, applied in order.
        segments: how many pieces to cut it into.
        input: the input of the first function.
        use_reentrant: as in ``checkpoint`` (None warns and means True).
        preserve_rng_state: (keyword) as in ``checkpoint``.

    See: torch.utils.checkpoint.checkpoint_sequential.
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
            "be passed explicitly. In version 2.9 we will raise an exception if use_reentrant "
            "is not passed. use_reentrant=False is recommended, but if you need to preserve "
            "the current default behavior, you can pass use_reentrant=True. Refer to docs for "
            "more details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    from ..nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)

    def run(start: int, end: int):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)


# -- the mechanism ----------------------------------------------------------------------------
class _State:
    """What the gate needs to rerun the function: the function, its arguments, their versions,
    the random state, the emptied nodes in walk order (and their saved metadata)."""

    def __init__(self, function, args, kwargs, preserve, recompute_ctx, determinism_check,
                 debug) -> None:
        from ..random import get_rng_state

        self.function, self.args, self.kwargs = function, args, kwargs
        self.versions = [(a, a._version) for a in (*args, *kwargs.values())
                         if isinstance(a, Tensor)]
        self.rng = get_rng_state() if preserve else None
        self.recompute_ctx = recompute_ctx
        self.determinism_check, self.debug = determinism_check, debug
        self.nodes: list = []
        self.meta = None


class _Gate(Function):
    """Identity on the checkpointed function's outputs; its backward refills the graph."""

    _backward_name = "CheckpointFunctionBackward"

    @staticmethod
    def forward(ctx, state, *outputs):
        ctx.checkpoint_state = state
        outs = tuple(o.detach() for o in outputs)
        return outs if len(outs) > 1 else outs[0]

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.__dict__.get("checkpoint_state")
        if state is None:
            raise RuntimeError(_SECOND_BACKWARD)
        _recompute(state)
        return (None, *grads)


def _tick() -> int:
    # A tick with no update: every node recorded from now on is stamped with at least this
    # value, every older one with less. (Backward then rechecks versions of older nodes once,
    # finding nothing: a tick only costs that check.)
    CLOCK.n += 1
    return CLOCK.n


def _inner_nodes(outputs: list, start: int) -> list:
    """The nodes recorded since ``start`` behind ``outputs``, in a fixed depth-first order."""
    order, seen = [], set()
    todo = [t.grad_fn for t in reversed(outputs) if t.grad_fn is not None]
    while todo:
        node = todo.pop()
        if id(node) in seen or isinstance(node, AccumulateGrad) \
                or getattr(node, "_epoch", -1) < start:
            continue
        seen.add(id(node))
        order.append(node)
        todo.extend(fn for fn, _ in reversed(node._edges) if fn is not None)
    return order


def _drop_saved(node) -> None:
    d = node.__dict__
    for k in [k for k in d if k not in _STRUCTURAL]:
        del d[k]


def _saved_meta(node) -> list:
    """(name, shape, dtype) of each array or tensor a node saved, for the determinism check."""
    out = []
    for k, v in sorted(node.__dict__.items()):
        if k in _STRUCTURAL:
            continue
        for x in (v if isinstance(v, (tuple, list)) else (v,)):
            if isinstance(x, Tensor):
                x = x._data
            shape = getattr(x, "shape", None)
            if shape is not None and hasattr(x, "dtype"):
                out.append((k, tuple(shape), str(x.dtype)))
    return out


def _recompute(state: _State) -> None:
    for t, version in state.versions:
        if t._version != version:
            raise RuntimeError(
                f"checkpoint: an input of the checkpointed function (a tensor of shape "
                f"{list(t.shape)}) was modified in place during or after the forward (version "
                f"{version}, now {t._version}); its recomputation would not match")
    from ..random import get_rng_state, set_rng_state

    saved_rng = get_rng_state() if state.rng is not None else None
    try:
        if state.rng is not None:
            set_rng_state(state.rng)
        with enable_grad(), state.recompute_ctx:
            start = _tick()
            outputs = state.function(*state.args, **state.kwargs)
    finally:
        if saved_rng is not None:
            set_rng_state(saved_rng)
    leaves = []
    _flatten(outputs, leaves)
    nodes = _inner_nodes([t for t in leaves if t._requires_grad], start)
    _match(state, nodes)
    for old, new in zip(state.nodes, nodes):
        _drop_saved(old)
        d = old.__dict__
        for k, v in new.__dict__.items():
            if k not in _STRUCTURAL:
                d[k] = v
        old._epoch = new._epoch
    # A checkpoint nested inside this one made a new gate whose state lists the nodes it just
    # recorded; the graph backward walks is the original one, so point it at those.
    original = {id(new): old for old, new in zip(state.nodes, nodes)}
    for old in state.nodes:
        inner = old.__dict__.get("checkpoint_state")
        if inner is not None:
            inner.nodes = [original.get(id(n), n) for n in inner.nodes]


def _match(state: _State, nodes: list) -> None:
    first = [n.name() for n in state.nodes]
    again = [n.name() for n in nodes]
    detail = (f"\nOps recorded by the forward: {first}\nOps recorded by the recomputation: "
              f"{again}" if state.debug else f"\n{_DEBUG_TIP}")
    if first != again:
        raise CheckpointError(
            "torch.utils.checkpoint: the recomputation recorded different operations than the "
            f"original forward ({len(first)} then {len(again)} ops); the checkpointed function "
            f"must do the same work each time it runs.{detail}")
    if state.meta is None:
        return
    different = []
    for i, (node, meta) in enumerate(zip(nodes, state.meta)):
        now = _saved_meta(node)
        if now != meta:
            different.append(f"op {i} ({node.name()}):\nsaved metadata: {meta}\n"
                             f"recomputed metadata: {now}\n")
    if different:
        raise CheckpointError("torch.utils.checkpoint: Recomputed values for the following "
                              "tensors have different metadata than during the forward pass.\n"
                              + "".join(different) + detail)


def _flatten(obj, out: list) -> None:
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            _flatten(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _flatten(x, out)


def _rebuild(obj, swap: dict):
    if isinstance(obj, Tensor):
        return swap.get(id(obj), obj)
    if isinstance(obj, (tuple, list)):
        items = [_rebuild(x, swap) for x in obj]
        if hasattr(obj, "_fields"):  # a namedtuple
            return type(obj)(*items)
        return type(obj)(items)
    if isinstance(obj, dict):
        new = type(obj)()
        for k, v in obj.items():
            new[k] = _rebuild(v, swap)
        return new
    return obj
