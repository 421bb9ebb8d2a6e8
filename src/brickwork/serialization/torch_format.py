"""PyTorch's file format: a zip archive holding ``data.pkl`` and one record per storage.

Writing produces what ``torch.save`` produces (records ``archive/data.pkl``,
``archive/byteorder``, ``archive/data/<key>``, ``archive/version``..., storages 64-byte aligned,
stored uncompressed), so ``torch.load(weights_only=True)`` reads it. Reading accepts files from
``torch.save``: storages are read straight into arrays (in parallel, each checked against the
zip's crc32) or mapped with ``mmap=True``, and ``data.pkl`` goes through the restricted unpickler
of ``torch_pickle.py``.
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np

from ._common import (CorruptFileError, DeviceMapper, StoragePlan, check_dtype_savable, crc32,
                      empty_for_read)
from . import _pool
from ._source import Source
from .torch_pickle import LoadedStorage, RestrictedUnpickler, StorageType, TorchPickler

PREFIX = "archive"
ALIGN = 64
_DATE = (1980, 1, 1, 0, 0, 0)


# -- writing --------------------------------------------------------------------------------
def save(obj, f) -> None:
    """Write ``obj`` to the binary file object ``f`` in PyTorch's zip format."""
    plan = StoragePlan()

    def storage_key(t, path):
        check_dtype_savable(t._data, path)
        sid, offset, shape, stride = plan.add(t, path)
        arr = plan.storages[sid]
        location = str(t._device) if t._device.type != "cpu" else "cpu"
        return str(sid), arr.dtype.name, location, int(arr.size), offset, shape, stride

    data_pkl = TorchPickler(storage_key).dumps(obj)
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        _record(zf, "data.pkl", data_pkl)
        _record(zf, ".format_version", b"1")
        _record(zf, ".storage_alignment", str(ALIGN).encode())
        _record(zf, "byteorder", b"little")
        for i, arr in enumerate(plan.storages):
            _record(zf, f"data/{i}", memoryview(arr.view(np.uint8)) if arr.size else b"")
        _record(zf, "version", b"3\n")


def _record(zf: zipfile.ZipFile, name: str, data) -> None:
    name = f"{PREFIX}/{name}"
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = zipfile.ZIP_STORED
    size = len(data)
    info.file_size = size
    zip64 = size * 1.05 > zipfile.ZIP64_LIMIT
    # Pad the local header's extra field (PyTorch's "FB" field) so the data starts aligned.
    fixed = 30 + len(name.encode()) + 4 + (20 if zip64 else 0)
    pad = (-(zf.fp.tell() + fixed)) % ALIGN
    info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    with zf.open(info, "w", force_zip64=zip64) as w:
        w.write(data)


# -- reading --------------------------------------------------------------------------------
def load(src: Source, map_location=None, mmap: bool = False):
    """Read a PyTorch zip file through the restricted unpickler."""
    fobj = io.BytesIO(src.buf) if src.buf is not None else os.fdopen(os.dup(src.fd), "rb")
    try:
        fobj.seek(src.base)
        try:
            zf = zipfile.ZipFile(fobj)
            return _load_zip(src, zf, map_location, mmap)
        except (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OverflowError,
                UnicodeDecodeError, NotImplementedError, OSError) as e:
            raise CorruptFileError(f"{src.label}: damaged PyTorch zip archive "
                                   f"({type(e).__name__}: {e})") from None
    finally:
        fobj.close()


def _load_zip(src: Source, zf: zipfile.ZipFile, map_location, mmap: bool):
    pkl = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
    if not pkl:
        raise CorruptFileError(f"{src.label}: no data.pkl record: not a PyTorch file (legacy "
                               "non-zip torch files are not supported)")
    prefix = pkl[0][:-len("data.pkl")]
    if f"{prefix}byteorder" in zf.namelist():
        order = zf.read(f"{prefix}byteorder")
        if order != b"little":
            raise CorruptFileError(f"{src.label}: byteorder {order!r} is not supported")
    raw = _read_records(src, zf, prefix, mmap)
    mapper = DeviceMapper(map_location)
    loaded: dict = {}

    def persistent_load(pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], StorageType) and isinstance(pid[2], str)
                and isinstance(pid[3], str) and isinstance(pid[4], int)):
            raise pickle.UnpicklingError(f"{src.label}: unexpected persistent id "
                                         f"{str(pid)[:80]}")
        _, stype, key, location, numel = pid
        if key in loaded:
            return loaded[key]
        buf = raw.get(key)
        if buf is None:
            raise CorruptFileError(f"{src.label}: storage {key!r} has no record "
                                   f"{prefix}data/{key}")
        dt = stype.dtype.np
        if buf.nbytes != numel * dt.itemsize:
            raise CorruptFileError(f"{src.label}: storage {key!r} ({stype.name}) should hold "
                                   f"{numel} elements ({numel * dt.itemsize} bytes) but its "
                                   f"record has {buf.nbytes} bytes")
        arr, dev = mapper.place(buf.view(dt), location)
        loaded[key] = LoadedStorage(arr, dev, location)
        return loaded[key]

    data = zf.read(pkl[0])
    try:
        return RestrictedUnpickler(data, persistent_load, src.label).load()
    except (pickle.UnpicklingError, CorruptFileError, RuntimeError):
        raise
    except (EOFError, IndexError, KeyError, ValueError, TypeError, AttributeError,
            struct.error, RecursionError) as e:
        raise pickle.UnpicklingError(f"{src.label}: data.pkl is damaged ({type(e).__name__}: "
                                     f"{e})") from None


def _read_records(src: Source, zf: zipfile.ZipFile, prefix: str, mmap: bool) -> dict:
    """``key -> uint8 array`` for every ``<prefix>data/<key>`` record, read and crc-checked."""
    out, jobs = {}, []
    for info in zf.infolist():
        if not info.filename.startswith(f"{prefix}data/"):
            continue
        key = info.filename[len(prefix) + 5:]
        what = f"storage record {info.filename!r}"
        if info.compress_type != zipfile.ZIP_STORED:
            out[key] = np.frombuffer(bytearray(zf.read(info)), np.uint8)
            continue
        start = _data_offset(src, info) - src.base
        if info.file_size > src.size:
            raise CorruptFileError(f"{src.label}: {what} claims {info.file_size} bytes, more "
                                   f"than the file holds")
        if mmap:
            out[key] = src.mapped(np.uint8, info.file_size, start, what)
            continue
        arr = empty_for_read(info.file_size, np.uint8)
        out[key] = arr
        jobs.append(_pool.submit(_read_checked, src, arr, start, what, info.CRC))
    for j in jobs:
        j.result()
    return out


def _read_checked(src: Source, arr: np.ndarray, start: int, what: str, want: int) -> None:
    src.read_into(arr, start, what)
    got = crc32(arr)
    if got != want:
        raise CorruptFileError(f"{src.label}: {what}: crc32 mismatch (zip says {want:08x}, data "
                               f"has {got:08x}): the file is damaged")


def _data_offset(src: Source, info: zipfile.ZipInfo) -> int:
    head = src.read(info.header_offset - src.base, 30, f"local header of {info.filename!r}")
    if head[:4] != b"PK\x03\x04":
        raise CorruptFileError(f"{src.label}: bad local header for {info.filename!r}")
    n, m = struct.unpack("<HH", head[26:30])
    return info.header_offset + 30 + n + m
