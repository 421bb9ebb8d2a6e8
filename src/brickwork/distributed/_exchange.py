"""All-to-all exchanges and point-to-point messages. See: torch.distributed.

A point-to-point message travels as a small header (element type and shape) followed by the
tensor's bytes, so a receiver whose tensor does not match what was sent raises an error naming
both ranks and both tensors rather than filling in garbage. ``isend``/``irecv`` post MPI's
nonblocking sends and receives, so two ranks that each send before they receive do not wait on
each other.
"""
from __future__ import annotations

import time

import numpy as np

from ..tensor import Tensor
from . import _failure, _mpi
from ._collectives import (_Arrays, _agree, _check_list, _check_tensor, _describe, _piece_text,
                           _route, _submit, on_device)
from ._group import ProcessGroup, group_peer, resolve
from ._work import DistBackendError, Work, wait_request


# -- all-to-all -----------------------------------------------------------------------------------
def _exchange_counts(pg: ProcessGroup, what: str, send: np.ndarray, expect: np.ndarray) -> None:
    """Check, on every rank alike, that what each rank sends to each other rank is what that
    rank expects (every rank sees every rank's counts, so all raise or none does)."""
    n = pg.size()
    mine = np.concatenate([send, expect])
    table = np.empty((n, 2 * n), np.int64)
    wait_request(pg._comm.Iallgather(mine, table), what, pg._timeout_s, pg._global_rank)
    sends, expects = table[:, :n], table[:, n:]
    bad = np.argwhere(sends != expects.T)
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise RuntimeError(f"{what}: rank {pg._ranks[i]} sends {sends[i, j]} bytes to rank "
                           f"{pg._ranks[j]}, which expects {expects[j, i]} bytes from it")


def _all_to_all(pg, what, outs, ins, out_bytes, in_bytes, async_op, pack):
    desc = _describe(what, ins[0] if ins else None)
    transport = _route(pg, what, list(outs) + list(ins))

    @on_device(transport, list(outs) + list(ins))
    def body():
        _agree(pg, desc, what, same_piece=False)
        _exchange_counts(pg, what, np.asarray(in_bytes, np.int64),
                         np.asarray(out_bytes, np.int64))
        staged = _Arrays(on_device=transport == "nccl")
        out_arrays = [staged.array(t, True) for t in outs]
        in_arrays = [staged.array(t, False) for t in ins]
        if transport == "nccl":
            from . import _nccl
            single = len(out_arrays) == 1 and pg.size() > 1
            _nccl.all_to_all_pieces(_nccl.communicator(pg), out_arrays, in_arrays,
                                    out_bytes if single else None, in_bytes if single else None)
        else:
            src, dst, unpack = pack(in_arrays, out_arrays)
            _mpi.all_to_all(pg._comm, dst, out_bytes, src, in_bytes)
            unpack(dst)
        staged.write_back()

    return _submit(pg, what, body, async_op, list(outs))


def _packing(in_arrays, out_arrays):
    """One contiguous send buffer and one receive buffer for lists of arrays."""
    src = np.concatenate([a.reshape(-1).view(np.uint8) for a in in_arrays]) if in_arrays \
        else np.empty(0, np.uint8)
    total = sum(a.nbytes for a in out_arrays)
    dst = np.empty(total, np.uint8)

    def unpack(buf):
        at = 0
        for a in out_arrays:
            a.reshape(-1).view(np.uint8)[...] = buf[at:at + a.nbytes]
            at += a.nbytes
    return src, dst, unpack


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op: bool = False):
    """Send ``input_tensor_list[j]`` to rank j, receiving rank j's into
    ``output_tensor_list[j]``. See: torch.distributed.all_to_all."""
    _check_list(output_tensor_list, "output_tensor_list")
    _check_list(input_tensor_list, "input_tensor_list")
    pg = resolve(group)
    if pg is None:
        return None
    n = pg.size()
    if len(output_tensor_list) != n or len(input_tensor_list) != n:
        raise ValueError(f"all_to_all: both lists must hold one tensor per rank ({n}), got "
                         f"{len(output_tensor_list)} outputs and {len(input_tensor_list)} inputs")
    dtypes = {t.dtype for t in output_tensor_list + input_tensor_list}
    if len(dtypes) > 1:
        raise RuntimeError(f"all_to_all: tensors must share one dtype, got {sorted(map(str, dtypes))}")
    out_bytes = [t.numel() * t.element_size() for t in output_tensor_list]
    in_bytes = [t.numel() * t.element_size() for t in input_tensor_list]
    return _all_to_all(pg, "all_to_all", output_tensor_list, input_tensor_list, out_bytes,
                       in_bytes, async_op, _packing)


