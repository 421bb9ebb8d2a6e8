"""add_safe_globals & co., load(weights_only=False), and saving allow-listed classes to .pt."""
from __future__ import annotations

import dataclasses
import enum
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import brickwork
from brickwork.serialization import (add_safe_globals, clear_safe_globals, get_safe_globals,
                                     safe_globals)

from helpers import requires_torch, torch


@dataclasses.dataclass
class Config:
    lr: float
    steps: list
    weight: object = None


class Color(enum.Enum):
    RED = 1
    BLUE = 2


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a=1, b=None):
        self.a, self.b = a, b


class WithState:
    """A class with __getstate__/__setstate__: BUILD must call __setstate__."""

    def __init__(self, n):
        self.n = n

    def __getstate__(self):
        return {"doubled": self.n * 2}

    def __setstate__(self, state):
        self.n = state["doubled"] // 2
        self.restored = True


class Reduced:
    """A class rebuilt through __reduce__ (REDUCE calls the class)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __reduce__(self):
        return (Reduced, (self.x, self.y))


class _Evil:
    def __reduce__(self):
        return (os.system, ("true",))


@pytest.fixture(autouse=True)
def _clean_allow_list():
    clear_safe_globals()
    yield
    clear_safe_globals()
    if torch is not None:
        torch.serialization.clear_safe_globals()


def _zip_with_pickle(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", data)
        zf.writestr("archive/version", "3\n")
    return buf.getvalue()


def _sample():
    return {"cfg": Config(0.1, [1, 2], brickwork.arange(3.0)), "c": Color.BLUE,
            "s": Slotted(5, [brickwork.ones(2)]), "w": WithState(21), "r": Reduced(1, "two")}


def _check_sample(back, lib):
    assert isinstance(back["cfg"], Config) and back["cfg"].lr == 0.1 and back["cfg"].steps == [1, 2]
    np.testing.assert_array_equal(np.asarray(back["cfg"].weight), [0.0, 1.0, 2.0])
    assert isinstance(back["cfg"].weight, lib.Tensor)
    assert back["c"] is Color.BLUE
    assert back["s"].a == 5 and isinstance(back["s"].b[0], lib.Tensor)
    assert back["w"].n == 21 and back["w"].restored
    assert (back["r"].x, back["r"].y) == (1, "two")


ALL = [Config, Color, Slotted, WithState, Reduced]


def test_registry_api():
    assert get_safe_globals() == []
    add_safe_globals([Config])
    with safe_globals([Color, (Slotted, "old.place.Slotted")]):
        assert set(get_safe_globals()) == {Config, Color, (Slotted, "old.place.Slotted")}
    assert get_safe_globals() == [Config]
    clear_safe_globals()
    assert get_safe_globals() == []
    with pytest.raises(ValueError, match="tuple of length 2"):
        add_safe_globals([(Config, "a", "b")])
    with pytest.raises(TypeError, match="str of callable full path"):
        add_safe_globals([(Config, 3)])


@pytest.mark.parametrize("weights_only", [True, False, None])
def test_allow_listed_classes_round_trip(tmp_path, weights_only):
    path = tmp_path / "obj.pt"
    with pytest.raises(TypeError, match="add_safe_globals"):
        brickwork.save(_sample(), path)
    assert not path.exists()
    add_safe_globals(ALL)
    brickwork.save(_sample(), path)
    _check_sample(brickwork.load(path, weights_only=weights_only), brickwork)
    clear_safe_globals()
    with pytest.raises(pickle.UnpicklingError,
                       match=r"test_safe_globals\.Config.*add_safe_globals"):
        brickwork.load(path, weights_only=weights_only)
    with safe_globals(ALL):
        _check_sample(brickwork.load(path), brickwork)


def test_shared_and_self_referencing_instances(tmp_path):
    cfg = Config(1.0, [])
    cfg.steps.append(cfg)
    add_safe_globals([Config])
    brickwork.save({"a": cfg, "b": cfg}, tmp_path / "x.pt")
    back = brickwork.load(tmp_path / "x.pt")
    assert back["a"] is back["b"] and back["a"].steps[0] is back["a"]


def test_weights_only_false_loads_tensors_and_still_refuses_code(tmp_path):
    sd = {"w": brickwork.randn(3, 2), "b": brickwork.zeros(2)}
    brickwork.save(sd, tmp_path / "sd.pth")
    back = brickwork.load(tmp_path / "sd.pth", weights_only=False)
    np.testing.assert_array_equal(back["w"].numpy(), sd["w"].numpy())
    evil = tmp_path / "evil.pt"
    evil.write_bytes(_zip_with_pickle(pickle.dumps({"x": _Evil()}, protocol=2)))
    with pytest.raises(pickle.UnpicklingError,
                       match=r"(posix|os)\.system.*never runs code.*add_safe_globals"):
        brickwork.load(evil, weights_only=False)
    with pytest.raises(TypeError, match="weights_only must be a bool"):
        brickwork.load(tmp_path / "sd.pth", weights_only="yes")


def test_allowing_one_class_does_not_allow_others(tmp_path):
    add_safe_globals([Config])
    # NEWOBJ of a class that is not allow-listed (reached through REDUCE's result) is refused.
    bad = tmp_path / "bad.pt"
    bad.write_bytes(_zip_with_pickle(b"\x80\x02ccollections\nOrderedDict\n)\x81."))
    with pytest.raises(pickle.UnpicklingError, match="NEWOBJ"):
        brickwork.load(bad)
    bad.write_bytes(_zip_with_pickle(pickle.dumps(Slotted(1, 2), protocol=2)))
    with pytest.raises(pickle.UnpicklingError, match=r"Slotted"):
        brickwork.load(bad)


def test_tuple_entries_name_the_class_in_the_file(tmp_path):
    add_safe_globals([(Config, "renamed.module.Config")])
    brickwork.save(Config(2.0, [3]), tmp_path / "c.pt")
    raw = zipfile.ZipFile(tmp_path / "c.pt").read("archive/data.pkl")
    assert b"renamed.module\nConfig\n" in raw
    back = brickwork.load(tmp_path / "c.pt")
    assert isinstance(back, Config) and back.steps == [3]


def test_whole_module_is_refused_with_the_state_dict_way(tmp_path):
    net = brickwork.nn.Linear(2, 2)
    for name in ("m.pt", "m.params"):
        with pytest.raises(TypeError, match=r"save\(model\.state_dict\(\), path\).*"
                                            r"model\.load_state_dict\(load\(path\)\)"):
            brickwork.save(net, tmp_path / name)
    with pytest.raises(TypeError, match="nn.Module"):
        brickwork.save({"model": net}, tmp_path / "n.pt")
    assert not os.listdir(tmp_path)


def test_serialization_names():
    assert brickwork.serialization.DEFAULT_PROTOCOL == 2
    if torch is not None:
        assert torch.serialization.DEFAULT_PROTOCOL == 2


@requires_torch
def test_pytorch_reads_what_brickwork_writes(tmp_path):
    add_safe_globals(ALL)
    brickwork.save(_sample(), tmp_path / "obj.pt")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / "obj.pt", weights_only=True)
    torch.serialization.add_safe_globals(ALL)
    _check_sample(torch.load(tmp_path / "obj.pt", weights_only=True), torch)


@requires_torch
def test_brickwork_reads_what_pytorch_writes(tmp_path):
    obj = {"cfg": Config(0.1, [1, 2], torch.arange(3.0)), "c": Color.BLUE,
           "s": Slotted(5, [torch.ones(2)]), "w": WithState(21), "r": Reduced(1, "two")}
    torch.save(obj, tmp_path / "obj.pt")
    with pytest.raises(pickle.UnpicklingError, match="Config"):
        brickwork.load(tmp_path / "obj.pt", weights_only=False)
    with safe_globals(ALL):
        _check_sample(brickwork.load(tmp_path / "obj.pt", weights_only=False), brickwork)
    # and a plain state_dict saved by PyTorch loads with weights_only=False (the case)
    sd = torch.nn.Linear(3, 2).state_dict()
    torch.save(sd, tmp_path / "sd.pth")
    back = brickwork.load(tmp_path / "sd.pth", weights_only=False)
    np.testing.assert_array_equal(back["weight"].numpy(), sd["weight"].numpy())


def test_unsafe_globals_in_checkpoint(tmp_path):
    from brickwork.serialization import get_unsafe_globals_in_checkpoint

    add_safe_globals(ALL)
    brickwork.save(_sample(), tmp_path / "obj.pt")
    assert get_unsafe_globals_in_checkpoint(tmp_path / "obj.pt") == []
    clear_safe_globals()
    names = get_unsafe_globals_in_checkpoint(tmp_path / "obj.pt")
    assert names == sorted(f"{c.__module__}.{c.__qualname__}" for c in ALL)
    brickwork.save({"w": brickwork.ones(2)}, tmp_path / "sd.pt")
    assert get_unsafe_globals_in_checkpoint(tmp_path / "sd.pt") == []
    brickwork.save({"w": brickwork.ones(2)}, tmp_path / "sd.params")
    with pytest.raises(ValueError, match="checkpoint returned by torch.save"):
        get_unsafe_globals_in_checkpoint(tmp_path / "sd.params")
    if torch is not None:
        assert set(names) == set(torch.serialization.get_unsafe_globals_in_checkpoint(
            tmp_path / "obj.pt"))
