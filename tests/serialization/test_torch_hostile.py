"""Crafted PyTorch zip files: bounded memory and time, errors naming the file, no hangs.

The files are written byte by byte (``raw_zip``), so each record can declare any method, size,
crc or offset; ``test_fuzz_torch.py`` mutates them at random.
"""
from __future__ import annotations

import io
import pickle
import struct
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import brickwork
from brickwork.serialization import CorruptFileError
from helpers import torch

MIB = 1 << 20


# -- building files --------------------------------------------------------------------------
class Entry:
    """One record as written: ``payload`` goes in the file as is (already compressed, if so)."""

    def __init__(self, name: str, payload: bytes, method: int = 0, size: int | None = None,
                 crc: int | None = None, flags: int = 0) -> None:
        self.name, self.payload, self.method, self.flags = name, payload, method, flags
        self.size = len(payload) if size is None else size
        self.crc = zlib.crc32(payload) if crc is None else crc


def records(obj) -> dict[str, bytes]:
    """``name -> bytes`` of every record brickwork writes for ``obj`` in PyTorch format."""
    buf = io.BytesIO()
    brickwork.save(obj, buf, format="torch")
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def compress(data: bytes, method: int) -> bytes:
    """``data`` as zip method 8 (deflate), 12 (bzip2) or 14 (LZMA) writes it; else as is."""
    if method == 8:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()
    if method == 12:
        import bz2

        return bz2.compress(data)
    if method == 14:
        import lzma

        return lzma.compress(data)
    return data


def entries(recs: dict[str, bytes], methods: dict | None = None) -> list[Entry]:
    """Entries for ``recs``, stored, or compressed with ``methods[name]``."""
    out = []
    for name, data in recs.items():
        method = (methods or {}).get(name, 0)
        out.append(Entry(name, compress(data, method), method, len(data), zlib.crc32(data)))
    return out


def raw_zip(items: list[Entry], aliases=()) -> bytes:
    """A zip of ``items``, plus central-directory entries ``(name, i)`` pointing at item i."""
    out, central, offsets = bytearray(), bytearray(), []
    for e in items:
        name = e.name.encode()
        offsets.append(len(out))
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, e.flags, e.method, 0, 0x21,
                           e.crc, len(e.payload), e.size, len(name), 0) + name + e.payload
    rows = [(e, e.name, off) for e, off in zip(items, offsets)]
    rows += [(items[i], name, offsets[i]) for name, i in aliases]
    for e, name, off in rows:
        name = name.encode()
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, e.flags, e.method,
                               0, 0x21, e.crc, len(e.payload), e.size, len(name), 0, 0, 0, 0, 0,
                               off) + name
    start = len(out)
    out += central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(rows), len(rows),
                                 len(central), start, 0)
    return bytes(out)


