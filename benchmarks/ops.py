"""Single ops that programs written elsewhere leaned on, forward+backward, brickwork vs PyTorch.

Run: ``python benchmarks/ops.py`` (``--only topk,einsum`` to pick; ``--rounds N``). Each framework
runs in its own process, rounds interleaved, medians (``harness.py``). The cases are the outliers
an operator sweep found (issue 19, ninth pass): ``topk`` of long rows (accuracy@k, top-k
sampling), a batched ``einsum`` (attention written with it), ``index_select``'s gradient
(repeated rows: graph and embedding code), ``leaky_relu`` (GANs), ``cumsum`` along rows, a
sparse-dense product (a GCN layer), ``max`` along a dim of one short row (the BiLSTM-CRF
tutorial's inner loop) and ``torch.func``'s per-sample gradients of a small MLP.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import framework, main, time_call  # noqa: E402

WORKLOADS = ["topk", "einsum", "index_select", "leaky_relu", "cumsum", "spmm", "max_dim_small",
             "per_sample_grad"]


def _cases(lib):
    rng = np.random.default_rng(0)
    f32 = np.float32

    def leaf(*shape):
        return lib.tensor(rng.standard_normal(shape).astype(f32), requires_grad=True)

    x2, x3, x1m = leaf(256, 1024), leaf(32, 128, 256), leaf(1 << 20)
    rows = lib.tensor(rng.integers(0, 256, 512))
    n, e = 2708, 10556
    ij = np.concatenate([rng.integers(0, n, (2, e)), np.tile(np.arange(n), (2, 1))], 1)
    adj = lib.sparse_coo_tensor(lib.tensor(ij), lib.tensor(np.ones(ij.shape[1], f32)),
                                (n, n)).coalesce()
    h = leaf(n, 16)
    v = lib.tensor(rng.standard_normal((1, 5)).astype(f32))
    w1, w2 = leaf(20, 32), leaf(32, 5)
    data, target = lib.tensor(rng.standard_normal((64, 20)).astype(f32)), \
        lib.tensor(rng.integers(0, 5, 64))

    def per_sample():
        def loss(p, xb, yb):
            logits = (xb.unsqueeze(0) @ p[0]).tanh() @ p[1]
            return lib.nn.functional.cross_entropy(logits, yb.unsqueeze(0))
        params = (w1.detach(), w2.detach())
        return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(params, data, target)

    def backward(y):
        y.backward(lib.ones_like(y))

    return {
        "topk": lambda: backward(lib.topk(x2, 10, -1).values),
        "einsum": lambda: backward(lib.einsum("bij,bkj->bik", x3, x3)),
        "index_select": lambda: backward(lib.index_select(x2, 0, rows)),
        "leaky_relu": lambda: backward(lib.nn.functional.leaky_relu(x1m, 0.2)),
        "cumsum": lambda: backward(lib.cumsum(x3, -1)),
        "spmm": lambda: backward(lib.spmm(adj, h)),
        "max_dim_small": lambda: lib.max(v, 1),
        "per_sample_grad": per_sample,
    }


def run_worker(fw_name: str, names, extra) -> dict:
    lib = framework(fw_name)
    if fw_name == "torch":
        lib.set_num_threads(2)
    cases = _cases(lib)
    return {k: time_call(cases[k], min_time=0.5, repeat=5, best=k == "max_dim_small")
            for k in names}


if __name__ == "__main__":
    main(__file__, WORKLOADS, run_worker, None, __doc__)
