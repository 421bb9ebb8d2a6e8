"""``brickwork train --model charlm``: the character-level transformer language model."""
import ast
import csv
import glob
import os
import subprocess
import sys

import numpy as np

import brickwork as bw
from brickwork import _cli_charlm


def cli(*args, cwd=None, timeout=240):
    return subprocess.run([sys.executable, "-m", "brickwork", "train", "--model", "charlm",
                           *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def _newest(folder):
    return sorted(glob.glob(os.path.join(folder, "ckpt-*.bw")))[-1]


def _metrics(folder):
    with open(os.path.join(folder, "metrics.csv")) as f:
        return list(csv.DictReader(f))


def _samples(stdout):
    lines = stdout.splitlines()
    start = lines.index("samples:")
    # each sample is printed as its repr, on one line
    return [ast.literal_eval(line.strip()) for line in lines[start + 1:start + 4]]


def test_loss_decreases_and_samples_are_printed(tmp_path):
    out = tmp_path / "run"
    res = cli("--epochs", "3", "--out", str(out))
    assert res.returncode == 0, res.stderr
    rows = _metrics(out)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[-1] < losses[0] - 0.3, losses
    assert float(rows[-1]["test_loss"]) < np.log(42) - 0.5  # well below a uniform guess
    samples = _samples(res.stdout)
    vocab = bw.load(_newest(out))["extra"]["config"]["vocab"]
    assert len(samples) == 3
    for s in samples:
        assert len(s) == 1 + _cli_charlm.SAMPLE_CHARS and set(s) <= set(vocab)
    assert "wrote" in res.stdout and (out / "curves.png").exists()


def test_resume_equals_uninterrupted_run(tmp_path):
    full, split = tmp_path / "full", tmp_path / "split"
    assert cli("--epochs", "3", "--out", str(full), "--seed", "3").returncode == 0
    assert cli("--epochs", "1", "--out", str(split), "--seed", "3").returncode == 0
    res = cli("--epochs", "3", "--out", str(split), "--seed", "3", "--resume")
    assert res.returncode == 0 and "resuming from" in res.stdout, res.stderr
    a, b = bw.load(_newest(full))["model"], bw.load(_newest(split))["model"]
    assert a.keys() == b.keys() and len(a) > 10
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)
    timing = {"seconds", "samples_per_s"}
    strip = [{k: v for k, v in r.items() if k not in timing} for r in _metrics(full)]
    assert strip == [{k: v for k, v in r.items() if k not in timing} for r in _metrics(split)]
    # the same seed samples the same text from the same weights
    full_run = cli("--epochs", "3", "--out", str(full), "--resume")
    assert _samples(full_run.stdout) == _samples(res.stdout)


def test_user_text_file_and_resuming_with_other_text_is_refused(tmp_path):
    text = tmp_path / "abc.txt"
    text.write_text("abcab cabca bcabc " * 20, encoding="utf-8")
    out = tmp_path / "run"
    res = cli("--epochs", "2", "--data", str(text), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert f"360 characters (4 distinct) from {text}" in res.stderr
    assert bw.load(_newest(out))["extra"]["config"]["vocab"] == " abc"
    assert all(set(s) <= set(" abc") for s in _samples(res.stdout))
    # a periodic text is easy: the model should predict most characters after two epochs
    assert float(_metrics(out)[-1]["train_acc"]) > 0.4
    other = tmp_path / "other.txt"
    other.write_text("xyz " * 50, encoding="utf-8")
    res = cli("--epochs", "3", "--data", str(other), "--out", str(out), "--resume")
    assert res.returncode == 2 and "resume with the same text" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_missing_or_empty_data_is_a_one_line_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    for data, expect in [(tmp_path / "nope.txt", "cannot read the text file"),
                         (empty, "the text has 0 characters")]:
        out = tmp_path / "run"
        res = cli("--epochs", "1", "--data", str(data), "--out", str(out))
        assert res.returncode == 2, res.stderr
        assert res.stderr.count("\n") == 1 and expect in res.stderr and str(data) in res.stderr
        assert "Traceback" not in res.stderr
        assert not out.exists()  # checked before anything is written


def test_model_is_causal_and_small():
    # NumPy only: changing a later character must not change the logits of earlier positions.
    bw.manual_seed(0)
    net = _cli_charlm.build_model(10)
    assert sum(p.numel() for p in net.parameters()) < 40_000
    x = bw.randint(0, 10, (2, _cli_charlm.BLOCK))
    y = x.clone()
    y[:, 20] = (y[:, 20] + 1) % 10
    with bw.no_grad():
        a, b = net(x), net(y)
    assert a.shape == (2, _cli_charlm.BLOCK, 10)
    np.testing.assert_array_equal(a[:, :20].numpy(), b[:, :20].numpy())
    assert not np.allclose(a[:, 20:].numpy(), b[:, 20:].numpy())
