"""A simulated ``cupy.cuda.nccl`` (and the stream its calls are queued on), over MPI.

CuPy's NCCL wrapper takes raw device pointers (``intptr_t``), element counts and NCCL's type
and operation numbers. This fake takes the same arguments, in the same order and under the same
names as CuPy's ``cupy_backends/cuda/libs/nccl.pyx`` (``cupy_api.json``'s ``nccl`` entry; the
names are checked in ``tests/distributed/test_nccl.py``), and holds code to CuPy's rules:

- every pointer must lie inside a live simulated device array on the communicator's device,
  with ``count`` elements of the given type fitting in it (a wrong count or a host pointer
  raises instead of corrupting memory);
- a send completes only once the peer has posted its receive (MPI's synchronous send), as an
  NCCL send may, so programs that would deadlock on NCCL deadlock here too;
- ``groupStart``/``groupEnd`` batch sends and receives; collectives inside a group are refused
  (brickwork does not group them, and the fake cannot run them out of order).

With one rank every operation is a local copy. With more, the data travels over MPI: ranks meet
through ``MPI.COMM_WORLD`` (the unique id names the rank that made it, as NCCL's names the root's
address) and then use a communicator of their own, made with ``Create_group``.
"""
from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

available = True

NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG = 0, 1, 2, 3, 4
NCCL_INT8 = NCCL_CHAR = 0
NCCL_UINT8 = 1
NCCL_INT32 = NCCL_INT = 2
NCCL_UINT32 = 3
NCCL_INT64 = 4
NCCL_UINT64 = 5
NCCL_FLOAT16 = NCCL_HALF = 6
NCCL_FLOAT32 = NCCL_FLOAT = 7
NCCL_FLOAT64 = NCCL_DOUBLE = 8
NCCL_BFLOAT16 = 9

VERSION = 22304  # what get_version() reports; tests lower it to take pre-2.10 paths (no AVG)
_UNIQUE_ID_BYTES = 128
_RENDEZVOUS_TAG0 = 20000  # MPI.COMM_WORLD tags the fake's meetings use (brickwork never does)


class NcclError(RuntimeError):
    """An NCCL call failed (CuPy's ``NcclError``)."""

    def __init__(self, status: int, message: str = "") -> None:
        self.status = status
        names = {2: "NCCL_ERROR_SYSTEM_ERROR", 3: "NCCL_ERROR_INTERNAL_ERROR",
                 4: "NCCL_ERROR_INVALID_ARGUMENT", 5: "NCCL_ERROR_INVALID_USAGE"}
        super().__init__(f"{names.get(status, 'NCCL_ERROR')}: {message}")


def check_status(status: int) -> None:
    """Raise ``NcclError`` for a failed status (CuPy's ``check_status``)."""
    if status != 0:
        raise NcclError(status)


def _dtype(datatype: int) -> np.dtype:
    if datatype == NCCL_BFLOAT16:
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    table = {NCCL_INT8: np.int8, NCCL_UINT8: np.uint8, NCCL_INT32: np.int32,
             NCCL_UINT32: np.uint32, NCCL_INT64: np.int64, NCCL_UINT64: np.uint64,
             NCCL_FLOAT16: np.float16, NCCL_FLOAT32: np.float32, NCCL_FLOAT64: np.float64}
    if datatype not in table:
        raise NcclError(4, f"invalid data type {datatype}")
    return np.dtype(table[datatype])


def _world():
    from mpi4py import MPI
    return MPI


def get_version() -> int:
    """The NCCL version number (CuPy's ``get_version``)."""
    return VERSION


def get_build_version() -> int:
    return VERSION


def get_unique_id() -> tuple:
    """128 signed bytes, as CuPy returns: the maker's MPI rank, then a random token."""
    try:
        rank = _world().COMM_WORLD.Get_rank()
    except ImportError:
        rank = 0
    raw = np.zeros(_UNIQUE_ID_BYTES, np.uint8)
    raw[:4] = np.frombuffer(np.int32(rank).tobytes(), np.uint8)
    raw[4:12] = np.frombuffer(os.urandom(8), np.uint8)
    return tuple(int(b) for b in raw.view(np.int8))


# -- groups ---------------------------------------------------------------------------------------
_group = threading.local()  # NCCL's group state is per thread


def _queue():
    return getattr(_group, "ops", None)


def groupStart() -> None:  # noqa: N802  (CuPy's name)
    """Start batching sends and receives until ``groupEnd``."""
    _group.depth = getattr(_group, "depth", 0) + 1
    if _group.depth == 1:
        _group.ops = []


def groupEnd() -> None:  # noqa: N802
    """Run the batched sends and receives together."""
    depth = getattr(_group, "depth", 0)
    if depth == 0:
        raise NcclError(5, "groupEnd without groupStart")
    _group.depth = depth - 1
    if _group.depth == 0:
        ops, _group.ops = _group.ops, None
        _run_p2p(ops)


