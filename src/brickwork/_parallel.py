"""Intra-op parallelism on the CPU: one op's work split over a few threads.

NumPy's ufuncs and matmul release the GIL, so the slices of a big elementwise kernel (GELU) or
of attention's batch run at the same time on plain Python threads. BLAS spreads one large GEMM
over the cores by itself, but NumPy's element loops never do; on a 2-core machine that left one
core idle through every activation. The threads are the fork- and exit-safe pool of
``serialization/_pool.py``. While the slices run, OpenBLAS is held to one thread
(``_blas.single_threaded``): each slice's GEMMs are small, and several callers spreading them
over every core queue on its one thread server.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ._blas import single_threaded
from ._settings import get_num_threads
from .serialization._pool import submit

# Below this many elements a slice costs less than handing it to a thread.
MIN_ELEMENTS = 1 << 18


def num_parts(n_items: int, elements: int) -> int:
    """How many slices to cut ``n_items`` rows holding ``elements`` values into."""
    if elements < MIN_ELEMENTS:
        return 1
    return max(1, min(get_num_threads(), n_items, elements // MIN_ELEMENTS))


def bounds(n_items: int, parts: int) -> list:
    """``parts`` contiguous ``slice``s covering ``range(n_items)`` as evenly as possible."""
    cuts = [n_items * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(cuts, cuts[1:])]


def run_jobs(fn: Callable, jobs: Sequence[tuple]) -> list[Any]:
    """``[fn(*job) for job in jobs]``: the first on this thread, the rest on worker threads."""
    if len(jobs) == 1:
        return [fn(*jobs[0])]
    with single_threaded():
        futures = [submit(fn, *job) for job in jobs[1:]]
        first = fn(*jobs[0])
        return [first] + [f.result() for f in futures]


def run_slices(fn: Callable, n_items: int, elements: int, xp: Any) -> list[Any]:
    """``fn(sl)`` for contiguous slices ``sl`` covering ``range(n_items)``: one per thread
    when ``xp`` is NumPy and the work (``elements`` values) is large enough, else one call.

    For elementwise passes over a batch (each slice writes only its own rows of an output):
    NumPy runs each on one core, and a second thread doubles the memory bandwidth used
    (batch norm's input gradient, (32, 64, 32, 32) float32 on 2 cores: 5.2 -> 2.7 ms).
    """
    import numpy as np

    parts = num_parts(n_items, elements) if xp is np else 1
    return run_jobs(fn, [(sl,) for sl in bounds(n_items, parts)])
