"""Fuzzing brickwork's safetensors reader: damaged bytes, re-signed header mutations, random
object trees and random tensor tables.

Whatever the file holds, ``load`` and ``load_structure`` either return or raise
CorruptFileError naming the file; nothing else escapes and nothing hangs.
"""
from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brickwork
from brickwork.serialization import CorruptFileError
from brickwork.serialization._source import Source
from brickwork.serialization.safetensors_format import load_structure
from serialization.test_safetensors_hostile import sample, signed, split

NAME = "fuzz.bw"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large])


class Named(io.BytesIO):
    """An in-memory file with a name, so errors name it as they would a path."""

    name = NAME


def check(data: bytes) -> None:
    """Load ``data`` both ways: a result, or CorruptFileError naming the file."""
    for read in (lambda: brickwork.load(Named(data)),
                 lambda: load_structure(Source(Named(data)))):
        try:
            read()
        except CorruptFileError as e:
            assert NAME in str(e), e


def _samples() -> dict:
    w = brickwork.arange(12.0).reshape(3, 4)
    shared = [1, {"k": (2.5, None)}]
    obj = {"w": w, "wt": w.t(), "e": w[0:1, 0:1].expand(3, 5), "n": brickwork.arange(3),
           "s": (shared, shared), "od": brickwork.nn.Linear(2, 2).state_dict()}
    header, data = sample(obj)
    plain = io.BytesIO()
    from safetensors.numpy import save as st_save

    plain.write(st_save({"a": w.numpy(), "b": brickwork.arange(4).numpy()}))
    return {"brickwork": (header, data), "safetensors": split(plain.getvalue())}


SAMPLES = _samples()
FILES = {k: signed(h) + d for k, (h, d) in SAMPLES.items()}


# -- bytes --------------------------------------------------------------------------------------
@pytest.mark.timeout(120)
@FUZZ
@given(kind=st.sampled_from(sorted(FILES)), edits=st.lists(st.tuples(
    st.sampled_from(["flip", "cut", "insert", "delete"]), st.integers(0, 10 ** 6),
    st.binary(min_size=1, max_size=8)), min_size=1, max_size=3))
def test_damaged_bytes(kind, edits):
    data = bytearray(FILES[kind])
    for op, pos, chunk in edits:
        pos %= max(len(data), 1)
        if op == "flip" and data:
            data[pos] ^= chunk[0] or 1
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = chunk
        else:
            del data[pos:pos + len(chunk)]
    check(bytes(data))


# -- header JSON, re-signed so every mutation reaches the parser ---------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.integers(-3, 40)
    | st.floats(allow_nan=True) | st.text(max_size=8)
    | st.sampled_from(["F32", "I64", "cpu", "cuda:x", "tpu:0", "float32", "w", "n", "r", "T"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["l", "t", "d", "od", "r", "T", "f", "s", "o", "shape", "stride"])
        | st.text(max_size=4), inner, max_size=3),
    max_leaves=12)


