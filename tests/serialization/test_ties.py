"""Ties survive every round trip: views of all kinds, shared containers, both formats."""
from __future__ import annotations

import io
import subprocess
import sys
import time

import numpy as np
import pytest

import brickwork
import simcuda
from helpers import rand_array

FORMATS = ["brickwork", "torch"]


def _roundtrip(obj, fmt: str, **load_args):
    buf = io.BytesIO()
    brickwork.save(obj, buf, format=fmt)
    return brickwork.load(io.BytesIO(buf.getvalue()), **load_args), len(buf.getvalue())


def _shares(a, b) -> bool:
    return np.shares_memory(a._host(), b._host())


def _views(w):
    """Every kind of view of ``w`` (3 x 4 float32), by name."""
    return {
        "w": w,
        "wt": w.t(),                                   # a transpose
        "step": w[:, ::2],                             # a slice with a step
        "row": w[1],                                   # an offset
        "rev": w.t()[::2, 1:],                         # strided and offset
        "e": w[0:1, 0:1].expand(500, 600),             # stride 0
        "i": w.view(brickwork.int32),                  # a reinterpreting view
        "it": w.view(brickwork.int32).t(),             # ...and a view of it
    }


def _check_views(out, ref) -> None:
    for k, v in ref.items():
        assert out[k].dtype == v.dtype, k
        np.testing.assert_array_equal(out[k]._host(), v._host(), err_msg=k)
    for k in ("wt", "step", "row", "rev", "e"):
        assert _shares(out[k], out["w"]), f"{k} lost its tie to w"
    assert _shares(out["it"], out["i"])
    assert out["e"]._data.strides == (0, 0), "the stride-0 view was expanded on load"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", FORMATS)
def test_views_stay_tied_through_save_load_save_load(fmt):
    w = brickwork.tensor(rand_array((3, 4)))
    obj = _views(w)
    if fmt == "torch":
        obj.pop("i"), obj.pop("it")  # PyTorch refuses two dtypes over one storage
    once, size1 = _roundtrip(obj, fmt)
    if fmt == "brickwork":
        _check_views(once, obj)
    twice, size2 = _roundtrip(once, fmt)
    thrice, size3 = _roundtrip(twice, fmt)
    for out in (once, twice, thrice):
        for k in obj:
            np.testing.assert_array_equal(out[k]._host(), obj[k]._host(), err_msg=k)
        for k in ("wt", "step", "row", "rev", "e"):
            assert _shares(out[k], out["w"]), f"{k} lost its tie to w"
        assert out["e"]._data.strides == (0, 0)
    assert size1 < 10_000 and size2 == size1 and size3 == size1, (size1, size2, size3)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", FORMATS)
def test_ties_from_a_pytorch_file_survive_conversion(tmp_path, fmt):
    torch = pytest.importorskip("torch")
    w = torch.arange(12.0).reshape(3, 4)
    torch.save({"w": w, "wt": w.t(), "step": w[:, ::2], "e": w[0, :1].expand(300, 400)},
               tmp_path / "in.pt")
    loaded = brickwork.load(tmp_path / "in.pt")
    assert _shares(loaded["w"], loaded["wt"])
    out, _ = _roundtrip(loaded, fmt)
    again, _ = _roundtrip(out, fmt)
    for d in (out, again):
        for k in ("wt", "step", "e"):
            assert _shares(d[k], d["w"]), k
        np.testing.assert_array_equal(d["wt"].numpy(), w.t().numpy())
        np.testing.assert_array_equal(d["step"].numpy(), w[:, ::2].numpy())


@pytest.mark.timeout(60)
def test_pytorch_sees_brickwork_ties(tmp_path):
    torch = pytest.importorskip("torch")
    w = brickwork.tensor(rand_array((3, 4)))
    obj = {k: v for k, v in _views(w).items() if k not in ("i", "it")}
    brickwork.save(obj, tmp_path / "a.pt")
    # ...also after a brickwork-format round trip in between.
    brickwork.save(_roundtrip(obj, "brickwork")[0], tmp_path / "b.pt")
    for name in ("a.pt", "b.pt"):
        got = torch.load(tmp_path / name, weights_only=True)
        ptr = got["w"].untyped_storage().data_ptr()
        for k, v in obj.items():
            assert got[k].untyped_storage().data_ptr() == ptr, (name, k)
            np.testing.assert_array_equal(got[k].numpy(), v.numpy(), err_msg=k)
        assert got["e"].stride() == (0, 0)


