"""The collective and point-to-point operations on tensors. See: torch.distributed.

Each operation checks its arguments on the calling thread, then runs on its group's
communication thread (``_work.py``): first a small exchange of what every rank passed (which
collective, element type, shape, root, reduction), so ranks that disagree all raise an error
naming both sides instead of exchanging garbage or hanging, then one MPI (or NCCL) call on the
tensors' own memory. ``async_op=True`` returns the ``Work`` at once; otherwise the call waits.
CUDA tensors go through NCCL under the ``nccl`` backend and through host memory under ``mpi``
and ``gloo``.
"""
from __future__ import annotations

import numpy as np

from ..autograd._views import bump
from ..tensor import Tensor
from . import _mpi
from ._group import ProcessGroup, group_peer, resolve
from ._reduce_op import ReduceOp, as_op
from ._work import Work, wait_request

_KINDS = ["all_reduce", "reduce", "broadcast", "all_gather", "all_gather_into_tensor",
          "gather", "scatter", "reduce_scatter", "reduce_scatter_tensor", "all_to_all",
          "all_to_all_single", "barrier"]
_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
           "float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
_MAX_DIMS = 8


# -- argument checks (PyTorch's messages) ---------------------------------------------------------
def _check_tensor(t, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor\n             but got {type(t)} instead.")


def _check_list(ts, name: str) -> None:
    head = (f"Invalid function argument. Expected parameter `{name}` of type "
            f"List[torch.Tensor]\n             but got {type(ts)}")
    if not isinstance(ts, list):
        raise TypeError(f"{head} instead.")
    if not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"{head} with elements of type {[type(t) for t in ts]}.")


def _same_device(what: str, tensors) -> str:
    if all(t._data.__class__ is np.ndarray for t in tensors):
        return "cpu"  # the usual case, without building device objects
    devs = {t.device for t in tensors}
    if len(devs) > 1:
        raise RuntimeError(f"{what}: tensors must be on one device, got "
                           f"{', '.join(sorted(str(d) for d in devs))}")
    return next(iter(devs)).type


# -- the metadata exchange ------------------------------------------------------------------------
def _describe(kind: str, piece: Tensor | None, root: int = -1, op: int = -1) -> np.ndarray:
    head = [_KIND_CODE[kind], -1, -1, root, op, -1, -1, -1]
    if piece is None:
        return np.array(head + [-1] * _MAX_DIMS, np.int64)
    data = piece._data
    shape = data.shape
    head[1], head[2], head[5] = _dtype_code(data.dtype), len(shape), data.size
    dims = list(shape[:_MAX_DIMS])
    return np.array(head + dims + [-1] * (_MAX_DIMS - len(dims)), np.int64)


_KIND_CODE = {k: i for i, k in enumerate(_KINDS)}
_DTYPE_CODE: dict = {}


def _dtype_code(dtype) -> int:
    code = _DTYPE_CODE.get(dtype)
    if code is None:
        code = _DTYPE_CODE[dtype] = _DTYPES.index(np.dtype(dtype).name)
    return code


def _piece_text(row: np.ndarray) -> str:
    if row[1] < 0:
        return "no tensor"
    shape = tuple(int(s) for s in row[8:8 + min(int(row[2]), _MAX_DIMS)])
    return f"a {_DTYPES[row[1]]} tensor of shape {shape}"


def _agree(pg: ProcessGroup, desc: np.ndarray, what: str, same_piece: bool = True) -> None:
    """Raise on every rank when the ranks passed different collectives, roots or tensors."""
    if pg.size() == 1:
        return
    table = np.empty((pg.size(), desc.size), np.int64)
    wait_request(pg._comm.Iallgather(desc, table), what, pg._timeout_s, pg._global_rank)
    if same_piece and (table == desc).all():
        return  # the usual case; the loop below finds who differs
    me = pg.rank()
    for r in range(pg.size()):
        row = table[r]
        if row[0] != desc[0]:
            raise RuntimeError(f"collectives differ between ranks: rank {pg._ranks[me]} called "
                               f"{_KINDS[desc[0]]} but rank {pg._ranks[r]} called "
                               f"{_KINDS[row[0]]}")
        if row[3] != desc[3]:
            raise RuntimeError(f"{what}: ranks disagree on the root: rank {pg._ranks[me]} gave "
                               f"{pg._ranks[desc[3]]}, rank {pg._ranks[r]} gave "
                               f"{pg._ranks[row[3]]}")
        if row[4] != desc[4]:
            raise RuntimeError(f"{what}: ranks disagree on the reduction: rank "
                               f"{pg._ranks[me]} gave {ReduceOp.RedOpType(desc[4])!r}, rank "
                               f"{pg._ranks[r]} gave {ReduceOp.RedOpType(row[4])!r}")
        differs = (row[1] != desc[1]) if not same_piece else (
            not np.array_equal(row[1:3], desc[1:3]) or row[5] != desc[5]
            or not np.array_equal(row[8:], desc[8:]))
        if differs:
            (a, da), (b, db) = sorted([(pg._ranks[me], desc), (pg._ranks[r], row)],
                                      key=lambda p: p[0])
            raise RuntimeError(f"{what}: tensors differ between ranks: rank {a} passed "
                               f"{_piece_text(da)}, rank {b} passed {_piece_text(db)}")


