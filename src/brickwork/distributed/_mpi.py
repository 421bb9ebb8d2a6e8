"""The MPI transport for host (NumPy) arrays, through mpi4py.

Each function runs one MPI call on contiguous arrays, in place where MPI allows it, so a
collective on a tensor adds no copies to what ``mpi4py`` itself does. Element types MPI cannot
reduce natively are mapped onto ones it can: ``bool`` reduces as ``uint8`` (SUM is logical or,
PRODUCT logical and), and ``float16``/``bfloat16`` reduce through a user-defined MPI operation
that combines two buffers in float32 and rounds once, so results do not depend on whether the
MPI library knows half precision.
"""
from __future__ import annotations

import functools
import importlib.util

import numpy as np

from ._reduce_op import RedOpType

_INTEGER_OPS = (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR)
_PLAIN = {RedOpType.SUM: lambda: MPI().SUM, RedOpType.AVG: lambda: MPI().SUM,
          RedOpType.MAX: lambda: MPI().MAX, RedOpType.MIN: lambda: MPI().MIN}


def available() -> bool:
    """True when mpi4py is installed (importing it would start MPI, so this does not)."""
    return importlib.util.find_spec("mpi4py") is not None


def MPI():  # noqa: N802  (the module's own name)
    """mpi4py's ``MPI`` module, importing it (which initializes MPI) on first use."""
    try:
        from mpi4py import MPI as mod
    except ImportError as e:
        raise RuntimeError(
            "brickwork.distributed runs on MPI, and mpi4py is not installed: install it with "
            "an MPI library, e.g. `pip install mpi4py mpich` (or `pip install "
            "'brickwork[distributed]'`), or load your cluster's MPI module and "
            "`pip install mpi4py`") from e
    return mod


def as_bytes(arr: np.ndarray) -> np.ndarray:
    """A flat ``uint8`` view of a C-contiguous array (moving bytes needs no element type)."""
    return arr.reshape(-1).view(np.uint8)


def _half_kind(dtype: np.dtype) -> str | None:
    if dtype == np.float16:
        return "float16"
    if dtype.name == "bfloat16":
        return "bfloat16"
    return None


@functools.lru_cache(maxsize=None)
def _half_op(kind: str, op: RedOpType):
    """A commutative MPI operation combining two half-precision buffers in float32."""
    mpi = MPI()
    if kind == "float16":
        dtype = np.dtype(np.float16)
    else:
        import ml_dtypes
        dtype = np.dtype(ml_dtypes.bfloat16)
    combine = {RedOpType.SUM: np.add, RedOpType.PRODUCT: np.multiply,
               RedOpType.MIN: np.minimum, RedOpType.MAX: np.maximum}[op]

    def fn(inbuf, inoutbuf, _datatype):
        a = np.frombuffer(inbuf, dtype=dtype)
        b = np.frombuffer(inoutbuf, dtype=dtype)
        b[...] = combine(a.astype(np.float32), b.astype(np.float32)).astype(dtype)

    return mpi.Op.Create(fn, commute=True)


