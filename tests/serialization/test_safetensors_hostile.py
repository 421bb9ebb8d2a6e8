"""Crafted brickwork/safetensors files: every complaint about the contents is a CorruptFileError
naming the file (and the tensor), never RecursionError, OverflowError or a bare NumPy error.

The files here carry a correct header checksum (``signed``), so each crafted field reaches the
parser instead of being caught by the checksum.
"""
from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest

import brickwork
from brickwork.serialization import CorruptFileError
from brickwork.serialization._common import view_of
from brickwork.serialization._source import Source
from brickwork.serialization.safetensors_format import (_fill_header_crc, ALIGN,
                                                        load_structure)

LABEL = r"crafted\.bw'"  # how errors name the file written by _write (its path, quoted)
_HCRC = b'"brickwork.header_crc32": "'



def split(data: bytes) -> tuple[dict, bytes]:
    """A safetensors file's header (parsed) and its tensor bytes."""
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def signed(header: dict | None, raw_header: bytes | None = None) -> bytes:
    """The length prefix and ``header``, with brickwork's header checksum recomputed: what
    goes before a file's tensor bytes.

    ``raw_header`` (bytes) replaces the JSON text of the header, for JSON that ``json.dumps``
    will not write (deep nesting, bad syntax); it is signed if it has the checksum field.
    """
    text = raw_header if raw_header is not None else json.dumps(
        header, separators=(", ", ": ")).encode()
    text += b" " * ((-(8 + len(text))) % ALIGN)
    prefix = struct.pack("<Q", len(text))
    i = text.find(_HCRC) + len(_HCRC)
    if i >= len(_HCRC):
        text = _fill_header_crc(prefix, text[:i] + b"00000000" + text[i + 8:])
    return prefix + text


def sample(obj=None) -> tuple[dict, bytes]:
    """The header and data of a valid brickwork file holding ``obj``."""
    if obj is None:
        w = brickwork.arange(12.0).reshape(3, 4)
        obj = {"w": w, "wt": w.t(), "n": brickwork.arange(3), "meta": [1, (2, "x")]}
    buf = io.BytesIO()
    brickwork.save(obj, buf)
    return split(buf.getvalue())


def _write(tmp_path, data: bytes):
    path = tmp_path / "crafted.bw"
    path.write_bytes(data)
    return path


def load_both(tmp_path, data: bytes):
    """``brickwork.load`` and ``load_structure`` of ``data``; the first result."""
    path = _write(tmp_path, data)
    out = brickwork.load(path)
    src = Source(path)
    try:
        load_structure(src)
    finally:
        src.close()
    return out


def _meta_file(mutate) -> bytes:
    """A sample file whose ``__metadata__`` is changed by ``mutate(meta)``, re-signed."""
    header, data = sample()
    mutate(header["__metadata__"])
    return signed(header) + data


def _table_file(mutate) -> bytes:
    def change(meta):
        table = json.loads(meta["brickwork.tensors"])
        mutate(table)
        meta["brickwork.tensors"] = json.dumps(table)
    return _meta_file(change)


def _tree_file(tree) -> bytes:
    def change(meta):
        meta["brickwork.tree"] = tree if isinstance(tree, str) else json.dumps(tree)
    return _meta_file(change)


def test_signed_files_load():
    # The helper itself: an unchanged, re-signed file loads.
    header, data = sample()
    out = brickwork.load(io.BytesIO(signed(header) + data))
    assert out["meta"] == [1, (2, "x")] and np.shares_memory(out["w"].numpy(),
                                                               out["wt"].numpy())


@pytest.mark.timeout(30)
@pytest.mark.parametrize("where", ["header", "tree", "table"])
def test_deep_json_is_a_corrupt_file(tmp_path, where):
    deep = "[" * 100_000 + "]" * 100_000
    if where == "header":
        data = signed(None, raw_header=f'{{"a": {deep}}}'.encode())
    elif where == "tree":
        data = _tree_file(deep)
    else:
        data = _meta_file(lambda m: m.__setitem__("brickwork.tensors", deep))
    with pytest.raises(CorruptFileError, match=f"{LABEL}.*nested too deeply"):
        load_both(tmp_path, data)


@pytest.mark.timeout(30)
def test_deep_tree_within_json_limits_is_refused_by_the_reader(tmp_path):
    tree = {"T": 0}
    for _ in range(300):
        tree = {"l": [tree]}
    with pytest.raises(CorruptFileError, match=f"{LABEL}.*nested more than"):
        load_both(tmp_path, _tree_file(tree))