# -- running an operation -------------------------------------------------------------------------
class _Arrays:
    """Contiguous arrays for the tensors an operation touches (host arrays for the MPI
    transport, device arrays for NCCL); copies are written back, and every written tensor is
    counted as updated in place."""

    def __init__(self, on_device: bool) -> None:
        self._on_device = on_device
        self._back: list = []

    def array(self, t: Tensor, write: bool):
        data = t._data
        if self._on_device or isinstance(data, np.ndarray):
            arr = data if data.flags.c_contiguous else data.copy(order="C")
            if write:
                self._back.append((t, None if arr is data else arr))
            return arr
        arr = np.ascontiguousarray(data.get())  # a CUDA tensor under an MPI backend
        if write:
            self._back.append((t, arr))
        return arr

    def write_back(self) -> None:
        for t, arr in self._back:
            if arr is not None:
                if isinstance(t._data, np.ndarray) or not isinstance(arr, np.ndarray):
                    t._data[...] = arr
                else:
                    t._data[...] = _cupy().asarray(arr)
            bump(t)


def _cupy():
    from ..device import cupy_module
    return cupy_module()


def xp_of(arr):
    """The array module (NumPy or CuPy) of ``arr``."""
    return np if isinstance(arr, np.ndarray) else _cupy()


def on_device(transport: str, tensors):
    """Run the decorated body with the tensors' GPU current (CUDA's current device belongs to
    each thread, and the body may run on the group's thread)."""
    def wrap(body):
        if transport != "nccl":
            return body
        index = next(t for t in tensors if t is not None).device.index

        def run():
            with _cupy().cuda.Device(index):
                body()
        return run
    return wrap


def _submit(pg: ProcessGroup, what: str, body, async_op: bool, outputs=()) -> Work | None:
    """Run ``body()`` on the group's thread; return the work or wait for it."""
    work = Work(what, pg, outputs=lambda: outputs)
    pg._worker.submit(work, body, inline=not async_op)
    if async_op:
        return work
    work.wait()
    return None


def _route(pg: ProcessGroup, what: str, tensors) -> str:
    """``'nccl'`` or ``'mpi'``: the transport for these tensors in this group."""
    devtype = _same_device(what, tensors)
    if devtype == "cuda" and pg._uses_nccl:
        return "nccl"
    if devtype == "cpu" and not pg._cpu_allowed:
        raise RuntimeError(f"No backend type associated with device type cpu: the process "
                           f"group's backend is {pg._backend!r}; create it with "
                           "backend='cpu:gloo,cuda:nccl' (or None) for CPU tensors too")
    return "mpi"


def _run_with(pg, what, desc, tensors, write, call, async_op, same_piece=True):
    """The common path: agree on ``desc``, take contiguous arrays, run
    ``call(ops, comm, *arrays)``, where ``ops`` is the transport module (``_mpi`` or
    ``_nccl``) and ``comm`` its communicator."""
    transport = _route(pg, what, [t for t in tensors if t is not None])

    @on_device(transport, tensors)
    def body():
        _agree(pg, desc, what, same_piece)
        if transport == "nccl":
            from . import _nccl
            ops, comm = _nccl, _nccl.communicator(pg)
        else:
            ops, comm = _mpi, pg._comm
        staged = _Arrays(on_device=transport == "nccl")
        arrays = [None if t is None else staged.array(t, w) for t, w in zip(tensors, write)]
        call(ops, comm, *arrays)
        staged.write_back()

    return _submit(pg, what, body, async_op,
                   [t for t, w in zip(tensors, write) if w and t is not None])