def zeros_deflated(prefix: bytes, zeros: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``prefix`` then ``zeros`` (whole MiBs) zero bytes, and its crc32.

    Built in milliseconds however large: one fully flushed 1 MiB block, repeated.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(zeros // MIB):
        crc = zlib.crc32(bytes(MIB), crc)
    return head + block * (zeros // MIB) + c.flush(), crc


def with_pickle(recs: dict[str, bytes], old: bytes, new: bytes) -> dict[str, bytes]:
    pkl = recs["archive/data.pkl"]
    assert old in pkl
    return {**recs, "archive/data.pkl": pkl.replace(old, new)}


def pickle_str(s: str) -> bytes:
    return b"X" + struct.pack("<I", len(s.encode())) + s.encode()


def load_measured(path, data: bytes, **kw):
    """``brickwork.load`` of ``data`` written to ``path``: (result or exception, peak bytes)."""
    path.write_bytes(data)
    tracemalloc.start()
    try:
        try:
            out = brickwork.load(path, **kw)
        except Exception as e:  # returned, so the test can check its type and message
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def torch_load(path, **kw):
    """``torch.load(weights_only=True)``'s result or exception (None without PyTorch)."""
    if torch is None:
        return None
    try:
        return torch.load(path, weights_only=True, **kw)
    except Exception as e:
        return e


W = np.arange(6, dtype=np.float32)
RECS = records({"w": brickwork.tensor(W)})


# -- memory bombs ----------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_unreferenced_bzip2_record_is_never_read(tmp_path):
    # Declares a gigabyte of bzip2 data that is not even valid: loading must not look at it.
    bomb = Entry("archive/data/99", b"not bzip2 " * 20, 12, size=1 << 30)
    path = tmp_path / "bz.pt"
    out, peak = load_measured(path, raw_zip(entries(RECS) + [bomb]))
    np.testing.assert_array_equal(out["w"].numpy(), W)
    assert peak < 4 * MIB
    ref = torch_load(path)
    if ref is not None:  # PyTorch ignores it too
        np.testing.assert_array_equal(ref["w"].numpy(), W)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("method, name", [(12, "bzip2"), (14, "LZMA"), (99, "method 99")])
def test_referenced_records_compressed_other_than_deflate_are_refused(tmp_path, method, name):
    ents = entries(RECS, {"archive/data/0": method})  # method 99: raw bytes, unknown method
    path = tmp_path / "other.pt"
    out, _ = load_measured(path, raw_zip(ents))
    assert isinstance(out, CorruptFileError)
    assert str(path) in str(out) and "'archive/data/0'" in str(out) and name in str(out)
    if method != 99:
        assert isinstance(torch_load(path), (RuntimeError, type(None)))  # PyTorch refuses too


@pytest.mark.timeout(60)
def test_deflated_records_load_like_pytorch(tmp_path):
    path = tmp_path / "deflated.pt"
    path.write_bytes(raw_zip(entries(RECS, {n: 8 for n in RECS})))
    np.testing.assert_array_equal(brickwork.load(path)["w"].numpy(), W)
    np.testing.assert_array_equal(brickwork.load(path, mmap=True)["w"].numpy(), W)
    ref = torch_load(path)
    if ref is not None:
        np.testing.assert_array_equal(ref["w"].numpy(), W)


@pytest.mark.timeout(60)
def test_deflated_data_pkl_bomb_streams_in_bounded_memory(tmp_path):
    # data.pkl is the real pickle followed by 256 MiB of zeros in 256 KiB of deflate: the
    # unpickler stops at STOP; the rest is inflated a chunk at a time only to check the crc.
    pkl = RECS["archive/data.pkl"]
    stream, crc = zeros_deflated(pkl, 256 * MIB)
    ents = [e if e.name != "archive/data.pkl" else
            Entry(e.name, stream, 8, len(pkl) + 256 * MIB, crc) for e in entries(RECS)]
    start = time.perf_counter()
    out, peak = load_measured(tmp_path / "pkl_bomb.pt", raw_zip(ents))
    np.testing.assert_array_equal(out["w"].numpy(), W)
    assert peak < 8 * MIB
    assert time.perf_counter() - start < 20


@pytest.mark.timeout(60)
def test_deflated_sizes_beyond_deflates_ratio_are_refused_unread(tmp_path):
    ents = entries(RECS, {"archive/data/0": 8})
    for e in ents:
        if e.name == "archive/data/0":
            e.size = 1 << 31  # from about 20 compressed bytes
    path = tmp_path / "ratio.pt"
    out, peak = load_measured(path, raw_zip(ents))
    assert isinstance(out, CorruptFileError), out
    assert "beyond deflate's maximum ratio" in str(out)
    assert str(path) in str(out) and "'archive/data/0'" in str(out)
    assert peak < MIB


@pytest.mark.timeout(60)
def test_deflated_record_sizes_checked_when_storage_matches(tmp_path):
    # The storage claims as many elements as the record declares, so only the inflating
    # itself can find that the record holds less (or more).
    big = records({"w": brickwork.zeros(64)})
    for numel, problem in [(96, "inflates to 256 bytes but declares 384"),
                           (32, "inflates to more than its declared 128 bytes")]:
        recs = with_pickle(big, b"K@tQ", b"K" + bytes([numel]) + b"tQ")
        recs = with_pickle(recs, b"K@\x85", b"K" + bytes([numel]) + b"\x85")
        ents = entries(recs, {"archive/data/0": 8})
        for e in ents:
            if e.name == "archive/data/0":
                e.size = numel * 4
        path = tmp_path / f"n{numel}.pt"
        out, _ = load_measured(path, raw_zip(ents))
        assert isinstance(out, CorruptFileError), out
        assert problem in str(out) and str(path) in str(out)


@pytest.mark.timeout(60)
def test_directory_entries_aliasing_one_record(tmp_path):
    # 1,100 directory entries point at one stored 1 MiB record; nothing refers to them.
    recs = records({"w": brickwork.zeros(MIB // 4)})
    ents = entries(recs)
    i = [e.name for e in ents].index("archive/data/0")
    start = time.perf_counter()
    out, peak = load_measured(tmp_path / "aliases.pt",
                              raw_zip(ents, [(f"archive/data/x{k}", i) for k in range(1100)]))
    assert out["w"].shape == (MIB // 4,)
    assert peak < 3 * MIB  # the one record, once
    assert time.perf_counter() - start < 10


@pytest.mark.timeout(60)
def test_records_that_alias_or_overlap_are_refused_when_used(tmp_path):
    sd = {f"t{k}": brickwork.zeros(1024) for k in range(3)}
    recs = records(sd)
    ents = entries(recs)
    i = [e.name for e in ents].index("archive/data/0")
    ents = [e for e in ents if e.name not in ("archive/data/1", "archive/data/2")]
    path = tmp_path / "alias.pt"
    out, _ = load_measured(path, raw_zip(ents, [("archive/data/1", i), ("archive/data/2", i)]))
    assert isinstance(out, CorruptFileError) and "local header naming" in str(out)
    assert str(path) in str(out) and "'archive/data/1'" in str(out)
    out, _ = load_measured(path, raw_zip(entries(recs), [("archive/data/0", i)]))
    assert isinstance(out, CorruptFileError) and "more than once" in str(out)
    # A stored record whose bytes contain a whole second record (header and data): both
    # check out alone, but they overlap.
    recs = records({"t0": brickwork.zeros(2048), "t1": brickwork.zeros(1024)})
    inner = Entry("archive/data/1", recs["archive/data/1"])
    inner_bytes = raw_zip([inner])[:30 + len(inner.name) + len(inner.payload)]
    outer = Entry("archive/data/0", inner_bytes + b"\0" * (8192 - len(inner_bytes)))
    ents = [e for e in entries(recs) if e.name not in ("archive/data/0", "archive/data/1")]
    data = raw_zip([outer] + ents, [("archive/data/1", 0)])
    # Point the alias at the inner header, 30 + len(name) bytes into the outer record.
    cd_row = data.rfind(b"PK\x01\x02")
    data = data[:cd_row + 42] + struct.pack("<I", 30 + len(outer.name)) + data[cd_row + 46:]
    out, _ = load_measured(path, data)
    assert isinstance(out, CorruptFileError) and "overlaps record" in str(out), out


# -- errors that name the file ---------------------------------------------------------------
@pytest.mark.timeout(60)
def test_encrypted_records_are_refused(tmp_path):
    path = tmp_path / "enc.pt"
    out, _ = load_measured(path, raw_zip([Entry(e.name, e.payload, flags=1)
                                          for e in entries(RECS)]))
    assert isinstance(out, CorruptFileError) and "encrypted" in str(out)
    assert str(path) in str(out)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("location", ["tpu:0", "cuda:x", "cuda:-1", "cpu:0:0"])
def test_unknown_device_strings_name_file_and_storage(tmp_path, location):
    path = tmp_path / "loc.pt"
    path.write_bytes(raw_zip(entries(with_pickle(RECS, pickle_str("cpu"),
                                                 pickle_str(location)))))
    with pytest.raises(CorruptFileError) as info:
        brickwork.load(path)
    assert str(path) in str(info.value) and "'0'" in str(info.value)
    assert location in str(info.value)
    # As in PyTorch, map_location replaces the saved location: the file then loads.
    np.testing.assert_array_equal(brickwork.load(path, map_location="cpu")["w"].numpy(), W)


@pytest.mark.timeout(60)
def test_missing_cuda_keeps_pytorchs_runtime_error(tmp_path):
    if brickwork.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path = tmp_path / "gpu.pt"
    path.write_bytes(raw_zip(entries(with_pickle(RECS, pickle_str("cpu"),
                                                 pickle_str("cuda:0")))))
    with pytest.raises(RuntimeError, match="CUDA is not available") as info:
        brickwork.load(path)
    assert not isinstance(info.value, CorruptFileError)


def _tensor_only(offset: bytes = b"K\x00", size: bytes = b"K\x06\x85",
                 stride: bytes = b"K\x01\x85") -> bytes:
    """Opcodes that leave one tensor over storage '0' (6 float32) on the stack."""
    return (b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n"
            b"FloatStorage\n" + pickle_str("0") + pickle_str("cpu") + b"K\x06tQ" + offset + size
            + stride + b"\x89ccollections\nOrderedDict\n)RtR")


def _tensor_pickle(offset: bytes, size: bytes, stride: bytes) -> bytes:
    return b"\x80\x02}X\x01\x00\x00\x00w" + _tensor_only(offset, size, stride) + b"s."


@pytest.mark.timeout(60)
@pytest.mark.parametrize("offset, size, stride, problem", [
    (b"K\x00", b"K\x07\x85", b"K\x01\x85", "reaches element 6"),
    (b"K\x05", b"K\x02\x85", b"K\x01\x85", "reaches element 6"),
    (b"\x8a\x09" + b"\xff" * 8 + b"\x7f", b"K\x01\x85", b"K\x01\x85", "offset"),
    (b"K\x00", b"\x8a\x08" + b"\xff" * 7 + b"\x7f" + b"K\x02\x86", b"K\x01K\x01\x86", "shape"),
    (b"K\x00", b"X\x01\x00\x00\x00a\x85", b"K\x01\x85", "shape"),
    (b"K\x00", b"K\x02\x85", b"K\x01K\x01\x86", "stride"),
    (b"G\x00\x00\x00\x00\x00\x00\x00\x00", b"K\x01\x85", b"K\x01\x85", "offset"),
])
def test_bad_views_name_file_and_storage(tmp_path, offset, size, stride, problem):
    path = tmp_path / "view.pt"
    path.write_bytes(raw_zip(entries({**RECS, "archive/data.pkl":
                                      _tensor_pickle(offset, size, stride)})))
    with pytest.raises(CorruptFileError, match=problem) as info:
        brickwork.load(path)
    assert str(path) in str(info.value) and "storage '0'" in str(info.value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pkl, problem", [
    (b"\x80\x02h\x05.", "Memo value not found"),               # BINGET of nothing
    (b"\x80\x02\xff.", "invalid load key"),                     # no such opcode
    (b"\x80\x02(.", "damaged"),                                  # MARK left on the stack
    (b"\x80\x02", "damaged"),                                    # no STOP
    (b"\x80\x02N\x85\x85}\x94", "damaged"),                     # MEMOIZE then the end
    (b"\x80\x05\x96\xff\xff\xff\xff\xff\xff\xff\x00.", "BYTEARRAY8"),  # 2**56 bytes declared
    (b"\x80\x02cbuiltins\nset\n]\x85R.", "REDUCE"),                 # set of a list: fine
])
def test_damaged_pickles_name_the_file(tmp_path, pkl, problem):
    path = tmp_path / "pkl.pt"
    path.write_bytes(raw_zip(entries({**RECS, "archive/data.pkl": pkl})))
    if problem == "REDUCE":
        assert brickwork.load(path) == set()
        return
    with pytest.raises(pickle.UnpicklingError, match=problem) as info:
        brickwork.load(path)
    assert str(path) in str(info.value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("tail, problem", [
    (b"K\x01a.", "APPEND on a Tensor"),                          # tensor.append(1)
    (b"(K\x01e.", "APPENDS on a Tensor"),
    (b"K\x01K\x05s.", "SETITEM on a Tensor"),                    # tensor[1] = 5
    (b"(K\x01\x90.", "ADDITEMS on a Tensor"),                    # tensor.add(1)
    (b"cbuiltins\nset\nh\x00\x85R.", "calls set with 1 argument"),  # set(tensor) iterates it
    (b"cbuiltins\nfrozenset\nh\x00R.", "arguments of type Tensor"),  # frozenset(*tensor)
    (b"ctorch\nfloat32\n)R.", "calls a dtype"),
    (b"}X\x05\x00\x00\x00itemsK\x01sb.", "sets state on a Tensor"),
    (b"ccollections\nOrderedDict\n)R}X\x05\x00\x00\x00itemsK\x01sb.", "attribute 'items'"),
])
def test_objects_only_built_from_built_in_containers(tmp_path, tail, problem):
    # The tensor is built first (memo 0, left on the stack); each tail then uses it wrongly.
    path = tmp_path / "use.pt"
    path.write_bytes(raw_zip(entries({**RECS, "archive/data.pkl":
                                      b"\x80\x02" + _tensor_only() + b"q\x00" + tail})))
    with pytest.raises(pickle.UnpicklingError, match=problem) as info:
        brickwork.load(path)
    assert str(path) in str(info.value)


@pytest.mark.timeout(60)
def test_deep_tuple_keys_are_refused_before_hashing(tmp_path):
    # Hashing a tuple recurses in C without a limit; a million levels crash CPython 3.11.
    path = tmp_path / "deep.pt"
    for depth, ok in [(1000, True), (5000, False)]:
        key = b")" + b"\x85" * (depth - 1)
        for pkl in (b"\x80\x02}" + key + b"Ns.", b"\x80\x02\x8f(" + key + b"\x90.",
                    b"\x80\x02cbuiltins\nfrozenset\n]" + key + b"a\x85R."):
            path.write_bytes(raw_zip(entries({**RECS, "archive/data.pkl": pkl})))
            if ok:
                brickwork.load(path)
            else:
                with pytest.raises(pickle.UnpicklingError, match="1000 tuples deep"):
                    brickwork.load(path)


# -- shared structure on save ----------------------------------------------------------------
@pytest.mark.timeout(60)
def test_shared_sub_objects_save_linearly_and_stay_shared(tmp_path):
    x = brickwork.tensor(W)
    obj = x
    for _ in range(40):  # 2**40 paths to x, 41 distinct objects
        obj = (obj, obj)
    shared = [1, 2]
    tree = {"deep": obj, "lists": [shared, shared, {"again": shared}]}
    path = tmp_path / "shared.pt"
    start = time.perf_counter()
    brickwork.save(tree, path)
    assert time.perf_counter() - start < 5
    assert path.stat().st_size < 8192
    back = brickwork.load(path)
    level = back["deep"]
    for _ in range(40):
        assert level[0] is level[1]
        level = level[0]
    np.testing.assert_array_equal(level.numpy(), W)
    assert back["lists"][0] is back["lists"][1] is back["lists"][2]["again"]
    if torch is not None:
        ref = torch.load(path, weights_only=True)
        assert ref["deep"][0] is ref["deep"][1] and ref["lists"][0] is ref["lists"][1]
        # And brickwork convert's other direction: PyTorch's own file of the same shape.
        ref_path = tmp_path / "torch_shared.pt"
        torch.save(ref, ref_path)
        again = tmp_path / "again.pt"
        start = time.perf_counter()
        brickwork.save(brickwork.load(ref_path), again)
        assert time.perf_counter() - start < 5


@pytest.mark.timeout(60)
def test_containers_that_contain_themselves_round_trip(tmp_path):
    lst: list = [1]
    lst.append(lst)
    tup = (lst, 2)
    lst.append(tup)
    d: dict = {"t": tup}
    d["d"] = d
    path = tmp_path / "cycle.pt"
    brickwork.save({"l": lst, "d": d}, path)
    back = brickwork.load(path)
    assert back["l"][1] is back["l"] and back["l"][2][0] is back["l"]
    assert back["d"]["d"] is back["d"] and back["d"]["t"][0] is back["l"]


@pytest.mark.timeout(60)
def test_deep_nesting_on_save_names_the_path(tmp_path):
    obj: list = []
    for _ in range(300):
        obj = [obj]
    with pytest.raises(ValueError, match=r"obj\[0\]\[0\].* nested more than 200 levels"):
        brickwork.save(obj, tmp_path / "deep.pt")
