"""brickwork's DistributedDataParallel against PyTorch's own DDP (gloo), 2 ranks.

The test writes the initial weights and the data to ``.npy`` files; brickwork trains on 2 MPI
ranks and PyTorch on 2 gloo processes (``torch.multiprocessing``, MASTER_ADDR=127.0.0.1 and a
free port); both write rank 0's final parameters and buffers, which must agree to float32
tolerance.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ._launch import mpirun, rank_env

torch = pytest.importorskip("torch")

MODELS = r'''
import numpy as np

def build(nn, which):
    if which == "mlp":
        return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                             nn.Linear(32, 3))
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 6 * 6, 3))

def train(torch, DDP, folder, rank, world):
    nn = torch.nn
    for which in ("mlp", "conv"):
        model = build(nn, which)
        init = np.load(f"{folder}/{which}_init.npz")
        model.load_state_dict({k: torch.tensor(init[k]) for k in init.files})
        ddp = DDP(model, bucket_cap_mb=0.001)
        opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
        xs, ys = np.load(f"{folder}/{which}_x.npy"), np.load(f"{folder}/y.npy")
        per = xs.shape[1] // world
        for x, y in zip(xs, ys):
            opt.zero_grad()
            out = ddp(torch.tensor(x[rank * per:(rank + 1) * per]))
            nn.functional.cross_entropy(out, torch.tensor(y[rank * per:(rank + 1) * per])
                                        ).backward()
            opt.step()
        if rank == 0:
            np.savez(f"{folder}/{which}_{torch.__name__}.npz",
                     **{k: v.detach().numpy() for k, v in model.state_dict().items()})
'''

BRICKWORK = MODELS + r'''
import sys
import brickwork
import brickwork.distributed as dist
from brickwork.nn.parallel import DistributedDataParallel
dist.init_process_group("gloo")
train(brickwork, DistributedDataParallel, sys.argv[1], dist.get_rank(), dist.get_world_size())
dist.destroy_process_group()
'''

TORCH = MODELS + r'''
import os, sys
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

def run(rank, folder, world):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    train(torch, torch.nn.parallel.DistributedDataParallel, folder, rank, world)
    dist.destroy_process_group()

if __name__ == "__main__":
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = sys.argv[2]
    import torch._dynamo  # DDP imports it on first use: once here, not in each rank
    # fork: the ranks inherit the imported torch instead of importing it again (seconds each)
    mp.start_processes(run, args=(sys.argv[1], 2), nprocs=2, start_method="fork")
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_equals_pytorch_ddp_gloo(tmp_path):
    rng = np.random.default_rng(3)
    torch.manual_seed(3)
    ns: dict = {}
    exec(MODELS, ns)
    for which in ("mlp", "conv"):
        model = ns["build"](torch.nn, which)
        np.savez(tmp_path / f"{which}_init.npz",
                 **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    np.save(tmp_path / "mlp_x.npy", rng.standard_normal((4, 16, 12)).astype(np.float32))
    np.save(tmp_path / "conv_x.npy", rng.standard_normal((4, 16, 2, 6, 6)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, (4, 16)))

    mpirun(2, BRICKWORK, tmp_path, timeout=120)
    script = tmp_path / "torch_ddp.py"
    script.write_text(textwrap.dedent(TORCH))
    proc = subprocess.run([sys.executable, str(script), str(tmp_path), str(_free_port())],
                          capture_output=True, text=True, timeout=180, env=rank_env(),
                          cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr

    for which in ("mlp", "conv"):
        ours = np.load(tmp_path / f"{which}_brickwork.npz")
        theirs = np.load(tmp_path / f"{which}_torch.npz")
        assert sorted(ours.files) == sorted(theirs.files)
        init = np.load(tmp_path / f"{which}_init.npz")
        for k in theirs.files:
            if theirs[k].dtype.kind == "f":
                assert not np.array_equal(theirs[k], init[k]), k  # training moved it
                np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-5, atol=2e-6,
                                           err_msg=f"{which}: {k}")
            else:
                np.testing.assert_array_equal(ours[k], theirs[k], err_msg=f"{which}: {k}")
    assert os.path.exists(tmp_path / "mlp_torch.npz")
