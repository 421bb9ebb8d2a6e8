"""Optimizer steps, brickwork vs PyTorch: one large parameter, and many small ones.

Run: ``python benchmarks/optim.py`` (``--only adam_4m,adam_small`` to pick workloads).

``*_4m``: one ``step()`` of the optimizer on a parameter of 4M float32 values (a 16 MB
layer, as a transformer's embedding or a CNN's classifier), its gradient set once. There
the update is memory-bound: brickwork runs it on cache-sized chunks on every core
(``optim/_inplace.py``). ``adam_small``: Adam over 200 parameters of 4096 values, where the
cost per parameter (Python and the calls into NumPy) shows. No targets; the mission is
PyTorch's speed.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import framework, main, time_call  # noqa: E402

OPTIMIZERS = {"sgd_momentum_4m": ("SGD", dict(lr=0.01, momentum=0.9)),
              "adam_4m": ("Adam", dict(lr=1e-3)),
              "adamw_4m": ("AdamW", dict(lr=1e-3)),
              "rmsprop_4m": ("RMSprop", dict(lr=1e-3)),
              "adagrad_4m": ("Adagrad", dict(lr=1e-3)),
              "adadelta_4m": ("Adadelta", dict(lr=1.0))}
WORKLOADS = list(OPTIMIZERS) + ["adam_small"]


def _step(lib, cls: str, kw: dict, shapes):
    lib.manual_seed(0)
    params = [lib.nn.Parameter(lib.randn(*s)) for s in shapes]
    for p in params:
        p.grad = lib.randn(*p.shape)
    return getattr(lib.optim, cls)(params, **kw).step


def run_worker(fw_name: str, names, extra) -> dict:
    lib = framework(fw_name)
    if fw_name == "torch":
        lib.set_num_threads(os.cpu_count() or 1)  # as NumPy's BLAS and brickwork's threads
    out = {}
    for name in names:
        if name == "adam_small":
            step = _step(lib, "Adam", dict(lr=1e-3), [(4096,)] * 200)
        else:
            step = _step(lib, *OPTIMIZERS[name], [(4_000_000,)])
        out[name] = time_call(step, min_time=1.0, repeat=5)
    return out


if __name__ == "__main__":
    main(__file__, WORKLOADS, run_worker, None, __doc__)
