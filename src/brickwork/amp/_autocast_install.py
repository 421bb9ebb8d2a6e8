"""Putting autocast's check in front of the listed ops.

Every op on an autocast list (``_autocast_lists``) is replaced, where programs reach it, by a
wrapper from ``_autocast_core.make_wrapper``: by name in the public namespaces (``brickwork``,
``Tensor`` and its operators, ``nn.functional``, ``linalg``, ``fft``, ``special``), and by
identity in other modules' globals, so that ``nn.Linear`` (which imported ``linear``
directly), the layers built from listed ops, and a program's own ``from brickwork import mm``
are autocast as PyTorch's are. ``brickwork.ops`` is left alone: an op built there from other
ops is one kernel in PyTorch, autocast only at its entry. Ops on no list are never wrapped.

This runs when autocast is first enabled (a program that never uses autocast pays nothing),
then again only when modules have been imported since (one ``len(sys.modules)`` comparison
per enable). References held elsewhere (locals, closures, attributes of objects) taken before
the first enable still reach the unwrapped op.
"""
from __future__ import annotations

import sys
import threading
import types

from ._autocast_core import make_wrapper
from ._autocast_lists import policies_by_location

_PUBLIC = {"torch": "brickwork", "F": "brickwork.nn.functional", "linalg": "brickwork.linalg",
           "fft": "brickwork.fft", "special": "brickwork.special"}
_LOCK = threading.Lock()
_BY_ID: dict[int, tuple] = {}     # id(original) -> (original, its wrapper), for the scan
_KEEP: list = []                  # the originals, so their ids stay theirs
_SCANNED: set[str] = set()
_SEEN_MODULES = [-1]


def _namespace(ns: str):
    if ns == "Tensor":
        from ..tensor import Tensor

        return Tensor
    return sys.modules.get(_PUBLIC[ns])


def _wrap_public() -> bool:
    """Wrap the listed functions found in the public namespaces; whether any were new."""
    new = False
    for loc, policies in policies_by_location().items():
        ns, name = loc.split(".", 1)
        owner = _namespace(ns)
        if owner is None:
            continue
        fn = vars(owner).get(name)
        if not isinstance(fn, types.FunctionType) or hasattr(fn, "_autocast_policies"):
            continue  # not implemented (yet), not a plain function, or already wrapped
        hit = _BY_ID.get(id(fn))
        if hit is not None and hit[1].__wrapped__ is fn and hit[1]._autocast_policies == policies:
            wrapper = hit[1]  # one function under two names (torch.conv2d is F.conv2d) stays one
        else:
            wrapper = make_wrapper(fn, policies)
        setattr(owner, name, wrapper)
        new = True
        # The function and what it wraps (an out= or device wrapper wraps the op itself):
        # modules that imported any of them get this wrapper.
        f = fn
        while isinstance(f, types.FunctionType):
            if id(f) not in _BY_ID:
                _BY_ID[id(f)] = (f, wrapper)
                _KEEP.append(f)
            f = getattr(f, "__wrapped__", None)
    return new


def _scan_modules() -> None:
    """Point other modules' references to wrapped originals at the wrappers."""
    public = set(_PUBLIC.values())
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or mod_name in _SCANNED or mod_name in public:
            continue
        _SCANNED.add(mod_name)
        if mod_name.startswith(("brickwork.amp.", "brickwork.ops.")):
            # An op built from other ops (matrix_exp from matmul...) is one kernel in PyTorch,
            # autocast only at its entry; its parts are not autocast again.
            continue
        if not issubclass(type(mod), types.ModuleType):
            continue  # a stand-in object some packages put in sys.modules
        g = vars(mod)
        for key, value in list(g.items()):
            if type(value) is types.FunctionType:  # type(): some objects warn on __class__
                hit = _BY_ID.get(id(value))
                if hit is not None and hit[0] is value:
                    g[key] = hit[1]


def install() -> None:
    """Wrap the listed ops (idempotent; only new modules are scanned again)."""
    if _SEEN_MODULES[0] == len(sys.modules):
        return
    with _LOCK:
        if _wrap_public():
            _SCANNED.clear()  # modules scanned before hold references to the new originals too
        _scan_modules()
        _SEEN_MODULES[0] = len(sys.modules)
