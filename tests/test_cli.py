"""The ``brickwork`` command, run in subprocesses on the embedded data with tiny epochs."""
import csv
import glob
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import brickwork as bw
from helpers import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args, cwd=None, timeout=240):
    return subprocess.run([sys.executable, "-m", "brickwork", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


def _params(path):
    return bw.load(path)["model"]


def _newest(folder):
    return sorted(glob.glob(os.path.join(folder, "ckpt-*.bw")))[-1]


def test_version_and_help():
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"brickwork {bw.__version__}"
    for sub in ("train", "inspect", "convert", "tour", "info"):
        h = cli(sub, "--help")
        assert h.returncode == 0 and "usage: brickwork " + sub in h.stdout


@pytest.mark.parametrize("args", [["bogus"], ["train", "--epochs", "0"],
                                  ["train", "--model", "resnet"], ["convert", "only-one"]])
def test_bad_usage_exits_2_with_one_line(args):
    out = cli(*args)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("brickwork")
    assert "Traceback" not in out.stderr


def test_errors_are_one_line_without_traceback(tmp_path):
    out = cli("inspect", str(tmp_path / "missing.bw"))
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "missing.bw" in out.stderr
    assert "Traceback" not in out.stderr
    debug = cli("--debug", "inspect", str(tmp_path / "missing.bw"))
    assert "Traceback" in debug.stderr


def test_train_writes_checkpoints_metrics_and_plot(tmp_path):
    out = tmp_path / "run"
    res = cli("train", "--epochs", "2", "--batch-size", "256", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert re.search(r"epoch 2: train loss [\d.]+ acc [\d.]+ \| test loss", res.stdout)
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "test_loss", "test_acc",
                             "seconds", "samples_per_s"]
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["test_acc"]) > 0.3  # ten classes: chance is 0.1
    state = bw.load(_newest(out))
    net = bw.nn.Sequential(bw.nn.Flatten(), bw.nn.Linear(784, 256), bw.nn.ReLU(),
                           bw.nn.Linear(256, 10))
    net.load_state_dict(state["model"])
    with open(out / "curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_resume_equals_uninterrupted_run(tmp_path):
    full, split = tmp_path / "full", tmp_path / "split"
    assert cli("train", "--epochs", "3", "--out", str(full), "--seed", "5").returncode == 0
    assert cli("train", "--epochs", "1", "--out", str(split), "--seed", "5").returncode == 0
    res = cli("train", "--epochs", "3", "--out", str(split), "--seed", "5", "--resume")
    assert res.returncode == 0 and "resuming from" in res.stdout
    a, b = _params(_newest(full)), _params(_newest(split))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)


def test_train_refuses_to_overwrite_without_resume(tmp_path):
    out = tmp_path / "run"
    assert cli("train", "--epochs", "1", "--out", str(out)).returncode == 0
    res = cli("train", "--epochs", "1", "--out", str(out))
    assert res.returncode == 1 and "--resume" in res.stderr


@pytest.mark.skipif(torch is None, reason="needs PyTorch to write the file")
def test_inspect_and_convert_a_pytorch_file_keeping_ties(tmp_path):
    shared = torch.nn.Linear(3, 2)
    torch.save(torch.nn.Sequential(shared, torch.nn.ReLU(), shared).state_dict(),
               tmp_path / "tied.pt")
    res = cli("inspect", str(tmp_path / "tied.pt"))
    assert res.returncode == 0, res.stderr
    assert "PyTorch zip" in res.stdout and "0.weight: tensor float32 [2, 3]" in res.stdout
    assert "0.weight = 2.weight" in res.stdout
    assert cli("convert", str(tmp_path / "tied.pt"), str(tmp_path / "tied.bw")).returncode == 0
    res = cli("inspect", str(tmp_path / "tied.bw"))
    assert "brickwork (safetensors" in res.stdout and "0.weight = 2.weight" in res.stdout
    assert "verified" in res.stdout
    assert cli("convert", str(tmp_path / "tied.bw"), str(tmp_path / "back.pt")).returncode == 0
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    assert back["0.weight"].data_ptr() == back["2.weight"].data_ptr()
    torch.testing.assert_close(back["0.weight"], shared.weight.detach())


def test_inspect_plain_safetensors_file(tmp_path):
    from safetensors.numpy import save_file

    save_file({"a": np.ones((2, 3), np.float32)}, str(tmp_path / "plain.safetensors"))
    res = cli("inspect", str(tmp_path / "plain.safetensors"))
    assert res.returncode == 0 and "format: safetensors" in res.stdout
    assert "a: tensor float32 [2, 3]" in res.stdout


def test_tour_runs_every_chapter_section():
    res = cli("tour")
    assert res.returncode == 0, res.stderr
    for title in ("Layers and blocks", "Parameter management", "Deferred initialization",
                  "Custom layers", "Reading and writing files", "GPUs"):
        assert f"=== {title}" in res.stdout
    assert "(block 3): Sequential(" in res.stdout
    assert "Linear(in_features=4, out_features=8, bias=True)" in res.stdout


def test_info_lists_versions_and_devices():
    res = cli("info")
    assert res.returncode == 0
    assert f"brickwork {bw.__version__}" in res.stdout and "NumPy" in res.stdout
    assert "devices: cpu" in res.stdout


def test_readme_commands_are_the_ones_ci_runs():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        ci = f.read()
    test_cmd = re.search(r"python -m pytest[^\n`]*", ci).group(0).strip()
    install = re.search(r"pip install -q -e '(\.\[test\])'", ci).group(1)
    assert f"pip install -e '{install}' && {test_cmd}" in readme


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path):
    import signal

    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "brickwork", "train", "--epochs", "200",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    first = proc.stdout.readline()  # wait until training is under way
    assert first.startswith("epoch 1:"), first + proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted: saved" in rest and "--resume" in rest
    saved = sorted(glob.glob(str(out / "ckpt-*.bw")))
    assert saved, "no checkpoint written on Ctrl-C"
    state = bw.load(saved[-1])
    assert state["extra"]["epoch"] >= 2 or state["extra"]["batches_done"] == 0
    res = cli("train", "--epochs", str(state["extra"]["epoch"]), "--out", str(out), "--resume")
    assert res.returncode == 0 and "resuming from" in res.stdout
