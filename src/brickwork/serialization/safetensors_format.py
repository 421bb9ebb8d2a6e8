"""brickwork's default file format: a valid safetensors file that carries the whole object.

Layout (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a JSON
header, then the raw tensor bytes. Any safetensors reader opens the file and sees one entry per
storage, named after the first tensor that uses it (``"0.weight"`` for a state_dict). brickwork
adds, in ``__metadata__``:

- ``brickwork.version``: the format version: ``"1"``, or ``"2"`` when the tree refers back to
  a container met before (``{"r": n}``, which readers of version 1 do not know);
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
import math
import struct
import sys

import numpy as np

from . import _tree
from .. import dtypes as _dt
from ._common import (MAX_DIMS, CorruptFileError, DeviceMapper, StoragePlan, crc32,
                      empty_for_read, make_tensor, view_of)
from . import _pool
from ._source import Source

VERSION = "1"
VERSION_REFS = "2"  # the tree holds back-references to shared containers
_VERSIONS = (VERSION, VERSION_REFS)
ALIGN = 64  # the header is padded so tensor data starts 64-byte aligned (good for mmap)
MAX_HEADER = 100_000_000  # as the safetensors library: larger headers are refused

_CODES = {"float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64",
          "complex64": "C64", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
          "uint8": "U8", "uint16": "U16", "uint32": "U32", "uint64": "U64", "bool": "BOOL",
          # safetensors has no complex128 code (safetensors.torch refuses one): its storage is
          # written as float64 (real, imaginary) pairs, and brickwork's tensor table, which
          # records each tensor's dtype, views it back as complex128 when loading.
          "complex128": "F64"}
_NP = {"F16": np.float16, "BF16": "bfloat16", "F32": np.float32, "F64": np.float64,
       "C64": np.complex64, "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
       "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64, "BOOL": np.bool_}
_C128 = np.dtype(np.complex128)
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
    """Encode ``obj``, planning each tensor's storage under a readable dotted name.

    Returns the tree's JSON form and whether it uses back-references.
    """
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
    _name_tensors(obj, path, _paths)
    return _tree.encode(obj, on_tensor, pretty)


def _name_tensors(obj, path: str, out: dict) -> None:
    """Fill ``out`` with ``id(tensor) -> dotted name`` ("0.weight", "model.fc.bias"): the
    names other safetensors readers see. Iterative, and each container is entered once, so
    shared and deeply nested containers cost their number, not their number of paths."""
    from ..tensor import Tensor

    seen: set[int] = set()
    stack = [(obj, path, 0)]
    while stack:
        obj, path, depth = stack.pop()
        if isinstance(obj, Tensor):
            out.setdefault(id(obj), path or "tensor")
            continue
        if depth > _tree.MAX_DEPTH or id(obj) in seen:
            continue  # encode reports the depth, naming the path
        if isinstance(obj, dict):
            items = obj.items()
        elif isinstance(obj, (list, tuple)):
            items = enumerate(obj)
        else:
            continue
        seen.add(id(obj))
        children = [(v, _name_path(path, k), depth + 1) for k, v in items
                    if isinstance(v, (Tensor, dict, list, tuple))]
        # Reversed, so the first tensor met in depth-first order names a shared storage.
        stack.extend(reversed(children))


def save(obj, f) -> None:
    """Write ``obj`` to the binary file object ``f`` (seekable or not)."""
    plan = StoragePlan()
    table: list = []
    tree, uses_refs = _walk(obj, plan, table, {}, "", "obj")
    names = _storage_names(plan.owners)
    # Bigger items first keeps every storage aligned to its item size after the aligned header.
    order = sorted(range(len(plan.storages)), key=lambda i: -plan.storages[i].itemsize)
    first_of: dict = {}  # storage index -> the first tensor record over it
    for t in table:
        first_of.setdefault(t["s"], t)
        t["s"] = names[t["s"]]
    entries, offset = {}, 0
    for i in order:
        arr = plan.storages[i]
        shape = [int(arr.size)]
        # Show a whole contiguous tensor with its own shape to other safetensors readers.
        first = first_of.get(i)
        if first and first["o"] == 0 and math.prod(first["shape"]) == arr.size \
                and first["stride"] == _c_strides(first["shape"]):
            shape = first["shape"]
        if arr.dtype == _C128:  # as float64 pairs: view_as_real's shape
            shape = shape + [2]
        entries[names[i]] = {"dtype": _CODES[arr.dtype.name], "shape": shape,
                             "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    try:
        tree_text = json.dumps(tree, separators=(",", ":"), allow_nan=False)
    except RecursionError:  # only when the caller's own stack is already deep
        raise ValueError("brickwork.save: obj is nested too deeply to save from this point of "
                         "the program (Python's recursion limit)") from None
    meta = {"format": "pt", "brickwork.version": VERSION_REFS if uses_refs else VERSION,
            "brickwork.tree": tree_text,
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
    parsed = _parse_json(src, header, "the safetensors header")
    if not isinstance(parsed, dict):
        raise CorruptFileError(f"{src.label}: the safetensors header is not a JSON object")
    return parsed, 8 + n


def _parse_json(src: Source, text, what: str):
    """``json.loads(text)``, any failure a CorruptFileError naming the file and ``what``."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text)
    except RecursionError:
        raise CorruptFileError(f"{src.label}: {what} is nested too deeply") from None
    except (UnicodeDecodeError, ValueError, TypeError) as e:
        raise CorruptFileError(f"{src.label}: {what} is not valid JSON ({e})") from None


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
        except (KeyError, TypeError, ValueError):
            raise CorruptFileError(f"{what}: malformed header entry {str(info)[:80]}") from None
        if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(
                _is_count(v) for v in (*shape, begin, end)):
            raise CorruptFileError(f"{what}: bad shape {str(shape)[:80]} or data_offsets "
                                   f"{str([begin, end])[:80]}")
        if not isinstance(code, str) or code not in _NP:
            raise CorruptFileError(f"{what}: dtype {str(code)[:20]!r} is not supported by "
                                   f"brickwork (supported: {', '.join(_NP)})")
        dt = _dt.bfloat16.np if code == "BF16" else np.dtype(_NP[code])
        numel = math.prod(shape)
        if end < begin or end - begin != numel * dt.itemsize:
            raise CorruptFileError(f"{what}: dtype {code} and shape {shape} need "
                                   f"{numel * dt.itemsize} bytes but data_offsets "
                                   f"{[begin, end]} hold {end - begin}")
        if end > data_len:
            raise CorruptFileError(f"{what}: data_offsets {[begin, end]} run past the end of the "
                                   f"data ({data_len} bytes; the file is truncated)")
        if math.prod(max(n, 1) for n in shape) * dt.itemsize > sys.maxsize:
            raise CorruptFileError(f"{what}: shape {shape} has more elements than this machine "
                                   "can address")
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


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _metadata(src: Source, header: dict) -> dict:
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict):
        raise CorruptFileError(f"{src.label}: __metadata__ is not a JSON object")
    return meta


