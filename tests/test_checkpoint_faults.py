"""Checkpointer under hostile folders: other runs' files, resumes, damaged and crafted files,
and arguments whose files could not be listed back."""
from __future__ import annotations

import io
import os
import pickle
import re
import warnings
import zipfile

import pytest
from hypothesis import given, settings, strategies as st

import brickwork
from brickwork import nn
from brickwork.training import Checkpointer

pytestmark = pytest.mark.timeout(60)


def _net():
    brickwork.manual_seed(3)
    return nn.Linear(2, 1)


def _steps(ckpt):
    return [int(os.path.basename(p)[len(ckpt.prefix) + 1:-3]) for p in ckpt.checkpoints()]


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def test_new_run_keeps_what_it_saves_and_never_touches_an_older_run(tmp_path):
    net = _net()
    old = Checkpointer(tmp_path, keep_last=2, keep_best=False)
    old.save(100, net)
    old.save(101, net)
    new = Checkpointer(tmp_path, keep_last=2, keep_best=False)
    with pytest.warns(RuntimeWarning, match=r"2 checkpoint\(s\).*did not write"):
        path = new.save(1, net)
    assert os.path.exists(path)
    for step in (2, 3, 4):
        assert os.path.exists(new.save(step, net))
    assert _steps(new) == [3, 4, 100, 101]  # the new run pruned its own 1 and 2 only


def test_the_checkpoint_just_written_survives_pruning(tmp_path):
    net = _net()
    ckpt = Checkpointer(tmp_path, keep_last=1, keep_best=False)
    ckpt.save(50, net)
    ckpt.save(60, net)
    path = ckpt.save(5, net)  # older step than the kept ones: still not pruned
    assert os.path.exists(path)
    assert _steps(ckpt) == [5, 60]


def test_files_without_a_run_id_are_never_pruned(tmp_path):
    legacy = os.path.join(tmp_path, "ckpt-0000000007.bw")
    brickwork.save({"brickwork_checkpoint": 1, "step": 7, "epoch": None, "metric": None,
                    "model": None, "optimizer": None, "scheduler": None,
                    "rng_state": brickwork.get_rng_state(), "extra": None, "loader": None},
                   legacy)
    ckpt = Checkpointer(tmp_path, keep_last=1, keep_best=False)
    _quiet(ckpt.save, 1, _net())
    ckpt.save(2, _net())
    assert os.path.exists(legacy) and _steps(ckpt) == [2, 7]


def test_a_resumed_run_prunes_its_own_files_and_leaves_other_runs_alone(tmp_path):
    net = _net()
    other = Checkpointer(tmp_path, keep_last=2, keep_best=False)
    other.save(0, net)
    first = Checkpointer(tmp_path, keep_last=2, keep_best=False)
    for step in (1, 2, 3):
        _quiet(first.save, step, net)
    assert _steps(first) == [0, 2, 3]
    resumed = Checkpointer(tmp_path, keep_last=2, keep_best=False)  # a new process, say
    with pytest.warns(RuntimeWarning, match=r"1 checkpoint\(s\) of other runs.*0000000000"):
        info = resumed.restore(_net())
    assert info["step"] == 3 and resumed.run_id == first.run_id
    resumed.save(4, net)
    resumed.save(5, net)
    assert _steps(resumed) == [0, 4, 5]  # 2 and 3 were the resumed run's; 0 is not


def test_restore_takes_the_highest_step_of_any_run_and_says_so(tmp_path):
    net = _net()
    mine = Checkpointer(tmp_path, keep_last=5)
    mine.save(1, net)
    mine.save(2, net)
    theirs = Checkpointer(tmp_path, keep_last=5)
    _quiet(theirs.save, 10, net)
    fresh = Checkpointer(tmp_path)
    with pytest.warns(RuntimeWarning, match=r"restored .*0000000010.*2 checkpoint\(s\) of other"):
        info = fresh.restore(_net())
    assert info["step"] == 10 and fresh.run_id == theirs.run_id


def test_save_refuses_to_overwrite_another_runs_checkpoint(tmp_path):
    first = Checkpointer(tmp_path)
    path = first.save(5, _net())
    before = open(path, "rb").read()
    second = Checkpointer(tmp_path)
    with pytest.raises(FileExistsError, match=r"0000000005.*another run"):
        second.save(5, _net())
    assert open(path, "rb").read() == before
    assert first.save(5, _net()) == path  # its own file: overwritten as before


@pytest.mark.parametrize("what", ["folder", "state_dict", "legacy checkpoint"])
def test_save_refuses_to_replace_what_is_not_its_own(tmp_path, what):
    ckpt = Checkpointer(tmp_path)
    target = ckpt.path_for(4)
    if what == "folder":
        os.mkdir(target)
        match = "not a file"
    elif what == "state_dict":
        brickwork.save(_net().state_dict(), target)
        match = "not a checkpoint"
    else:
        brickwork.save({"brickwork_checkpoint": 1, "step": 4}, target)
        match = "before run ids"
    with pytest.raises(FileExistsError, match=match):
        ckpt.save(4, _net())
    assert os.path.isdir(target) if what == "folder" else os.path.isfile(target)


