"""Reverse-mode differentiation: walks the graph of Function nodes from the outputs back."""
from __future__ import annotations

import sys

import numpy as np

from .._sparse_coo import SparseCOO as _SparseCOO
from ..device import (DeviceFollower, array_module, array_writeable, device_of_array,
                      on_device)
from .function import AccumulateGrad, _SECOND_BACKWARD, _as_array, _edge
from .grad_mode import STATE
from ._saved import CLOCK as _CLOCK, check_saved as _check_saved
from .anomaly_mode import STATE as _ANOMALY, run_node as _run_node
from ._lifted import Lifted, link_saved_outputs, unlift


_NDARRAY = np.ndarray
_Tensor = None  # brickwork.tensor.Tensor and _make, bound on the first backward (import cycle)
_make = None


def _bind_tensor() -> None:
    global _Tensor, _make
    from ..tensor import Tensor, _make as make

    _Tensor, _make = Tensor, make


class RemovableHandle:
    """Returned by ``register_hook`` calls; ``remove()`` takes the hook out again."""

    def __init__(self, container, key) -> None:
        self._container, self._key = container, key

    def remove(self) -> None:
        c = self._container
        if isinstance(c, dict):
            c.pop(self._key, None)
        elif self._key in c:
            c.remove(self._key)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _topo_dependencies(roots) -> dict:
    """How many edges point at each node reachable from ``roots``."""
    deps: dict = {}
    stack = list(roots)
    seen = set(stack)
    while stack:
        node = stack.pop()
        for nxt, _ in node._edges:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _call_backward(node, grads):
    fcls = node._forward_cls
    if not fcls._array_level:
        return _call_tensor_backward(node, fcls, grads)
    result = fcls.backward(node, *grads)
    if result.__class__ is not tuple:
        result = (result,)
    for r in result:
        if r is not None and r.__class__ is not _NDARRAY:
            # NumPy returns scalars from arithmetic on 0-d arrays; gradients must stay arrays.
            return tuple([None if r is None else _as_array(r) for r in result])
    return result


def _call_tensor_backward(node, fcls, grads):

    dev = None
    wrapped = []
    for g in grads:
        if g is None:
            wrapped.append(None)
        else:
            dev = dev or device_of_array(g)
            wrapped.append(_make(g, dev))
    prev, STATE.enabled = STATE.enabled, False
    try:
        result = fcls.backward(node, *wrapped)
    finally:
        STATE.enabled = prev
    return tuple([None if g is None else g._data for g in _checked_tensor_grads(node, result)])


def _checked_tensor_grads(node, result) -> list:
    """A user Function's gradients, checked against its inputs (count, type, shape)."""

    if not isinstance(result, tuple):
        result = (result,)
    meta = node._input_meta
    if len(result) != len(meta):
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {len(meta)}, got {len(result)})")
    out = []
    for i, (g, m) in enumerate(zip(result, meta)):
        if g is None or m is None:
            out.append(None)
            continue
        if not isinstance(g, _Tensor):
            raise TypeError(f"function {node.name()} returned a gradient of type "
                            f"{type(g).__name__} at index {i}, expected a Tensor or None")
        if tuple(g.shape) != tuple(m[0]):
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index "
                               f"{i} - got {list(g.shape)} but expected shape compatible with "
                               f"{list(m[0])}")
        out.append(g)
    return out


