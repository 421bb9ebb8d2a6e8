"""``benchmarks/gpu.py``'s brickwork side runs end to end (tiny sizes), so the benchmark is ready
for the first machine with a GPU."""
from __future__ import annotations

import importlib.util
import os
import sys

_BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")


def test_gpu_benchmark_worker_runs(gpu, monkeypatch):
    monkeypatch.syspath_prepend(_BENCH)
    spec = importlib.util.spec_from_file_location("gpu_bench", os.path.join(_BENCH, "gpu.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "N_SWISH", 1 << 12)
    monkeypatch.setattr(bench, "SMALL_INNER", 3)
    real = bench.time_call
    monkeypatch.setattr(bench, "time_call",
                        lambda fn, **kw: real(fn, **{**kw, "min_time": 0.01}))
    out = bench.run_worker("brickwork", bench.WORKLOADS, None)
    assert set(out) == set(bench.WORKLOADS)
    assert all(t > 0 for t in out.values())
    sys.modules.pop("harness", None)
