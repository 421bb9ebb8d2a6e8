"""NumPy's keyword names for ``dim`` and ``keepdim``: ``x.sum(axis=0, keepdims=True)``.

PyTorch's argument parser lets every native function and Tensor method that has a ``dim``
(``keepdim``) parameter be called with ``axis=`` (``keepdims=``) instead, so NumPy-style code such
as d2l's ``X.argmax(axis=1)`` and ``X.sum(0, keepdims=True)`` runs. ``numpy_names(fn)`` gives a
brickwork op the same: the aliases are keyword-only parameters of its signature (so the ``out=``
wrappers of ``_out.py``, generated from that signature, pass them on) and are renamed before the
op runs. Giving both spellings is refused as PyTorch refuses it.

The functions PyTorch writes in Python (``split``, ``unique``, ``Tensor.unflatten``) take no alias
there, so their families leave them out of ``install``.
"""
from __future__ import annotations

import functools
import inspect

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class _Required:
    """The advertised default of a required ``dim`` (and the parameters after it), so that the
    ``out=`` wrapper generated from the signature lets ``cumsum(x, axis=0)`` through."""

    def __repr__(self) -> str:
        return "<required>"


_REQUIRED = _Required()


def numpy_names(fn):
    """``fn`` accepting ``axis=`` for its ``dim`` and ``keepdims=`` for its ``keepdim``.

    Returns ``fn`` itself when it has neither parameter (or already takes the alias).
    """
    if getattr(fn, "_numpy_names", False):
        return fn
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    spec = []
    for alias, target in _ALIASES:
        p = sig.parameters.get(target)
        if p is None or alias in sig.parameters:
            continue
        pos = params.index(p) if p.kind in _POSITIONAL else None
        spec.append((alias, target, pos, p.default))
    if not spec:
        return fn
    name = fn.__name__
    names = [p.name for p in params]
    required = [p.name for p in params[min(pos for _, _, pos, _ in spec if pos is not None):]
                if p.kind in _POSITIONAL and p.default is p.empty] \
        if any(pos is not None for _, _, pos, _ in spec) else []

    def wrapper(*args, **kwargs):
        if kwargs:
            for alias, target, pos, default in spec:
                value = kwargs.pop(alias, None)
                # None is the alias's default: the out= wrappers always pass it on.
                if value is None:
                    continue
                given_positionally = pos is not None and len(args) > pos
                # A keyword equal to the default is what an out= wrapper passes along.
                given = kwargs.get(target, _REQUIRED)
                if (given is not _REQUIRED and given is not default
                        or given_positionally and args[pos] is not default
                        and args[pos] is not _REQUIRED):
                    raise TypeError(f"{name}() got an unexpected keyword argument '{alias}'")
                if given_positionally:  # an out= wrapper passed the default along
                    args = args[:pos] + (value,) + args[pos + 1:]
                else:
                    kwargs[target] = value
            if required:
                _check_given(name, names, args, kwargs)
        return fn(*args, **kwargs)

    functools.update_wrapper(wrapper, fn)
    extra = [inspect.Parameter(alias, inspect.Parameter.KEYWORD_ONLY, default=None)
             for alias, *_ in spec]
    var_kw = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    rest = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
    rest = [p.replace(default=_REQUIRED) if p.name in required else p for p in rest]
    wrapper.__signature__ = sig.replace(parameters=rest + extra + var_kw)
    wrapper._numpy_names = True
    return wrapper


def _check_given(name: str, names: list, args: tuple, kwargs: dict) -> None:
    """Refuse a call in which the ``out=`` wrapper passed ``_REQUIRED`` for a missing argument."""
    for i, a in enumerate(args):
        if a is _REQUIRED:
            raise TypeError(f'{name}() missing 1 required positional arguments: "{names[i]}"')
    for key, value in kwargs.items():
        if value is _REQUIRED:
            raise TypeError(f'{name}() missing 1 required positional arguments: "{key}"')


def install(namespace: dict, table: dict, skip: tuple = ()) -> None:
    """Wrap, in place, the functions of a family's ``namespace`` (those in its ``__all__``) and
    its ``TENSOR_METHODS`` ``table``, except the names in ``skip``."""
    done = {}

    def wrapped(fn):
        if id(fn) not in done:
            done[id(fn)] = numpy_names(fn)
        return done[id(fn)]

    for key in list(table):
        if key not in skip and callable(table[key]) and not key.startswith("__"):
            table[key] = wrapped(table[key])
    for key in namespace.get("__all__", ()):
        if key not in skip and callable(namespace.get(key)):
            namespace[key] = wrapped(namespace[key])
