"""The NCCL transport for CUDA tensors, through CuPy's ``cupy.cuda.nccl``.

Each process group that moves CUDA tensors under the ``nccl`` backend gets one NCCL
communicator: rank 0 of the group asks NCCL for a unique id, the id travels to the other ranks
over the group's MPI communicator, and every rank joins on the device of the first CUDA tensors
it moves (the communicator stays bound to that device). Each function below makes one NCCL call
(or one group of sends and receives) on the device's current stream and waits for that stream,
so the operation's ``Work`` completes when the data is in place. Brickwork's operations run on
the group's communication thread, whose current stream is CUDA's legacy default stream, so the
NCCL call also follows the work queued earlier on the program's blocking streams.

Element types: reductions use NCCL's own types; ``bool`` reduces as ``uint8`` (SUM and MAX are
logical or, PRODUCT and MIN logical and), complex tensors reduce as pairs of floats (SUM and AVG
only), and NCCL has no 16-bit integers. Moves that combine nothing (broadcast, gathers,
scatters, all-to-all, send/recv) carry bytes, so they take every element type. ``AVG`` uses
``NCCL_AVG`` from NCCL 2.10 on, and a SUM divided by the group size before.
"""
from __future__ import annotations

import importlib

import numpy as np

from ..dtypes import is_bfloat16
from ._reduce_op import RedOpType
from ._work import Work

_AVG_VERSION = 21000  # NCCL 2.10 added ncclAvg


def _cupy():
    from ..device import cupy_module
    cp = cupy_module()
    if cp is None:
        raise RuntimeError("the NCCL transport needs CuPy and a CUDA GPU")
    return cp


def _module():
    """CuPy's ``cupy.cuda.nccl`` module (RuntimeError when CuPy was built without NCCL)."""
    cp = _cupy()
    nccl = getattr(cp.cuda, "nccl", None)
    if nccl is None:  # CuPy imports its NCCL wrapper on demand
        nccl = importlib.import_module(cp.__name__ + ".cuda.nccl")
    if getattr(nccl, "available", True) is False:
        raise RuntimeError("this CuPy has no NCCL support: install NCCL for your CUDA version "
                           "(e.g. `pip install nvidia-nccl-cu12`) or use the 'mpi' backend")
    return nccl


def available() -> bool:
    """True when CuPy with NCCL support is installed and a GPU can be used."""
    try:
        _module()
    except Exception:  # noqa: BLE001  (no CuPy, no GPU, or CuPy built without NCCL)
        return False
    return True


# -- the communicator -----------------------------------------------------------------------------
class Communicator:
    """A process group's NCCL communicator, made on first use on the device of the tensors."""

    def __init__(self, pg) -> None:
        self._pg = pg
        self.nccl = _module()
        self.rank, self.size = pg.rank(), pg.size()
        self.device: int | None = None
        self._comm = None

    def on(self, device: int):
        """The NCCL communicator for ``device``, joining the group's ranks on first use."""
        if self._comm is None:
            uid = self.nccl.get_unique_id() if self.rank == 0 else None
            uid = self._pg._comm.bcast(uid, root=0)
            with _cupy().cuda.Device(device):
                self._comm = self.nccl.NcclCommunicator(self.size, uid, self.rank)
            self.device = device
        elif device != self.device:
            raise ValueError(f"the process group's NCCL communicator is on cuda:{self.device}, "
                             f"but this tensor is on cuda:{device}: keep each rank's tensors "
                             "on one GPU (brickwork.cuda.set_device(local_rank))")
        return self._comm

    def close(self) -> None:
        """Release NCCL's resources."""
        if self._comm is not None:
            self._comm.destroy()
            self._comm = None


def communicator(pg, device: int | None = None) -> Communicator:
    """The NCCL communicator of process group ``pg`` (made once, kept on ``pg._nccl``); with
    ``device``, it is joined on that GPU now rather than at the first operation."""
    if pg._nccl is None:
        pg._nccl = Communicator(pg)
    if device is not None:
        pg._nccl.on(device)
    return pg._nccl


