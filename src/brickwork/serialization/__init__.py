"""Saving and loading: ``brickwork.save`` and ``brickwork.load``.

Two formats, told apart on load by their first bytes:

- brickwork's default, a valid safetensors file whose metadata carries the object's structure,
  ties between tensors and checksums (``safetensors_format.py``);
- PyTorch's zip format (``torch_format.py``), chosen by a ``.pt``/``.pth`` suffix or
  ``format='torch'``: ``torch.load(weights_only=True)`` reads what brickwork writes and brickwork
  reads what ``torch.save`` writes, through an allow-list unpickler that never runs code.
  ``add_safe_globals`` & co. (``safe_globals.py``) extend the allow-list with the user's classes,
  which then save to and load from this format as they do in PyTorch.

Saving to a path is atomic (``atomic.py``); saving to a file object is not.
"""
from __future__ import annotations

import os
from typing import Any, BinaryIO

from ._common import CorruptFileError
from .atomic import atomic_write
from .safe_globals import (add_safe_globals, clear_safe_globals, get_safe_globals,
                           get_unsafe_globals_in_checkpoint, refuse_module, safe_globals)

__all__ = ["save", "load", "CorruptFileError", "atomic_write", "add_safe_globals",
           "clear_safe_globals", "get_safe_globals", "safe_globals",
           "get_unsafe_globals_in_checkpoint", "DEFAULT_PROTOCOL"]

# The pickle protocol of PyTorch-format files (``data.pkl``), as torch.serialization's.
DEFAULT_PROTOCOL = 2

_TORCH_SUFFIXES = (".pt", ".pth")
_FORMATS = ("brickwork", "safetensors", "torch")


def _format_for(f, format: str | None) -> str:
    if format is not None:
        if format not in _FORMATS:
            raise ValueError(f"brickwork.save: unknown format {format!r}; expected one of "
                             f"{', '.join(map(repr, _FORMATS))} or None")
        return "torch" if format == "torch" else "brickwork"
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "")
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    if isinstance(name, str) and name.lower().endswith(_TORCH_SUFFIXES):
        return "torch"
    return "brickwork"


def save(obj: Any, f: str | os.PathLike | BinaryIO, format: str | None = None) -> None:
    """Save tensors, Parameters and containers of them (a state_dict, a checkpoint) to a file.

    Args:
        obj: a Tensor, or nested dicts/OrderedDicts/lists/tuples of Tensors, numbers, strings,
            bools and None. Tensors that share storage (tied weights, views) share after loading.
            In PyTorch format, also instances of classes allow-listed with
            ``add_safe_globals`` (``torch.load`` reads them back with the same safe globals).
            A whole ``nn.Module`` is refused: save ``model.state_dict()`` instead.
        f: a path (str or PathLike) or a writable binary file object. Writing to a path is
            atomic: a crash leaves either the old file or the new one. A symlink (a chain of
            them, a dangling one) is written through: its final target is replaced and the link
            stays. A folder raises ``IsADirectoryError``; a FIFO, socket or device raises
            ``shutil.SpecialFileError`` (an OSError) and is left alone (pass an open file object
            to write to one). Writing to a file object is not atomic (brickwork cannot replace
            what the caller opened).

    Raises:
        OSError: from the file system (a full disk, a read-only folder), with its errno and
            class, naming ``f`` (not the temporary file); the old file is kept.

    Saving to a path writes ``.<name>.tmp-<pid>-<random>`` in the same folder and renames it
    over the target. A save that is killed leaves that file behind; the next save to the same
    folder removes it, and any other whose writer is gone (never one a live process is
    writing).
        format: ``'torch'`` for PyTorch's zip format (the default for ``.pt``/``.pth`` paths),
            ``'brickwork'``/``'safetensors'`` for brickwork's safetensors format (the default
            otherwise).

    Example:
        >>> brickwork.save(net.state_dict(), "mlp.params")
        >>> net.load_state_dict(brickwork.load("mlp.params"))

    See: torch.save.
    """
    kind = _format_for(f, format)
    refuse_module(obj)
    if kind == "torch":
        from .torch_format import save as write
    else:
        from .safetensors_format import save as write
    if isinstance(f, (str, os.PathLike)):
        with atomic_write(f) as out:
            write(obj, out)
    else:
        if not hasattr(f, "write"):
            raise TypeError(f"brickwork.save: f must be a path or a binary file object, got "
                            f"{type(f).__name__}")
        write(obj, f)
        if hasattr(f, "flush"):
            f.flush()


