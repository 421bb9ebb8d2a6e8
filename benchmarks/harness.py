"""Side-by-side timing against PyTorch: each framework in its own process, runs interleaved.

PyTorch's idle OpenMP threads spin and steal cores from NumPy's BLAS when both live in one
process, so every measurement runs in a fresh subprocess that imports only one framework. The
rounds alternate between frameworks and the reported figure is the median over rounds.

A benchmark script defines ``WORKLOADS`` (names) and ``run_worker(framework, names) -> dict`` and
calls ``main(__file__, WORKLOADS, run_worker)``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def time_call(fn, min_time: float = 0.2, repeat: int = 5, best: bool = False) -> float:
    """Seconds per call of ``fn`` over ``repeat`` runs of an auto-sized loop: the median, or
    with ``best`` the fastest run (for microsecond ops, where a run only gets slower when
    something else interrupts it)."""
    fn()
    n, elapsed = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time / repeat or n >= 1 << 24:
            break
        n *= 2 if elapsed == 0 else max(2, int(min_time / repeat / max(elapsed, 1e-9)))
    runs = [elapsed / n]
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t0) / n)
    return min(runs) if best else statistics.median(runs)


def framework(name: str):
    """Import brickwork or torch under the one name the workloads use."""
    if name == "torch":
        import torch

        return torch
    import brickwork

    return brickwork


def _run_one(script: str, fw: str, names, extra) -> dict:
    cmd = [sys.executable, script, "--worker", fw, "--only", ",".join(names)] + extra
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{fw} worker failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(script: str, workloads, run_worker, targets=None, description: str = "") -> dict:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--worker", choices=["brickwork", "torch"])
    parser.add_argument("--only", default=",".join(workloads))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args, extra = parser.parse_known_args()
    names = [n for n in args.only.split(",") if n]
    if args.worker:
        print(json.dumps(run_worker(args.worker, names, extra)))
        return {}
    results: dict = {"brickwork": {}, "torch": {}}
    for r in range(args.rounds):
        order = ("brickwork", "torch") if r % 2 == 0 else ("torch", "brickwork")
        for fw in order:
            for k, v in _run_one(script, fw, names, extra).items():
                results[fw].setdefault(k, []).append(v)
    rows = []
    print(f"{'workload':<48} {'brickwork':>12} {'pytorch':>12} {'ratio':>7} {'target':>8}")
    for name in names:
        for key in sorted(k for k in results["brickwork"] if k == name or k.startswith(name + ":")):
            b = statistics.median(results["brickwork"][key])
            t = statistics.median(results["torch"].get(key, [float("nan")]))
            ratio = b / t if t else float("nan")
            target = (targets or {}).get(key, "")
            rows.append({"workload": key, "brickwork_s": b, "torch_s": t, "ratio": ratio,
                         "target": target})
            print(f"{key:<48} {_fmt(b, key):>12} {_fmt(t, key):>12} {ratio:>7.2f} {str(target):>8}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return {"rows": rows}


def _fmt(seconds: float, key: str = "") -> str:
    if key.endswith("_mem"):  # memory workloads report bytes
        return f"{seconds / 2**20:.1f} MB"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
