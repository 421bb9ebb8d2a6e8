"""Files never run code, and damaged files always raise a clean error."""
from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brickwork
from brickwork.serialization import CorruptFileError
from helpers import rand_array

CLEAN_ERRORS = (CorruptFileError, pickle.UnpicklingError, ValueError, RuntimeError)


def _zip_with_pickle(data_pkl: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
    return buf.getvalue()


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    target = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(_zip_with_pickle(pickle.dumps({"w": _Evil(target)}, protocol=2)))
    with pytest.raises(pickle.UnpicklingError, match=r"(posix|os)\.system"):
        brickwork.load(evil)
    assert not target.exists()


@pytest.mark.parametrize("payload, name", [
    (b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R.", "builtins.eval"),
    (b"\x80\x04\x8c\x08builtins\x8c\x04exec\x93.", "builtins.exec"),  # STACK_GLOBAL
    (b"\x80\x02(cos\nsystem\nX\x04\x00\x00\x00true\x85o.", "os.system"),
    (b"\x80\x02(X\x04\x00\x00\x00trueios\nsystem\n.", "INST"),
    (b"\x80\x02ccollections\nOrderedDict\n)\x81.", "NEWOBJ"),
])
def test_other_globals_and_opcodes_are_refused(tmp_path, payload, name):
    path = tmp_path / "bad.pt"
    path.write_bytes(_zip_with_pickle(payload))
    with pytest.raises(pickle.UnpicklingError, match=name.replace(".", r"\.")):
        brickwork.load(path)


def _sample(fmt: str) -> bytes:
    obj = {"w": brickwork.tensor(rand_array((6, 5))), "b": brickwork.tensor(rand_array((7,),
                                                                                        "int64")),
           "meta": [1, "two", 3.0]}
    buf = io.BytesIO()
    brickwork.save(obj, buf, format=fmt)
    return buf.getvalue()


SAMPLES = {fmt: _sample(fmt) for fmt in ("brickwork", "torch")}


def _load_bytes(data: bytes, tmp_path, name="f"):
    path = tmp_path / name
    path.write_bytes(data)
    return brickwork.load(path)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.integers(0, 10 ** 9), flip=st.integers(1, 255))
def test_any_damaged_byte_is_detected_in_brickwork_files(tmp_path, pos, flip):
    data = bytearray(SAMPLES["brickwork"])
    data[pos % len(data)] ^= flip
    with pytest.raises(CLEAN_ERRORS):
        _load_bytes(bytes(data), tmp_path)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["brickwork", "torch"]), cut=st.integers(0, 10 ** 9))
def test_truncation_is_detected(tmp_path, fmt, cut):
    data = SAMPLES[fmt]
    with pytest.raises(CLEAN_ERRORS):
        _load_bytes(data[:cut % len(data)], tmp_path)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 10 ** 9), st.integers(0, 255)), min_size=1,
                      max_size=4))
def test_damaged_torch_files_raise_cleanly_or_load_intact(tmp_path, edits):
    # Zip files have bytes no reader checks (timestamps, comments); damage there may load,
    # but then the values must be intact. Anything else must be a clean error.
    data = bytearray(SAMPLES["torch"])
    for pos, value in edits:
        data[pos % len(data)] = value
    try:
        out = _load_bytes(bytes(data), tmp_path)
    except CLEAN_ERRORS:
        return
    ref = brickwork.load(io.BytesIO(SAMPLES["torch"]))
    for k in ("w", "b"):
        np.testing.assert_array_equal(out[k].numpy(), ref[k].numpy())
    assert out["meta"] == ref["meta"]


def test_header_errors_name_file_and_tensor(tmp_path):
    good = SAMPLES["brickwork"]
    with pytest.raises(CorruptFileError, match="bad.bw.*header length"):
        _load_bytes(b"\xff" * 8 + good[8:], tmp_path, "bad.bw")
    # A checksum mismatch in the data names the tensor (the last one stored is 'w').
    data = bytearray(good)
    data[-1] ^= 1
    with pytest.raises(CorruptFileError, match="checksum mismatch in tensor 'w'"):
        _load_bytes(bytes(data), tmp_path, "bad.bw")


def test_foreign_safetensors_with_bad_offsets(tmp_path):
    import json
    import struct

    def file_with(entry, data=b"\0" * 8):
        header = json.dumps({"t": entry}).encode()
        return struct.pack("<Q", len(header)) + header + data

    cases = {
        "past the end": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        "need 8 bytes": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]},
        "not supported": {"dtype": "F8_E4M3", "shape": [8], "data_offsets": [0, 8]},
        "bad shape": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]},
    }
    for message, entry in cases.items():
        with pytest.raises(CorruptFileError, match=message):
            _load_bytes(file_with(entry), tmp_path)