def reduction(arr: np.ndarray, op: RedOpType, what: str):
    """``(buffer, mpi_op)`` for reducing ``arr`` with ``op`` (AVG is reduced as SUM)."""
    dtype = arr.dtype
    flat = arr.reshape(-1)
    if dtype.kind == "f" and dtype.itemsize >= 4 and op in _PLAIN:  # the usual case, first
        return flat, _PLAIN[op]()
    mpi = MPI()
    if op == RedOpType.PREMUL_SUM:
        raise ValueError(f"{what}: ReduceOp.PREMUL_SUM is not supported by brickwork's MPI "
                         "backend; scale the tensor and use ReduceOp.SUM")
    if dtype.kind == "c" and op in (RedOpType.MIN, RedOpType.MAX) + _INTEGER_OPS:
        raise ValueError(f"{what} does not support {op} on complex tensors")
    if op in _INTEGER_OPS and dtype.kind not in "iub":
        raise TypeError(f"{what}: {op!r} needs an integer or bool tensor, got {dtype}")
    if op == RedOpType.AVG and dtype.kind not in "fcV" and _half_kind(dtype) is None:
        raise TypeError(f"{what}: ReduceOp.AVG needs a floating point or complex tensor, "
                        f"got {dtype}")
    if dtype == np.bool_:
        mop = {RedOpType.SUM: mpi.MAX, RedOpType.MAX: mpi.MAX, RedOpType.BOR: mpi.MAX,
               RedOpType.PRODUCT: mpi.MIN, RedOpType.MIN: mpi.MIN, RedOpType.BAND: mpi.MIN,
               RedOpType.BXOR: mpi.BXOR}[op]
        return flat.view(np.uint8), mop
    kind = _half_kind(dtype)
    if kind is not None:
        return flat.view(np.uint16), _half_op(kind, RedOpType.SUM if op == RedOpType.AVG else op)
    mop = {RedOpType.SUM: mpi.SUM, RedOpType.AVG: mpi.SUM, RedOpType.PRODUCT: mpi.PROD,
           RedOpType.MIN: mpi.MIN, RedOpType.MAX: mpi.MAX, RedOpType.BAND: mpi.BAND,
           RedOpType.BOR: mpi.BOR, RedOpType.BXOR: mpi.BXOR}[op]
    return flat, mop


def finish_average(arr: np.ndarray, op: RedOpType, size: int) -> None:
    """Divide a summed ``arr`` by ``size`` in place when ``op`` is AVG."""
    if op != RedOpType.AVG or size == 1:
        return
    if arr.dtype.kind in "fc":
        np.divide(arr, size, out=arr)
    else:  # bfloat16: divide in float32, round once
        arr[...] = (arr.astype(np.float32) / size).astype(arr.dtype)


# -- one MPI call each -----------------------------------------------------------------------------
def all_reduce(comm, arr: np.ndarray, op: RedOpType) -> None:
    buf, mop = reduction(arr, op, "all_reduce")
    comm.Allreduce(MPI().IN_PLACE, buf, op=mop)
    finish_average(arr, op, comm.Get_size())


def reduce(comm, arr: np.ndarray, root: int, op: RedOpType) -> None:
    buf, mop = reduction(arr, op, "reduce")
    if comm.Get_rank() == root:
        comm.Reduce(MPI().IN_PLACE, buf, op=mop, root=root)
        finish_average(arr, op, comm.Get_size())
    else:  # the other ranks' tensors keep their values
        comm.Reduce(buf, None, op=mop, root=root)


def reduce_scatter_block(comm, out: np.ndarray, inp: np.ndarray, op: RedOpType) -> None:
    src, mop = reduction(inp, op, "reduce_scatter")
    dst, _ = reduction(out, op, "reduce_scatter")
    comm.Reduce_scatter_block(src, dst, op=mop)
    finish_average(out, op, comm.Get_size())


def broadcast(comm, arr: np.ndarray, root: int) -> None:
    comm.Bcast(as_bytes(arr), root=root)


def all_gather(comm, out: np.ndarray, arr: np.ndarray) -> None:
    comm.Allgather(as_bytes(arr), as_bytes(out))


def gather(comm, out: np.ndarray | None, arr: np.ndarray, root: int) -> None:
    comm.Gather(as_bytes(arr), None if out is None else as_bytes(out), root=root)


def scatter(comm, out: np.ndarray, inp: np.ndarray | None, root: int) -> None:
    comm.Scatter(None if inp is None else as_bytes(inp), as_bytes(out), root=root)


def all_to_all(comm, out: np.ndarray, out_counts, inp: np.ndarray, in_counts) -> None:
    """Exchange byte ranges: ``in_counts[j]`` bytes to rank j, ``out_counts[j]`` from it."""
    in_displs = np.concatenate([[0], np.cumsum(in_counts)[:-1]]).astype(np.int64)
    out_displs = np.concatenate([[0], np.cumsum(out_counts)[:-1]]).astype(np.int64)
    mpi = MPI()
    comm.Alltoallv([as_bytes(inp), (list(in_counts), list(in_displs)), mpi.BYTE],
                   [as_bytes(out), (list(out_counts), list(out_displs)), mpi.BYTE])


def barrier(comm) -> None:
    comm.Barrier()