# -- collectives ----------------------------------------------------------------------------------
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the group in place. See: torch.distributed.all_reduce."""
    _check_tensor(tensor, "tensor")
    pg = resolve(group)
    if pg is None:
        return None
    rop = as_op(op)
    desc = _describe("all_reduce", tensor, op=int(rop))
    data = tensor._data
    if not async_op and data.__class__ is np.ndarray and data.flags.c_contiguous \
            and pg._cpu_allowed and pg._worker.run_now(lambda: _all_reduce_here(pg, desc, data,
                                                                               rop)):
        bump(tensor)  # the usual synchronous case: no work handle, no staging
        return None
    return _run_with(pg, "all_reduce", desc, [tensor], [True],
                     lambda ops, comm, a: ops.all_reduce(comm, a, rop), async_op)


def _all_reduce_here(pg: ProcessGroup, desc: np.ndarray, data: np.ndarray, rop) -> None:
    _agree(pg, desc, "all_reduce")
    _mpi.all_reduce(pg._comm, data, rop)


def reduce(tensor: Tensor, dst: int | None = None, op=ReduceOp.SUM, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Reduce ``tensor`` onto rank ``dst``. See: torch.distributed.reduce."""
    _check_tensor(tensor, "tensor")
    pg = resolve(group)
    if pg is None:
        return None
    root = group_peer(pg, dst, group_dst, "reduce", "dst")
    rop = as_op(op)
    return _run_with(pg, "reduce", _describe("reduce", tensor, root, int(rop)), [tensor],
                     [pg.rank() == root], lambda ops, comm, a: ops.reduce(comm, a, root, rop),
                     async_op)