class _Call:
    """One operation: the device made current, its stream, and a wait on it at the end."""

    def __init__(self, comm: Communicator, arrays, what: str) -> None:
        devices = {a.device.id for a in arrays if a is not None}
        if len(devices) != 1:
            raise ValueError(f"{what}: NCCL needs every buffer on one GPU, got cuda:"
                             f"{sorted(devices)}")
        self.device = devices.pop()
        self.nccl, self.rank = comm.nccl, comm.rank
        self.comm = comm.on(self.device)
        self._ctx = _cupy().cuda.Device(self.device)

    def __enter__(self) -> "_Call":
        self._ctx.__enter__()
        self.stream = _cupy().cuda.get_current_stream()
        return self

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                self.stream.synchronize()
        finally:
            self._ctx.__exit__(*exc)


# -- element types and reductions ----------------------------------------------------------------
def _bytes(arr):
    """A flat byte view of a C-contiguous device array: moves need no element type."""
    return arr.reshape(-1).view(_cupy().uint8)


def _reduction(nccl, arr, op: RedOpType, what: str):
    """``(flat view, NCCL type, NCCL op, divide_after)`` for reducing ``arr`` with ``op``."""
    cp = _cupy()
    if op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR, RedOpType.PREMUL_SUM):
        raise ValueError(f"Cannot use ReduceOp.{op.name} with NCCL")
    dtype = arr.dtype
    flat = arr.reshape(-1)
    if op == RedOpType.AVG and not (dtype.kind in "fc" or is_bfloat16(dtype)):
        raise TypeError(f"{what}: ReduceOp.AVG needs a floating point or complex tensor, got "
                        f"{dtype}")
    if dtype == np.bool_:
        nop = {RedOpType.SUM: nccl.NCCL_MAX, RedOpType.MAX: nccl.NCCL_MAX,
               RedOpType.PRODUCT: nccl.NCCL_MIN, RedOpType.MIN: nccl.NCCL_MIN}[op]
        return flat.view(cp.uint8), nccl.NCCL_UINT8, nop, False
    if dtype.kind == "c":
        if op not in (RedOpType.SUM, RedOpType.AVG):
            raise ValueError(f"{what}: NCCL reduces complex tensors with ReduceOp.SUM or "
                             f"ReduceOp.AVG only, not ReduceOp.{op.name}")
        flat = flat.view(cp.float32 if dtype == np.complex64 else cp.float64)
        dtype = flat.dtype
    if is_bfloat16(dtype):
        ntype = getattr(nccl, "NCCL_BFLOAT16", None)
    else:
        ntype = {"int8": nccl.NCCL_INT8, "uint8": nccl.NCCL_UINT8, "int32": nccl.NCCL_INT32,
                 "uint32": nccl.NCCL_UINT32, "int64": nccl.NCCL_INT64,
                 "uint64": nccl.NCCL_UINT64, "float16": nccl.NCCL_FLOAT16,
                 "float32": nccl.NCCL_FLOAT32, "float64": nccl.NCCL_FLOAT64}.get(dtype.name)
    if ntype is None:
        raise TypeError(f"Input tensor data type is not supported for NCCL process group: "
                        f"{arr.dtype} (NCCL has no such type); use the 'gloo' backend or "
                        "another dtype")
    divide = False
    if op == RedOpType.AVG:
        if getattr(nccl, "NCCL_AVG", None) is not None and nccl.get_version() >= _AVG_VERSION:
            nop = nccl.NCCL_AVG
        else:
            nop, divide = nccl.NCCL_SUM, True
    else:
        nop = {RedOpType.SUM: nccl.NCCL_SUM, RedOpType.PRODUCT: nccl.NCCL_PROD,
               RedOpType.MIN: nccl.NCCL_MIN, RedOpType.MAX: nccl.NCCL_MAX}[op]
    return flat, ntype, nop, divide


def _divide(arr, size: int) -> None:
    """``arr /= size`` in place (bfloat16 through float32, rounded once)."""
    if is_bfloat16(arr.dtype):
        arr[...] = (arr.astype(_cupy().float32) / size).astype(arr.dtype)
    else:
        arr /= size


# -- collectives ----------------------------------------------------------------------------------
def all_reduce(comm: Communicator, arr, op: RedOpType) -> None:
    """Reduce ``arr`` across the group, in place."""
    buf, ntype, nop, divide = _reduction(comm.nccl, arr, op, "all_reduce")
    if buf.size == 0:
        return
    with _Call(comm, [arr], "all_reduce") as c:
        c.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, ntype, nop, c.stream.ptr)
        if divide:
            _divide(arr, comm.size)


