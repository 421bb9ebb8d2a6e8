"""brickwork's default file format: a valid safetensors file that carries the whole object.

Layout (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a JSON
header, then the raw tensor bytes. Any safetensors reader opens the file and sees one entry per
storage, named after the first tensor that uses it (``"0.weight"`` for a state_dict). brickwork
adds, in ``__metadata__``:

- ``brickwork.version``: the format version (``"1"``);
- ``brickwork.tree``: the object's structure as JSON (see ``_tree.py``);
- ``brickwork.tensors``: per tensor, the storage it views, (offset, shape, stride), dtype,
  requires_grad, whether it is a Parameter and its device: tied and view tensors share again;
- ``brickwork.crc32``: a crc32 per storage, and ``brickwork.header_crc32`` over the length and the
  header itself (with this field zeroed), so any damaged byte is detected.

The file is written directly (not through the ``safetensors`` package): storages go out from
their own buffers without a copy while the checksums are computed on other threads, and the
header, whose size is fixed in advance, is written last. Reading checks every length, offset and
checksum before any tensor is built.
"""
from __future__ import annotations

import json
import struct

import numpy as np

from . import _tree
from ._common import (CorruptFileError, DeviceMapper, StoragePlan, crc32, empty_for_read,
                      make_tensor, view_of)
from . import _pool
from ._source import Source

VERSION = "1"
ALIGN = 64  # the header is padded so tensor data starts 64-byte aligned (good for mmap)
MAX_HEADER = 100_000_000  # as the safetensors library: larger headers are refused

_CODES = {"float16": "F16", "float32": "F32", "float64": "F64", "int8": "I8", "int16": "I16",
          "int32": "I32", "int64": "I64", "uint8": "U8", "bool": "BOOL"}
_NP = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8, "I16": np.int16,
       "I32": np.int32, "I64": np.int64, "U8": np.uint8, "BOOL": np.bool_}
_CRC_KEY = b'"brickwork.crc32": "'
_HCRC_KEY = b'"brickwork.header_crc32": "'


# -- writing --------------------------------------------------------------------------------
def _storage_names(owners: list[str]) -> list[str]:
    names, seen = [], set()
    for owner in owners:
        name, n = owner, 1
        while name in seen or name == "__metadata__":
            n += 1
            name = f"{owner}#{n}"
        seen.add(name)
        names.append(name)
    return names


