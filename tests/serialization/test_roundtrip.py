"""Round trips through both formats: every supported type, dtypes, shapes, sharing, options."""
from __future__ import annotations

import collections
import io
import math

import numpy as np
import pytest

import brickwork
from brickwork.nn.parameter import Parameter
from brickwork.serialization import CorruptFileError
from helpers import rand_array

FORMATS = ["brickwork", "torch"]
DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 4), (1, 2, 3, 1)]


def _path(tmp_path, fmt, name="obj"):
    return tmp_path / (f"{name}.pt" if fmt == "torch" else f"{name}.bw")


def _same(a, b):
    assert type(a) is type(b), f"{type(a).__name__} != {type(b).__name__}"
    if isinstance(a, brickwork.Tensor):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        assert a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach()._host(), b.detach()._host())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_tensor_round_trip(tmp_path, fmt, dtype, shape):
    x = brickwork.tensor(rand_array(shape, dtype))
    path = _path(tmp_path, fmt)
    brickwork.save(x, path)
    _same(x, brickwork.load(path))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_supported_type(tmp_path, fmt):
    x = brickwork.tensor(rand_array((2, 3)))
    p = Parameter(brickwork.tensor(rand_array((4,), seed=3)))
    frozen = Parameter(brickwork.tensor(rand_array((2,), seed=4)), requires_grad=False)
    od = collections.OrderedDict([("w", p), ("b", frozen)])
    od._metadata = collections.OrderedDict([("", {"version": 1})])
    obj = {"x": x, "grad": brickwork.tensor(rand_array((2,)), requires_grad=True),
           "nested": [x, (1, -7, 2 ** 40, -2 ** 70), {"s": "ünï", "n": None, "t": True,
                                                       "f": False}],
           "floats": [0.1, -2.5, float("inf"), float("nan"), 1.0], "od": od, 3: "int key",
           "dtype": brickwork.float64, "device": brickwork.device("cpu"), "empty": [(), {}, []]}
    path = _path(tmp_path, fmt)
    brickwork.save(obj, path)
    out = brickwork.load(path)
    _same(obj, out)
    assert type(out["od"]["w"]) is Parameter and out["od"]["w"].requires_grad
    assert type(out["od"]["b"]) is Parameter and not out["od"]["b"].requires_grad
    assert out["od"]._metadata == od._metadata
    assert out["dtype"] is brickwork.float64
    assert isinstance(out["floats"][4], float) and isinstance(out["nested"][1][0], int)


@pytest.mark.parametrize("fmt", FORMATS)
def test_ties_and_views_share_after_load(tmp_path, fmt):
    base = brickwork.tensor(rand_array((4, 5)))
    w = Parameter(base)
    sd = collections.OrderedDict([("enc.weight", w.detach()), ("dec.weight", w.detach()),
                                  ("row", base[1]), ("col", base[:, 2]), ("t", base.t()),
                                  ("same", w)])
    obj = {"sd": sd, "again": w}
    path = _path(tmp_path, fmt)
    brickwork.save(obj, path)
    out = brickwork.load(path)
    _same(obj, out)
    assert out["again"] is out["sd"]["same"]  # one object saved twice is one object
    out["sd"]["enc.weight"]._data[1, 2] = 123.0  # one storage: every view sees the edit
    for key, idx in (("dec.weight", (1, 2)), ("row", (2,)), ("col", (1,)), ("t", (2, 1))):
        assert out["sd"][key]._data[idx] == 123.0, key


@pytest.mark.parametrize("fmt", FORMATS)
def test_file_objects(tmp_path, fmt):
    obj = {"a": brickwork.tensor(rand_array((3, 2))), "b": [1, 2]}
    buf = io.BytesIO()
    brickwork.save(obj, buf, format=fmt)
    _same(obj, brickwork.load(io.BytesIO(buf.getvalue())))
    path = tmp_path / "f.bin"
    with open(path, "wb") as f:
        brickwork.save(obj, f, format=fmt)
    with open(path, "rb") as f:
        _same(obj, brickwork.load(f))


@pytest.mark.parametrize("fmt", FORMATS)
def test_mmap_and_map_location(tmp_path, fmt):
    obj = {"a": brickwork.tensor(rand_array((64, 3))), "b": brickwork.tensor(rand_array((5,)))}
    path = _path(tmp_path, fmt)
    brickwork.save(obj, path)
    mapped = brickwork.load(path, mmap=True)
    _same(obj, mapped)
    mapped["a"]._data[0, 0] = 42.0  # copy-on-write: the file is unchanged
    _same(obj, brickwork.load(path))
    for ml in ("cpu", brickwork.device("cpu"), {"cpu": "cpu"}, lambda s, loc: s):
        out = brickwork.load(path, map_location=ml)
        assert out["a"].device == brickwork.device("cpu")
        _same(obj, out)
    with pytest.raises(ValueError, match="mmap"):
        brickwork.load(io.BytesIO(path.read_bytes()), mmap=True)


def test_format_choice(tmp_path):
    x = brickwork.tensor([1.0, 2.0])
    for name, magic in (("a.pt", b"PK\x03\x04"), ("a.pth", b"PK\x03\x04"), ("a.bin", b"")):
        brickwork.save(x, tmp_path / name)
        head = (tmp_path / name).read_bytes()[:4]
        assert head == magic if magic else head != b"PK\x03\x04"
    brickwork.save(x, tmp_path / "b.bin", format="torch")
    assert (tmp_path / "b.bin").read_bytes()[:4] == b"PK\x03\x04"
    with pytest.raises(ValueError, match="unknown format"):
        brickwork.save(x, tmp_path / "c", format="zip")


def test_refusals(tmp_path):
    # weights_only=False loads what weights_only=True loads (files never run code either way).
    brickwork.save({"w": brickwork.ones(2)}, tmp_path / "x.pt")
    assert brickwork.load(tmp_path / "x.pt", weights_only=False)["w"].shape == (2,)
    cases = [(object(), FORMATS), ({"f": print}, FORMATS), ([np.zeros(2)], FORMATS),
             ({brickwork.tensor(1.0): 1}, ["brickwork"])]  # PyTorch's pickle allows tensor keys
    for bad, formats in cases:
        for fmt in formats:
            with pytest.raises(TypeError, match="cannot|key"):
                brickwork.save(bad, tmp_path / "bad", format=fmt)
    assert not (tmp_path / "bad").exists()  # a failed save leaves nothing behind
    (tmp_path / "tiny").write_bytes(b"abc")
    with pytest.raises(CorruptFileError, match="tiny"):
        brickwork.load(tmp_path / "tiny")


def test_plain_safetensors_files_load_as_dict(tmp_path):
    from safetensors.numpy import load_file, save_file

    arrays = {"w": rand_array((3, 4)), "i": rand_array((5,), "int64"), "m": rand_array((2,),
                                                                                        "bool")}
    save_file(arrays, str(tmp_path / "plain.safetensors"))
    out = brickwork.load(tmp_path / "plain.safetensors")
    assert sorted(out) == sorted(arrays)
    for k, v in arrays.items():
        np.testing.assert_array_equal(out[k].numpy(), v)
    # ...and any safetensors reader opens brickwork's files, one entry per storage.
    sd = {"0.weight": brickwork.tensor(arrays["w"]), "0.bias": brickwork.tensor(arrays["i"])}
    brickwork.save(sd, tmp_path / "ours.bw")
    theirs = load_file(str(tmp_path / "ours.bw"))
    np.testing.assert_array_equal(theirs["0.weight"], arrays["w"])
    np.testing.assert_array_equal(theirs["0.bias"], arrays["i"])