def _call_graph_backward(node, grads):
    """``node``'s backward as a recorded computation (create_graph): Tensors in, Tensors out.

    User Functions run their Tensor-level backward with grad mode on. Built-in ops re-run their
    forward on ``Lifted`` inputs, so every value their backward reads (inputs, outputs and
    intermediates) is in the graph, then run the same backward code on ``Lifted`` gradients.
    """

    fcls = node._forward_cls
    if not fcls._array_level:
        return tuple(_checked_tensor_grads(node, fcls.backward(node, *grads)))
    if node._released:
        raise RuntimeError(_SECOND_BACKWARD)

    args = node._args
    composite = getattr(fcls, "composite", None)
    if composite is not None:
        return _composite_backward(node, composite, args, grads)
    like = next((a for a in args if isinstance(a, _Tensor)), None)
    if like is None:
        like = next(g for g in grads if g is not None)
    ctx = fcls._node_cls()
    ctx.needs_input_grad = node.needs_input_grad
    inputs = [Lifted(a) if isinstance(a, _Tensor) else a for a in args]
    saved = _lift_saved_inputs(node.__dict__, args, inputs)
    if saved is not None:  # it saved only its inputs and constants: no need to replay
        ctx.__dict__.update(saved)
    else:
        link_saved_outputs(node, ctx, fcls.forward(ctx, *inputs, **node._kwargs), inputs)
    result = fcls.backward(ctx, *[None if g is None else Lifted(g) for g in grads])
    if not isinstance(result, tuple):
        result = (result,)
    out = []
    for r, a in zip(result, args):
        g = unlift(r, like)
        if g is not None and isinstance(a, _Tensor) and g._data.dtype != a._data.dtype:
            g = g.to(a.dtype)
        out.append(g)
    return tuple(out)


def _materialize(node, grads, create_graph=False):
    meta = getattr(node, "_out_meta", None)
    if meta is None:
        return grads

    ref = next(g for g in grads if g is not None)
    if create_graph:

        ref = ref._data
        dev = device_of_array(ref)
        xp = array_module(dev)
        return [_make(xp.zeros(m[0], m[1]), dev) if g is None else g
                for g, m in zip(grads, meta)]
    xp = array_module(device_of_array(ref))
    return [xp.zeros(m[0], m[1]) if g is None else g for g, m in zip(grads, meta)]


class ExecutionEngine:
    """``Variable._execution_engine``: ``queue_callback(fn)`` runs ``fn()`` once the backward
    pass now running has finished (DistributedDataParallel waits for its last gradient
    all-reduce there). See: torch.autograd.Variable._execution_engine."""

    def __init__(self) -> None:
        self._callbacks: list | None = None  # a list while a backward pass runs

    def queue_callback(self, callback) -> None:
        if self._callbacks is None:
            raise RuntimeError("Final callbacks can only be installed during backward pass.")
        self._callbacks.append(callback)


EXECUTION_ENGINE = ExecutionEngine()


