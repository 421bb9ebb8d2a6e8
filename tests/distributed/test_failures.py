"""A rank that fails, dies or never arrives stops the job instead of hanging it."""
from __future__ import annotations

import os
import time

import pytest

from ._launch import mpirun

_RAISES = r'''
import sys, time
import brickwork as torch
import brickwork.distributed as dist

dist.init_process_group("gloo")
dist.barrier()
if dist.get_rank() == 1:
    time.sleep(0.5)  # rank 0 is inside the all_reduce by now
    raise ValueError("boom on purpose")
if sys.argv[2] == "recv":
    dist.recv(torch.zeros(4), src=1)
else:
    dist.all_reduce(torch.ones(4))
print("rank 0 finished the all_reduce", flush=True)
'''


@pytest.mark.parametrize("waiting_in", ["all_reduce", "recv"])
def test_raising_rank_stops_the_others(tmp_path, waiting_in):
    start = time.monotonic()
    proc = mpirun(2, _RAISES, tmp_path, waiting_in, check=False, timeout=60)
    took = time.monotonic() - start
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert took < 20, f"the job took {took:.1f} s to stop"
    assert "rank 1 failed" in proc.stderr, proc.stderr
    assert "boom on purpose" in proc.stderr, proc.stderr
    assert "DistBackendError" in proc.stderr, proc.stderr
    assert "finished the all_reduce" not in proc.stdout


_KILLED = r'''
import datetime, os, signal, time
import brickwork as torch
import brickwork.distributed as dist

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=10))
dist.barrier()
if dist.get_rank() == 1:
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)
t = torch.ones(4)
dist.all_reduce(t)
print("rank 0 finished the all_reduce", flush=True)
'''


def test_killed_rank_does_not_hang_the_job(tmp_path):
    start = time.monotonic()
    proc = mpirun(2, _KILLED, tmp_path, check=False, timeout=45)
    took = time.monotonic() - start
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert took < 30, f"the job took {took:.1f} s to stop (group timeout 10 s)"
    assert "finished the all_reduce" not in proc.stdout


_ABSENT = r'''
import datetime, os, sys, time
import brickwork as torch
import brickwork.distributed as dist

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=2))
dist.barrier()
if dist.get_rank() == 1:
    time.sleep(4)  # past rank 0's timeout, never joining its all_reduce
    sys.stdout.flush()
    os._exit(0)
start = time.monotonic()
try:
    dist.all_reduce(torch.ones(4))
    msg = "no error"
except dist.DistBackendError as e:
    msg = f"DistBackendError after {time.monotonic() - start:.1f} s: {e}"
except Exception as e:
    msg = f"{type(e).__name__}: {e}"
with open(os.path.join(sys.argv[1], "rank0.txt"), "w") as f:
    f.write(msg)
sys.stdout.flush()
os._exit(0)  # the all_reduce can never finish: leave without MPI's finalize
'''


def test_absent_rank_times_out(tmp_path):
    proc = mpirun(2, _ABSENT, tmp_path, check=False, timeout=60)
    path = os.path.join(str(tmp_path), "rank0.txt")
    assert os.path.exists(path), proc.stdout + proc.stderr
    with open(path) as f:
        msg = f.read()
    assert msg.startswith("DistBackendError after"), msg
    assert "timeout" in msg, msg
    waited = float(msg.split()[2])
    assert 1.5 <= waited < 4, msg


_A2A_MISMATCH = r'''
import datetime, os, sys, time
import brickwork as torch
import brickwork.distributed as dist

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=2))
r, n = dist.get_rank(), dist.get_world_size()
dist.barrier()
start = time.monotonic()
# rank 0 sends 3 elements to rank 1, which expects 2; everything else matches
ins = [torch.ones(2 + (r == 0 and j == 1)) for j in range(n)]
outs = [torch.zeros(2) for _ in range(n)]
try:
    dist.all_to_all(outs, ins)
    msg = "no error"
except Exception as e:
    msg = f"{type(e).__name__}: {e}"
with open(os.path.join(sys.argv[1], f"rank{r}.txt"), "w") as f:
    f.write(msg)
time.sleep(max(0.0, start + 4.5 - time.monotonic()))  # rank 0 has timed out by now if it hangs
sys.stdout.flush()
os._exit(0)
'''


def test_all_to_all_size_mismatch_raises_on_every_rank(tmp_path):
    proc = mpirun(2, _A2A_MISMATCH, tmp_path, check=False, timeout=40)
    for r in range(2):
        path = os.path.join(str(tmp_path), f"rank{r}.txt")
        assert os.path.exists(path), f"rank {r} never returned\n{proc.stdout}{proc.stderr}"
        with open(path) as f:
            msg = f.read()
        assert msg.startswith("RuntimeError"), msg
        assert "rank 0" in msg and "rank 1" in msg, msg