def _run_p2p(ops) -> None:
    """Post every send and receive, then wait for all: sends complete when matched."""
    requests, local = [], []
    for comm, kind, buf, peer in ops:
        if peer == comm._rank:
            local.append((kind, buf))
        elif kind == "send":
            requests.append(comm._mpi.Issend(buf, dest=peer, tag=0))
        else:
            requests.append(comm._mpi.Irecv(buf, source=peer, tag=0))
    sends = [b for k, b in local if k == "send"]
    recvs = [b for k, b in local if k == "recv"]
    if len(sends) != len(recvs):
        raise NcclError(5, "a send to this rank itself needs a matching receive in the group")
    for s, r in zip(sends, recvs):
        if s.nbytes != r.nbytes:
            raise NcclError(4, f"send of {s.nbytes} bytes to self, receive of {r.nbytes}")
        r[...] = s
    if requests:
        _world().Request.Waitall(requests)


# -- memory ---------------------------------------------------------------------------------------
def _memory(ptr: int, count: int, datatype: int, device: int, what: str) -> np.ndarray:
    """A host view of ``count`` elements at device pointer ``ptr``, checked against the live
    simulated arrays of ``device``."""
    import simcuda

    if not isinstance(ptr, int):
        raise TypeError(f"an integer is required (a device pointer), got {type(ptr).__name__}")
    dtype = _dtype(datatype)
    nbytes = int(count) * dtype.itemsize
    if nbytes == 0:
        return np.empty(0, dtype)
    for arr in list(simcuda._live.values()):
        base = arr._a
        while isinstance(base.base, np.ndarray):
            base = base.base
        start = base.ctypes.data
        if not start <= ptr < start + base.nbytes:
            continue
        if arr._dev != device:
            raise NcclError(4, f"{what}: the buffer is on cuda:{arr._dev} but the communicator "
                               f"is on cuda:{device}")
        if ptr + nbytes > start + base.nbytes:
            raise NcclError(4, f"{what}: {count} elements of {dtype} run past the end of the "
                               "device allocation")
        raw = (ctypes.c_uint8 * nbytes).from_address(ptr)
        return np.frombuffer(raw, np.uint8).view(dtype)
    raise NcclError(4, f"{what}: {ptr:#x} is not a pointer into simulated device memory")


def _combine(stack: np.ndarray, op: int, n: int) -> np.ndarray:
    """Reduce ``stack`` (one row per rank) with NCCL's ``op``, in float32 for 16-bit floats."""
    dtype = stack.dtype
    work = stack.astype(np.float32) if dtype.itemsize == 2 and dtype.kind in "fV" else stack
    fn = {NCCL_SUM: np.add, NCCL_AVG: np.add, NCCL_PROD: np.multiply, NCCL_MAX: np.maximum,
          NCCL_MIN: np.minimum}.get(op)
    if fn is None:
        raise NcclError(4, f"invalid reduction {op}")
    out = fn.reduce(work, axis=0)
    if op == NCCL_AVG:
        out = out / n if out.dtype.kind in "fc" else out // n
    return out.astype(dtype)


