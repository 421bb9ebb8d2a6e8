"""The functorch transforms: ``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``
and ``hessian``, on brickwork's reverse-mode autograd.

Each call runs the function on differentiable stand-ins for the chosen inputs: a fresh leaf for an
input that does not require grad, and an alias (``view_as``) for one that does, which keeps it in
the graph around the call. That is what lets the transforms nest (``grad(grad(f))``, ``jacrev``
inside ``vmap``) and mix with ``backward``: every derivative is taken with ``create_graph``, so
an outer transform can differentiate it again. PyTorch marks each nesting level instead; here a
result is detached when its graph reaches no tensor but this call's fresh leaves, so it prints and
behaves as PyTorch's unwrapped result does (no ``grad_fn`` unless it depends on something outside).

brickwork has no forward-mode AD: ``jvp`` is the double-vjp trick (the gradient of a
vector-Jacobian product with respect to its vector), and ``jacfwd`` is ``jacrev``'s Jacobian,
with the same values as PyTorch's at reverse mode's cost (one backward pass per output value).

See: torch.func.
"""
from __future__ import annotations

import functools
from typing import Callable

from ..autograd.engine import grad as _autograd_grad_raw
from ..autograd.function import reached_leaves
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..ops._extra_vmap import _flatten_out, _unflatten_out
from ..tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]


# -- arguments ----------------------------------------------------------------------------------
def _wrap_argnum(argnum, num_args: int) -> int:
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if 0 <= argnum < num_args:
        return argnum
    if -num_args <= argnum < 0:
        return argnum + num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _argnums(argnums, num_args: int):
    """``argnums`` checked and made non-negative, PyTorch's errors for the rest."""
    if isinstance(argnums, bool) or not isinstance(argnums, (int, tuple)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if isinstance(argnums, int):
        return _wrap_argnum(argnums, num_args)
    if len(argnums) == 0:
        raise RuntimeError("argnums must be non-empty")
    if len(set(argnums)) != len(argnums):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return tuple(_wrap_argnum(a, num_args) for a in argnums)


def _pick(args: tuple, argnums):
    """The differentiated argument (an int ``argnums``) or the tuple of them."""
    return args[argnums] if isinstance(argnums, int) else tuple(args[i] for i in argnums)


def _put(args: tuple, argnums, new) -> tuple:
    if isinstance(argnums, int):
        return tuple(new if i == argnums else a for i, a in enumerate(args))
    return tuple(new[argnums.index(i)] if i in argnums else a for i, a in enumerate(args))


# -- stand-ins and results ----------------------------------------------------------------------
class _Scope:
    """The fresh leaves of one transform call, for telling which results reach outside it."""

    def __init__(self) -> None:
        self.fresh: set = set()

    def stand_in(self, t):
        if not isinstance(t, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(t)}")
        if t.requires_grad:  # in a graph around this call: keep the connection
            return t.view_as(t)
        leaf = t.detach().requires_grad_()
        self.fresh.add(id(leaf))
        return leaf

    def stand_ins(self, tree):
        leaves = _flatten_out(tree, [])
        new = [self.stand_in(t) for t in leaves]
        return _unflatten_out(tree, new), new

    def reaches_outside(self, t) -> bool:
        """Whether ``t``'s graph reaches a leaf other than this call's fresh ones."""
        return not reached_leaves([t]) <= self.fresh

    def result(self, x):
        """``x`` detached where its graph stays within this call (tensors in a tree too)."""
        if isinstance(x, (tuple, list, dict)):
            return _unflatten_out(x, [self.result(t) for t in _flatten_out(x, [])])
        if isinstance(x, Tensor) and x.requires_grad and not self.reaches_outside(x):
            return x.detach()
        return x


def _autograd_grad(outputs, inputs, grad_outputs=None, retain_graph=None,
                   create_graph=True) -> tuple:
    """Gradients of the outputs that require grad, zeros where an input is not reached.

    The graph is kept (``retain_graph`` follows ``create_graph``): an outer transform's
    backward runs through this call's forward again, where PyTorch's levels keep two graphs.
    """
    from ..factories import zeros_like

    pairs = [(o, g) for o, g in zip(outputs, grad_outputs or [None] * len(outputs))
             if o.requires_grad]
    if not pairs:
        return tuple(zeros_like(i) for i in inputs)
    outs, gos = zip(*pairs)
    grads = _autograd_grad_raw(outs, inputs, None if grad_outputs is None else gos,
                               retain_graph=retain_graph, create_graph=create_graph,
                               allow_unused=True)
    return tuple(zeros_like(i) if g is None else g for g, i in zip(grads, inputs))


def _split_aux(output, api: str, has_aux: bool):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) "
                           f"if has_aux is True")
    return output


