"""Optimizers' in-place updates for large parameters: cache-sized chunks on every core.

``arr -= lr * g`` allocates a temporary the size of the parameter and makes two passes over
memory on one core. AlexNet's classifier holds 46M parameters (a 184 MB temporary, fresh from
the kernel each step); there SGD's update took 130 ms of a 1.1 s step. Cut into chunks of
128K values, the temporary stays in cache and is reused, and the chunks are split over the
threads (each thread writes only its own range). With momentum, the buffer's update and the
parameter's run in the same chunk while it is in cache: one pass over the parameter, its
gradient and its buffer instead of three.
"""
from __future__ import annotations

import numpy as np

from .._parallel import run_slices
from ..ops._util import xp_of

CHUNK = 1 << 17


def _chunked(arr, *others) -> bool:
    """Whether the chunked kernels take ``arr`` and ``others``: large NumPy arrays of one shape,
    all C-contiguous."""
    return arr.__class__ is np.ndarray and arr.size > 2 * CHUNK and arr.flags.c_contiguous \
        and all(o.__class__ is np.ndarray and o.shape == arr.shape and o.flags.c_contiguous
                for o in others)


def _run_chunks(fn, size: int, dtype, temps: int = 1) -> None:
    """``fn(start, stop, *tmps)`` over CHUNK-sized ranges of ``range(size)``, on threads;
    ``tmps`` are ``temps`` scratch arrays of at least ``stop - start`` values, one set per
    thread."""
    def part(sl):
        tmps = [np.empty(min(CHUNK, sl.stop - sl.start), dtype=dtype) for _ in range(temps)]
        for start in range(sl.start, sl.stop, CHUNK):
            fn(start, min(start + CHUNK, sl.stop), *tmps)

    run_slices(part, size, size, np)


def elementwise_(fn, arrays, temps: int = 1) -> None:
    """``fn(*arrays, *tmps)``, an update that writes some of ``arrays`` in place position by
    position (each value from the same position of the others), with ``temps`` scratch
    arrays like the first (the parameter): on the whole arrays, or, for large NumPy arrays of
    one shape and dtype, on chunks of them on every core. The same operations run on every
    value either way, so the results are the same bits."""
    first = arrays[0]
    if not (_chunked(*arrays) and all(a.dtype == first.dtype for a in arrays)):
        empty_like = np.empty_like if first.__class__ is np.ndarray else xp_of(first).empty_like
        fn(*arrays, *[empty_like(first) for _ in range(temps)])
        return
    flats = [a.reshape(-1) for a in arrays]

    def chunk(start, stop, *tmps):
        fn(*[f[start:stop] for f in flats], *[t[:stop - start] for t in tmps])

    _run_chunks(chunk, first.size, first.dtype, temps)


def sub_scaled_(arr, g, alpha: float) -> None:
    """``arr -= alpha * g`` in place (``g`` cast to ``arr``'s dtype, as the temporary was)."""
    if not _chunked(arr, g):
        arr -= np.multiply(g, alpha, dtype=arr.dtype)
        return
    flat, gflat = arr.reshape(-1), g.reshape(-1)

    def chunk(start, stop, tmp):
        t = tmp[:stop - start]
        np.multiply(gflat[start:stop], alpha, out=t, dtype=arr.dtype)
        np.subtract(flat[start:stop], t, out=flat[start:stop])

    _run_chunks(chunk, flat.size, arr.dtype)


def momentum_step_(arr, buf, g, lr: float, momentum: float, dampening: float,
                   nesterov: bool) -> None:
    """SGD with momentum, in place: ``buf = momentum * buf + (1 - dampening) * g``, then
    ``arr -= lr * (g + momentum * buf if nesterov else buf)``."""
    if not (_chunked(arr, buf, g) and arr.dtype == buf.dtype == g.dtype):
        buf *= momentum
        buf += g if dampening == 0 else (1 - dampening) * g
        sub_scaled_(arr, g + momentum * buf if nesterov else buf, lr)
        return
    flat, bflat, gflat = arr.reshape(-1), buf.reshape(-1), g.reshape(-1)

    def chunk(start, stop, tmp):
        b, gc, t = bflat[start:stop], gflat[start:stop], tmp[:stop - start]
        b *= momentum
        if dampening == 0:
            b += gc
        else:
            np.multiply(gc, 1 - dampening, out=t)
            b += t
        np.multiply(b, momentum if nesterov else lr, out=t)
        if nesterov:
            t += gc
            t *= lr
        np.subtract(flat[start:stop], t, out=flat[start:stop])

    _run_chunks(chunk, flat.size, arr.dtype)
