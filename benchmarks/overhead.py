"""Per-op overhead: one small op and a tiny forward+backward, brickwork vs PyTorch.

Run: ``python benchmarks/overhead.py`` (prints times and brickwork/PyTorch ratios). Each
process reports its fastest of 10 timed loops (a microsecond op only gets slower when something
interrupts it); the table shows the median over the interleaved rounds.
Targets (autograd issue): ``add_requires_grad`` and ``tiny_forward_backward`` at most 1.3x PyTorch.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import framework, main  # noqa: E402
from harness import time_call as _time_call  # noqa: E402

WORKLOADS = ["add", "add_requires_grad", "tiny_forward_backward", "tensor_creation"]
TARGETS = {"add_requires_grad": "<=1.3", "tiny_forward_backward": "<=1.3"}


def run_worker(fw_name: str, names, extra) -> dict:
    lib = framework(fw_name)
    if fw_name == "torch":
        lib.set_num_threads(1)
    a = lib.ones(10)
    b = lib.ones(10)
    ag = lib.ones(10, requires_grad=True)
    w = lib.ones(10, requires_grad=True)
    x = lib.ones(10)
    out = {}

    def time_call(fn):
        return _time_call(fn, min_time=1.0, repeat=10, best=True)

    if "add" in names:
        out["add"] = time_call(lambda: a + b)
    if "add_requires_grad" in names:
        out["add_requires_grad"] = time_call(lambda: ag + b)
    if "tiny_forward_backward" in names:
        def step():
            y = (w * x + 1.0).relu().sum()
            y.backward()
        out["tiny_forward_backward"] = time_call(step)
    if "tensor_creation" in names:
        out["tensor_creation"] = time_call(lambda: lib.zeros(10))
    return out


if __name__ == "__main__":
    main(__file__, WORKLOADS, run_worker, TARGETS, __doc__)