def reduce(comm: Communicator, arr, root: int, op: RedOpType) -> None:
    """Reduce ``arr`` onto rank ``root`` in place; other ranks' arrays keep their values."""
    buf, ntype, nop, divide = _reduction(comm.nccl, arr, op, "reduce")
    if buf.size == 0:
        return
    with _Call(comm, [arr], "reduce") as c:
        c.comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, ntype, nop, root, c.stream.ptr)
        if divide and comm.rank == root:
            _divide(arr, comm.size)


def reduce_scatter_block(comm: Communicator, out, inp, op: RedOpType) -> None:
    """Reduce ``inp`` (``size`` equal blocks) across the group; block i lands in rank i's
    ``out``."""
    src, ntype, nop, divide = _reduction(comm.nccl, inp, op, "reduce_scatter")
    dst = _reduction(comm.nccl, out, op, "reduce_scatter")[0]
    if dst.size * comm.size != src.size:
        raise ValueError(f"reduce_scatter: the input holds {src.size} elements, not "
                         f"{comm.size} times the output's {dst.size}")
    if dst.size == 0:
        return
    with _Call(comm, [out, inp], "reduce_scatter") as c:
        c.comm.reduceScatter(src.data.ptr, dst.data.ptr, dst.size, ntype, nop, c.stream.ptr)
        if divide:
            _divide(out, comm.size)


def broadcast(comm: Communicator, arr, root: int) -> None:
    """Copy rank ``root``'s ``arr`` into every rank's."""
    buf = _bytes(arr)
    if buf.size == 0:
        return
    with _Call(comm, [arr], "broadcast") as c:
        c.comm.broadcast(buf.data.ptr, buf.data.ptr, buf.size, comm.nccl.NCCL_UINT8, root,
                         c.stream.ptr)


def all_gather(comm: Communicator, out, arr) -> None:
    """Rank i's ``arr`` into block i of every rank's ``out`` (stacked or concatenated)."""
    src, dst = _bytes(arr), _bytes(out)
    if dst.size != src.size * comm.size:
        raise ValueError(f"all_gather: the output holds {dst.size} bytes, not {comm.size} "
                         f"times the input's {src.size}")
    if src.size == 0:
        return
    with _Call(comm, [out, arr], "all_gather") as c:
        c.comm.allGather(src.data.ptr, dst.data.ptr, src.size, comm.nccl.NCCL_UINT8,
                         c.stream.ptr)


def _exchange(c: _Call, sends, recvs) -> None:
    """One NCCL group of ``(byte buffer, peer)`` sends and receives; a rank's piece for
    itself is copied on the device."""
    nccl, u8, me = c.nccl, c.nccl.NCCL_UINT8, c.rank
    own = [(b, p) for b, p in sends if p == me]
    into = [(b, p) for b, p in recvs if p == me]
    for (src, _), (dst, _) in zip(own, into):
        dst[...] = src
    nccl.groupStart()
    try:
        for buf, peer in sends:
            if peer != me and buf.size:
                c.comm.send(buf.data.ptr, buf.size, u8, peer, c.stream.ptr)
        for buf, peer in recvs:
            if peer != me and buf.size:
                c.comm.recv(buf.data.ptr, buf.size, u8, peer, c.stream.ptr)
    finally:
        nccl.groupEnd()


def _blocks(buf, n: int) -> list:
    step = buf.size // n
    return [buf[i * step:(i + 1) * step] for i in range(n)]


def gather(comm: Communicator, out, arr, root: int) -> None:
    """Every rank's ``arr`` into block i of ``out`` on rank ``root`` (``out`` is None
    elsewhere)."""
    src = _bytes(arr)
    with _Call(comm, [out, arr], "gather") as c:
        if comm.rank == root:
            recvs = list(zip(_blocks(_bytes(out), comm.size), range(comm.size)))
            _exchange(c, [(src, root)], recvs)
        else:
            _exchange(c, [(src, root)], [])