def _tensor_outputs(output, api: str) -> list:
    flat = _flatten_out(output, [])
    if len(flat) < 1 or (len(flat) == 1 and flat[0] is None):
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output "
                           f"(got output = {flat})")
    for o in flat:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {type(o)}")
    return flat


# -- grad ---------------------------------------------------------------------------------------
def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning ``(gradient, value)`` of the scalar ``func`` with respect to the
    argument(s) at ``argnums`` (``(gradient, (value, aux))`` with ``has_aux``).

    See: torch.func.grad_and_value.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        scope = _Scope()
        nums = _argnums(argnums, len(args))
        with enable_grad():
            diff, leaves = scope.stand_ins(_pick(args, nums))
            output = func(*_put(args, nums, diff), **kwargs)
            output, aux = _split_aux(output, "grad_and_value(f)(*args)", has_aux)
            if not isinstance(output, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(output)}")
            if output.dim() != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got tensor with {output.dim()} dims. Maybe "
                                   f"you wanted to use the vjp or jacrev APIs instead?")
            # a graph for the gradient only where something outside this call can use it
            # (recording the backward costs several times the backward itself)
            grads = _autograd_grad((output,), leaves,
                                   create_graph=scope.reaches_outside(output))
        gradient = scope.result(_unflatten_out(diff, list(grads)))
        value = scope.result(output)
        if has_aux:
            return gradient, (value, scope.result(aux))
        return gradient, value

    return wrapper


def grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of the scalar ``func`` with respect to the
    argument(s) at ``argnums`` (``(gradient, aux)`` with ``has_aux``).

    Example:
        >>> x = brickwork.tensor([1., 2.])
        >>> brickwork.func.grad(lambda x: (x ** 3).sum())(x)
        tensor([ 3., 12.])

    See: torch.func.grad.
    """
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradient, value = inner(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapper


# -- vjp ----------------------------------------------------------------------------------------
def _vjp(func: Callable, primals: tuple, argnums, has_aux: bool, scope=None):
    """``vjp`` over the primals at ``argnums`` (all of them for None), its stand-ins made in
    ``scope`` (a new one for None; a given one also leaves every result in the graph)."""
    # a caller's scope (jvp's) differentiates the products again: results stay in the graph
    raw = scope is not None
    scope = _Scope() if scope is None else scope
    with enable_grad():
        if argnums is None:
            diff, leaves = scope.stand_ins(primals)
            output = func(*diff)
        else:
            diff, leaves = scope.stand_ins(_pick(primals, argnums))
            output = func(*_put(primals, argnums, diff))
        output, aux = _split_aux(output, "vjp(f, *primals)", has_aux)
        flat_out = _tensor_outputs(output, "vjp(f, *primals)")
        for o in flat_out:
            if not (o.is_floating_point() or o.is_complex()):
                raise RuntimeError(f"vjp(f, ...): All outputs of f must be floating-point or "
                                   f"complex Tensors, got Tensor with dtype {o.dtype}")

    def vjp_fn(cotangents, retain_graph: bool = True, create_graph: bool | None = None):
        if create_graph is None:
            create_graph = is_grad_enabled() and (raw or any(
                scope.reaches_outside(o) for o in flat_out))
        flat_cot = _flatten_out(cotangents, [])
        if len(flat_cot) != len(flat_out) or _spec(cotangents) != _spec(output):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as "
                               f"pytree structure of outputs to the function. cotangents: "
                               f"{_pprint(cotangents)}, primal output: {_pprint(output)}")
        with enable_grad():
            grads = _autograd_grad(flat_out, leaves, flat_cot, retain_graph=retain_graph,
                                   create_graph=create_graph)
        grads = _unflatten_out(diff, list(grads))
        return grads if raw else scope.result(grads)

    if raw:
        return output, vjp_fn, aux
    return scope.result(output), vjp_fn, scope.result(aux)


def _spec(tree, indent: int = 0) -> str:
    """A tree's structure as PyTorch's ``TreeSpec`` prints it (``*`` for each leaf)."""
    if isinstance(tree, (tuple, list, dict)):
        children = list(tree.values()) if isinstance(tree, dict) else list(tree)
        context = list(tree.keys()) if isinstance(tree, dict) else None
        inner = ""
        if children:
            inner = _spec(children[0], indent + 2) + ("," if len(children) > 1 else "")
            inner += ",".join("\n" + " " * (indent + 2) + _spec(c, indent + 2)
                              for c in children[1:])
        return f"TreeSpec({type(tree).__name__}, {context}, [{inner}])"
    return "*"


def _pprint(tree) -> str:
    """A tree's structure as PyTorch's ``treespec_pprint`` writes it: ``(*, [*])``."""
    if isinstance(tree, tuple):
        inner = ", ".join(_pprint(t) for t in tree)
        return f"({inner},)" if len(tree) == 1 else f"({inner})"
    if isinstance(tree, list):
        return "[" + ", ".join(_pprint(t) for t in tree) + "]"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k!r}: {_pprint(v)}" for k, v in tree.items()) + "}"
    return "*"


def vjp(func: Callable, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` gives the vector-Jacobian products
    with respect to every primal, as a tuple (``(output, vjp_fn, aux)`` with ``has_aux``).

    See: torch.func.vjp.
    """
    output, vjp_fn, aux = _vjp(func, primals, None, has_aux)
    return (output, vjp_fn, aux) if has_aux else (output, vjp_fn)


# -- jvp ----------------------------------------------------------------------------------------
_JVP = "jvp(f, primals, tangents)"