@pytest.mark.timeout(60)
def test_differently_typed_views_load_in_pytorch(tmp_path):
    # brickwork can hold int32 and float32 views of one buffer; PyTorch's format cannot, so
    # the .pt file must give them separate storages rather than one PyTorch refuses.
    torch = pytest.importorskip("torch")
    w = brickwork.tensor(rand_array((3, 4)))
    brickwork.save({"w": w, "i": w.view(brickwork.int32)}, tmp_path / "c.pt")
    got = torch.load(tmp_path / "c.pt", weights_only=True)
    np.testing.assert_array_equal(got["i"].numpy(), w.numpy().view(np.int32))


@pytest.mark.timeout(120)
def test_convert_keeps_a_stride0_view_tiny(tmp_path):
    torch = pytest.importorskip("torch")
    src = tmp_path / "big.pt"
    torch.save({"e": torch.zeros(1).expand(8192, 8192)}, src)
    assert src.stat().st_size < 4096
    for out in ("out.pt", "out.bw"):
        subprocess.run([sys.executable, "-m", "brickwork", "convert", str(src),
                        str(tmp_path / out)], check=True, timeout=100, capture_output=True)
        assert (tmp_path / out).stat().st_size < 4096, out
        e = brickwork.load(tmp_path / out)["e"]
        assert tuple(e.shape) == (8192, 8192) and e._data.strides == (0, 0)
        assert e._data.base.nbytes <= 8
    assert torch.load(tmp_path / "out.pt", weights_only=True)["e"].stride() == (0, 0)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", FORMATS)
def test_gpu_views_stay_tied(fmt):
    with simcuda.installed():
        w = brickwork.tensor(rand_array((3, 4)), device="cuda:0")
        obj = {"w": w, "wt": w.t(), "step": w[:, ::2], "e": w[0:1, 0:1].expand(300, 400)}
        once, size1 = _roundtrip(obj, fmt)
        assert once["wt"].device == brickwork.device("cuda:0")
        twice, size2 = _roundtrip(once, fmt)
        back, _ = _roundtrip(twice, fmt, map_location="cpu")
        ref = {k: v.cpu().numpy() for k, v in obj.items()}
    assert size2 == size1 < 10_000
    for k, v in ref.items():
        np.testing.assert_array_equal(back[k].numpy(), v, err_msg=k)
        assert _shares(back[k], back["w"]), k


def test_a_view_reaching_outside_its_root_is_saved_as_a_copy():
    # as_strided can make a view that claims memory past its base: never write that base as
    # if it covered the view.
    base = np.arange(4, dtype=np.float32)
    view = np.lib.stride_tricks.as_strided(base[2:], (2,), (4,))
    t = brickwork.from_numpy(view)
    out, _ = _roundtrip({"t": t, "b": brickwork.from_numpy(base)}, "brickwork")
    np.testing.assert_array_equal(out["t"].numpy(), [2.0, 3.0])


# -- shared containers ------------------------------------------------------------------------
def _doubling(levels: int):
    x = brickwork.ones(2)
    for _ in range(levels):
        x = (x, x)
    return x


@pytest.mark.timeout(30)
def test_shared_containers_save_and_load_in_linear_time():
    obj = _doubling(40)  # 2**40 paths, 41 distinct objects
    start = time.perf_counter()
    out, size = _roundtrip(obj, "brickwork")
    assert time.perf_counter() - start < 5 and size < 10_000
    for _ in range(40):
        assert out[0] is out[1]
        out = out[0]
    assert isinstance(out, brickwork.Tensor)


