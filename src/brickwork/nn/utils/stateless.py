"""``functional_call``: run a module with some of its parameters and buffers swapped out.

The given tensors replace the module's entries (by dotted name) for the duration of one call and
the originals are put back afterwards, even if the call raises.

See: torch.nn.utils.stateless.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from typing import Any, Iterator

from ...tensor import Tensor
from ..module import Module

_MISSING: Any = object()


def _swap_tensor(module: Module, name: str, tensor: Any, allow_missing: bool) -> Any:
    """Put ``tensor`` (or nothing, for ``_MISSING``) under ``name`` and return what was there."""
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of brickwork.Tensor")
    for registry in (module._parameters, module._buffers):
        if name in registry:
            orig = registry[name]
            if tensor is _MISSING:
                del registry[name]
            else:
                # straight into the registry: a plain tensor may stand in for a Parameter
                registry[name] = tensor
            return orig
    if hasattr(module, name):
        orig = getattr(module, name)
    elif allow_missing:
        orig = _MISSING
    else:
        raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
    if orig is not _MISSING and orig is not None and not isinstance(orig, Tensor):
        raise TypeError(f"attribute `{name}`: {orig} is not an instance of brickwork.Tensor")
    if tensor is not _MISSING:
        setattr(module, name, tensor)
    elif hasattr(module, name):
        delattr(module, name)
    return orig


def _swap_all(module: Module, named: dict) -> dict:
    orig = {}
    for full_name, tensor in named.items():
        prefix, _, attr = full_name.rpartition(".")
        owner = module.get_submodule(prefix)
        orig[full_name] = _swap_tensor(owner, attr, tensor, allow_missing=True)
    return orig


def _untie_named_tensors_map(module: Module, parameters_and_buffers: dict) -> dict:
    """Extend the given names to every name tied to them (the same tensor under several names);
    raise if tied names were given different values."""
    all_named: dict = {}
    all_named.update(module.named_parameters(remove_duplicate=False))
    all_named.update(module.named_buffers(remove_duplicate=False))
    by_tensor: dict = {}
    for name, tensor in all_named.items():
        by_tensor.setdefault(id(tensor), set()).add(name)
    tied: dict = {}
    for names in by_tensor.values():
        if len(names) > 1:
            for n in names:
                tied[n] = names
    given = set(parameters_and_buffers)
    given_tied = {n for n in given if n in tied}
    for n in given_tied:
        names = tied[n]
        values = {id(parameters_and_buffers[t]) for t in names if t in parameters_and_buffers}
        if len(names & given_tied) > 1 and len(values) != 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             "which are tied. Consider using tie_weights=False")
    untied = dict(parameters_and_buffers)
    for n in given_tied:
        for t in tied[n]:
            untied[t] = parameters_and_buffers[n]
    return untied


@contextlib.contextmanager
def _reparametrize_module(module: Module, parameters_and_buffers: dict,
                          tie_weights: bool = False, strict: bool = False) -> Iterator[None]:
    untied = _untie_named_tensors_map(module, parameters_and_buffers) if tie_weights \
        else parameters_and_buffers
    if strict:
        known = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        known |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        unexpected = sorted(set(untied) - known)
        missing = sorted(known - set(untied))
        msgs = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
                module._get_name(), "\n\t".join(msgs)))
    orig: dict = {}
    try:
        orig = _swap_all(module, untied)
        yield
    finally:
        new = _swap_all(module, orig)
        # in-place updates of buffers during the call (running stats) reach the caller's dict
        parameters_and_buffers.update(
            {k: new[k] for k in parameters_and_buffers if k in new})


def _functional_call(module: Module, parameters_and_buffers: dict, args: Any = None,
                     kwargs: dict | None = None, *, tie_weights: bool = True,
                     strict: bool = False) -> Any:
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights,
                               strict=strict):
        return module(*args, **kwargs)


def func_functional_call(module: Module, parameter_and_buffer_dicts: dict | Sequence[dict],
                    args: Any = None, kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """Call ``module(*args, **kwargs)`` with the given tensors in place of its own.

    Args:
        module: the module to call.
        parameter_and_buffer_dicts: ``{dotted name: tensor}``, or a sequence of such dicts
            (a name may appear in only one).
        args: positional arguments (a non-tuple is the single argument).
        kwargs: keyword arguments.
        tie_weights: a tensor shared under several names is replaced under all of them.
        strict: the names given must be exactly the module's parameters and buffers.

    Returns:
        What ``module`` returns.

    Example:
        >>> m = nn.Linear(2, 1)
        >>> out = functional_call(m, {"weight": brickwork.ones(1, 2), "bias": brickwork.zeros(1)},
        ...                       (brickwork.ones(1, 2),))

    This is ``torch.func.functional_call`` (brickwork has no ``func`` package yet, so it lives
    here for it to re-export).

    See: torch.func.functional_call.
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        parameters_and_buffers = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        counts: dict = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
        parameters_and_buffers = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts)}")
    return _functional_call(module, parameters_and_buffers, args, kwargs,
                            tie_weights=tie_weights, strict=strict)


def functional_call(module: Module, parameters_and_buffers: dict, args: Any = None,
                    kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """``func_functional_call`` with a single dict, under its deprecated PyTorch 1.x name.

    Warns ``FutureWarning`` as PyTorch does. See: torch.nn.utils.stateless.functional_call.
    """
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs,
                            tie_weights=tie_weights, strict=strict)


__all__ = ["functional_call"]