def _name_path(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _walk(obj, plan: StoragePlan, table: list, index: dict, path: str, pretty: str):
    """Encode ``obj``, planning each tensor's storage under a readable dotted name."""
    from ..tensor import Tensor

    def on_tensor(t: Tensor, where: str) -> int:
        if id(t) in index:
            return index[id(t)]
        from ._common import check_dtype_savable, parameter_class

        check_dtype_savable(t._data, where)
        name = _paths.get(id(t), "tensor")
        sid, off, shape, stride = plan.add(t, name)
        index[id(t)] = len(table)
        table.append({"s": sid, "o": off, "shape": list(shape), "stride": list(stride),
                      "dtype": t.dtype.name, "rg": bool(t._requires_grad),
                      "p": isinstance(t, parameter_class()), "dev": str(t._device)})
        return index[id(t)]

    _paths: dict[int, str] = {}
    _name_tensors(obj, path, _paths, set())
    return _tree.encode(obj, on_tensor, pretty)


def _name_tensors(obj, path: str, out: dict, seen: set, depth: int = 0) -> None:
    # The dotted names other safetensors readers will see ("0.weight", "model.fc.bias").
    from ..tensor import Tensor

    if depth > 200 or id(obj) in seen and not isinstance(obj, Tensor):
        return
    if isinstance(obj, Tensor):
        out.setdefault(id(obj), path or "tensor")
    elif isinstance(obj, dict):
        seen.add(id(obj))
        for k, v in obj.items():
            _name_tensors(v, _name_path(path, k), out, seen, depth + 1)
    elif isinstance(obj, (list, tuple)):
        seen.add(id(obj))
        for i, v in enumerate(obj):
            _name_tensors(v, _name_path(path, i), out, seen, depth + 1)


def save(obj, f) -> None:
    """Write ``obj`` to the binary file object ``f`` (seekable or not)."""
    plan = StoragePlan()
    table: list = []
    tree = _walk(obj, plan, table, {}, "", "obj")
    names = _storage_names(plan.owners)
    # Bigger items first keeps every storage aligned to its item size after the aligned header.
    order = sorted(range(len(plan.storages)), key=lambda i: -plan.storages[i].itemsize)
    for t in table:
        t["s"] = names[t["s"]]
    entries, offset = {}, 0
    for i in order:
        arr = plan.storages[i]
        shape = [int(arr.size)]
        # Show a whole contiguous tensor with its own shape to other safetensors readers.
        first = next((t for t in table if t["s"] == names[i]), None)
        if first and first["o"] == 0 and int(np.prod(first["shape"])) == arr.size \
                and first["stride"] == _c_strides(first["shape"]):
            shape = first["shape"]
        entries[names[i]] = {"dtype": _CODES[arr.dtype.name], "shape": shape,
                             "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    meta = {"format": "pt", "brickwork.version": VERSION,
            "brickwork.tree": json.dumps(tree, separators=(",", ":"), allow_nan=False),
            "brickwork.tensors": json.dumps(table, separators=(",", ":")),
            "brickwork.crc32": ",".join("00000000" for _ in order),
            "brickwork.header_crc32": "00000000"}
    header = json.dumps({"__metadata__": meta, **entries}, separators=(", ", ": ")).encode()
    pad = (-(8 + len(header))) % ALIGN
    header += b" " * pad
    prefix = struct.pack("<Q", len(header))
    arrays = [plan.storages[i] for i in order]
    seekable = _seekable(f)
    if seekable:
        # Data first (crc32 runs on other threads meanwhile), then the header with the sums.
        start = f.tell()
        f.seek(start + 8 + len(header))
        futures = [_pool.submit(crc32, a) for a in arrays]
        for a in arrays:
            _write_array(f, a)
        end = f.tell()
        sums = [fu.result() for fu in futures]
    else:
        sums = _pool.map_results(crc32, arrays)
    header = _fill_sums(prefix, header, sums)
    if seekable:
        f.seek(start)
        f.write(prefix + header)
        f.seek(end)
    else:
        f.write(prefix + header)
        for a in arrays:
            _write_array(f, a)


def _c_strides(shape) -> list:
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= n
    return out[::-1]


def _seekable(f) -> bool:
    try:
        return bool(f.seekable())
    except (AttributeError, OSError):
        return False


def _write_array(f, a: np.ndarray) -> None:
    if a.size:
        f.write(memoryview(a.view(np.uint8)))


def _fill_sums(prefix: bytes, header: bytes, sums: list) -> bytes:
    text = ",".join(f"{s:08x}" for s in sums).encode()
    i = header.index(_CRC_KEY) + len(_CRC_KEY)
    header = header[:i] + text + header[i + len(text):]
    return _fill_header_crc(prefix, header)


def _fill_header_crc(prefix: bytes, header: bytes) -> bytes:
    i = header.index(_HCRC_KEY) + len(_HCRC_KEY)
    value = crc32(prefix + header)
    return header[:i] + f"{value:08x}".encode() + header[i + 8:]


# -- reading --------------------------------------------------------------------------------
def read_header(src: Source) -> tuple[dict, int]:
    """The parsed, checked JSON header and the offset where tensor data begins."""
    raw = src.read(0, 8, "the header length")
    (n,) = struct.unpack("<Q", raw)
    if n < 2 or n > MAX_HEADER or 8 + n > src.size:
        raise CorruptFileError(f"{src.label}: bad safetensors header length {n} (file has "
                               f"{src.size} bytes; truncated or not a safetensors file)")
    header = src.read(8, n, "the header")
    if header[:1] != b"{":
        raise CorruptFileError(f"{src.label}: the safetensors header does not start with '{{'")
    i = header.find(_HCRC_KEY)
    if i >= 0:
        j = i + len(_HCRC_KEY)
        try:
            want = int(header[j:j + 8], 16)
        except ValueError:
            raise CorruptFileError(f"{src.label}: damaged header checksum field") from None
        got = crc32(raw + header[:j] + b"00000000" + header[j + 8:])
        if got != want:
            raise CorruptFileError(f"{src.label}: header checksum mismatch (stored {want:08x}, "
                                   f"computed {got:08x}): the file is damaged")
    try:
        parsed = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise CorruptFileError(f"{src.label}: the safetensors header is not valid JSON "
                               f"({e})") from None
    if not isinstance(parsed, dict):
        raise CorruptFileError(f"{src.label}: the safetensors header is not a JSON object")
    return parsed, 8 + n


def _entries(src: Source, header: dict, data_start: int) -> dict:
    """``name -> (numpy dtype, shape, begin, end)``, every field checked against the file."""
    data_len = src.size - data_start
    out, spans = {}, []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        what = f"{src.label}: tensor {name!r}"
        try:
            code, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                     for v in (*shape, begin, end))
        except (KeyError, TypeError, ValueError):
            raise CorruptFileError(f"{what}: malformed header entry {str(info)[:80]}") from None
        if not ok or not isinstance(shape, list):
            raise CorruptFileError(f"{what}: bad shape {shape} or data_offsets {[begin, end]}")
        if code not in _NP:
            raise CorruptFileError(f"{what}: dtype {code!r} is not supported by brickwork "
                                   f"(supported: {', '.join(_NP)})")
        dt = np.dtype(_NP[code])
        numel = int(np.prod(shape, dtype=object)) if shape else 1
        if end < begin or end - begin != numel * dt.itemsize:
            raise CorruptFileError(f"{what}: dtype {code} and shape {shape} need "
                                   f"{numel * dt.itemsize} bytes but data_offsets "
                                   f"{[begin, end]} hold {end - begin}")
        if end > data_len:
            raise CorruptFileError(f"{what}: data_offsets {[begin, end]} run past the end of the "
                                   f"data ({data_len} bytes; the file is truncated)")
        out[name] = (dt, tuple(shape), begin, end)
        spans.append((begin, end, name))
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise CorruptFileError(f"{src.label}: tensor {name!r} starts at byte {begin} of the "
                                   f"data, expected {pos} (overlap or gap)")
        pos = end
    if pos != data_len:
        raise CorruptFileError(f"{src.label}: {data_len - pos} unexpected bytes after the last "
                               "tensor")
    return out


