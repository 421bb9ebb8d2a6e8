"""PyTorch's file format: a zip archive holding ``data.pkl`` and one record per storage.

Writing produces what ``torch.save`` produces (records ``archive/data.pkl``,
``archive/byteorder``, ``archive/data/<key>``, ``archive/version``..., storages 64-byte aligned,
stored uncompressed), so ``torch.load(weights_only=True)`` reads it. Reading accepts files from
``torch.save`` (and stored or deflated records from other zip writers): ``data.pkl`` goes through
the restricted unpickler of ``torch_pickle.py``, and each storage it refers to is read then, once,
after its size has been checked (``_zip_records.py``): straight into an array (in parallel with
the unpickling, checked against the zip's crc32), inflated, or mapped with ``mmap=True``.
"""
from __future__ import annotations

import pickle
import re
import struct
import zipfile

import numpy as np

from ..device import device as _device
from ._common import (CorruptFileError, DeviceMapper, StoragePlan, check_dtype_savable,
                      empty_for_read)
from . import _pool
from ._source import Source
from ._zip_records import ZipRecords
from .torch_pickle import (LoadedStorage, RestrictedUnpickler, StorageType, TorchPickler,
                           short_repr)

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
# Device locations brickwork can load to; anything else in a file is the file's problem.
_LOCATION = re.compile(r"cpu|cuda(:[0-9]+)?", re.ASCII)


class _Outside(Exception):
    """Carries an error that is about the machine or ``map_location``, not the file, out of
    the unpickler unchanged (a missing GPU keeps PyTorch's message)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def load(src: Source, map_location=None, mmap: bool = False):
    """Read a PyTorch zip file through the restricted unpickler.

    Only ``data.pkl`` is read up front; each storage record is read when ``data.pkl`` refers to
    it, once, after its declared size has been checked against the storage and the file.
    """
    zr = ZipRecords(src, "PyTorch zip archive")
    pkl = [n for n in zr.names() if n.endswith("data.pkl") and n.count("/") == 1]
    if not pkl:
        raise CorruptFileError(f"{src.label}: no data.pkl record: not a PyTorch file (legacy "
                               "non-zip torch files are not supported)")
    prefix = pkl[0][:-len("data.pkl")]
    if f"{prefix}byteorder" in zr:
        order = zr.read(f"{prefix}byteorder", limit=16)
        if order != b"little":
            raise CorruptFileError(f"{src.label}: byteorder {order[:16]!r} is not supported")
    storages = _Storages(zr, prefix, map_location, mmap)
    ok = False
    try:
        stream = zr.stream(pkl[0])
        obj = RestrictedUnpickler(stream, storages.persistent_load, src.label).load()
        stream.finish()
        ok = True
    except CorruptFileError:
        raise
    except _Outside as e:
        raise e.error from e.error.__cause__
    except pickle.UnpicklingError as e:
        if src.label in str(e):
            raise
        raise pickle.UnpicklingError(f"{src.label}: data.pkl is damaged ({e})") from None
    except MemoryError:
        raise
    except Exception as e:
        # Whatever else a crafted pickle provokes (IndexError from an empty stack, TypeError from
        # a rebuild function given the wrong things, RecursionError, OverflowError...).
        raise pickle.UnpicklingError(f"{src.label}: data.pkl is damaged ({type(e).__name__}: "
                                     f"{e})") from None
    finally:
        # Reads still running must end before the caller closes the file under them.
        storages.join(raise_errors=ok)
    return obj


class _Storages:
    """Loads the storages ``data.pkl`` refers to: each record once, lazily, checked first."""

    def __init__(self, zr: ZipRecords, prefix: str, map_location, mmap: bool) -> None:
        self.zr, self.prefix, self.mmap = zr, prefix, mmap
        self.label = zr.label
        self.map_location = map_location
        self.mapper = DeviceMapper(map_location, self.label)
        self.loaded: dict = {}
        self.jobs: list = []

    def persistent_load(self, pid) -> LoadedStorage:
        # Types first: == on a crafted tensor would compare element by element.
        if not (type(pid) is tuple and len(pid) == 5 and type(pid[0]) is str
                and pid[0] == "storage"
                and isinstance(pid[1], StorageType) and type(pid[2]) is str
                and type(pid[3]) is str and type(pid[4]) is int):
            raise pickle.UnpicklingError(f"{self.label}: unexpected persistent id "
                                         f"{short_repr(pid)}")
        _, stype, key, location, numel = pid
        got = self.loaded.get(key)
        if got is not None:
            return got
        name = f"{self.prefix}data/{key}"
        what = f"{self.label}: storage {key[:80]!r}"
        if name not in self.zr:
            raise CorruptFileError(f"{what} has no record {name[:120]!r}")
        rec = self.zr.locate(name)
        dt = stype.dtype.np
        if rec.size != numel * dt.itemsize:
            raise CorruptFileError(f"{what} ({stype.name}) should hold {numel} elements "
                                   f"({numel * dt.itemsize} bytes) but its record has "
                                   f"{rec.size} bytes")
        buf = self._read(rec, location)
        try:
            arr, dev = self.mapper.place(buf.view(dt), location, f"storage {key[:80]!r}")
        except CorruptFileError:
            raise
        except Exception as e:
            if not _LOCATION.fullmatch(location):
                raise CorruptFileError(f"{what} is tagged with the device location "
                                       f"{location[:80]!r}, which brickwork cannot load to "
                                       f"({type(e).__name__}: {e})") from None
            raise _Outside(e) from None
        self.loaded[key] = LoadedStorage(arr, dev, location, what)
        return self.loaded[key]

    def _read(self, rec, location: str) -> np.ndarray:
        if rec.method == zipfile.ZIP_DEFLATED:
            arr = empty_for_read(rec.size, np.uint8)
            self.zr.inflate_into(rec, arr)
            return arr
        if self.mmap:
            return self.zr.src.mapped(np.uint8, rec.size, rec.start, f"record {rec.name!r}")
        arr = empty_for_read(rec.size, np.uint8)
        if rec.inline is not None:  # small: already read with its header
            self.zr.read_stored_into(rec, arr)
            return arr
        job = _pool.submit(self.zr.read_stored_into, rec, arr)
        if self._stays_on_cpu(location):
            self.jobs.append(job)  # read in parallel with the rest of the unpickling
        else:
            job.result()  # map_location will copy it, or a callable will look at it: read now
        return arr

    def _stays_on_cpu(self, location: str) -> bool:
        # Whether the storage goes to the CPU untouched, without running map_location code.
        ml = self.map_location
        if ml is None:
            target = location
        elif isinstance(ml, dict):
            target = ml.get(location, location)
        elif isinstance(ml, (str, _device)):
            target = ml
        else:
            return False
        return str(target) == "cpu"

    def join(self, raise_errors: bool) -> None:
        """Wait for every read; raise the first failure if ``raise_errors``."""
        first = None
        for job in self.jobs:
            try:
                job.result()
            except Exception as e:
                first = first or e
        self.jobs = []
        if first is not None and raise_errors:
            raise first

