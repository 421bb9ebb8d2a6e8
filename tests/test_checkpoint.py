"""Checkpointer: retention, skipping damaged files, and kill-and-resume equal to one run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.training import Checkpointer

TRAIN = textwrap.dedent("""
    import sys
    import numpy as np
    import brickwork as torch
    from brickwork import nn
    from brickwork.training import Checkpointer

    folder, total, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    x_all, y_all = torch.randn(64, 4), torch.randn(64, 1)
    ckpt = Checkpointer(folder, keep_last=2, every=5)
    info = ckpt.restore(net, opt)
    start = 0 if info is None else info["step"]
    for step in range(start + 1, total + 1):
        idx = torch.randperm(64)[:16]  # batches drawn from the default generator
        x, y = x_all[idx], y_all[idx] + 0.01 * torch.randn(16, 1)
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        ckpt.step(step, net, opt, metric=loss.item(), epoch=step // 4)
        print("step", step, flush=True)
    torch.save(net.state_dict(), out)
""")


def _run(folder, total, out, kill_after=None):
    proc = subprocess.Popen([sys.executable, "-c", TRAIN, str(folder), str(total), str(out)],
                            stdout=subprocess.PIPE, text=True)
    if kill_after is not None:
        for line in proc.stdout:
            if line.strip() == f"step {kill_after}":
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.stdout.read()
    proc.stdout.close()
    return proc.wait()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_and_resumed_run_equals_uninterrupted_run(tmp_path):
    assert _run(tmp_path / "a", 40, tmp_path / "a.bw") == 0
    assert _run(tmp_path / "b", 40, tmp_path / "b.bw", kill_after=23) == -signal.SIGKILL
    assert not (tmp_path / "b.bw").exists()
    assert _run(tmp_path / "b", 40, tmp_path / "b.bw") == 0
    a, b = brickwork.load(tmp_path / "a.bw"), brickwork.load(tmp_path / "b.bw")
    assert list(a) == list(b)
    for k in a:
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k  # bit-identical


def _model():
    brickwork.manual_seed(1)
    return nn.Linear(3, 2)


def test_keeps_last_k_plus_best_and_restores(tmp_path):
    net = _model()
    opt = brickwork.optim.SGD(net.parameters(), lr=0.1)
    ckpt = Checkpointer(tmp_path, keep_last=2, every=2, mode="min")
    metrics = {2: 5.0, 4: 0.5, 6: 3.0, 8: 4.0, 10: 2.0}
    for step in range(1, 11):
        saved = ckpt.step(step, net, opt, metric=metrics.get(step), extra={"note": step})
        assert (saved is not None) == (step % 2 == 0)
    names = [os.path.basename(p) for p in ckpt.checkpoints()]
    assert names == ["ckpt-0000000004.bw", "ckpt-0000000008.bw", "ckpt-0000000010.bw"]
    assert ckpt.best().endswith("ckpt-0000000004.bw")
    saved_weight = net.weight.detach().numpy().copy()
    rng = brickwork.get_rng_state()
    with brickwork.no_grad():
        net.weight.fill_(0.0)
    brickwork.rand(5)
    info = ckpt.restore(net, opt)
    assert info["step"] == 10 and info["extra"] == {"note": 10} and info["metric"] == 2.0
    np.testing.assert_array_equal(net.weight.detach().numpy(), saved_weight)
    np.testing.assert_array_equal(brickwork.get_rng_state().numpy(), rng.numpy())


def test_damaged_newest_checkpoint_is_skipped_with_warning(tmp_path):
    net = _model()
    ckpt = Checkpointer(tmp_path, keep_last=3)
    ckpt.save(1, net, metric=1.0)
    with brickwork.no_grad():
        net.weight.add_(1.0)
    newest = ckpt.save(2, net)
    data = bytearray(open(newest, "rb").read())
    data[-3] ^= 0xFF
    open(newest, "wb").write(bytes(data))
    fresh = _model()
    with pytest.warns(RuntimeWarning, match="skipping damaged checkpoint.*0000000002"):
        info = ckpt.restore(fresh)
    assert info["step"] == 1
    assert Checkpointer(tmp_path / "empty").restore(fresh) is None
    with pytest.raises(ValueError, match="keep_last"):
        Checkpointer(tmp_path, keep_last=0)
