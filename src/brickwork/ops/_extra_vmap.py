"""Eager ``vmap``, ``cond`` and ``while_loop``.

``vmap`` runs the function once per batch element, on the inputs' slices along their mapped
dims, and stacks the results along the output dims: the values match PyTorch's batching rules
for every function that treats its batch elements independently (the only kind vmap is defined
for), and the loop is differentiable. Limits of running eagerly: PyTorch refuses data-dependent
Python control flow and ``.item()`` inside vmap, which here simply run per element; and with
``out_dims=None`` an output counts as unbatched when it is the same for every element.

``randomness='error'`` (the default) is checked through the default generator's state: a random
op on it inside the function raises PyTorch's error. ``'same'`` replays one random state for
every element; ``'different'`` lets each element draw its own.
"""
from __future__ import annotations

import functools

from ..tensor import Tensor


def _fn_name(func) -> str:
    return getattr(func, "__name__", type(func).__name__)


# -- pytrees of tuples, lists and dicts -----------------------------------------------------------
def _leaves(tree, dims, where: str, out: list) -> None:
    """Pair each leaf of ``tree`` with its dim from ``dims`` (an int/None for a whole subtree,
    or a container matching ``tree``'s structure)."""
    if dims is None or isinstance(dims, int):
        if isinstance(tree, (tuple, list)):
            for t in tree:
                _leaves(t, dims, where, out)
        elif isinstance(tree, dict):
            for t in tree.values():
                _leaves(t, dims, where, out)
        else:
            out.append((tree, dims))
        return
    if isinstance(dims, (tuple, list)) and isinstance(tree, (tuple, list)) \
            and len(dims) == len(tree):
        for t, d in zip(tree, dims):
            _leaves(t, d, where, out)
        return
    if isinstance(dims, dict) and isinstance(tree, dict) and dims.keys() == tree.keys():
        for k in tree:
            _leaves(tree[k], dims[k], where, out)
        return
    raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. "
                     f"in_dims is {dims!r} but the inputs are {_structure(tree)}.")


def _structure(tree) -> str:
    if isinstance(tree, (tuple, list)):
        inner = ", ".join(_structure(t) for t in tree)
        return f"({inner})" if isinstance(tree, tuple) else f"[{inner}]"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k!r}: {_structure(v)}" for k, v in tree.items()) + "}"
    return "*"


def _rebuild(tree, dims, pick):
    """``tree`` with each leaf replaced by ``pick(leaf, dim)``."""
    if dims is None or isinstance(dims, int):
        if isinstance(tree, (tuple, list)):
            return type(tree)(_rebuild(t, dims, pick) for t in tree)
        if isinstance(tree, dict):
            return {k: _rebuild(v, dims, pick) for k, v in tree.items()}
        return pick(tree, dims)
    if isinstance(dims, dict):
        return {k: _rebuild(tree[k], dims[k], pick) for k in tree}
    return type(tree)(_rebuild(t, d, pick) for t, d in zip(tree, dims))


def _flatten_out(tree, out: list):
    if isinstance(tree, (tuple, list)):
        for t in tree:
            _flatten_out(t, out)
    elif isinstance(tree, dict):
        for t in tree.values():
            _flatten_out(t, out)
    else:
        out.append(tree)
    return out


def _unflatten_out(tree, leaves):
    it = iter(leaves)

    def build(t):
        if isinstance(t, (tuple, list)):
            return type(t)(build(x) for x in t)
        if isinstance(t, dict):
            return {k: build(v) for k, v in t.items()}
        return next(it)

    return build(tree)