def _brickwork_fields(src: Source, meta: dict) -> tuple:
    """The parsed tensor table, tree and checksum list of a brickwork file, checked for type."""
    version = meta["brickwork.version"]
    if version not in _VERSIONS:
        raise CorruptFileError(f"{src.label}: brickwork file format version "
                               f"{str(version)[:20]!r} is not one this brickwork reads "
                               f"({', '.join(_VERSIONS)}); a newer brickwork may read it")
    if "brickwork.header_crc32" not in meta:
        raise CorruptFileError(f"{src.label}: the brickwork header checksum is missing: the "
                               "header is damaged")
    fields = []
    for key in ("brickwork.tensors", "brickwork.tree", "brickwork.crc32"):
        if not isinstance(meta.get(key), str):
            raise CorruptFileError(f"{src.label}: the brickwork metadata {key!r} is missing or "
                                   "not a string: the header is damaged")
        fields.append(meta[key])
    table = _parse_json(src, fields[0], "the tensor table (brickwork.tensors)")
    if not isinstance(table, list):
        raise CorruptFileError(f"{src.label}: the tensor table is not a list")
    tree = _parse_json(src, fields[1], "the object tree (brickwork.tree)")
    return table, tree, fields[2]


def load(src: Source, map_location=None, mmap: bool = False):
    """Read a safetensors file: brickwork's tree if present, else a dict of tensors."""
    header, data_start = read_header(src)
    entries = _entries(src, header, data_start)
    meta = _metadata(src, header)
    ours = meta.get("brickwork.version") is not None
    if ours:  # everything in the header is checked before any tensor data is read
        table, tree, sums = _brickwork_fields(src, meta)
        _check_table(src, table, entries)
    storages, sums_of = _read_storages(src, entries, data_start, mmap, checksum=ours)
    if ours:
        ordered = sorted(entries, key=lambda k: entries[k][2])
        if not mmap:  # a mapped file is not read up front, so it is not checked (documented)
            _verify(src, ordered, sums_of, sums)
        return _rebuild(src, table, tree, storages, map_location)
    mapper = DeviceMapper(map_location, src.label)
    out = {}
    for name, (dt, shape, begin, end) in entries.items():
        arr, dev = mapper.place(storages[name], "cpu", f"tensor {name!r}")
        out[name] = make_tensor(arr.reshape(shape), dev, False, False)
    return out