def run_backward(roots, root_grads, retain_graph: bool, capture=None,
                 create_graph: bool = False) -> dict | None:
    """Propagate ``root_grads`` from ``roots`` (a list of ``(node, output_nr)``).

    With ``capture`` (a dict ``{(node, output_nr): None}``) the gradients reaching those edges
    are returned instead of being accumulated into leaves' ``.grad`` (``autograd.grad``).
    Gradients are backend arrays; with ``create_graph`` they are Tensors, every node's backward
    runs on graph-recording values (``_lifted.py``) with grad mode on, and the result is a graph.
    """
    buffers: dict = {}
    root_nodes = []
    for (node, nr), g in zip(roots, root_grads):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_out
            root_nodes.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    deps = _topo_dependencies(root_nodes)
    # autograd.grad runs only the part of the graph that leads to the requested inputs.
    needed = None if capture is None else _leading_to(root_nodes, {k[0] for k in capture})
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    # Gradients live on their tensors' GPUs; CuPy computes on its current device.
    devices = DeviceFollower()
    call = _call_graph_backward if create_graph else _call_backward
    prev, STATE.enabled = STATE.enabled, create_graph
    outer_callbacks, EXECUTION_ENGINE._callbacks = EXECUTION_ENGINE._callbacks, []
    leaves: list = []
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            if grads is not None:
                g0 = grads[0] if grads[0] is not None else next(g for g in grads if g is not None)
                if create_graph:
                    g0 = g0._data
                if g0.__class__ is not _NDARRAY:  # a GPU array: compute on its device
                    devices.follow_array(g0)
            if grads is not None and node._hooks:
                for nr, fns in node._hooks.items():
                    for fn in list(fns):
                        if grads[nr] is not None:
                            new = fn(grads[nr] if create_graph else _wrap_grad(grads[nr]))
                            if new is not None:
                                grads[nr] = new if create_graph else new._data
            if capture is not None and grads is not None:
                for nr, g in enumerate(grads):
                    if (node, nr) in capture and g is not None:
                        capture[(node, nr)] = g if capture[(node, nr)] is None \
                            else _add_grads(capture[(node, nr)], g)
            if isinstance(node, AccumulateGrad):
                if grads is not None and capture is None:
                    if create_graph:
                        _accumulate_graph(node.variable, grads[0])
                    else:
                        arr = grads[0]
                        # Drop this loop's other references to the array (the buffer, the
                        # producing node's results, loop variables): _accumulate then sees
                        # whether anything else holds it, and if not keeps it uncopied.
                        grads[0] = g0 = g = in_grads = None
                        _accumulate(node.variable, arr)
                        arr = None
                    for hook in list(node.__dict__.get("_post_accumulate_hooks", ())):
                        hook(node.variable)  # Tensor.register_post_accumulate_grad_hook
                continue
            if node._released:
                raise RuntimeError(_SECOND_BACKWARD)
            in_grads = None
            if grads is not None and (needed is None or node in needed):
                if node._n_out > 1 and node._materialize:
                    grads = _materialize(node, grads, create_graph)
                if _ANOMALY.enabled:
                    in_grads = _run_node(call, node, grads,
                                         lambda n: _check_saved(n, create_graph))
                else:
                    if node._epoch != _CLOCK.n:  # in-place updates since it ran (_saved.py)
                        _check_saved(node, create_graph)
                    in_grads = call(node, grads)
                for hook in node.__dict__.get("_node_hooks", ()):
                    hook(in_grads, grads)
            for i, (nxt, nr) in enumerate(node._edges):
                if nxt is None:
                    continue
                g = in_grads[i] if in_grads is not None and i < len(in_grads) else None
                if g is not None:
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * nxt._n_out
                    if buf[nr] is None:
                        buf[nr] = g
                    elif create_graph:
                        buf[nr] = buf[nr] + g
                    else:
                        devices.follow_array(g)
                        b = buf[nr]
                        # A sparse gradient meeting a dense one: dense + sparse (PyTorch's
                        # sum; sparse + dense is refused as a user-facing op).
                        buf[nr] = _as_array(g + b if b.__class__ is _SparseCOO else b + g)
                d = deps[nxt] - 1
                deps[nxt] = d
                if d == 0:
                    if nxt.__class__ is AccumulateGrad:
                        leaves.append(nxt)
                    else:
                        ready.append(nxt)
            if leaves:  # gradients land in .grad as soon as they are complete (hooks see them)
                ready.extend(leaves)
                leaves.clear()
            if not retain_graph:
                node._release()
        callbacks = EXECUTION_ENGINE._callbacks
        while callbacks:  # a callback may queue more
            callbacks.pop(0)()
    finally:
        EXECUTION_ENGINE._callbacks = outer_callbacks
        STATE.enabled = prev
        devices.restore()
    return capture


def _add_grads(a, b):
    """``a + b`` for two gradients, dense first when one of them is sparse (see above)."""
    return b + a if a.__class__ is _SparseCOO else a + b


def _leading_to(roots, targets) -> set:
    """The nodes from which some node in ``targets`` is reached through one or more edges."""
    leads: dict = {}
    for root in roots:
        if root in leads:
            continue
        leads[root] = False
        stack = [(root, iter(root._edges))]
        while stack:  # iterative post-order: a node is decided after all its children
            node, edges = stack[-1]
            for nxt, _ in edges:
                if nxt is not None and nxt not in leads:
                    leads[nxt] = False
                    stack.append((nxt, iter(nxt._edges)))
                    break
            else:
                stack.pop()
                leads[node] = any(nxt in targets or leads.get(nxt, False)
                                  for nxt, _ in node._edges if nxt is not None)
    return {n for n, ok in leads.items() if ok}


def _wrap_grad(g):
    return _make(g, device_of_array(g))


def _refs(a) -> int:
    return sys.getrefcount(a)


