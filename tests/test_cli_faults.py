"""The ``brickwork`` command under faults: hostile files, impossible options, unwritable
folders, diverging training. Each failure is one line naming the file or option, with exit
status 2 for bad usage and 1 for failures while working; nothing hangs or grows unbounded."""
from __future__ import annotations

import glob
import os
import stat
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import brickwork as bw
from brickwork.cli import main

pytestmark = pytest.mark.timeout(60)

FAST = ["--epochs", "1", "--batch-size", "500"]  # the embedded slice: 4 batches


@pytest.fixture(autouse=True)
def _no_plots(monkeypatch):
    # matplotlib costs a second a run here; test_cli.py checks the plot.
    monkeypatch.setattr("brickwork._cli_train._plot", lambda rows, path: False)


def run(capsys, *args):
    """``(status, stdout, stderr)`` of ``brickwork ARGS`` run in this process."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str, command: str) -> str:
    """The one error line (warnings and the data notice may come before it)."""
    lines = err.strip().splitlines()
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert errors[0].startswith(f"brickwork {command}: error: "), err
    assert "Traceback" not in err
    return errors[0]


def _checkpoints(folder):
    return sorted(glob.glob(os.path.join(folder, "ckpt-*.bw")))


# -- inspect / convert ------------------------------------------------------------------------
def _doubling_file(tmp_path, levels=40):
    """A small .pt holding ``(x, x)`` nested ``levels`` deep: 2**levels paths, one object each."""
    torch = pytest.importorskip("torch")
    obj = torch.arange(3.0)
    for _ in range(levels):
        obj = (obj, obj)
    path = tmp_path / "doubling.pt"
    torch.save(obj, path)
    assert path.stat().st_size < 4096
    return path


def test_inspect_walks_shared_containers_once(tmp_path, capsys):
    path = _doubling_file(tmp_path)
    code, out, err = run(capsys, "inspect", path)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) < 100  # 2**40 entries if every path were expanded
    assert sum("same object as" in line for line in lines) == 39  # the innermost holds x
    assert "  [1]: same object as [0]" in lines
    assert "tensors: 2, 12 B" in out  # x at [0]...[0][0] and [0]...[0][1]


def test_inspect_output_is_bounded_by_limit(tmp_path, capsys):
    bw.save({f"k{i}": i for i in range(50)}, tmp_path / "many.bw")
    code, out, _ = run(capsys, "inspect", "--limit", 5, tmp_path / "many.bw")
    assert code == 0
    assert "  k4: int 4" in out and "k5" not in out and "... 45 more entries" in out
    code, out, _ = run(capsys, "inspect", "--limit", 0, tmp_path / "many.bw")
    assert code == 0 and "  k49: int 49" in out


def test_convert_copes_with_shared_containers(tmp_path):
    # Subprocess with a memory cap: an exponential saver must fail this, not the machine.
    src = _doubling_file(tmp_path)
    dst = tmp_path / "doubling.bw"
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30));"
            "from brickwork.cli import main; sys.exit(main(sys.argv[1:]))")
    res = subprocess.run([sys.executable, "-c", code, "convert", str(src), str(dst)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    back = bw.load(dst)
    inner = back
    for _ in range(40):
        assert inner[0] is inner[1]
        inner = inner[0]
    np.testing.assert_array_equal(inner.numpy(), np.arange(3.0, dtype=np.float32))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("command", ["inspect", "convert"])
def test_a_device_is_not_a_file_brickwork_reads(tmp_path, capsys, command):
    args = ["/dev/zero"] + ([tmp_path / "out.bw"] if command == "convert" else [])
    code, _, err = run(capsys, command, *args)
    assert code == 1
    line = error_line(err, command)
    assert "/dev/zero" in line and "not a brickwork/PyTorch/safetensors file" in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "pipe.bw"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "inspect", fifo)
    assert code == 1 and "FIFO" in error_line(err, "inspect") and str(fifo) in err


def test_inspect_a_folder_reports_the_folder(tmp_path, capsys):
    code, _, err = run(capsys, "inspect", tmp_path)
    assert code == 1
    line = error_line(err, "inspect")
    assert "Is a directory" in line and str(tmp_path) in line


@pytest.mark.parametrize("content", [b"", b"PK", b"hello world, not a model"])
def test_inspect_small_or_foreign_files_name_the_file(tmp_path, capsys, content):
    path = tmp_path / "odd.bw"
    path.write_bytes(content)
    code, _, err = run(capsys, "inspect", path)
    assert code == 1 and str(path) in error_line(err, "inspect")


def test_convert_onto_its_own_input_is_refused(tmp_path, capsys):
    src = tmp_path / "a.bw"
    bw.save({"w": bw.ones(2)}, src)
    before = src.read_bytes()
    (tmp_path / "link.bw").symlink_to(src)
    for dst in (src, tmp_path / "." / "a.bw", tmp_path / "link.bw"):
        code, _, err = run(capsys, "convert", src, dst)
        assert code == 2 and "is the input file itself" in error_line(err, "convert")
    assert src.read_bytes() == before


@pytest.mark.parametrize("where", ["missing folder", "folder"])
def test_convert_to_an_impossible_output_names_it(tmp_path, capsys, where):
    src = tmp_path / "a.bw"
    bw.save({"w": bw.ones(2)}, src)
    dst = tmp_path / "nope" / "b.bw" if where == "missing folder" else tmp_path
    code, _, err = run(capsys, "convert", src, dst)
    assert code == 1
    line = error_line(err, "convert")
    assert str(tmp_path / "nope" if where == "missing folder" else tmp_path) in line
    assert not (tmp_path / "nope").exists()


def test_bad_values_exit_2_on_one_line(capsys):
    for args in (["inspect", "--limit", "-3", "x.bw"], ["convert", "a", "b", "--format", "zip"],
                 ["nosuch"], ["train", "--epochs", "0"]):
        code, _, err = run(capsys, *args)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith("brickwork"), err


# -- train: options refused before anything is created ---------------------------------------
@pytest.mark.parametrize("args", [["--lr", "inf"], ["--lr", "nan"], ["--lr", "-1"], ["--lr", "0"],
                                  ["--lr", "fast"], ["--device", "gpu"], ["--device", "meta"],
                                  ["--device", "cuda:99"], ["--batch-size", "-2"],
                                  ["--model", "resnet"], ["--resume"]])
def test_train_refuses_bad_options_before_creating_anything(tmp_path, capsys, monkeypatch,
                                                            args):
    monkeypatch.chdir(tmp_path)  # where the default runs/<model>-<time> folder would go
    extra = [] if args == ["--resume"] else ["--out", "run"]
    code, stdout, err = run(capsys, "train", *FAST, *extra, *args)
    assert code == 2
    assert args[0] in error_line(err, "train")
    assert os.listdir(tmp_path) == [] and "epoch" not in stdout


def test_train_full_data_missing_fails_saying_where_it_looked(tmp_path, capsys, monkeypatch):
    from brickwork.datasets import fashion_mnist

    monkeypatch.delenv(fashion_mnist.ENV_VAR, raising=False)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "no-debian-package")
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", *FAST, "--data", "full", "--out", out)
    assert code == 2
    line = error_line(err, "train")
    assert "--data full" in line and str(tmp_path / "no-debian-package") in line
    assert fashion_mnist.ENV_VAR in line and "apt-get install" in line
    assert not out.exists() and "epoch" not in stdout


def test_train_says_which_data_it_uses(tmp_path, capsys, monkeypatch):
    from brickwork.datasets import fashion_mnist

    code, _, err = run(capsys, "train", *FAST, "--out", tmp_path / "a")
    assert code == 0 and "data: Fashion-MNIST from the embedded slice" in err
    # The shipped folder holds the four idx files, so it can stand in for the full set.
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(fashion_mnist.EMBEDDED_DIR))
    code, _, err = run(capsys, "train", *FAST, "--data", "full", "--out", tmp_path / "b")
    assert code == 0, err
    assert f"data: Fashion-MNIST from {fashion_mnist.EMBEDDED_DIR}:" in err


def test_train_data_folder_without_the_files_names_them(tmp_path, capsys):
    code, _, err = run(capsys, "train", *FAST, "--data", tmp_path, "--out", tmp_path / "run")
    assert code == 1
    line = error_line(err, "train")
    assert "train-images-idx3-ubyte" in line and str(tmp_path) in line
    assert not (tmp_path / "run").exists()


# -- train: the output folder -----------------------------------------------------------------
def _cannot_write(folder) -> bool:
    try:
        fd, probe = tempfile.mkstemp(dir=folder)
    except OSError:
        return True
    os.close(fd)
    os.unlink(probe)
    return False


def _unwritable_folders(tmp_path):
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)  # root writes through permission bits, though
    # sysfs takes no new files, even from root.
    return [f for f in (ro, "/sys/kernel") if os.path.isdir(f) and _cannot_write(f)]


def test_train_checks_out_is_writable_before_training(tmp_path, capsys):
    folders = _unwritable_folders(tmp_path)
    if not folders:
        pytest.skip("no folder here is unwritable for this user")
    for folder in folders:
        code, stdout, err = run(capsys, "train", *FAST, "--out", folder)
        assert code == 1
        line = error_line(err, "train")
        assert "not writable" in line and str(folder) in line
        assert "epoch" not in stdout and "data:" not in err  # failed before loading data


def test_train_out_that_is_a_file(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("results")
    code, _, err = run(capsys, "train", *FAST, "--out", path)
    assert code == 1 and str(path) in error_line(err, "train")
    assert path.read_text() == "results"


@pytest.mark.parametrize("state", ["missing", "empty", "other files"])
def test_resume_with_nothing_to_resume(tmp_path, capsys, state):
    out = tmp_path / "run"
    if state != "missing":
        out.mkdir()
    if state == "other files":
        (out / "notes.txt").write_text("x")
        (out / "ckpt-12.bw").write_text("not the pattern")
    code, _, err = run(capsys, "train", *FAST, "--out", out, "--resume")
    assert code == 1
    line = error_line(err, "train")
    assert str(out) in line and "no checkpoint" in line
    assert out.exists() == (state != "missing")


def test_resume_a_checkpoint_that_is_not_a_training_run(tmp_path, capsys):
    from brickwork.training import Checkpointer

    out = tmp_path / "run"
    path = Checkpointer(out).save(3, bw.nn.Linear(2, 2))  # a model alone, no optimizer
    code, _, err = run(capsys, "train", *FAST, "--out", out, "--resume")
    assert code == 1
    line = error_line(err, "train")
    assert path in line and "does not fit" in line


def test_resume_with_options_contradicting_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(capsys, "train", *FAST, "--out", out, "--optimizer", "adam")[0] == 0
    saved = _checkpoints(out)
    for args in (["--optimizer", "sgd"], ["--model", "lenet"], ["--batch-size", "100"],
                 ["--seed", "7"]):
        code, _, err = run(capsys, "train", "--epochs", "2", "--out", out, "--resume", *args)
        assert code == 2
        line = error_line(err, "train")
        assert args[0] in line and saved[-1] in line
    assert _checkpoints(out) == saved
    # Left out, the options come from the checkpoint: the run continues as adam, batch 500.
    code, out_text, err = run(capsys, "train", "--epochs", "2", "--out", out, "--resume")
    assert code == 0, err
    state = bw.load(_checkpoints(out)[-1])
    assert state["step"] == 8 and "exp_avg" in str(state["optimizer"]["state"])


# -- train: divergence --------------------------------------------------------------------------
def test_training_that_diverges_stops_without_writing_a_nan_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", *FAST, "--out", out, "--lr", "1e30")
    assert code == 1
    line = error_line(err, "train")
    assert "diverged" in line and "epoch 1" in line and "no checkpoint was written" in line
    assert not out.exists()  # it created the folder and wrote nothing into it


def test_divergence_after_resume_keeps_the_last_good_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(capsys, "train", *FAST, "--out", out)[0] == 0
    good = _checkpoints(out)
    code, stdout, err = run(capsys, "train", "--epochs", "3", "--out", out, "--resume",
                            "--lr", "1e30")
    assert code == 1
    line = error_line(err, "train")
    assert "epoch 2" in line and good[-1] in line
    assert "--lr 1e+30 replaces the learning rate 0.1" in err
    assert _checkpoints(out) == good
    for name, t in bw.load(good[-1])["model"].items():
        assert np.isfinite(t.numpy()).all(), name


def test_resume_honours_a_new_learning_rate(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(capsys, "train", *FAST, "--out", out)[0] == 0
    code, _, err = run(capsys, "train", "--epochs", "2", "--out", out, "--resume", "--lr", "0.01")
    assert code == 0, err
    assert bw.load(_checkpoints(out)[-1])["optimizer"]["param_groups"][0]["lr"] == 0.01