@pytest.mark.timeout(30)
def test_shared_containers_come_back_shared_and_cycles_survive():
    inner = {"a": 1, "t": brickwork.ones(3)}
    lst = [inner, inner]
    lst.append(lst)  # a list that contains itself
    d = collections_ordered({"x": lst, "y": lst, "k": (1, 2)})
    d[(1, 2)] = d["k"]
    d["self"] = d
    out, _ = _roundtrip(d, "brickwork")
    assert out["x"] is out["y"] and out["x"][0] is out["x"][1]
    assert out["x"][2] is out["x"] and out["self"] is out
    assert out["x"][0]["a"] == 1 and out["k"] == (1, 2) and out[(1, 2)] is out["k"]
    assert out._metadata == {"": {"version": 1}}


def collections_ordered(items):
    import collections

    d = collections.OrderedDict(items)
    d._metadata = {"": {"version": 1}}
    return d


def test_a_tuple_inside_itself_is_refused_by_name():
    lst = []
    tup = (lst,)
    lst.append(tup)
    with pytest.raises(ValueError, match=r"obj\['x'\]\[0\]\[0\] is the tuple"):
        brickwork.save({"x": tup}, io.BytesIO())


def test_files_without_back_references_keep_version_1():
    # Readers that predate {"r": n} read every file that does not need it.
    from brickwork.serialization._source import Source
    from brickwork.serialization.safetensors_format import read_header

    for obj, version in (({"a": [1, 2], "b": [1, 2]}, "1"), ({"a": [1], "b": None}, "1")):
        buf = io.BytesIO()
        brickwork.save(obj, buf)
        assert read_header(Source(io.BytesIO(buf.getvalue())))[0]["__metadata__"][
            "brickwork.version"] == version
    shared = [1]
    buf = io.BytesIO()
    brickwork.save({"a": shared, "b": shared}, buf)
    assert read_header(Source(io.BytesIO(buf.getvalue())))[0]["__metadata__"][
        "brickwork.version"] == "2"


def test_version_1_trees_still_load():
    from brickwork.serialization import _tree

    old = {"od": [["x", {"l": [{"T": 0}, {"f": "1.5"}, {"t": [1, "a", None]}]}],
                  [{"t": [1, 2]}, {"d": [[3, {"dtype": "int64"}], [4, {"device": "cpu"}],
                                         [5, {"size": [2, 3]}]]}]],
           "attrs": {"d": [["_metadata", {"d": []}]]}}
    t = brickwork.ones(1)
    out = _tree.decode(old, [t], "'old.bw'")
    assert out["x"][0] is t and out["x"][1] == 1.5 and out["x"][2] == (1, "a", None)
    assert out[(1, 2)] == {3: brickwork.int64, 4: brickwork.device("cpu"),
                           5: brickwork.Size([2, 3])}
    assert out._metadata == {}


@pytest.mark.timeout(30)
def test_deep_nesting_names_the_path_and_never_recurses_out():
    x = brickwork.ones(1)
    for _ in range(250):
        x = [x]
    with pytest.raises(ValueError, match=r"obj(\[0\]){201}.* nested more than 200"):
        brickwork.save(x, io.BytesIO())
    # 200 levels are allowed, from a shallow stack or from a deep one.
    y = brickwork.ones(1)
    for _ in range(199):
        y = {"k": y}
    out, _ = _roundtrip(y, "brickwork")
    for _ in range(199):
        out = out["k"]
    assert isinstance(out, brickwork.Tensor)

    def deep(n):
        return deep(n - 1) if n else _roundtrip(y, "brickwork")

    try:
        deep(sys.getrecursionlimit() - 300)
    except (ValueError, RuntimeError) as e:  # a clear error if the stack runs out, no other
        assert not isinstance(e, RecursionError), e
        assert "nested too deeply" in str(e)


def test_name_tensors_is_linear_on_shared_containers():
    from brickwork.serialization.safetensors_format import _name_tensors

    names: dict = {}
    start = time.perf_counter()
    obj = {"m": _doubling(60)}
    _name_tensors(obj, "", names)
    assert time.perf_counter() - start < 1
    leaf = obj["m"]
    while isinstance(leaf, tuple):
        leaf = leaf[0]
    assert names == {id(leaf): "m" + ".0" * 60}

