"""Fuzzing PyTorch zip files: whatever the damage, ``load`` returns or raises a clean error.

Clean means ``CorruptFileError`` or ``pickle.UnpicklingError`` whose message names the file,
raised within the test's timeout, with traced memory bounded by what the file can declare
(deflate's 1032:1 ratio times its length) rather than by what its sizes claim.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brickwork
from brickwork.serialization import CorruptFileError
from helpers import rand_array

from .test_torch_hostile import Entry, entries, raw_zip, records

_w = brickwork.tensor(rand_array((6, 5)))
SAMPLE = collections.OrderedDict(
    w=_w, row=_w[2], b=brickwork.tensor(rand_array((7,), "int64")),
    meta=[1, "two", 3.0, (None, True)], nested={"s": [1, 2], "k": ("a", 4)})
RECS = records(SAMPLE)


def _zip64(recs: dict[str, bytes]) -> bytes:
    """``recs`` with ZIP64 extra fields on every record and a ZIP64 end of directory."""
    buf = io.BytesIO()
    limit = zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP_FILECOUNT_LIMIT = 0  # makes zipfile write the ZIP64 end records
    try:
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in recs.items():
                with zf.open(zipfile.ZipInfo(name), "w", force_zip64=True) as w:
                    w.write(data)
    finally:
        zipfile.ZIP_FILECOUNT_LIMIT = limit
    return buf.getvalue()


FILES = {"stored": raw_zip(entries(RECS)),
         "deflated": raw_zip(entries(RECS, {n: 8 for n in RECS})),
         "zip64": _zip64(RECS)}
FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def check_clean(path, data: bytes) -> None:
    """Load ``data`` from a path, mapped, and from a file object: each must load, or raise a
    clean error naming the file, in bounded memory."""
    path.write_bytes(data)
    for how in ("path", "mmap", "file object"):
        tracemalloc.start()
        try:
            if how == "file object":
                with open(path, "rb") as f:
                    brickwork.load(io.BufferedReader(io.BytesIO(f.read())))
            else:
                brickwork.load(path, mmap=how == "mmap")
        except (CorruptFileError, pickle.UnpicklingError) as e:
            label = "<BufferedReader>" if how == "file object" else str(path)
            assert label in str(e), f"error does not name the file: {e!r}"
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < 1032 * len(data) + (4 << 20), \
            f"{peak} bytes traced for a {len(data)}-byte file ({how})"


# -- bytes -----------------------------------------------------------------------------------
@pytest.mark.timeout(120)
@FUZZ
@given(kind=st.sampled_from(sorted(FILES)),
       edits=st.lists(st.tuples(st.sampled_from(["set", "xor", "insert", "delete"]),
                                st.integers(0, 10 ** 9), st.binary(min_size=1, max_size=8)),
                      min_size=1, max_size=5),
       cut=st.none() | st.integers(0, 10 ** 9))
def test_byte_damage(tmp_path, kind, edits, cut):
    data = bytearray(FILES[kind])
    for op, pos, blob in edits:
        pos %= len(data) + 1
        if op == "set":
            data[pos:pos + len(blob)] = blob
        elif op == "xor" and pos < len(data):
            data[pos] ^= blob[0] or 1
        elif op == "insert":
            data[pos:pos] = blob
        else:
            del data[pos:pos + len(blob)]
    if cut is not None:
        del data[cut % (len(data) + 1):]
    check_clean(tmp_path / f"bytes_{kind}.pt", bytes(data))


# -- zip structure ---------------------------------------------------------------------------
# Central-directory fields: (offset in the row, struct format).
_CD_FIELDS = {"flags": (8, "<H"), "method": (10, "<H"), "crc": (16, "<I"),
              "compressed": (20, "<I"), "size": (24, "<I"), "name_len": (28, "<H"),
              "extra_len": (30, "<H"), "header": (42, "<I")}
_EOCD_FIELDS = {"count": (10, "<H"), "cd_size": (12, "<I"), "cd_offset": (16, "<I")}
_VALUES = st.sampled_from([0, 1, 2, 7, 8, 12, 14, 99, 0x7FFF, 0xFFFF, 2 ** 31, 0xFFFFFFFF]) \
    | st.integers(0, 4096) | st.integers(0, 0xFFFFFFFF)


def _set_field(data: bytearray, at: int, fmt: str, value: int) -> None:
    value %= 1 << (8 * struct.calcsize(fmt))
    data[at:at + struct.calcsize(fmt)] = struct.pack(fmt, value)


@pytest.mark.timeout(120)
@FUZZ
@given(kind=st.sampled_from(sorted(FILES)),
       cd_edits=st.lists(st.tuples(st.integers(0, 100), st.sampled_from(sorted(_CD_FIELDS)),
                                   _VALUES), max_size=3),
       eocd_edits=st.lists(st.tuples(st.sampled_from(sorted(_EOCD_FIELDS)), _VALUES),
                           max_size=2))
def test_crafted_directory_sizes_and_offsets(tmp_path, kind, cd_edits, eocd_edits):
    data = bytearray(FILES[kind])
    rows = [i for i in range(len(data)) if data[i:i + 4] == b"PK\x01\x02"]
    for row, field, value in cd_edits:
        at, fmt = _CD_FIELDS[field]
        _set_field(data, rows[row % len(rows)] + at, fmt, value)
    eocd = data.rfind(b"PK\x05\x06")
    for field, value in eocd_edits:
        at, fmt = _EOCD_FIELDS[field]
        _set_field(data, eocd + at, fmt, value)
    check_clean(tmp_path / f"cd_{kind}.pt", bytes(data))


_NAMES = st.sampled_from(["archive/data.pkl", "archive/byteorder", "archive/data/0",
                          "archive/data/1", "archive/data/2", "archive/version", "other/data.pkl",
                          "archive/data/../0", "archive/data/"]) | st.text(max_size=12)


@pytest.mark.timeout(120)
@FUZZ
@given(extra=st.lists(st.tuples(_NAMES, st.binary(max_size=64),
                                st.sampled_from([0, 8, 12, 14, 99]),
                                st.none() | st.integers(0, 2 ** 32 - 1), st.integers(0, 3)),
                      max_size=4),
       drop=st.sets(st.sampled_from(sorted(RECS)), max_size=2),
       aliases=st.lists(st.tuples(_NAMES, st.integers(0, 20)), max_size=3))
def test_random_zip_entries(tmp_path, extra, drop, aliases):
    items = [e for e in entries(RECS) if e.name not in drop]
    for name, payload, method, size, flags in extra:
        items.append(Entry(name, payload, method, size, flags=flags))
    if not items:
        return
    data = raw_zip(items, [(name, i % len(items)) for name, i in aliases])
    check_clean(tmp_path / "entries.pt", data)


# -- pickle opcodes --------------------------------------------------------------------------
def _str(s: str) -> bytes:
    return b"X" + struct.pack("<I", len(s.encode())) + s.encode()


_OPS = st.one_of(
    st.sampled_from([b"N", b"\x88", b"\x89", b")", b"]", b"}", b"\x8f", b"(", b"t", b"\x85",
                     b"\x86", b"\x87", b"l", b"d", b"a", b"e", b"s", b"u", b"\x90", b"\x91",
                     b"R", b"b", b"Q", b"0", b"1", b"2", b"\x94", b".", b"\x81", b"o", b"\x93",
                     b"\x96\xff\xff\xff\xff\xff\xff\xff\x7f", b"\x95\x10\x00\x00\x00\x00\x00\x00"
                     b"\x00"]),
    st.integers(0, 255).map(lambda n: b"K" + bytes([n])),
    st.integers(-2 ** 31, 2 ** 31 - 1).map(lambda n: b"J" + struct.pack("<i", n)),
    st.integers(0, 255).map(lambda n: b"h" + bytes([n])),
    st.integers(0, 255).map(lambda n: b"q" + bytes([n])),
    st.integers(0, 2 ** 32 - 1).map(lambda n: b"j" + struct.pack("<I", n)),
    st.binary(max_size=12).map(lambda b: b"\x8a" + bytes([len(b)]) + b),
    st.binary(max_size=8).map(lambda b: b"C" + bytes([len(b)]) + b),
    st.integers(0, 2 ** 32 - 1).map(lambda n: b"X" + struct.pack("<I", n)),  # length lies
    st.sampled_from(["storage", "0", "1", "cpu", "cuda:0", "tpu", "w", ""]).map(_str),
    st.sampled_from([b"ctorch._utils\n_rebuild_tensor_v2\n", b"ctorch\nFloatStorage\n",
                     b"ctorch\nLongStorage\n", b"ccollections\nOrderedDict\n",
                     b"cbuiltins\nset\n", b"cbuiltins\nfrozenset\n", b"ctorch\nSize\n",
                     b"ctorch\ndevice\n", b"ctorch._utils\n_rebuild_parameter\n",
                     b"c_codecs\nencode\n", b"ctorch\nfloat32\n", b"cos\nsystem\n"]),
)


@pytest.mark.timeout(120)
@FUZZ
@given(ops=st.lists(_OPS, max_size=40), splice=st.integers(0, 10 ** 9),
       into_real=st.booleans())
def test_random_pickle_opcodes(tmp_path, ops, splice, into_real):
    body = b"".join(ops)
    if into_real:  # the real data.pkl with random opcodes spliced in
        real = RECS["archive/data.pkl"]
        at = 2 + splice % (len(real) - 2)
        pkl = real[:at] + body + real[at:]
    else:
        pkl = b"\x80\x02" + body + b"."
    check_clean(tmp_path / "pickle.pt", raw_zip(entries({**RECS, "archive/data.pkl": pkl})))


@pytest.mark.timeout(60)
def test_undamaged_sample_loads_intact(tmp_path):
    # The fuzzed files start from these; both must load to the sample (else fuzzing proves
    # nothing about the happy path).
    for kind, data in FILES.items():
        path = tmp_path / f"{kind}.pt"
        path.write_bytes(data)
        out = brickwork.load(path)
        np.testing.assert_array_equal(out["w"].numpy(), SAMPLE["w"].numpy())
        np.testing.assert_array_equal(out["row"].numpy(), SAMPLE["row"].numpy())
        assert out["meta"] == SAMPLE["meta"] and out["nested"] == SAMPLE["nested"]