def load(f: str | os.PathLike | BinaryIO, map_location=None, pickle_module=None, *,
         weights_only: bool | None = True, mmap: bool | None = False, **pickle_load_args) -> Any:
    """Load what ``save`` (or ``torch.save``, or any safetensors writer) wrote.

    The format is recognised from the first bytes: a zip archive is PyTorch's format, anything
    else must be safetensors (a plain safetensors file loads as a dict of tensors). Files never
    run code: PyTorch files are read with an allow-list unpickler that raises
    ``pickle.UnpicklingError`` naming any other global (allow your own classes with
    ``add_safe_globals``), whatever ``weights_only`` says. Damaged files (truncated, bad header,
    checksum mismatch, offsets past the end, sizes that do not match) raise ``CorruptFileError``
    (a RuntimeError) naming the file and the tensor; so does a device such as ``/dev/zero``.
    A folder raises ``IsADirectoryError`` and a FIFO or socket ``shutil.SpecialFileError`` (an
    OSError), both naming the path, without waiting for a writer.

    Args:
        f: a path or a readable binary file object.
        map_location: where to put tensors: ``'cpu'``, a device, a dict mapping saved locations
            to new ones, or a callable ``(storage, location) -> storage`` (as in PyTorch).
        pickle_module: must be None (accepted for PyTorch's signature).
        mmap: map tensor data from the file instead of reading it (needs a path or a real file).
            Mapped loads skip every checksum of tensor data (brickwork's per-storage crc32s and
            the zip's crc32s of PyTorch files), since checking would read it all; the header is
            still checked. The mapping reads the file lazily: if another program truncates the
            file while tensors are mapped, touching the lost part kills the process with SIGBUS
            (PyTorch's ``mmap=True`` does the same). Replacing the file (as ``save`` does) is
            safe: the mapping keeps the old contents.
        weights_only: True, False or None (PyTorch's default, meaning True), all alike:
            brickwork never runs code from a file, so False loads what True loads (tensors,
            containers, plain values and allow-listed classes) and still refuses any other
            global.

    See: torch.load.
    """
    if weights_only is not None and not isinstance(weights_only, bool):
        raise TypeError(f"brickwork.load: weights_only must be a bool or None, got "
                        f"{type(weights_only).__name__}")
    if pickle_module is not None or pickle_load_args:
        raise ValueError("brickwork.load: pickle_module and pickle load arguments are not "
                         "supported (brickwork reads files with its own allow-list unpickler)")
    from ._source import Source

    src = Source(f)
    if mmap and src.fd is None:
        src.close()
        raise ValueError("brickwork.load: mmap=True needs a file path (or a real file object), "
                         f"got {type(f).__name__}")
    try:
        magic = src.read(0, 4, "the file signature") if src.size >= 4 else b""
        if magic == b"PK\x03\x04":
            from .torch_format import load as read
        elif src.kind is not None and src.size < 8:
            raise CorruptFileError(f"{src.label} is {src.kind}, not a brickwork/PyTorch/"
                                   f"safetensors file (it reports {src.size} bytes)")
        elif src.size < 8:
            raise CorruptFileError(f"{src.label}: only {src.size} bytes: truncated or not a "
                                   "brickwork/PyTorch/safetensors file")
        else:
            from .safetensors_format import load as read
        return read(src, map_location=map_location, mmap=mmap)
    finally:
        src.close()