def _read_storages(src: Source, entries: dict, data_start: int, mmap: bool,
                   checksum: bool = False):
    """The storages' arrays, and futures of their crc32s (computed while the next one reads).

    ``_entries`` has checked that the storages tile the file's data exactly, so what is
    allocated here is at most the file's size, and each storage is read once.
    """
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
                                   f"{want[:20]}, computed {have:08x}): the file is damaged")


_FIELDS = {"s": str, "dtype": str, "rg": bool, "p": bool, "dev": str}


def _check_table(src: Source, table: list, entries: dict) -> None:
    """Every tensor record's fields, types, storage and dtype (views are checked by view_of)."""
    for i, t in enumerate(table):
        what = f"{src.label}: tensor #{i}"
        if not isinstance(t, dict):
            raise CorruptFileError(f"{what}: the record is {str(t)[:40]!r}, expected an object")
        for key, kind in _FIELDS.items():
            if not isinstance(t.get(key), kind):
                raise CorruptFileError(f"{what}: field {key!r} is {str(t.get(key))[:40]!r}, "
                                       f"expected a {kind.__name__}")
        what = f"{what} (storage {t['s']!r})"
        if t["s"] not in entries:
            raise CorruptFileError(f"{what}: the file has no such storage")
        dtype = _dt._BY_NAME.get(t["dtype"])
        stored = entries[t["s"]][0]
        if dtype is None or (dtype.np != stored
                             and not (dtype is _dt.complex128 and stored == np.float64)):
            raise CorruptFileError(f"{what}: dtype {t['dtype'][:20]!r} does not match its "
                                   f"storage ({stored})")
        if dtype is _dt.complex128 and entries[t["s"]][1][-1:] != (2,):
            raise CorruptFileError(f"{what}: a complex128 tensor's float64 storage must end "
                                   "in a dimension of 2 (real, imaginary)")
        if t["rg"] and not (dtype.is_floating_point or dtype.is_complex):
            raise CorruptFileError(f"{what}: a {dtype.name} tensor cannot require grad")


def _rebuild(src: Source, table: list, tree, storages: dict, map_location):
    mapper = DeviceMapper(map_location, src.label)
    placed: dict = {}
    tensors = []
    for i, t in enumerate(table):
        name, dev = t["s"], t["dev"]
        what = f"tensor #{i} (storage {name!r})"
        pairs = t["dtype"] == "complex128"  # over float64 pairs (see _CODES)
        if (name, dev, pairs) not in placed:
            arr = storages[name]
            placed[name, dev, pairs] = mapper.place(arr.view(_C128) if pairs else arr, dev,
                                                    what)
        arr, device = placed[name, dev, pairs]
        view = view_of(arr, t.get("o"), t.get("shape"), t.get("stride"), f"{src.label}: {what}")
        tensors.append(make_tensor(view, device, t["rg"], t["p"]))
    return _tree.decode(tree, tensors, src.label)


class _NoTensors:
    def __getitem__(self, i):
        return None


def load_structure(src: Source):
    """The saved object with every tensor replaced by None, read from the header alone."""
    header, _ = read_header(src)
    meta = _metadata(src, header)
    if "brickwork.tree" not in meta:
        raise CorruptFileError(f"{src.label}: not a brickwork file (no object tree)")
    if not isinstance(meta["brickwork.tree"], str):
        raise CorruptFileError(f"{src.label}: the object tree is not a string: the header is "
                               "damaged")
    tree = _parse_json(src, meta["brickwork.tree"], "the object tree (brickwork.tree)")
    return _tree.decode(tree, _NoTensors(), src.label)
