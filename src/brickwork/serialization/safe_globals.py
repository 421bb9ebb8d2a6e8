"""The user's allow-list: classes and functions a PyTorch file may name besides brickwork's own.

As ``torch.serialization.add_safe_globals``: an entry is a class or function, found in a file
under ``f"{obj.__module__}.{obj.__qualname__}"``, or a ``(obj, "module.name")`` pair, found
under that name. The unpickler (``torch_pickle.py``) rebuilds an allow-listed class the way
PyTorch's weights-only unpickler does (REDUCE calls it, NEWOBJ calls ``cls.__new__``, BUILD
calls ``__setstate__`` or updates ``__dict__`` and slots), and the pickler writes instances of
allow-listed classes, so ``torch.load(weights_only=True)`` with the same safe globals reads them.
"""
from __future__ import annotations

import os
import pickle
import struct
import threading
from typing import Any, BinaryIO, Callable, Iterable

__all__ = ["add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "get_unsafe_globals_in_checkpoint"]

Entry = Any  # a class/function, or a (class/function, "module.name") pair

_lock = threading.Lock()
_marked: set = set()


def add_safe_globals(safe_globals: Iterable[Entry]) -> None:
    """Allow files to name these classes and functions (and rebuild instances of the classes).

    Args:
        safe_globals: classes/functions, or ``(obj, "module.name")`` pairs for objects pickled
            under another name.

    Only allow-list code you trust: loading a file may call an allow-listed function or class
    with arguments the file chooses, and ``__setstate__`` with state the file chooses.

    See: torch.serialization.add_safe_globals.
    """
    entries = list(safe_globals)
    _table(entries)  # malformed entries are refused now rather than at the next load
    global _marked
    with _lock:
        _marked = _marked.union(entries)


def get_safe_globals() -> list[Entry]:
    """The user's allow-list. See: torch.serialization.get_safe_globals."""
    return list(_marked)


def clear_safe_globals() -> None:
    """Empty the user's allow-list. See: torch.serialization.clear_safe_globals."""
    global _marked
    with _lock:
        _marked = set()


def _remove_safe_globals(entries: Iterable[Entry]) -> None:
    global _marked
    with _lock:
        _marked = _marked - set(entries)


class safe_globals:
    """Allow these globals inside a ``with`` block only. See: torch.serialization.safe_globals.

    Example:
        >>> with brickwork.serialization.safe_globals([MyConfig]):
        ...     state = brickwork.load("run.pt")
    """

    def __init__(self, safe_globals: Iterable[Entry]) -> None:
        self.safe_globals = list(safe_globals)

    def __enter__(self) -> None:
        add_safe_globals(self.safe_globals)

    def __exit__(self, exc_type, exc, tb) -> None:
        _remove_safe_globals(self.safe_globals)


def _table(entries: Iterable[Entry]) -> dict[str, Callable]:
    """``"module.name" -> object`` for ``entries`` (PyTorch's errors for malformed ones)."""
    table: dict[str, Callable] = {}
    for f in entries:
        if isinstance(f, tuple):
            if len(f) != 2:
                raise ValueError("Expected tuple of length 2 (global, str of callable full path), "
                                 f"but got tuple of length: {len(f)}")
            if type(f[1]) is not str:
                raise TypeError("Expected second item in tuple to be str of callable full path, "
                                f"but got: {type(f[1])}")
            table[f[1]] = f[0]
        else:
            table[f"{f.__module__}.{f.__qualname__}"] = f
    return table


def user_allowed() -> dict[str, Callable]:
    """The current allow-list by the name a file uses."""
    return _table(_marked)


def pickled_name(cls) -> tuple[str, str] | None:
    """``(module, name)`` to write for an allow-listed ``cls``, or None if it is not allowed.

    The class's own ``__module__``/``__qualname__`` (what ``torch.save`` writes) when that name
    is allowed; otherwise the name of a ``(cls, "module.name")`` entry, so the file loads back.
    """
    table = user_allowed()
    own = f"{cls.__module__}.{cls.__qualname__}"
    if table.get(own) is cls:
        return cls.__module__, cls.__qualname__
    for name, obj in table.items():
        if obj is cls and "." in name:
            module, _, attr = name.rpartition(".")
            return module, attr
    return None


def set_state(inst, state) -> None:
    """BUILD on an allow-listed class, as PyTorch's weights-only unpickler (and ``pickle``) do:
    ``__setstate__`` if the class has one, else ``__dict__`` and slot updates."""
    setstate = getattr(inst, "__setstate__", None)
    if setstate is not None:
        setstate(state)
        return
    slotstate = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
    if state:
        inst.__dict__.update(state)
    if slotstate:
        for k, v in slotstate.items():
            setattr(inst, k, v)


def refuse_module(obj) -> None:
    """Raise the state_dict advice for a whole ``nn.Module`` (files never hold code)."""
    from ..nn import Module

    if isinstance(obj, Module):
        raise TypeError(
            f"brickwork.save: cannot save a whole nn.Module ({type(obj).__name__}): files hold "
            "tensors and plain data, never code, so a model is saved as its state_dict. Save "
            "with save(model.state_dict(), path) and load into a model your code builds with "
            "model.load_state_dict(load(path)).")


def get_unsafe_globals_in_checkpoint(f: str | os.PathLike | BinaryIO) -> list[str]:
    """The globals a PyTorch-format file names that ``load`` would refuse (sorted).

    Reads the pickle's opcodes without running it, as PyTorch does: only ``GLOBAL`` opcodes
    are seen, and a file using opcodes ``torch.save`` never writes raises
    ``pickle.UnpicklingError``. A global is unsafe if it is neither one brickwork loads by
    itself nor on the user's allow-list.

    See: torch.serialization.get_unsafe_globals_in_checkpoint.
    """
    from ._source import Source
    from ._zip_records import ZipRecords
    from .torch_pickle import allowed_names

    src = Source(f)
    try:
        if src.size < 4 or src.read(0, 4, "the file signature") != b"PK\x03\x04":
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        zr = ZipRecords(src, "PyTorch zip archive")
        pkl = [n for n in zr.names() if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            raise ValueError("Expected input to be a checkpoint returned by torch.save (it has "
                             "no data.pkl record)")
        found = _globals_in_pickle(zr.stream(pkl[0]))
    finally:
        src.close()
    return sorted(found - allowed_names() - set(user_allowed()))


# Opcode -> bytes of argument that follow it, for the opcodes torch.save writes.
_FIXED = {op[0]: n for op, n in (
    (pickle.NEWOBJ, 0), (pickle.REDUCE, 0), (pickle.BUILD, 0), (pickle.APPEND, 0),
    (pickle.APPENDS, 0), (pickle.SETITEM, 0), (pickle.SETITEMS, 0), (pickle.MARK, 0),
    (pickle.TUPLE, 0), (pickle.TUPLE1, 0), (pickle.TUPLE2, 0), (pickle.TUPLE3, 0),
    (pickle.NONE, 0), (pickle.NEWFALSE, 0), (pickle.NEWTRUE, 0), (pickle.EMPTY_TUPLE, 0),
    (pickle.EMPTY_LIST, 0), (pickle.EMPTY_DICT, 0), (pickle.EMPTY_SET, 0),
    (pickle.BINPERSID, 0), (pickle.BININT, 4), (pickle.BININT1, 1), (pickle.BININT2, 2),
    (pickle.BINFLOAT, 8), (pickle.BINGET, 1), (pickle.LONG_BINGET, 4), (pickle.BINPUT, 1),
    (pickle.LONG_BINPUT, 4), (pickle.PROTO, 1))}


def _globals_in_pickle(stream) -> set[str]:
    found = set()
    while True:
        key = stream.read(1)
        if not key:
            raise pickle.UnpicklingError("data.pkl ends before its STOP opcode")
        op = key[0]
        if op == pickle.GLOBAL[0]:
            module = stream.readline()[:-1].decode("utf-8", "replace")
            name = stream.readline()[:-1].decode("utf-8", "replace")
            found.add(f"{module}.{name}")
        elif op in _FIXED:
            stream.read(_FIXED[op])
        elif op == pickle.BINUNICODE[0]:
            stream.read(struct.unpack("<I", stream.read(4).ljust(4, b"\0"))[0])
        elif op in (pickle.SHORT_BINSTRING[0], pickle.LONG1[0]):
            stream.read((stream.read(1) or b"\0")[0])
        elif op == pickle.STOP[0]:
            return found
        else:
            raise pickle.UnpicklingError(f"Unsupported operand {op}")
