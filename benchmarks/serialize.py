"""Save/load speed against PyTorch on a 100 MB state_dict (8 float32 tensors).

Each measurement runs in a fresh subprocess per framework, interleaved, and the medians are
printed with ratios (brickwork / torch; below 1.0 is faster). Also prints the disk's
sequential write speed with fsync (``dd ... conv=fsync``) for scale.

Both frameworks write a new file each run: brickwork's atomic save always writes a new file
(then renames it over the target), and on some virtual disks writing fresh blocks is several
times slower than overwriting a file in place, so timing torch.save overwriting the same file
would compare different disk operations.

``--format torch`` has brickwork write and read PyTorch's zip format (a ``.pt`` path) instead of
its own, against the same torch.save/torch.load.

Run: python benchmarks/serialize.py [--repeats 5] [--format brickwork|torch]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, os, sys, time
import numpy as np
lib, folder, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
rng = np.random.default_rng(0)
arrays = {f"layer{i}.weight": rng.standard_normal(3_276_800, dtype=np.float32) for i in range(8)}
if lib == "torch":
    import torch
    sd = {k: torch.from_numpy(v) for k, v in arrays.items()}
    path = os.path.join(folder, f"sd-{os.getpid()}.pt")
    def save():
        with open(path, "wb") as f:
            torch.save(sd, f)
            f.flush()
            os.fsync(f.fileno())
    load = lambda: torch.load(path, weights_only=True)
    load_mmap = lambda: torch.load(path, weights_only=True, mmap=True)
else:
    import brickwork
    sd = {k: brickwork.from_numpy(v) for k, v in arrays.items()}
    path = os.path.join(folder, f"sd-{os.getpid()}." + ("pt" if fmt == "torch" else "bw"))
    save = lambda: brickwork.save(sd, path)  # atomic: fsyncs the file and the folder
    load = lambda: brickwork.load(path)
    load_mmap = lambda: brickwork.load(path, mmap=True)
out = {}
t = time.perf_counter(); save(); out["save"] = time.perf_counter() - t
t = time.perf_counter(); loaded = load(); out["load"] = time.perf_counter() - t
del loaded
t = time.perf_counter()
one = load_mmap()["layer3.weight"]
float(one[0])
out["mmap_one"] = time.perf_counter() - t
os.unlink(path)
print(json.dumps(out))
"""


def dd_speed(folder: str) -> float:
    path = os.path.join(folder, "dd.bin")
    t = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=256", "conv=fsync"],
                   check=True, capture_output=True)
    dt = time.perf_counter() - t
    os.unlink(path)
    return 256 * 2 ** 20 / dt / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--format", choices=["brickwork", "torch"], default="brickwork",
                    help="the file format brickwork writes and reads")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(dir=here) as folder:
        runs: dict = {"brickwork": [], "torch": []}
        for _ in range(args.repeats):
            for lib in ("torch", "brickwork"):
                res = subprocess.run([sys.executable, "-c", CHILD, lib, folder, args.format], check=True,
                                     capture_output=True, text=True)
                runs[lib].append(json.loads(res.stdout.strip().splitlines()[-1]))
        disk = dd_speed(folder)
    size_gb = 8 * 3_276_800 * 4 / 1e9
    print(f"state_dict: 8 float32 tensors, {size_gb * 1000:.0f} MB; brickwork writes the "
          f"{args.format} format; medians of {args.repeats}")
    for what in ("save", "load", "mmap_one"):
        b = statistics.median(r[what] for r in runs["brickwork"])
        t = statistics.median(r[what] for r in runs["torch"])
        extra = f"  ({size_gb / b:.2f} GB/s vs {size_gb / t:.2f} GB/s)" if what != "mmap_one" \
            else ""
        print(f"{what:9s} brickwork {b * 1000:8.1f} ms   torch {t * 1000:8.1f} ms   "
              f"ratio {b / t:5.2f}x{extra}")
    print(f"disk sequential write with fsync (dd, 256 MiB): {disk:.2f} GB/s")


if __name__ == "__main__":
    main()
