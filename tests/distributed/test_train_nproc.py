"""``brickwork train --nproc 2``: data-parallel Fashion-MNIST training under mpiexec, with the
files of one process, a loss close to one process's, and an exact resume."""
import csv
import glob
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import brickwork as bw
from brickwork._cli_train import build_model
from brickwork.cli import main

from ._launch import rank_env, require_mpi


def _env():
    # The ranks' environment (one BLAS thread each, brickwork importable), without the
    # variables of an MPI job: the command must launch its ranks itself.
    env = rank_env()
    for name in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"):
        env.pop(name, None)
    return env


def cli(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "brickwork", "train", "--batch-size", "256",
                           "--seed", "3", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=_env())


def _rows(folder):
    with open(os.path.join(folder, "metrics.csv")) as f:
        return list(csv.DictReader(f))


def _newest(folder):
    return sorted(glob.glob(os.path.join(folder, "ckpt-*.bw")))[-1]


def test_two_processes_train_like_one_and_resume_exactly(tmp_path, capsys):
    require_mpi()
    one, two, full = tmp_path / "one", tmp_path / "two", tmp_path / "full"
    res1 = cli("--epochs", "1", "--out", str(one))
    assert res1.returncode == 0, res1.stderr
    res2 = cli("--nproc", "2", "--epochs", "1", "--out", str(two))
    assert res2.returncode == 0, res2.stdout + res2.stderr
    assert sorted(os.listdir(one)) == sorted(os.listdir(two))
    # Rank 0 alone prints: each line once.
    assert res2.stdout.count("epoch 1: train loss") == 1, res2.stdout
    assert res2.stderr.count("data: Fashion-MNIST") == 1, res2.stderr
    # The same global batch size and step count, but another shuffle of the epoch: close,
    # not bit-identical (seeds differ by about as much).
    (ra,), (rb,) = _rows(one), _rows(two)
    assert abs(float(ra["train_loss"]) - float(rb["train_loss"])) < 0.05, (ra, rb)
    assert abs(float(ra["test_acc"]) - float(rb["test_acc"])) < 0.1, (ra, rb)
    state = bw.load(_newest(two))
    assert state["world_size"] == 2
    plain = build_model("mlp")
    plain.load_state_dict(state["model"])  # no "module." prefix: a plain model takes it

    # One process cannot continue a 2-process run: the error names both sizes.
    assert main(["train", "--epochs", "2", "--out", str(two), "--resume"]) == 1
    err = capsys.readouterr().err
    assert "world size 2" in err and "world size 1" in err, err
    # Resumed with 2 processes, the run ends where an uninterrupted one does, bit for bit.
    res = cli("--nproc", "2", "--epochs", "2", "--out", str(two), "--resume")
    assert res.returncode == 0 and "resuming from" in res.stdout, res.stdout + res.stderr
    assert cli("--nproc", "2", "--epochs", "2", "--out", str(full)).returncode == 0
    a, b = bw.load(_newest(full))["model"], bw.load(_newest(two))["model"]
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)
    assert [r["epoch"] for r in _rows(two)] == ["1", "2"]


def test_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--nproc", "3", "--batch-size", "256", "--out", str(out)]) == 2
    assert "--batch-size 256 does not split evenly over --nproc 3" in capsys.readouterr().err
    assert not out.exists()
    assert main(["train", "--nproc", "2", "--model", "charlm", "--out", str(out)]) == 2
    assert "--nproc trains the Fashion-MNIST models" in capsys.readouterr().err
    assert not out.exists()


def _rank_pid(out, rank):
    """The pid of rank ``rank`` of the job training into ``out`` (None if not running)."""
    marks = (f"PMI_RANK={rank}".encode(), f"OMPI_COMM_WORLD_RANK={rank}".encode())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if b"brickwork.distributed._rank_env" in cmd and str(out).encode() in cmd \
                and any(m in env for m in marks):
            return int(pid)
    return None


def test_a_rank_killed_mid_epoch_stops_the_run_and_it_resumes(tmp_path):
    require_mpi()
    if not os.path.isdir("/proc/self"):
        pytest.skip("finds the rank's process through /proc")
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "brickwork", "train", "--nproc", "2",
                             "--batch-size", "32", "--seed", "3", "--epochs", "2", "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())
    try:
        deadline = time.monotonic() + 90
        while not (out / "metrics.csv").exists():  # written after epoch 1's checkpoint
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "epoch 1 did not finish"
            time.sleep(0.02)
        pid = _rank_pid(out, 1)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # mid-epoch 2, without a word to rank 0
        killed = time.monotonic()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, err
    assert time.monotonic() - killed < 30
    last = _newest(out)
    assert last.endswith("ckpt-0000000063.bw")  # 2000 images / 32 a step: epoch 1's
    build_model("mlp").load_state_dict(bw.load(last)["model"])
    res = cli("--batch-size", "32", "--nproc", "2", "--epochs", "2", "--out", str(out),
              "--resume")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "resuming from" in res.stdout and "(epoch 2, batch 0)" in res.stdout
    assert _newest(out).endswith("ckpt-0000000126.bw")
