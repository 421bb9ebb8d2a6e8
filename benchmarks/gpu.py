"""GPU workloads, brickwork (CuPy) vs PyTorch on the same GPU, each in its own process.

Run: ``python benchmarks/gpu.py`` (``--only swish64m,mlp4096`` to pick workloads). Exits with a
message and status 0 when no GPU is available. Times synchronize the device before and after.
Targets (GPU issue): fused swish >= 1.3x faster than PyTorch's composed ``x*torch.sigmoid(x)``
(time ratio <= 0.77) and >= 0.8 of the device copy bandwidth; MLP 784-256-10 step, batch 4096
<= 1.3; LeNet step, batch 256 <= 2.0; ``a + b`` (10 elements, requires_grad) <= 2.0.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import framework, main, time_call  # noqa: E402
from brickwork._cli_train import build_model  # noqa: E402  (the same networks)

WORKLOADS = ["swish64m", "copy64m", "mlp4096", "lenet256", "small_add"]
TARGETS = {"swish64m": "<=0.77", "mlp4096": "<=1.3", "lenet256": "<=2.0", "small_add": "<=2.0"}
N_SWISH = 64 * 2**20  # elements (float32): 256 MiB read + 256 MiB written
SMALL_INNER = 1000  # small ops are timed in batches with one synchronize per batch


def _swish_op(lib):
    """The fused op for brickwork; PyTorch's composed expression for torch."""
    if lib.__name__ != "brickwork":
        return lambda x: x * lib.sigmoid(x)
    return lib.cuda.elementwise(
        "swish", "y = x / (1 + exp(-x))",
        "T s = 1 / (1 + exp(-x)); gx = gy * s * (1 + x * (1 - s))")


def _timed(lib, fn, inner=1, **kw):
    sync = lib.cuda.synchronize

    def batch():
        for _ in range(inner):
            fn()
        sync()
    sync()
    return time_call(batch, **kw) / inner


def _mlp(lib):
    return build_model("mlp", lib.nn)


def _lenet(lib):
    return build_model("lenet", lib.nn)


def _train_step(lib, net, batch):
    lib.manual_seed(0)
    net = net.to("cuda")
    X = lib.rand(batch, 1, 28, 28, device="cuda")
    y = lib.randint(0, 10, (batch,), device="cuda")
    opt = lib.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(net(X), y).backward()
        opt.step()
    return step


def run_worker(fw_name: str, names, extra) -> dict:
    lib = framework(fw_name)
    out = {}
    if "swish64m" in names or "copy64m" in names:
        x = lib.rand(N_SWISH, device="cuda") * 8 - 4
        if "swish64m" in names:
            op = _swish_op(lib)
            out["swish64m"] = _timed(lib, lambda: op(x), min_time=1.0)
        if "copy64m" in names:
            y = lib.empty_like(x)
            out["copy64m"] = _timed(lib, lambda: y.copy_(x), min_time=1.0)
        del x
    if "mlp4096" in names:
        out["mlp4096"] = _timed(lib, _train_step(lib, _mlp(lib), 4096), min_time=1.0)
    if "lenet256" in names:
        out["lenet256"] = _timed(lib, _train_step(lib, _lenet(lib), 256), min_time=1.0)
    if "small_add" in names:
        a = lib.rand(10, device="cuda", requires_grad=True)
        b = lib.rand(10, device="cuda", requires_grad=True)
        out["small_add"] = _timed(lib, lambda: a + b, inner=SMALL_INNER, min_time=0.5,
                                  best=True)
    return out


def _gpu_missing() -> str | None:
    import brickwork

    if not brickwork.cuda.is_available():
        return "no CUDA GPU usable by brickwork (CuPy missing or no GPU)"
    import torch

    if not torch.cuda.is_available():
        return "PyTorch has no CUDA support here, so there is no reference to compare with"
    return None


def _bandwidth(rows) -> None:
    """Swish and copy as GB/s (one read and one write of 64M float32 = 512 MiB moved)."""
    by = {r["workload"]: r for r in rows}
    moved = 2 * N_SWISH * 4 / 1e9
    if "swish64m" in by:
        b, t = by["swish64m"]["brickwork_s"], by["swish64m"]["torch_s"]
        print(f"swish64m: brickwork fused {moved / b:.0f} GB/s, PyTorch composed {moved / t:.0f}"
              f" GB/s, speed-up {t / b:.2f}x (target >= 1.3x)")
        if "copy64m" in by:
            c = min(by["copy64m"]["brickwork_s"], by["copy64m"]["torch_s"])
            print(f"device copy {moved / c:.0f} GB/s; fused swish reaches {c / b:.2f} of it "
                  f"(target >= 0.8)")


if __name__ == "__main__":
    if "--worker" not in sys.argv:
        why = _gpu_missing()
        if why:
            print(f"benchmarks/gpu.py: skipped: {why}.")
            sys.exit(0)
    result = main(__file__, WORKLOADS, run_worker, TARGETS, __doc__)
    if result:
        _bandwidth(result["rows"])
