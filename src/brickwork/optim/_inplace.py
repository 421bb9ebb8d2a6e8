"""``param -= lr * grad`` in place for large parameters: cache-sized chunks on every core.

``arr -= lr * g`` allocates a temporary the size of the parameter and makes two passes over
memory on one core. AlexNet's classifier holds 46M parameters (a 184 MB temporary, fresh from
the kernel each step); there SGD's update took 130 ms of a 1.1 s step. Cut into chunks of
128K values, the temporary stays in cache and is reused, and the chunks are split over the
threads (each thread writes only its own range).
"""
from __future__ import annotations

import numpy as np

from .._parallel import run_slices

CHUNK = 1 << 17


def sub_scaled_(arr, g, alpha: float) -> None:
    """``arr -= alpha * g`` in place (``g`` cast to ``arr``'s dtype, as the temporary was)."""
    if not (arr.__class__ is np.ndarray and g.__class__ is np.ndarray and arr.size > 2 * CHUNK
            and arr.shape == g.shape and arr.flags.c_contiguous and g.flags.c_contiguous):
        arr -= np.multiply(g, alpha, dtype=arr.dtype)
        return
    flat, gflat = arr.reshape(-1), g.reshape(-1)

    def part(sl):
        tmp = np.empty(min(CHUNK, sl.stop - sl.start), dtype=arr.dtype)
        for start in range(sl.start, sl.stop, CHUNK):
            stop = min(start + CHUNK, sl.stop)
            t = tmp[:stop - start]
            np.multiply(gflat[start:stop], alpha, out=t, dtype=arr.dtype)
            np.subtract(flat[start:stop], t, out=flat[start:stop])

    run_slices(part, flat.size, flat.size, np)