BAD_TREES = {
    "ref to nothing": {"r": 0},
    "negative ref": {"l": [{"r": -1}]},
    "bool ref": {"l": [{"r": True}]},
    "ref to an open tuple": {"t": [{"r": 0}]},
    "missing tensor": {"T": 99},
    "negative tensor": {"T": -1},
    "bool tensor": {"T": True},
    "list is a string": {"l": "abc"},
    "dict of singles": {"d": [[1]]},
    "list key": {"d": [[{"l": []}, 1]]},
    "tuple key holding a list": {"d": [[{"t": [{"l": []}]}, 1]]},
    "float not text": {"f": 1},
    "float text": {"f": "one"},
    "negative size": {"size": [-1]},
    "unknown dtype": {"dtype": "float128"},
    "unknown device": {"device": "tpu"},
    "bad attrs": {"od": [], "attrs": {"l": []}},
    "unknown tag": {"zz": 1},
    "empty": {},
    "a float": 1.5,
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", list(BAD_TREES))
def test_bad_tree_entries(tmp_path, name):
    with pytest.raises(CorruptFileError, match=LABEL):
        load_both(tmp_path, _tree_file(BAD_TREES[name]))


def _set(i, key, value):
    def change(table):
        if value is KeyError:
            del table[i][key]
        else:
            table[i][key] = value
    return change


BAD_RECORDS = {
    "offset huge": _set(0, "o", 2 ** 70),
    "offset negative": _set(0, "o", -1),
    "offset float": _set(0, "o", 1.5),
    "offset bool": _set(0, "o", True),
    "offset missing": _set(0, "o", KeyError),
    "shape huge": _set(0, "shape", [2 ** 70, 1]),
    "shape too big to address": (lambda t: t[0].update(shape=[2 ** 40, 2 ** 40],
                                                       stride=[0, 0])),
    "shape text": _set(0, "shape", "34"),
    "shape dict": _set(0, "shape", {"a": 1}),
    "shape 65 dims": (lambda t: t[0].update(shape=[1] * 65, stride=[1] * 65)),
    "stride huge": _set(0, "stride", [2 ** 70, 1]),
    "stride short": _set(0, "stride", [1]),
    "past the storage": _set(0, "shape", [4, 4]),
    "storage unknown": _set(0, "s", "nope"),
    "storage not text": _set(0, "s", 5),
    "dtype mismatch": _set(0, "dtype", "int64"),
    "dtype unknown": _set(0, "dtype", "float128"),
    "rg not bool": _set(0, "rg", "yes"),
    "p not bool": _set(0, "p", 1),
    "int requires grad": _set(2, "rg", True),
    "dev tpu": _set(0, "dev", "tpu:0"),
    "dev cuda:x": _set(0, "dev", "cuda:x"),
    "dev meta": _set(0, "dev", "meta"),
    "dev number": _set(0, "dev", 0),
    "record not object": (lambda t: t.__setitem__(0, [1, 2])),
    "table not list": None,
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("name", list(BAD_RECORDS))
def test_bad_tensor_records_name_file_and_tensor(tmp_path, name, mmap):
    if name == "table not list":
        data = _meta_file(lambda m: m.__setitem__("brickwork.tensors", '{"a": 1}'))
        match = LABEL
    else:
        data = _table_file(BAD_RECORDS[name])
        match = f"{LABEL}: tensor #[02]"
    with pytest.raises(CorruptFileError, match=match):
        brickwork.load(_write(tmp_path, data), mmap=mmap)


def test_any_stride_on_a_size_1_dimension_loads(tmp_path):
    # PyTorch allows any stride where the size is 1 (it never steps); so must the reader.
    data = _table_file(lambda t: t[0].update(shape=[1, 4], stride=[2 ** 70, 1]))
    out = brickwork.load(_write(tmp_path, data))
    np.testing.assert_array_equal(out["w"].numpy(), [[0, 1, 2, 3]])


@pytest.mark.skipif(brickwork.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_valid_cuda_location_without_cuda_says_to_map_it(tmp_path):
    data = _table_file(_set(0, "dev", "cuda:0"))
    with pytest.raises(RuntimeError, match="map_location") as info:
        brickwork.load(_write(tmp_path, data))
    assert not isinstance(info.value, CorruptFileError)
    out = brickwork.load(_write(tmp_path, data), map_location="cpu")
    assert out["w"].device.type == "cpu"


def test_unknown_locations_can_still_be_mapped(tmp_path):
    # As torch.load: a location this machine cannot use loads when map_location replaces it.
    data = _table_file(_set(0, "dev", "mps"))
    assert brickwork.load(_write(tmp_path, data), map_location="cpu")["w"].device.type == "cpu"
    out = brickwork.load(_write(tmp_path, data), map_location={"mps": "cpu"})
    assert out["w"].device.type == "cpu"


@pytest.mark.parametrize("change, match", [
    (lambda m: m.__setitem__("brickwork.version", "9"), "version '9'"),
    (lambda m: m.__setitem__("brickwork.version", 1), "version '1'"),
    (lambda m: m.__setitem__("brickwork.crc32", 5), "brickwork.crc32"),
    (lambda m: m.__setitem__("brickwork.tree", ["x"]), "tree"),
    (lambda m: m.pop("brickwork.tensors"), "brickwork.tensors"),
    (lambda m: m.__setitem__("brickwork.crc32", "1,2,3"), "3 checksums"),
])
def test_bad_metadata(tmp_path, change, match):
    with pytest.raises(CorruptFileError, match=f"{LABEL}.*{match}"):
        load_both(tmp_path, _meta_file(change))


@pytest.mark.parametrize("entry, match", [
    ({"dtype": ["F32"], "shape": [2], "data_offsets": [0, 8]}, "dtype"),
    ({"dtype": "F32", "shape": [2 ** 64], "data_offsets": [0, 2 ** 66]}, "run past the end"),
    ({"dtype": "F32", "shape": [0, 2 ** 62], "data_offsets": [0, 0]}, "more elements"),
    ({"dtype": "F32", "shape": [1] * 65, "data_offsets": [0, 4]}, "bad shape"),
    ({"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}, "bad shape"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [0, 8.0]}, "bad shape"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [0]}, "malformed"),
    ("F32", "malformed"),
])
def test_foreign_safetensors_entries(tmp_path, entry, match):
    data = signed({"t": entry}) + b"\0" * 8
    with pytest.raises(CorruptFileError, match=f"{LABEL}: tensor 't'.*{match}"):
        brickwork.load(_write(tmp_path, data))


@pytest.mark.timeout(30)
def test_a_huge_declared_tensor_is_refused_before_allocating(tmp_path):
    # 2**39 bytes declared in a 100-byte file: refused from the header, not by running out of
    # memory while reading.
    header = {"t": {"dtype": "F32", "shape": [2 ** 37], "data_offsets": [0, 2 ** 39]}}
    with pytest.raises(CorruptFileError, match=f"{LABEL}.*run past the end"):
        brickwork.load(_write(tmp_path, signed(header) + b"\0" * 16))


def test_each_storage_is_read_once(tmp_path, monkeypatch):
    w = brickwork.arange(12.0).reshape(3, 4)
    header, data = sample({"a": w, "b": w.t(), "c": w[1], "d": (w, w[:, ::2]),
                           "e": brickwork.ones(5)})
    reads = []
    real = Source.read_into

    def counting(self, arr, offset, what):
        reads.append(what)
        return real(self, arr, offset, what)

    monkeypatch.setattr(Source, "read_into", counting)
    out = brickwork.load(_write(tmp_path, signed(header) + data))
    assert sorted(reads) == ["tensor 'a'", "tensor 'e'"]
    assert np.shares_memory(out["a"].numpy(), out["d"][1].numpy())


# -- view_of, shared by both formats ----------------------------------------------------------
@pytest.mark.parametrize("offset, shape, stride", [
    (2 ** 80, (1,), (1,)),
    (0, (2 ** 80,), (1,)),
    (0, (2 ** 62, 2 ** 62), (0, 0)),
    (0, (2, 2), (2 ** 80, 1)),
    (0, (2,), (-1,)),
    (-1, (2,), (1,)),
    (0, (2, 2), (1,)),
    (1.5, (2,), (1,)),
    ("0", (2,), (1,)),
    (0, ("2",), (1,)),
    (0, (None,), (1,)),
    (0, 5, (1,)),
    (0, (2,), None),
    (0, (1,) * 65, (1,) * 65),
    (9, (0,), (1,)),
    (0, (0, 2 ** 62), (1, 1)),
])
def test_view_of_refuses_every_bad_view_by_name(offset, shape, stride):
    storage = np.arange(8, dtype=np.float32)
    with pytest.raises(CorruptFileError, match="^tensor X in 'f': "):
        view_of(storage, offset, shape, stride, "tensor X in 'f'")


def test_view_of_builds_views_based_on_the_storage():
    storage = np.arange(8, dtype=np.float32)
    for offset, shape, stride in ((1, (2, 3), (1, 2)), (0, (4, 5), (0, 0)), (2, (3,), (2,)),
                                  (0, (2, 4), (4, 1)), (3, (1, 1), (99, 2 ** 70))):
        v = view_of(storage, offset, shape, stride, "t")
        ref = np.lib.stride_tricks.as_strided(storage[offset:], shape,
                                              tuple(4 * s if n > 1 else 4
                                                    for n, s in zip(shape, stride)))
        np.testing.assert_array_equal(v, ref)
        assert v.base is storage
