"""Checkpointer in a 2-rank DistributedDataParallel run: rank 0 writes, the file loads into a
plain model, and a run killed mid-epoch resumes to the same parameters bit for bit."""
import os
import time

import numpy as np
import pytest

import brickwork as bw
from brickwork.serialization.checkpoint import Checkpointer

from ._launch import mpirun

TOTAL, KILL_AFTER, EVERY = 17, 11, 3  # 7 steps an epoch: the kill lands mid-epoch 2

PROGRAM = f"""
import datetime, os, sys
import brickwork as bw
import brickwork.distributed as dist
from brickwork.nn.parallel import DistributedDataParallel as DDP
from brickwork.serialization.checkpoint import Checkpointer
from brickwork.utils.data import DataLoader, DistributedSampler, TensorDataset

out, mode = sys.argv[1], sys.argv[2]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=10))
rank = dist.get_rank()
bw.manual_seed(0)
X, y = bw.randn(50, 6), bw.randint(0, 3, (50,))
net = bw.nn.Sequential(bw.nn.Linear(6, 16), bw.nn.ReLU(), bw.nn.Dropout(0.3),
                       bw.nn.Linear(16, 3))
bw.manual_seed(100 + rank)  # each rank's own generator: its dropout masks and loader seeds
ddp = DDP(net)
opt = bw.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
sched = bw.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
sampler = DistributedSampler(TensorDataset(X, y), shuffle=True, seed=7)
loader = DataLoader(TensorDataset(X, y), batch_size=4, sampler=sampler)
ckpt = Checkpointer(os.path.join(out, "ckpt"), keep_last=2, every={EVERY})
info = None
if mode == "resume":
    ckpt.restore(net)  # a plain model takes the file too
    info = ckpt.restore(ddp, opt, sched, loader=loader)
    print(f"rank {{rank}} resumed step {{info['step']}} epoch {{info['epoch']}} "
          f"sampler epoch {{sampler.epoch}}", flush=True)
step = 0 if info is None else info["step"]
epoch = 0 if info is None else info["epoch"]
while step < {TOTAL}:
    sampler.set_epoch(epoch)
    for xb, yb in loader:
        opt.zero_grad()
        bw.nn.functional.cross_entropy(ddp(xb), yb).backward()
        opt.step()
        sched.step()
        step += 1
        ckpt.step(step, ddp, opt, sched, epoch=epoch, loader=loader)
        if mode == "kill" and step == {KILL_AFTER} and rank == 1:
            os._exit(1)  # dies outright: no notice to rank 0
        if step == {TOTAL}:
            break
    epoch += 1
if rank == 0:
    bw.save(net.state_dict(), os.path.join(out, f"final-{{mode}}.bw"))
if mode == "full":  # rank 0 cannot write: every rank hears of it, none waits forever
    clash = os.path.join(out, "clash")
    Checkpointer(clash).save(5, ddp)  # another run's checkpoint of step 5
    try:
        Checkpointer(clash).save(5, ddp)
    except (FileExistsError, RuntimeError) as e:
        print(f"rank {{rank}} {{type(e).__name__}}: {{e}}", flush=True)
dist.destroy_process_group()
"""


def _params(path):
    return bw.load(path)


def test_killed_ddp_run_resumes_bit_identically(tmp_path):
    full, broken = tmp_path / "full", tmp_path / "broken"
    full.mkdir()
    broken.mkdir()
    res = mpirun(2, PROGRAM, full, "full")
    assert "rank 0 FileExistsError: Checkpointer:" in res.stdout, res.stdout
    assert ("rank 1 RuntimeError: Checkpointer: rank 0 failed to write the checkpoint of step "
            "5: FileExistsError") in res.stdout, res.stdout
    start = time.monotonic()
    proc = mpirun(2, PROGRAM, broken, "kill", check=False, timeout=60)
    took = time.monotonic() - start
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert took < 45, f"the surviving rank took {took:.0f} s to stop"
    assert not (broken / "final-kill.bw").exists()
    # Only rank 0 wrote, pruning to keep_last=2; nothing after the kill at step 11.
    names = sorted(os.listdir(broken / "ckpt"))
    assert names == ["ckpt-0000000006.bw", "ckpt-0000000009.bw"], names

    state = bw.load(str(broken / "ckpt" / "ckpt-0000000009.bw"))
    assert state["world_size"] == 2 and len(state["rank_states"]) == 2
    assert not any(k.startswith("module.") for k in state["model"])
    plain = bw.nn.Sequential(bw.nn.Linear(6, 16), bw.nn.ReLU(), bw.nn.Dropout(0.3),
                             bw.nn.Linear(16, 3))
    plain.load_state_dict(state["model"])  # loads into a model that was never wrapped
    # The ranks' generators differ (seeded 100 + rank), and each was saved.
    r0, r1 = (s["rng_state"].numpy() for s in state["rank_states"])
    assert not np.array_equal(r0, r1)
    assert [s["sampler_epoch"] for s in state["rank_states"]] == [1, 1]

    # A process alone cannot take a 2-rank checkpoint: both world sizes are named.
    with pytest.raises(RuntimeError, match=r"world size 2.*world size 1"):
        Checkpointer(str(broken / "ckpt"), every=EVERY).restore(plain)

    res = mpirun(2, PROGRAM, broken, "resume")
    assert "rank 0 resumed step 9 epoch 1 sampler epoch 1" in res.stdout, res.stdout
    assert "rank 1 resumed step 9 epoch 1 sampler epoch 1" in res.stdout, res.stdout
    a, b = _params(str(full / "final-full.bw")), _params(str(broken / "final-resume.bw"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)
    # The resumed run went on with the same run id, pruning its own older checkpoints.
    assert sorted(os.listdir(broken / "ckpt")) == ["ckpt-0000000012.bw", "ckpt-0000000015.bw"]