def _paths(node, prefix=()):
    """Every place in a JSON value: a tuple of keys/indices."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _mutate(node, data, depth: int = 0):
    """``node`` with one place replaced, deleted, or (for embedded JSON text) mutated inside."""
    places = list(_paths(node))[1:]  # not the whole value: the byte tests cover that
    if not places:
        return data.draw(JSON_VALUES)
    where = data.draw(st.sampled_from(places))
    parent = node
    for key in where[:-1]:
        parent = parent[key]
    key = where[-1]
    old = parent[key]
    action = data.draw(st.sampled_from(["replace", "delete", "inside"]))
    if action == "inside" and isinstance(old, str) and depth < 2:
        try:
            inner = json.loads(old)
        except ValueError:
            inner = None
        if inner is not None:
            parent[key] = json.dumps(_mutate(inner, data, depth + 1))
            return node
    if action == "delete":
        del parent[key]
    else:
        parent[key] = data.draw(JSON_VALUES)
    return node


@pytest.mark.timeout(120)
@FUZZ
@given(kind=st.sampled_from(sorted(SAMPLES)), data=st.data())
def test_header_mutations(kind, data):
    header, body = SAMPLES[kind]
    header = json.loads(json.dumps(header))
    for _ in range(data.draw(st.integers(1, 3))):
        header = _mutate(header, data)
    text = json.dumps(header, separators=(", ", ": "))
    check(signed(None, raw_header=text.encode()) + body)


# -- random trees and tensor tables --------------------------------------------------------------
TAGS = ["l", "t", "d", "od", "r", "T", "f", "size", "dtype", "device", "zz"]
LEAVES = st.sampled_from([{"T": 0}, {"T": 1}, {"T": 4}, {"r": 0}, {"r": 1}, {"r": 3},
                          {"f": "1.5"}, {"f": "nan"}, {"dtype": "float32"},
                          {"device": "cpu"}, {"size": [2, 3]}])
TREES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3) | LEAVES,
    lambda inner: st.builds(lambda tag, v: {tag: v}, st.sampled_from(TAGS),
                            inner | st.lists(inner, max_size=4)
                            | st.lists(st.lists(inner, min_size=2, max_size=2), max_size=3))
    | st.builds(lambda items, attrs: {"od": items, "attrs": attrs},
                st.lists(st.lists(inner, min_size=2, max_size=2), max_size=2), inner),
    max_leaves=25)


def _with(meta_key: str, value) -> bytes:
    header, body = SAMPLES["brickwork"]
    header = json.loads(json.dumps(header))
    header["__metadata__"][meta_key] = json.dumps(value)
    return signed(header) + body


@pytest.mark.timeout(120)
@FUZZ
@given(tree=TREES)
def test_random_trees(tree):
    check(_with("brickwork.tree", tree))


DIMS = st.lists(st.integers(0, 6) | st.sampled_from([2 ** 31, 2 ** 62, 2 ** 80, -1]),
                max_size=4)
RECORD_FIELDS = {
    "s": st.sampled_from(["w", "n", "zz"]),
    "o": st.integers(-2, 14) | st.sampled_from([2 ** 63, 2 ** 80]),
    "shape": DIMS,
    "stride": DIMS,
    "dtype": st.sampled_from(["float32", "int64", "bool", "float128"]),
    "rg": st.booleans(),
    "p": st.booleans(),
    # No valid CUDA location: without CUDA that is a machine error (RuntimeError), by design.
    "dev": st.sampled_from(["cpu", "cpu:0", "tpu:0", "cuda:x", "meta", ""]),
}
_VALID = {"s": "w", "o": 0, "shape": [3, 4], "stride": [4, 1], "dtype": "float32",
          "rg": False, "p": False, "dev": "cpu"}


@st.composite
def RECORDS(draw):  # noqa: N802 - reads as the strategy it is
    """A valid record with a few fields changed: to likely values, odd ones, or removed."""
    record = dict(_VALID)
    for key in draw(st.lists(st.sampled_from(sorted(_VALID)), max_size=3, unique=True)):
        how = draw(st.sampled_from(["likely", "likely", "odd", "remove"]))
        if how == "remove":
            del record[key]
        else:
            record[key] = draw(RECORD_FIELDS[key] if how == "likely" else JSON_VALUES)
    return record


@pytest.mark.timeout(120)
@FUZZ
@given(table=st.lists(RECORDS(), max_size=5), keep_tree=st.booleans())
def test_random_tensor_tables(table, keep_tree):
    header, body = SAMPLES["brickwork"]
    header = json.loads(json.dumps(header))
    meta = header["__metadata__"]
    meta["brickwork.tensors"] = json.dumps(table)
    if not keep_tree:  # a tree that uses every record, so each one is built
        meta["brickwork.tree"] = json.dumps({"l": [{"T": i} for i in range(len(table))]})
    check(signed(header) + body)