def _splits(sizes, t: Tensor, n: int, what: str, name: str) -> list[int]:
    rows = t.shape[0] if t.dim() > 0 else 1
    if sizes is None or len(sizes) == 0:
        if rows % n:
            raise ValueError(f"{what}: {name} has {rows} rows, which do not split evenly over "
                             f"{n} ranks; pass split sizes")
        return [rows // n] * n
    sizes = [int(s) for s in sizes]
    if len(sizes) != n or sum(sizes) != rows:
        raise ValueError(f"{what}: {name} split sizes {sizes} must have one entry per rank "
                         f"({n}) and sum to the tensor's {rows} rows")
    return sizes


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,  # noqa: A002
                      group=None, async_op: bool = False):
    """Split ``input`` along dim 0, send piece j to rank j and concatenate what arrives into
    ``output``. See: torch.distributed.all_to_all_single."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = resolve(group)
    if pg is None:
        return None
    if output.dtype != input.dtype:
        raise RuntimeError(f"all_to_all_single: output is {output.dtype} but input is "
                           f"{input.dtype}")
    n = pg.size()
    out_rows = _splits(output_split_sizes, output, n, "all_to_all_single", "output")
    in_rows = _splits(input_split_sizes, input, n, "all_to_all_single", "input")
    out_row = output.numel() // max(sum(out_rows), 1) * output.element_size()
    in_row = input.numel() // max(sum(in_rows), 1) * input.element_size()
    out_bytes = [r * out_row for r in out_rows]
    in_bytes = [r * in_row for r in in_rows]

    def pack(in_arrays, out_arrays):
        return (in_arrays[0].reshape(-1).view(np.uint8),
                out_arrays[0].reshape(-1).view(np.uint8), lambda buf: None)

    return _all_to_all(pg, "all_to_all_single", [output], [input], out_bytes, in_bytes,
                       async_op, pack)


# -- point to point -------------------------------------------------------------------------------
class _P2PWork(Work):
    """A send or receive, complete once its MPI requests are.

    A receive first takes the header (from any rank when no source is given), checks it, and
    only then posts the receive of the data from the rank that sent the header.
    """

    def __init__(self, what: str, pg: ProcessGroup) -> None:
        super().__init__(what, pg)
        self._requests: list = []
        self._header = None  # (request, header array, status) of a receive
        self._post_data = None  # posts the data receive once the header has arrived
        self._finish_recv = None

    def _advance(self) -> bool:
        """Make what progress is possible without blocking; True when everything is done."""
        if self._header is not None:
            req, header, status = self._header
            if not req.Test(status):
                return False
            self._header = None
            self._post_data(header, status.Get_source())
        self._requests = [r for r in self._requests if not r.Test()]
        if self._requests:
            return False
        finish, self._finish_recv = self._finish_recv, None
        if finish is not None:
            finish()
        return True

    def is_completed(self) -> bool:
        return self._done.is_set() and self._error is None and self._advance()

    def wait(self, timeout=None) -> bool:
        super().wait(timeout)  # the requests are posted
        limit = self._group._timeout_s if timeout is None else timeout.total_seconds()
        deadline = time.monotonic() + limit
        while not self._advance():
            _failure.check(self._what)
            if time.monotonic() > deadline:
                raise DistBackendError(f"{self._what} on rank {self._group._global_rank} "
                                       f"did not complete within {limit:g} s: the peer has "
                                       "stopped or has not posted the matching operation")
            time.sleep(0.0002)
        return True


def _p2p(pg: ProcessGroup, what: str, tensor: Tensor, peer, tag: int, sending: bool):
    transport = _route(pg, what, [tensor])
    if transport == "nccl":
        from . import _nccl
        return _nccl.point_to_point(pg, what, tensor, peer, tag, sending)
    desc = _describe("all_reduce", tensor)  # the header: element type and shape
    work = _P2PWork(what, pg)
    staged = _Arrays(on_device=False)
    mpi = _mpi.MPI()

    def post_send():
        arr = staged.array(tensor, False)
        work._requests = [pg._headers.Isend(desc, dest=peer, tag=tag),
                          pg._comm.Isend(_mpi.as_bytes(arr), dest=peer, tag=tag)]

    def post_data(header, src):
        work._source_rank = pg._ranks[src]
        arr = staged.array(tensor, True)
        if not np.array_equal(header[1:], desc[1:]):
            nbytes = int(header[5]) * _ITEMSIZE[int(header[1])]
            pg._comm.Recv(np.empty(nbytes, np.uint8), source=src, tag=tag)  # drain it
            raise RuntimeError(f"{what}: rank {pg._global_rank} expects {_piece_text(desc)}, "
                               f"but rank {pg._ranks[src]} sent {_piece_text(header)}")
        work._requests = [pg._comm.Irecv(_mpi.as_bytes(arr), source=src, tag=tag)]
        work._finish_recv = staged.write_back

    def post_recv():
        header = np.empty_like(desc)
        status = mpi.Status()
        req = pg._headers.Irecv(header, source=mpi.ANY_SOURCE if peer is None else peer,
                                tag=tag)
        work._post_data = post_data
        work._header = (req, header, status)

    pg._worker.submit(work, post_send if sending else post_recv)
    return work


_ITEMSIZE = [1, 1, 1, 2, 4, 8, 2, 4, 8, 2, 2, 4, 8, 8, 16]  # bytes per element of _DTYPES


def _peer(pg, rank, group_rank, what, word):
    if rank is None and group_rank is None and what in ("recv", "irecv"):
        return None  # any source
    peer = group_peer(pg, rank, group_rank, what, word)
    if peer == pg.rank():
        raise ValueError(f"Invalid {word} rank: {word} rank should not be the same as the rank "
                         "of the current process.")
    return peer


def _tag(tag: int) -> int:
    if not isinstance(tag, int) or tag < 0 or tag > 32767:
        raise ValueError(f"tag must be an integer from 0 to 32767 (MPI's guaranteed range), "
                         f"got {tag!r}")
    return tag


def isend(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0,
          group_dst: int | None = None) -> Work | None:
    """Start sending ``tensor`` to rank ``dst``. See: torch.distributed.isend."""
    _check_tensor(tensor, "tensor")
    pg = resolve(group)
    if pg is None:
        return None
    return _p2p(pg, "isend", tensor, _peer(pg, dst, group_dst, "isend", "dst"), _tag(tag), True)


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0,
          group_src: int | None = None) -> Work | None:
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None).

    See: torch.distributed.irecv.
    """
    _check_tensor(tensor, "tensor")
    pg = resolve(group)
    if pg is None:
        return None
    return _p2p(pg, "irecv", tensor, _peer(pg, src, group_src, "irecv", "src"), _tag(tag),
                False)


def send(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0,
         group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` and wait. See: torch.distributed.send."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor`` from ``src`` (any rank when None); returns the sender's rank.

    See: torch.distributed.recv.
    """
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work._source_rank


class P2POp:
    """One send or receive for ``batch_isend_irecv``. See: torch.distributed.P2POp."""

    def __init__(self, op, tensor: Tensor, peer: int | None = None, group=None, tag: int = 0,
                 group_peer: int | None = None) -> None:
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed."
                             "isend`` or ``torch.distributed.irecv``.")
        _check_tensor(tensor, "tensor")
        self.op, self.tensor, self.peer, self.group = op, tensor, peer, group
        self.tag, self.group_peer = tag, group_peer


def batch_isend_irecv(p2p_op_list: list[P2POp]) -> list[Work]:
    """Start every send and receive of the list; returns their works.

    See: torch.distributed.batch_isend_irecv.
    """
    if not isinstance(p2p_op_list, list) or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    works = []
    for p in p2p_op_list:
        w = p.op(p.tensor, p.peer, p.group, p.tag, p.group_peer)
        if w is not None:
            works.append(w)
    return works