# -- the communicator ----------------------------------------------------------------------------
class NcclCommunicator:
    """One rank's communicator (CuPy's ``NcclCommunicator(ndev, commId, rank)``), made on the
    current simulated device."""

    def __init__(self, ndev: int, commId: tuple, rank: int) -> None:  # noqa: N803
        import simcuda

        if not isinstance(commId, tuple) or len(commId) != _UNIQUE_ID_BYTES:
            raise AssertionError("commId must be the 128-byte tuple from get_unique_id()")
        if not 0 <= rank < ndev:
            raise NcclError(4, f"rank {rank} is outside a communicator of {ndev}")
        self._ndev, self._rank = int(ndev), int(rank)
        self._device = simcuda._current[0]
        self._mpi = None
        if ndev > 1:
            self._mpi = self._meet(np.array(commId, np.int8).view(np.uint8))

    def _meet(self, uid: np.ndarray):
        """Every member tells the maker of the id its MPI rank; the maker answers with the
        table, and the members make a communicator of their own."""
        mpi = _world()
        world = mpi.COMM_WORLD
        root = int(uid[:4].view(np.int32)[0])
        token = int(uid[4:12].view(np.uint64)[0])
        tag = _RENDEZVOUS_TAG0 + token % 10000
        me = world.Get_rank()
        table = np.full(self._ndev, -1, np.int64)
        if me == root:
            table[self._rank] = me
            for _ in range(self._ndev - 1):
                got = np.empty(2, np.int64)
                world.Recv(got, source=mpi.ANY_SOURCE, tag=tag)
                table[got[0]] = got[1]
            for r in range(self._ndev):
                if r != self._rank:
                    world.Send(table, dest=int(table[r]), tag=tag)
        else:
            world.Send(np.array([self._rank, me], np.int64), dest=root, tag=tag)
            world.Recv(table, source=root, tag=tag)
        if (table < 0).any():
            raise NcclError(5, "two members gave the same rank")
        group = world.Get_group().Incl([int(r) for r in table])
        comm = world.Create_group(group, tag=tag)
        group.Free()
        return comm

    # -- what CuPy's communicator offers ---------------------------------------------------------
    @staticmethod
    def initAll(devices):  # noqa: N802
        raise NotImplementedError("the simulated NCCL makes one communicator per process "
                                  "(NcclCommunicator(ndev, commId, rank)), not initAll")

    @property
    def comm(self) -> int:
        return id(self)

    def device_id(self) -> int:
        return self._device

    def rank_id(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._ndev

    def destroy(self) -> None:
        if self._mpi is not None:
            self._mpi.Free()
            self._mpi = None

    def abort(self) -> None:
        self.destroy()

    def check_async_error(self) -> None:
        """Nothing runs asynchronously here."""

    def _mem(self, ptr, count, datatype, what):
        return _memory(ptr, count, datatype, self._device, what)

    def _collective(self, what: str, stream) -> None:
        if not isinstance(stream, int):
            raise TypeError(f"{what}: stream must be a stream pointer (an int)")
        if _queue() is not None:
            raise NcclError(5, f"{what} inside groupStart/groupEnd is not simulated")

    def _gather_all(self, buf: np.ndarray) -> np.ndarray:
        stack = np.empty((self._ndev,) + buf.shape, buf.dtype)
        if self._mpi is None:
            stack[0] = buf
        else:
            self._mpi.Allgather(buf.view(np.uint8), stack.reshape(-1).view(np.uint8))
        return stack

    def allReduce(self, sendbuf: int, recvbuf: int, count: int, datatype: int,  # noqa: N802
                  op: int, stream: int) -> None:
        self._collective("allReduce", stream)
        src = self._mem(sendbuf, count, datatype, "allReduce")
        dst = self._mem(recvbuf, count, datatype, "allReduce")
        dst[...] = _combine(self._gather_all(src.copy()), op, self._ndev)

    def reduce(self, sendbuf: int, recvbuf: int, count: int, datatype: int, op: int,
               root: int, stream: int) -> None:
        self._collective("reduce", stream)
        src = self._mem(sendbuf, count, datatype, "reduce").copy()
        stack = self._gather_all(src)  # every rank takes part; only the root writes
        if self._rank == root:
            self._mem(recvbuf, count, datatype, "reduce")[...] = _combine(stack, op, self._ndev)

    def broadcast(self, sendbuff: int, recvbuff: int, count: int, datatype: int, root: int,
                  stream: int) -> None:
        self._collective("broadcast", stream)
        dst = self._mem(recvbuff, count, datatype, "broadcast")
        data = self._mem(sendbuff, count, datatype, "broadcast").copy() \
            if self._rank == root else np.empty_like(dst)
        if self._mpi is not None:
            self._mpi.Bcast(data.view(np.uint8), root=root)
        dst[...] = data

    def bcast(self, buff: int, count: int, datatype: int, root: int, stream: int) -> None:
        self.broadcast(buff, buff, count, datatype, root, stream)

    def reduceScatter(self, sendbuf: int, recvbuf: int, recvcount: int,  # noqa: N802
                      datatype: int, op: int, stream: int) -> None:
        self._collective("reduceScatter", stream)
        src = self._mem(sendbuf, recvcount * self._ndev, datatype, "reduceScatter").copy()
        total = _combine(self._gather_all(src), op, self._ndev)
        mine = total[self._rank * recvcount:(self._rank + 1) * recvcount]
        self._mem(recvbuf, recvcount, datatype, "reduceScatter")[...] = mine

    def allGather(self, sendbuf: int, recvbuf: int, count: int, datatype: int,  # noqa: N802
                  stream: int) -> None:
        self._collective("allGather", stream)
        src = self._mem(sendbuf, count, datatype, "allGather").copy()
        dst = self._mem(recvbuf, count * self._ndev, datatype, "allGather")
        dst[...] = self._gather_all(src).reshape(-1)

    def send(self, sendbuf: int, count: int, datatype: int, peer: int, stream: int) -> None:
        self._p2p("send", sendbuf, count, datatype, peer, stream)

    def recv(self, recvbuf: int, count: int, datatype: int, peer: int, stream: int) -> None:
        self._p2p("recv", recvbuf, count, datatype, peer, stream)

    def _p2p(self, kind, ptr, count, datatype, peer, stream) -> None:
        if not isinstance(stream, int):
            raise TypeError(f"{kind}: stream must be a stream pointer (an int)")
        if not 0 <= peer < self._ndev:
            raise NcclError(4, f"{kind}: peer {peer} is outside a communicator of {self._ndev}")
        buf = self._mem(ptr, count, datatype, kind)
        op = (self, kind, buf.view(np.uint8), peer)
        if _queue() is not None:
            _group.ops.append(op)
        else:
            _run_p2p([op])


# -- streams (cupy.cuda.Stream's surface that NCCL calls use) ----------------------------------
class Stream:
    """The simulated null stream: work is done when the call returns."""

    ptr = 0
    done = True

    def synchronize(self) -> None:
        """Nothing is queued: every simulated call has finished when it returns."""

    def use(self) -> "Stream":
        return self


Stream.null = Stream()


def get_current_stream(device=None) -> Stream:
    """The current stream: always the null stream here."""
    return Stream.null