def scatter(comm: Communicator, out, inp, root: int) -> None:
    """Block i of rank ``root``'s ``inp`` into rank i's ``out`` (``inp`` is None elsewhere)."""
    dst = _bytes(out)
    with _Call(comm, [out, inp], "scatter") as c:
        if comm.rank == root:
            sends = list(zip(_blocks(_bytes(inp), comm.size), range(comm.size)))
            _exchange(c, sends, [(dst, root)])
        else:
            _exchange(c, [], [(dst, root)])


def _pieces(arrays, counts, size: int, what: str) -> list:
    """One byte buffer per rank: the arrays themselves, or byte ranges of one array."""
    if counts is not None and len(arrays) == 1 and size != 1:
        flat, at, out = _bytes(arrays[0]), 0, []
        for n in counts:
            out.append(flat[at:at + int(n)])
            at += int(n)
        if at != flat.size:
            raise ValueError(f"all_to_all: the {what} splits cover {at} bytes of {flat.size}")
        return out
    if len(arrays) != size:
        raise ValueError(f"all_to_all: NCCL needs one {what} piece per rank ({size}) or one "
                         f"tensor with its byte counts, got {len(arrays)} tensor(s) and no "
                         "counts")
    return [_bytes(a) for a in arrays]


def all_to_all_pieces(comm: Communicator, out_arrays, in_arrays, out_bytes=None,
                      in_bytes=None) -> None:
    """Piece j of the input to rank j, rank j's piece for this rank into piece j of the
    output. The pieces are the arrays themselves (one per rank), or, given ``out_bytes`` /
    ``in_bytes`` (bytes per rank), consecutive byte ranges of a single array (sizes already
    agreed between the ranks)."""
    outs = _pieces(out_arrays, out_bytes, comm.size, "output")
    ins = _pieces(in_arrays, in_bytes, comm.size, "input")
    with _Call(comm, list(out_arrays) + list(in_arrays), "all_to_all") as c:
        _exchange(c, list(zip(ins, range(comm.size))), list(zip(outs, range(comm.size))))


# -- point to point -------------------------------------------------------------------------------
def point_to_point(pg, what: str, tensor, peer: int | None, tag: int, sending: bool) -> Work:
    """Send ``tensor`` to group rank ``peer`` or receive into it, on the group's thread.

    A small header (element type and shape) travels first, so a receiver whose tensor does not
    match raises naming both ranks (after taking the sender's data, so the sender finishes).
    NCCL matches sends and receives between two ranks in the order they are posted: it has no
    tags, and a send completes once the peer has posted its receive.
    """
    from ._collectives import _Arrays, _describe, _piece_text

    if peer is None:
        raise ValueError(f"{what}: receiving from any source is not supported by NCCL; pass "
                         "src")
    if tag != 0:
        raise ValueError(f"{what}: NCCL has no message tags (sends and receives between two "
                         f"ranks match in the order they are posted); got tag={tag}, pass 0")
    work = Work(what, pg, outputs=lambda: [] if sending else [tensor])
    desc = _describe("all_reduce", tensor)  # the header: element type and shape
    device = tensor.device.index

    def body():
        cp = _cupy()
        comm = communicator(pg)
        with cp.cuda.Device(device):
            staged = _Arrays(on_device=True)
            arr = staged.array(tensor, not sending)
            header = cp.asarray(desc)
            with _Call(comm, [arr, header], what) as c:
                if sending:
                    _exchange(c, [(_bytes(header), peer)], [])
                    _exchange(c, [(_bytes(arr), peer)], [])
                    return
                _exchange(c, [], [(_bytes(header), peer)])
                got = header.get()
                if not np.array_equal(got[1:], desc[1:]):
                    nbytes = int(got[5]) * int(np.dtype(_NP_DTYPES[int(got[1])]).itemsize)
                    _exchange(c, [], [(cp.empty(nbytes, cp.uint8), peer)])  # drain it
                    raise RuntimeError(f"{what}: rank {pg._global_rank} expects "
                                       f"{_piece_text(desc)}, but rank {pg._ranks[peer]} sent "
                                       f"{_piece_text(got)}")
                _exchange(c, [], [(_bytes(arr), peer)])
            staged.write_back()
            work._source_rank = pg._ranks[peer]

    pg._worker.submit(work, body)
    return work


# element types in the order of ``_collectives._DTYPES`` (bfloat16 by its 2-byte size)
_NP_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
              "float16", "uint16", "float32", "float64", "complex64", "complex128"]
