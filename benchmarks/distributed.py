"""Distributed speed: all-reduce bandwidth, DDP's overlap of communication with backward, and
strong scaling from 1 to 2 ranks beside PyTorch's DDP on gloo.

1. ``allreduce``: 4-256 MB float32 buffers reduced in place by ``brickwork.distributed.
   all_reduce`` and by mpi4py's own ``Allreduce(IN_PLACE, ...)`` on the same buffers, the two
   interleaved within each rank's process, medians over repeats; reports GB/s (bytes of the
   buffer over the time) and brickwork's share of mpi4py's bandwidth (target >= 0.95).
2. ``overlap``: the MLP (784-256-256-10) and LeNet at batch 512 per rank over 2 ranks: the
   communication a step needs (the buckets' all-reduces timed alone), what the step costs
   beyond the same step under ``no_sync()`` followed by a barrier (so both wait for the slower
   rank; that is exposed communication), and the fraction hidden behind backward:
   ``1 - exposed / communication``. With 2 ranks on 2 cores no core is free to communicate
   while both compute, so little can be hidden on such a machine.
3. ``scaling``: the MLP at global batch 1024 on 1 rank and on 2 ranks (512 each), one SGD step,
   for brickwork (DDP on MPI) and PyTorch (DDP on gloo), each framework in its own processes;
   speed-up = time on 1 rank / time on 2 ranks.

Every rank runs with one BLAS thread (2 ranks on 2 cores).

Run: python benchmarks/distributed.py [--repeats 7] [--only allreduce,overlap,scaling]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

SIZES_MB = (4, 16, 64, 256)
HERE = os.path.abspath(__file__)


def _env() -> dict:
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    return env


def _mpiexec(n: int, *args: str) -> list[dict]:
    exe = shutil.which("mpiexec")
    if exe is None:
        sys.exit("benchmarks/distributed.py needs MPI: pip install mpi4py mpich")
    out = subprocess.run([exe, "-n", str(n), sys.executable, HERE, *args], env=_env(),
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"ranks failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


# -- workers (run inside the ranks) ---------------------------------------------------------------
def worker_allreduce(repeats: int) -> None:
    import numpy as np
    from mpi4py import MPI

    import brickwork as bw
    import brickwork.distributed as dist

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD.Dup()
    result = {}
    for mb in SIZES_MB:
        arr = np.ones(mb * 2 ** 20 // 4, np.float32)
        t = bw.from_numpy(arr)
        runs = {"mpi4py": [], "brickwork": []}
        for _ in range(2):  # warm both paths up
            comm.Allreduce(MPI.IN_PLACE, arr)
            dist.all_reduce(t)
        for _ in range(repeats):
            for name in ("mpi4py", "brickwork") if _ % 2 == 0 else ("brickwork", "mpi4py"):
                comm.Barrier()
                t0 = time.perf_counter()
                if name == "mpi4py":
                    comm.Allreduce(MPI.IN_PLACE, arr)
                else:
                    dist.all_reduce(t)
                runs[name].append(time.perf_counter() - t0)
                arr.fill(1.0)
        result[str(mb)] = {k: statistics.median(v) for k, v in runs.items()}
    if dist.get_rank() == 0:
        print(json.dumps(result))
    dist.destroy_process_group()


def _models(bw):
    nn = bw.nn

    def mlp():
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
                             nn.ReLU(), nn.Linear(256, 10))

    def lenet():
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))
    return {"mlp": mlp, "lenet": lenet}


def _timed(fn, repeats: int) -> float:
    fn()
    fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def worker_overlap(repeats: int) -> None:
    import brickwork as bw
    import brickwork.distributed as dist
    from brickwork.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("mpi")
    result = {}
    for name, make in _models(bw).items():
        bw.manual_seed(0)
        model = DDP(make())
        opt = bw.optim.SGD(model.parameters(), lr=0.01)
        x = bw.randn(512, 1, 28, 28)
        y = bw.randint(0, 10, (512,))
        loss_fn = bw.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

        def local_step():  # the barrier makes it wait for the slower rank, as a synced step does
            opt.zero_grad()
            with model.no_sync():
                loss_fn(model(x), y).backward()
            opt.step()
            dist.barrier()

        grads = [p.detach().clone() for p in model.parameters()]

        def comm_only():  # the same bytes, all-reduced alone
            flat = bw.cat([g.reshape(-1) for g in grads])
            dist.all_reduce(flat)

        t_step, t_local, t_comm = [], [], []
        for _ in range(repeats):
            dist.barrier()
            t_step.append(_timed(step, 1))
            dist.barrier()
            t_local.append(_timed(local_step, 1))
            dist.barrier()
            t_comm.append(_timed(comm_only, 1))
        step_s, local_s, comm_s = (statistics.median(v) for v in (t_step, t_local, t_comm))
        exposed = max(step_s - local_s, 0.0)
        result[name] = {"step": step_s, "local": local_s, "comm": comm_s,
                        "hidden": max(0.0, 1.0 - exposed / comm_s) if comm_s > 0 else 1.0}
    if dist.get_rank() == 0:
        print(json.dumps(result))
    dist.destroy_process_group()


def worker_scaling(fw: str, repeats: int) -> None:
    """One framework, 1 or 2 ranks: median seconds per SGD step at global batch 1024."""
    if fw == "torch":
        import torch as lib
        import torch.distributed as dist
        world = int(os.environ.get("WORLD_SIZE", "1"))
        lib.set_num_threads(1)
        if world > 1:
            dist.init_process_group("gloo")
        from torch.nn.parallel import DistributedDataParallel as DDP
    else:
        import brickwork as lib
        import brickwork.distributed as dist
        from brickwork.nn.parallel import DistributedDataParallel as DDP
        dist.init_process_group("mpi")
        world = dist.get_world_size()
    lib.manual_seed(0)
    model = _models(lib)["mlp"]()
    if world > 1:
        model = DDP(model)
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    per_rank = 1024 // world
    x = lib.randn(per_rank, 1, 28, 28)
    y = lib.randint(0, 10, (per_rank,))
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    t = _timed(step, repeats)
    rank = dist.get_rank() if dist.is_initialized() else 0
    if rank == 0:
        print(json.dumps({"step": t}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torch_ranks(n: int, repeats: int) -> float:
    """PyTorch's DDP on gloo with ``n`` processes (torchrun's variables set by hand)."""
    port = str(_free_port())
    procs = []
    for r in range(n):
        env = _env()
        env.update({"RANK": str(r), "WORLD_SIZE": str(n), "LOCAL_RANK": str(r),
                    "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port})
        procs.append(subprocess.Popen([sys.executable, HERE, "--worker", "scaling-torch",
                                       "--repeats", str(repeats)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate() for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"torch ranks failed: {[o[1][-1500:] for o in outs]}")
    return json.loads(outs[0][0].strip().splitlines()[-1])["step"]


# -- the report ---------------------------------------------------------------------------------
def report_allreduce(repeats: int) -> None:
    res = _mpiexec(2, "--worker", "allreduce", "--repeats", str(repeats))[0]
    print("all-reduce, 2 ranks, float32, in place (GB/s = buffer bytes / time)")
    print(f"{'size':>8} {'mpi4py':>10} {'brickwork':>10} {'share':>7}  target >= 0.95")
    for mb in SIZES_MB:
        r = res[str(mb)]
        gb = mb * 2 ** 20 / 1e9
        print(f"{mb:>6}MB {gb / r['mpi4py']:>9.2f} {gb / r['brickwork']:>10.2f} "
              f"{r['mpi4py'] / r['brickwork']:>7.3f}")


def report_overlap(repeats: int) -> None:
    res = _mpiexec(2, "--worker", "overlap", "--repeats", str(repeats))[0]
    print("\nDDP overlap, 2 ranks, batch 512 per rank")
    print(f"{'model':>6} {'step':>9} {'no_sync':>9} {'comm':>9} {'hidden':>7}")
    for name, r in res.items():
        print(f"{name:>6} {r['step'] * 1e3:>7.1f}ms {r['local'] * 1e3:>7.1f}ms "
              f"{r['comm'] * 1e3:>7.2f}ms {r['hidden']:>7.2f}")


def report_scaling(repeats: int) -> None:
    rows = {}
    for _ in range(2):  # interleave the frameworks
        for fw in ("brickwork", "torch"):
            for n in (1, 2):
                if fw == "torch":
                    t = _torch_ranks(n, repeats)
                else:
                    t = _mpiexec(n, "--worker", "scaling-brickwork",
                                 "--repeats", str(repeats))[0]["step"]
                rows.setdefault((fw, n), []).append(t)
    print("\nstrong scaling, MLP, global batch 1024, one SGD step")
    print(f"{'framework':>10} {'1 rank':>9} {'2 ranks':>9} {'speed-up':>9}")
    for fw in ("brickwork", "torch"):
        one = statistics.median(rows[(fw, 1)])
        two = statistics.median(rows[(fw, 2)])
        print(f"{fw:>10} {one * 1e3:>7.1f}ms {two * 1e3:>7.1f}ms {one / two:>9.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", default="allreduce,overlap,scaling")
    ap.add_argument("--worker", default=None)
    args = ap.parse_args()
    if args.worker == "allreduce":
        return worker_allreduce(args.repeats)
    if args.worker == "overlap":
        return worker_overlap(args.repeats)
    if args.worker in ("scaling-torch", "scaling-brickwork"):
        return worker_scaling(args.worker.split("-")[1], args.repeats)
    parts = args.only.split(",")
    if "allreduce" in parts:
        report_allreduce(args.repeats)
    if "overlap" in parts:
        report_overlap(args.repeats)
    if "scaling" in parts:
        report_scaling(args.repeats)


if __name__ == "__main__":
    main()