def jvp(func: Callable, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)``: the Jacobian-vector product, by the double-vjp trick
    (``(output, jvp_out, aux)`` with ``has_aux``).

    See: torch.func.jvp.
    """
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{_JVP}: Expected primals to be a tuple. E.g. it should be valid "
                           f"to call f(*primals).")
    flat_p, flat_t = _flatten_out(primals, []), _flatten_out(tangents, [])
    if _spec(primals) != _spec(tangents):
        raise RuntimeError(f"{_JVP}: Expected primals and tangents to have the same python "
                           f"structure. For example, if primals is a tuple of 3 tensors, "
                           f"tangents also must be. Got primals with structure "
                           f"{_spec(primals)} and tangents with structure {_spec(tangents)}")
    for name, flat in (("primals", flat_p), ("tangents", flat_t)):
        if not flat:
            raise RuntimeError(f"{_JVP}: Expected {name} to contain at least one Tensor.")
        for t in flat:
            if not isinstance(t, Tensor):
                raise RuntimeError(f"{_JVP}: Expected {name} to only contain Tensors, got "
                                   f"{type(t)}")
    from ..factories import zeros_like

    scope = _Scope()
    output, vjp_fn, aux = _vjp(func, primals, None, has_aux, scope)
    output, aux = scope.result(output), scope.result(aux)
    flat_out = _flatten_out(output, [])
    with enable_grad():
        # the vjp is linear in its cotangents: differentiating it against them gives J @ t
        cots = [scope.stand_in(zeros_like(o)) for o in flat_out]
        grads = _flatten_out(vjp_fn(_unflatten_out(output, cots), create_graph=True), [])
        pairs = [(g, t) for g, t in zip(grads, flat_t) if g.requires_grad]
        if pairs:
            outs = _autograd_grad([g for g, _ in pairs], cots, [t for _, t in pairs])
        else:
            outs = tuple(zeros_like(o) for o in flat_out)
    if strict and any(not g.requires_grad for g in grads):
        raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is "
                           "independent of the inputs. This is not allowed with strict=True.")
    tangent_out = scope.result(_unflatten_out(output, list(outs)))
    return (output, tangent_out, aux) if has_aux else (output, tangent_out)


# -- Jacobians ----------------------------------------------------------------------------------
def _jacobian(func: Callable, args: tuple, argnums, has_aux: bool, api: str):
    for i, t in enumerate(_flatten_out(args, [])):
        if isinstance(t, Tensor) and t.is_complex():
            raise RuntimeError(f"{api}: Expected all inputs to be real but received complex "
                               f"tensor at flattened input idx: {i}")
    nums = _argnums(argnums, len(args))
    output, vjp_fn, aux = _vjp(func, args, nums, has_aux)
    flat_out = _flatten_out(output, [])
    for i, o in enumerate(flat_out):
        if o.is_complex():
            raise RuntimeError(f"{api}: Expected all outputs to be real but received complex "
                               f"tensor at flattened input idx: {i}")
    diff = (_pick(args, nums),) if isinstance(nums, int) else _pick(args, nums)
    flat_in = _flatten_out(diff, [])
    from ..factories import zeros_like
    from ..ops.join import stack

    # one vjp per output value: row r of every input's Jacobian
    rows: list = [[] for _ in flat_in]
    for k, o in enumerate(flat_out):
        for r in range(o.numel()):
            cots = [zeros_like(p) for p in flat_out]
            cots[k].view(-1)[r] = 1
            grads = _flatten_out(vjp_fn(_unflatten_out(output, cots)), [])
            for j, g in enumerate(grads):
                rows[j].append(g)
    per_out: list = []
    for k, o in enumerate(flat_out):
        start = sum(p.numel() for p in flat_out[:k])
        per_in = []
        for j, p in enumerate(flat_in):
            block = rows[j][start:start + o.numel()]
            jac = stack(block) if block else zeros_like(p).reshape(0, *p.shape)
            per_in.append(jac.reshape(tuple(o.shape) + tuple(p.shape)))
        tree = _unflatten_out(diff, per_in)
        per_out.append(tree[0] if isinstance(nums, int) else tree)
    result = _unflatten_out(output, per_out)
    return (result, aux) if has_aux else result


def jacrev(func: Callable, argnums=0, *, has_aux: bool = False, chunk_size=None) -> Callable:
    """A function returning the Jacobian of ``func`` with respect to the argument(s) at
    ``argnums``, shaped ``output.shape + input.shape``, by one vector-Jacobian product per
    output value (``chunk_size`` only groups those products in PyTorch: the values are the
    same for any).

    See: torch.func.jacrev.
    """
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args):
        return _jacobian(func, args, argnums, has_aux, "jacrev")

    return wrapper


def jacfwd(func: Callable, argnums=0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """A function returning the Jacobian of ``func``, as :func:`jacrev` computes it (brickwork
    has no forward mode; the values are the same).

    See: torch.func.jacfwd.
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")

    @functools.wraps(func)
    def wrapper(*args):
        from ..ops._extra_vmap import _RANDOM_ERROR, rng_mark

        # PyTorch's jacfwd runs f once per tangent under vmap; here f runs once, so its random
        # values are shared by every row: 'same', checked for 'error', refused for 'different'
        before = rng_mark()
        result = _jacobian(func, args, argnums, has_aux, "jacfwd")
        if randomness != "same" and rng_mark() != before:
            if randomness == "error":
                raise RuntimeError(_RANDOM_ERROR)
            raise NotImplementedError("jacfwd(randomness='different'): brickwork computes the "
                                      "Jacobian from one run of f, whose random values every "
                                      "row shares; use randomness='same'")
        return result

    return wrapper


def hessian(func: Callable, argnums=0) -> Callable:
    """A function returning the Hessian of ``func`` with respect to the argument(s) at
    ``argnums``: ``jacfwd(jacrev(func, argnums), argnums)``.

    See: torch.func.hessian.
    """
    return jacfwd(jacrev(func, argnums), argnums)