def _counts(g) -> tuple:
    """The reference counts of ``g`` and of ``g.base`` (0 without one)."""
    return _refs(g), (0 if g.base is None else _refs(g.base))


def _exclusive(g, measure: bool = False):
    """Whether ``g`` may become ``.grad`` as it is: a writeable C-contiguous NumPy array that
    only the engine holds (PyTorch's use-count test), owning its memory or a view of all of an
    array nothing else holds (a GEMM's output reshaped to the weight's shape: every weight
    gradient). ``measure``: return the counts it sees instead (see ``_calibrate``)."""
    if measure:
        return _counts(g)
    if g.__class__ is not _NDARRAY or not g.flags.c_contiguous or not g.flags.writeable:
        return False
    refs, base_refs = _counts(g)
    if refs > _SOLE_REFS:
        return False
    return g.base is None or (g.base.__class__ is _NDARRAY and g.base.base is None
                              and g.base.nbytes == g.nbytes and base_refs <= _SOLE_BASE_REFS)


def _calibrate() -> tuple:
    """The counts ``_exclusive`` sees for a view that only ``_accumulate``'s one local holds,
    of an array only that view holds: measured through the same frames (``_through`` stands
    for ``_accumulate``), since they vary between Python versions. (0, 0) where counts are
    not exact (free-threaded builds): nothing is adopted there."""
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        return 0, 0
    g = np.empty(2).reshape(2, 1)
    return _through(g)


def _through(g) -> tuple:
    return _exclusive(g, True)


_SOLE_REFS, _SOLE_BASE_REFS = _calibrate()


def _accumulate(t, g) -> None:
    want = t.__dict__.get("_grad_dtype", t._data.dtype)  # Tensor.grad_dtype (None: any)
    fresh = False
    if want is not None and g.dtype != want:
        g, fresh = g.astype(want), True
    if g.shape != t._data.shape:
        raise RuntimeError(f"gradient of shape {list(g.shape)} does not match the leaf tensor's "
                           f"shape {list(t._data.shape)}")
    old = t._grad
    if old is None:
        # The array becomes .grad as it is when nothing else holds it (``_exclusive``).
        # Otherwise a copy: the same array may also flow to another leaf, be the user's
        # `gradient`, or be kept by a hook. AlexNet's 46M weights: 42 ms of copies a step,
        # and more when the copies' fresh pages fault in.
        if not (fresh or _exclusive(g)):
            g = g.copy()
        t._grad = _make(g, t._device)
    elif old._data.shape == g.shape and array_writeable(old._data):
        old._data += g
    else:
        old._data = old._data + g


def _lift_saved_inputs(d: dict, args, inputs) -> dict | None:
    """A node's saved values with its input arrays swapped for their recording versions, or
    None when it saved anything else of floating point (an output or an intermediate, which
    depends on the inputs: the forward must then be replayed to put it in the graph).

    Linear layers, products and most binary ops save just their inputs; skipping their replay
    skips a second forward matmul per node in a Hessian-vector product.
    """
    by_id = {id(a._data): lifted for a, lifted in zip(args, inputs) if lifted is not a}
    out = {}
    for k, v in d.items():
        if k[0] == "_":
            continue
        if v.__class__ is tuple or v.__class__ is list:
            items = []
            for x in v:
                x = _lift_one(x, by_id)
                if x is _REPLAY:
                    return None
                items.append(x)
            out[k] = v.__class__(items)
        else:
            v = _lift_one(v, by_id)
            if v is _REPLAY:
                return None
            out[k] = v
    return out


_REPLAY = object()


def _lift_one(x, by_id):
    lifted = by_id.get(id(x))
    if lifted is not None:
        return lifted
    dt = getattr(x, "dtype", None)
    if dt is not None and getattr(dt, "kind", "") in "fc":
        return _REPLAY  # a float array or scalar that is not an input: derived from them
    return x


