"""Second derivatives: a Hessian-vector product of an MLP's loss, brickwork vs PyTorch.

Run: ``python benchmarks/higher_order.py`` (prints times and brickwork/PyTorch ratios).
The workload is the way people write an HVP by hand: the loss gradient with
``create_graph=True``, its dot product with a vector, and the gradient of that; and the same
through ``autograd.functional.hvp`` on a flat parameter vector.
Target (higher-order gradients issue): at most 2.0x PyTorch.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import framework, main, time_call  # noqa: E402

WORKLOADS = ["hvp_mlp", "functional_hvp_mlp", "first_order_mlp"]
TARGETS = {"hvp_mlp": "<=2.0", "functional_hvp_mlp": "<=2.0"}


def run_worker(fw_name: str, names, extra) -> dict:
    lib = framework(fw_name)
    rng = np.random.default_rng(0)
    net = lib.nn.Sequential(lib.nn.Linear(784, 256), lib.nn.ReLU(), lib.nn.Linear(256, 10))
    X = lib.tensor(rng.standard_normal((64, 784)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, 64))
    params = list(net.parameters())
    vs = [lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)) for p in params]
    F = lib.nn.functional
    out = {}

    def hvp():
        loss = F.cross_entropy(net(X), y)
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vs))
        return lib.autograd.grad(dot, params)

    if "hvp_mlp" in names:
        out["hvp_mlp"] = time_call(hvp, min_time=1.0, repeat=5)
    if "functional_hvp_mlp" in names:
        shapes = [tuple(p.shape) for p in params]
        flat = lib.cat([p.detach().reshape(-1) for p in params])
        v = lib.cat([t.reshape(-1) for t in vs])

        def loss_of(theta):
            chunks, i = [], 0
            for s in shapes:
                n = int(np.prod(s))
                chunks.append(theta[i:i + n].reshape(s))
                i += n
            h = (X @ chunks[0].T + chunks[1]).relu()
            return F.cross_entropy(h @ chunks[2].T + chunks[3], y)

        out["functional_hvp_mlp"] = time_call(
            lambda: lib.autograd.functional.hvp(loss_of, flat, v), min_time=1.0, repeat=5)
    if "first_order_mlp" in names:
        def first():
            loss = F.cross_entropy(net(X), y)
            return lib.autograd.grad(loss, params)
        out["first_order_mlp"] = time_call(first, min_time=1.0, repeat=5)
    return out


if __name__ == "__main__":
    main(__file__, WORKLOADS, run_worker, TARGETS, __doc__)