def load(src: Source, map_location=None, mmap: bool = False):
    """Read a safetensors file: brickwork's tree if present, else a dict of tensors."""
    header, data_start = read_header(src)
    entries = _entries(src, header, data_start)
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise CorruptFileError(f"{src.label}: __metadata__ is not a JSON object")
    ours = meta.get("brickwork.version") is not None
    if ours and "brickwork.header_crc32" not in meta:
        raise CorruptFileError(f"{src.label}: the brickwork header checksum is missing: the "
                               "header is damaged")
    if ours and meta["brickwork.version"] != VERSION:
        raise RuntimeError(f"{src.label}: brickwork file format version "
                           f"{meta['brickwork.version']!r} is newer than this brickwork reads "
                           f"({VERSION}); upgrade brickwork")
    names = list(entries)
    storages, sums_of = _read_storages(src, entries, data_start, mmap, checksum=ours)
    if ours:
        sums = meta.get("brickwork.crc32", "")
        ordered = sorted(names, key=lambda k: entries[k][2])
        if not mmap:  # a mapped file is not read up front, so it is not checked (documented)
            _verify(src, ordered, sums_of, sums)
        return _rebuild(src, meta, storages, map_location)
    mapper = DeviceMapper(map_location)
    out = {}
    for name in names:
        arr, dev = mapper.place(storages[name], "cpu")
        out[name] = make_tensor(arr.reshape(entries[name][1]), dev, False, False)
    return out