# -- vmap -----------------------------------------------------------------------------------------
_RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please either "
                 "use the 'same' or 'different' randomness flags on vmap or perform the "
                 "randomness operation out of vmap")


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """Vectorize ``func`` over a batch dim of its inputs (``in_dims``) into ``out_dims``.

    Args:
        func: the function of one batch element.
        in_dims: the mapped dim of each input: an int or None for all, or a (nested)
            tuple/list/dict matching the inputs (None: not mapped).
        out_dims: where each output gets the batch dim (an int, or one per output; None for
            an output that does not depend on the batch).
        randomness: ``'error'``, ``'different'`` or ``'same'`` (see the module doc).
        chunk_size: how many elements to compute at once; brickwork computes one at a time,
            which every chunk size allows.

    Returns:
        The batched function.

    See: torch.vmap.
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got "
                         f"{chunk_size})")
    name = _fn_name(func)

    @functools.wraps(func)
    def batched(*args, **kwargs):
        return _vmap_call(func, name, in_dims, out_dims, randomness, args, kwargs)

    return batched


def _vmap_call(func, name, in_dims, out_dims, randomness, args, kwargs):
    where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) "
                         f"tuple matching the structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add "
                         "inputs, or you are trying to vmap over a function with no inputs. The "
                         "latter is unsupported.")
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    if isinstance(in_dims, tuple) and len(in_dims) != len(args):
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has {len(in_dims)} entries but there are {len(args)} inputs.")
    pairs: list = []
    _leaves(args, dims, where, pairs)
    sizes = []
    for leaf, d in pairs:
        if d is None:
            continue
        if not isinstance(leaf, Tensor):
            raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type "
                             f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please "
                             "use None as the respective in_dim")
        nd = leaf.ndim
        if not -nd <= d < nd:
            raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a "
                             f"Tensor of dimensionality {nd} so expected in_dim to satisfy "
                             f"-{nd} <= in_dim < {nd}.")
        sizes.append(leaf.shape[d])
    if not sizes:
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): at least one input "
                         "must be mapped (in_dims all None)")
    if len(set(sizes)) != 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    n = sizes[0]
    results = []
    from .. import random as _random

    state = _random.get_rng_state() if randomness == "same" else None
    for i in range(n):
        if randomness == "same":
            _random.set_rng_state(state)
        elem = _rebuild(args, dims, lambda t, d: t if d is None else t.select(d, i))
        before = rng_mark() if randomness == "error" else None
        results.append(func(*elem, **kwargs))
        if before is not None and rng_mark() != before:
            raise RuntimeError(_RANDOM_ERROR)
    return _stack_outputs(results, out_dims, name)


def rng_mark():
    """What changes when the default generator draws: its bit generator's state (a dict;
    ``get_rng_state`` serializes it to a tensor, 45 us a call, which per-sample loops paid
    twice an element)."""
    from .. import random as _random

    gen = _random.default_generator
    return gen._seed, gen._rng.bit_generator.state


def _stack_outputs(results: list, out_dims, name: str):
    from .join import stack

    flat = [_flatten_out(r, []) for r in results]
    first = flat[0]
    if isinstance(out_dims, (tuple, list)):
        if len(out_dims) != len(first):
            raise ValueError(f"vmap({name}, ...): `{name}` must have one out_dim per output (or "
                             f"a single int): got {len(out_dims)} out_dims for {len(first)} "
                             "outputs")
        odims = list(out_dims)
    else:
        odims = [out_dims] * len(first)
    outs = []
    for k, d in enumerate(odims):
        column = [f[k] for f in flat]
        if d is None:
            v = column[0]
            if isinstance(v, Tensor) and any(not bool((c == v).all()) for c in column[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor "
                                 "when out_dim is None")
            outs.append(v)
            continue
        if not all(isinstance(c, Tensor) for c in column):
            bad = next(type(c) for c in column if not isinstance(c, Tensor))
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                             f"{bad}. Did you mean to set out_dims= to None for output?")
        outs.append(stack(column, d))
    return _unflatten_out(results[0], outs)


# -- control flow ---------------------------------------------------------------------------------
def _as_bool(pred) -> bool:
    if isinstance(pred, Tensor):
        if pred._data.size != 1:
            raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got "
                               f"{pred}.")
        return bool(pred.item())
    if isinstance(pred, (bool, int, float)):
        return bool(pred)
    raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")


def cond(pred, true_fn, false_fn, operands=()):
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)`` (run eagerly).

    See: torch.cond.
    """
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    if not isinstance(operands, (tuple, list)):
        raise RuntimeError(f"Expect operands to be a tuple of possibly nested dict/list/tuple "
                           f"that only consists of tensor leaves, but got {operands}.")
    branch = true_fn if _as_bool(pred) else false_fn
    return branch(*operands)


def while_loop(cond_fn, body_fn, carried_inputs):
    """``while cond_fn(*carry): carry = body_fn(*carry)``, run eagerly; returns the final carry
    (a tuple, or the value itself for one carried input). ``body_fn`` must return as many
    values as it takes. See: torch.while_loop."""
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list, got "
                           f"{type(carried_inputs)}")
    carry = tuple(carried_inputs)
    while _as_bool(cond_fn(*carry)):
        out = body_fn(*carry)
        out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        if len(out) != len(carry):
            raise RuntimeError(f"while_loop: body_fn returned {len(out)} values but takes "
                               f"{len(carry)} carried inputs")
        carry = out
    return carry[0] if len(carry) == 1 else carry


__all__ = ["vmap", "cond", "while_loop"]