def test_an_unreadable_file_in_the_way_is_moved_aside_not_deleted(tmp_path):
    ckpt = Checkpointer(tmp_path)
    target = ckpt.path_for(5)
    with open(target, "wb") as f:
        f.write(b"not a checkpoint at all")
    with pytest.warns(RuntimeWarning, match=r"could not be read.*\.damaged"):
        ckpt.save(5, _net())
    with open(target + ".damaged", "rb") as f:
        assert f.read() == b"not a checkpoint at all"
    assert brickwork.load(target)["step"] == 5


@pytest.mark.parametrize("step", [-1, 10 ** 10])
def test_steps_the_file_name_cannot_hold_are_refused(tmp_path, step):
    ckpt = Checkpointer(tmp_path)
    with pytest.raises(ValueError, match="step must be in 0"):
        ckpt.save(step, _net())
    with pytest.raises(ValueError, match="step must be in 0"):
        ckpt.step(step, _net())
    with pytest.raises(TypeError, match="step must be an integer"):
        ckpt.save(1.5, _net())
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("prefix", ["sub/ckpt", "", "a\\b", "two\nlines", "nul\0", "/abs"])
def test_prefixes_that_could_not_be_listed_back_are_refused(tmp_path, prefix):
    with pytest.raises(ValueError, match="prefix"):
        Checkpointer(tmp_path / "run", prefix=prefix)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("prefix", ["my-run-0000000001", "model.v2", "x"])
def test_unusual_but_valid_prefixes_round_trip(tmp_path, prefix):
    ckpt = Checkpointer(tmp_path, prefix=prefix)
    path = ckpt.save(3, _net(), metric=0.5)
    assert ckpt.checkpoints() == [path] and ckpt.best() == path
    assert Checkpointer(tmp_path, prefix=prefix).restore(_net())["step"] == 3


def _crafted_torch_zip() -> bytes:
    # A PyTorch-style archive whose pickle names a function: the loader must refuse it.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(os.getcwd, protocol=2))
        z.writestr("archive/version", "3\n")
        z.writestr("archive/byteorder", "little")
    return buf.getvalue()


def _damage(path, how):
    if how == "crafted pickle":
        data = _crafted_torch_zip()
    elif how == "empty":
        data = b""
    elif how == "truncated zip":
        data = _crafted_torch_zip()[:40]
    elif how == "lacks its state":
        from brickwork.serialization import save

        save({"brickwork_checkpoint": 1, "step": 9}, path)
        return
    elif how == "folder":
        os.mkdir(path)
        return
    else:
        data = b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}"  # safetensors-like nonsense
    with open(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("how", ["crafted pickle", "empty", "truncated zip", "folder",
                                 "bad header", "lacks its state"])
def test_restore_skips_damaged_or_crafted_files_with_a_warning(tmp_path, how):
    ckpt = Checkpointer(tmp_path)
    ckpt.save(1, _net())
    _damage(ckpt.path_for(9), how)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = Checkpointer(tmp_path).restore(_net())
    assert info["step"] == 1
    assert any(re.search(r"skipping .*0000000009", str(w.message)) for w in caught), caught


def test_restore_names_the_file_when_its_state_does_not_fit(tmp_path):
    path = Checkpointer(tmp_path).save(1, nn.Linear(2, 1))
    with pytest.raises(RuntimeError, match=r"0000000001\.bw.*model state does not fit"):
        Checkpointer(tmp_path).restore(nn.Linear(3, 1))
    assert os.path.exists(path)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "resume-a"]), st.integers(0, 30)),
                min_size=1, max_size=8),
       st.integers(1, 3), st.booleans())
def test_runs_sharing_a_folder_only_ever_delete_their_own_files(tmp_path_factory, ops,
                                                                keep_last, keep_best):
    folder = tmp_path_factory.mktemp("shared")
    net = _net()
    runs = {"a": Checkpointer(folder, keep_last=keep_last, keep_best=keep_best),
            "b": Checkpointer(folder, keep_last=keep_last, keep_best=keep_best)}
    written = {}  # path -> run id that wrote it last
    for who, step in ops:
        if who == "resume-a":  # a new process in place of a, continuing the newest run
            fresh = Checkpointer(folder, keep_last=keep_last, keep_best=keep_best)
            info = _quiet(fresh.restore)
            assert info is None or written[info["path"]] == fresh.run_id
            runs["a"] = fresh
            continue
        ckpt = runs[who]
        before = {p for p in written if os.path.exists(p)}
        try:
            path = _quiet(ckpt.save, step, net, metric=float(step % 7))
        except FileExistsError:
            assert written[ckpt.path_for(step)] != ckpt.run_id
            continue
        assert os.path.exists(path)
        written[path] = ckpt.run_id
        gone = before - {p for p in written if os.path.exists(p)}
        assert all(written[p] == ckpt.run_id for p in gone), "deleted another run's file"
        ours = [p for p in ckpt.checkpoints() if written.get(p) == ckpt.run_id]
        assert len(ours) <= keep_last + 1 + keep_best