def _read_storages(src: Source, entries: dict, data_start: int, mmap: bool,
                   checksum: bool = False):
    """The storages' arrays, and futures of their crc32s (computed while the next one reads)."""
    if mmap:
        return {name: src.mapped(dt, (end - begin) // dt.itemsize, data_start + begin,
                                 f"tensor {name!r}")
                for name, (dt, shape, begin, end) in entries.items()}, {}
    # Read one storage after another: parallel reads into fresh arrays page-fault on several
    # threads at once, which contend in the kernel and measured slower and far more variable
    # (50-180 ms against a steady 45 ms for 105 MB).
    arrays, sums = {}, {}
    for name, (dt, shape, begin, end) in entries.items():
        arr = empty_for_read((end - begin) // dt.itemsize, dt)
        src.read_into(arr, data_start + begin, f"tensor {name!r}")
        arrays[name] = arr
        if checksum:
            sums[name] = _pool.submit(crc32, arr)
    return arrays, sums


def _verify(src: Source, ordered: list, sums_of: dict, sums: str) -> None:
    parts = sums.split(",") if sums else []
    if len(parts) != len(ordered):
        raise CorruptFileError(f"{src.label}: {len(parts)} checksums for {len(ordered)} "
                               "tensors")
    got = [sums_of[n].result() for n in ordered]
    for name, want, have in zip(ordered, parts, got):
        if want != f"{have:08x}":
            raise CorruptFileError(f"{src.label}: checksum mismatch in tensor {name!r} (stored "
                                   f"{want}, computed {have:08x}): the file is damaged")


def _rebuild(src: Source, meta: dict, storages: dict, map_location):
    try:
        table = json.loads(meta["brickwork.tensors"])
        tree = json.loads(meta["brickwork.tree"])
    except (KeyError, ValueError, TypeError) as e:
        raise CorruptFileError(f"{src.label}: damaged brickwork metadata ({e})") from None
    mapper = DeviceMapper(map_location)
    placed: dict = {}
    tensors = []
    from .. import dtypes as _dt

    for i, t in enumerate(table):
        what = f"{src.label}: tensor #{i}"
        try:
            name, dev = t["s"], t["dev"]
            what = f"{src.label}: tensor #{i} (storage {name!r})"
            storage = storages[name]
            if storage.dtype != _dt._BY_NAME[t["dtype"]].np:
                raise CorruptFileError(f"{what}: dtype {t['dtype']} does not match its storage "
                                       f"({storage.dtype})")
            if (name, dev) not in placed:
                placed[name, dev] = mapper.place(storage, dev)
            arr, device = placed[name, dev]
            view = view_of(arr, int(t["o"]), t["shape"], t["stride"], what)
            tensors.append(make_tensor(view, device, bool(t["rg"]), bool(t["p"])))
        except (KeyError, TypeError, ValueError) as e:
            raise CorruptFileError(f"{what}: bad tensor record ({type(e).__name__}: {e})") \
                from None
    return _tree.decode(tree, tensors, src.label)


class _NoTensors:
    def __getitem__(self, i):
        return None


def load_structure(src: Source):
    """The saved object with every tensor replaced by None, read from the header alone."""
    header, _ = read_header(src)
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or "brickwork.tree" not in meta:
        raise CorruptFileError(f"{src.label}: not a brickwork file (no object tree)")
    try:
        tree = json.loads(meta["brickwork.tree"])
    except (TypeError, ValueError) as e:
        raise CorruptFileError(f"{src.label}: damaged object tree ({e})") from None
    return _tree.decode(tree, _NoTensors(), src.label)