def _composite_backward(node, composite, args, grads):
    """The gradient of an op through its ``composite``: its forward re-expressed with
    differentiable ops, for kernels (convolution, pooling) whose array code cannot run on
    recording values. The composite is differentiated by this engine, so the op keeps its one
    hand-written backward (the fast first-order one)."""

    outs = composite(*args, **node._kwargs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o._requires_grad]
    wanted = [i for i, (a, need) in enumerate(zip(args, node.needs_input_grad))
              if need and isinstance(a, _Tensor)]
    result = [None] * len(args)
    if not pairs or not wanted:
        return tuple(result)
    found = grad([o for o, _ in pairs], [args[i] for i in wanted], [g for _, g in pairs],
                 create_graph=True, allow_unused=True)
    for i, g in zip(wanted, found):
        result[i] = g
    return tuple(result)


def _accumulate_graph(t, g) -> None:
    """``.grad`` under create_graph: the gradient keeps its graph; accumulation is recorded."""
    want = t.__dict__.get("_grad_dtype", t._data.dtype)  # Tensor.grad_dtype (None: any)
    if want is not None and g._data.dtype != want:
        from ..dtypes import _FROM_NP

        g = g.to(_FROM_NP[want])
    if g._data.shape != t._data.shape:
        raise RuntimeError(f"gradient of shape {list(g.shape)} does not match the leaf tensor's "
                           f"shape {list(t._data.shape)}")
    t._grad = g if t._grad is None else t._grad + g


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad``.

    See: torch.autograd.backward.
    """
    if _Tensor is None:
        _bind_tensor()
    Tensor = _Tensor
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,) * len(tensors) if grad_tensors is None else (grad_tensors,)
    roots, grads = _roots_and_grads(tensors, grad_tensors, create_graph)
    if inputs is not None:
        raise NotImplementedError("backward(inputs=...) is not supported; use autograd.grad")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(roots, grads, bool(retain_graph), create_graph=bool(create_graph))


def _roots_and_grads(tensors, grad_tensors, create_graph=False):
    """The root edges and their gradients: arrays, or Tensors for ``create_graph``."""
    Tensor = _Tensor
    roots, grads = [], []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if t._data.size != 1:
                # PyTorch's exact text; the fix is to pass `gradient=` or reduce to a scalar.
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if t._data.dtype.kind == "c":  # a complex loss has no single gradient (PyTorch)
                raise RuntimeError("grad can be implicitly created only for real scalar outputs "
                                   f"but got {t.dtype}")
            if t._device.index is None:
                g_arr = array_module(t._device).ones(t._data.shape, t._data.dtype)
            else:
                with on_device(t._device):
                    g_arr = array_module(t._device).ones(t._data.shape, t._data.dtype)
        else:
            if not isinstance(g, Tensor):
                raise TypeError(f"gradient must be a Tensor, got {type(g).__name__}")
            if g._data.shape != t._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{g.shape} and output[{i}] has a shape of {t.shape}.")
            if g._device is not t._device:
                raise RuntimeError(f"invalid gradient at index {i} - expected device "
                                   f"{t._device} but got {g._device}")
            if create_graph:  # keep the caller's tensor: the result may depend on it
                roots.append(_edge(t))
                grads.append(g)
                continue
            g_arr = g._data
        roots.append(_edge(t))
        grads.append(_make(g_arr, t._device) if create_graph else g_arr)
    return roots, grads


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    See: torch.autograd.grad.
    """
    if _Tensor is None:
        _bind_tensor()
    Tensor = _Tensor
    if isinstance(outputs, Tensor):
        outputs = (outputs,)
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots, grads = _roots_and_grads(outputs, grad_outputs, create_graph)
    edges = [_edge(t) for t in inputs]
    capture = {e: None for e in edges}
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(roots, grads, bool(retain_graph), capture, create_graph=bool(create_graph))
    result = []
    for i, (e, t) in enumerate(zip(edges, inputs)):
        g = capture[e]
        if g is None:
            if materialize_grads:
                result.append(t.new_zeros(t.shape))
                continue
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is "
                                   "the desired behavior.")
            result.append(None)
        else:
            result.append(g if create_graph else _make(g, t._device))
    return tuple(result)