def broadcast(tensor: Tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy rank ``src``'s ``tensor`` into every rank's. See: torch.distributed.broadcast."""
    _check_tensor(tensor, "tensor")
    pg = resolve(group)
    if pg is None:
        return None
    root = group_peer(pg, src, group_src, "broadcast", "src")
    return _run_with(pg, "broadcast", _describe("broadcast", tensor, root), [tensor],
                     [pg.rank() != root], lambda ops, comm, a: ops.broadcast(comm, a, root),
                     async_op)


def _check_pieces(what: str, pieces, like: Tensor, count: int, name: str) -> None:
    if len(pieces) != count:
        raise ValueError(f"{what}: `{name}` must hold one tensor per rank ({count}), got "
                         f"{len(pieces)}")
    for i, p in enumerate(pieces):
        if p.dtype != like.dtype or tuple(p.shape) != tuple(like.shape):
            raise RuntimeError(f"{what}: `{name}`[{i}] is a {p.dtype} tensor of shape "
                               f"{tuple(p.shape)}, but the tensor is {like.dtype} of shape "
                               f"{tuple(like.shape)}")


def _root_pieces(pg: ProcessGroup, root: int, pieces, like: Tensor, what: str, name: str,
                 role: str) -> list:
    """The per-rank list that only the root passes (gather's outputs, scatter's inputs),
    checked there; an empty list on the other ranks, which must pass none."""
    if pg.rank() != root:
        if pieces:
            raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{role} ranks.")
        return []
    if not pieces:
        raise ValueError(f"Argument ``{name}`` must be specified on {role} rank.")
    _check_list(pieces, name)
    _check_pieces(what, pieces, like, pg.size(), name)
    return list(pieces)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Gather every rank's ``tensor`` into ``tensor_list`` on all ranks.

    See: torch.distributed.all_gather.
    """
    _check_list(tensor_list, "tensor_list")
    _check_tensor(tensor, "tensor")
    pg = resolve(group)
    if pg is None:
        return None
    _check_pieces("all_gather", tensor_list, tensor, pg.size(), "tensor_list")
    tensors = [tensor] + tensor_list

    def call(ops, comm, a, *outs):
        stacked = xp_of(a).empty((len(outs),) + a.shape, a.dtype)
        ops.all_gather(comm, stacked, a)
        for o, s in zip(outs, stacked):
            o[...] = s

    return _run_with(pg, "all_gather", _describe("all_gather", tensor), tensors,
                     [False] + [True] * len(tensor_list), call, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Gather every rank's ``input_tensor`` into one ``output_tensor`` (stacked or
    concatenated along dim 0). See: torch.distributed.all_gather_into_tensor."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    pg = resolve(group)
    if pg is None:
        return None
    if output_tensor.dtype != input_tensor.dtype:
        raise RuntimeError(f"all_gather_into_tensor: output is {output_tensor.dtype} but input "
                           f"is {input_tensor.dtype}")
    if output_tensor.numel() != input_tensor.numel() * pg.size():
        raise ValueError(f"output tensor size must be equal to world_size times input tensor "
                         f"size: output {tuple(output_tensor.shape)}, input "
                         f"{tuple(input_tensor.shape)}, world size {pg.size()}")
    return _run_with(pg, "all_gather_into_tensor",
                     _describe("all_gather_into_tensor", input_tensor),
                     [output_tensor, input_tensor], [True, False],
                     lambda ops, comm, out, a: ops.all_gather(comm, out, a), async_op)


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None,
           group=None, async_op: bool = False, group_dst: int | None = None):
    """Gather every rank's ``tensor`` into ``gather_list`` on rank ``dst``.

    See: torch.distributed.gather.
    """
    _check_tensor(tensor, "tensor")
    pg = resolve(group)
    if pg is None:
        return None
    root = group_peer(pg, dst, group_dst, "gather", "dst")
    outs = _root_pieces(pg, root, gather_list, tensor, "gather", "gather_list", "destination")

    def call(ops, comm, a, *o):
        stacked = xp_of(a).empty((len(o),) + a.shape, a.dtype) if o else None
        ops.gather(comm, stacked, a, root)
        for dst_arr, s in zip(o, stacked if o else ()):
            dst_arr[...] = s

    return _run_with(pg, "gather", _describe("gather", tensor, root), [tensor] + outs,
                     [False] + [True] * len(outs), call, async_op)


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None,
            group=None, async_op: bool = False, group_src: int | None = None):
    """Send ``scatter_list[i]`` from rank ``src`` into rank i's ``tensor``.

    See: torch.distributed.scatter.
    """
    _check_tensor(tensor, "tensor")
    pg = resolve(group)
    if pg is None:
        return None
    root = group_peer(pg, src, group_src, "scatter", "src")
    ins = _root_pieces(pg, root, scatter_list, tensor, "scatter", "scatter_list", "source")

    def call(ops, comm, out, *i):
        stacked = xp_of(out).stack(i) if i else None
        ops.scatter(comm, out, stacked, root)

    return _run_with(pg, "scatter", _describe("scatter", tensor, root), [tensor] + ins,
                     [True] + [False] * len(ins), call, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input_list[i]`` across ranks into rank i's ``output``.

    See: torch.distributed.reduce_scatter.
    """
    _check_tensor(output, "output")
    _check_list(input_list, "input_list")
    pg = resolve(group)
    if pg is None:
        return None
    _check_pieces("reduce_scatter", input_list, output, pg.size(), "input_list")
    rop = as_op(op)

    def call(ops, comm, out, *ins):
        ops.reduce_scatter_block(comm, out, xp_of(out).stack(ins), rop)

    return _run_with(pg, "reduce_scatter", _describe("reduce_scatter", output, op=int(rop)),
                     [output] + list(input_list), [True] + [False] * len(input_list), call,
                     async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):  # noqa: A002
    """Reduce ``input`` (world size blocks along dim 0) across ranks; block i lands in rank
    i's ``output``. See: torch.distributed.reduce_scatter_tensor."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = resolve(group)
    if pg is None:
        return None
    if input.numel() != output.numel() * pg.size() or input.dtype != output.dtype:
        raise ValueError(f"input tensor must be the same type as the output tensor and hold "
                         f"world_size times its elements: input {input.dtype} "
                         f"{tuple(input.shape)}, output {output.dtype} {tuple(output.shape)}, "
                         f"world size {pg.size()}")
    rop = as_op(op)
    return _run_with(pg, "reduce_scatter_tensor",
                     _describe("reduce_scatter_tensor", output, op=int(rop)), [output, input],
                     [True, False], lambda ops, comm, out, a: ops.reduce_scatter_block(
                         comm, out, a, rop), async_op)


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Wait until every rank of the group reaches the barrier. See: torch.distributed.barrier.

    The barrier itself runs on MPI for every backend. ``device_ids`` (CUDA device indices)
    first waits for the work queued on those GPUs, so the barrier also orders it, as PyTorch's
    NCCL barrier on those devices does.
    """
    pg = resolve(group)
    if pg is None:
        return None
    if device_ids is not None:
        if not isinstance(device_ids, list) or not all(isinstance(i, int) for i in device_ids):
            raise TypeError("Invalid function argument: device_ids type should be List[int]")
        _synchronize_gpus(device_ids)
    desc = _describe("barrier", None)

    def body():
        _agree(pg, desc, "barrier")
        wait_request(pg._comm.Ibarrier(), "barrier", pg._timeout_s, pg._global_rank)

    work = Work("barrier", pg)
    pg._worker.submit(work, body, inline=not async_op)
    if async_op:
        return work
    work.wait(timeout)
    return None


def _synchronize_gpus(device_ids: list[int]) -> None:
    from .. import cuda
    count = cuda.device_count()
    for i in device_ids:
        if not 0 <= i < count:
            raise ValueError(f"barrier: device_ids names cuda:{i}, but this process has "
                             f"{count} CUDA device(s)")
        cuda.synchronize(i)


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False):
    """A barrier that raises at ``timeout``, naming this rank. See:
    torch.distributed.monitored_barrier.

    Ranks that have not arrived cannot be named without a coordinator; the error says which
    rank gave up.
    """
    if wait_all_ranks:
        raise ValueError("monitored_barrier(wait_all_ranks=True) is not supported by "
                         "brickwork: it cannot name every missing rank without a coordinator")
    return barrier(group, timeout=timeout)
