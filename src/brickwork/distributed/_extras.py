"""The smaller parts of ``torch.distributed``'s API: launch environment queries, debug levels,
``breakpoint``, objects sent point-to-point, subgroups, and the deprecated coalesced
collectives. See: torch.distributed.

Every function here is built on the process groups and operations of the rest of the package;
none talks to MPI itself.
"""
from __future__ import annotations

import enum
import logging
import os
import pickle
import sys
import traceback
import warnings
from typing import Any

import numpy as np

from ..tensor import Tensor
from ._collectives import _check_list, all_gather, all_reduce, barrier
from ._exchange import P2POp, batch_isend_irecv, irecv, isend, recv, send
from ._group import (GroupMember, ProcessGroup, _groups, get_process_group_ranks, group_count,
                     get_rank, get_world_size, new_group, resolve)
from ._objects import _object_device, _sizes_tensor, _uint8
from ._reduce_op import ReduceOp, RedOpType, as_op


# -- the launch environment -----------------------------------------------------------------------
def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank among the processes of its machine, from ``LOCAL_RANK`` (which
    ``brickwork run`` sets), else ``fallback_rank``.

    See: torch.distributed.get_node_local_rank.
    """
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(
        "LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
        "`get_node_local_rank` to work, assuming you are not running in a multi-device context "
        "and want the code to run locally instead.")


def is_torchelastic_launched() -> bool:
    """True when ``TORCHELASTIC_RUN_ID`` is set (torchelastic's launcher sets it; ``mpiexec``
    and ``brickwork run`` do not). See: torch.distributed.is_torchelastic_launched."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


_DEVICE_BACKENDS = {"cpu": "gloo", "cuda": "nccl"}  # brickwork runs 'gloo' on MPI


def get_default_backend_for_device(device) -> str:
    """The backend name a device's tensors use by default: ``'gloo'`` for CPU (run on MPI),
    ``'nccl'`` for CUDA. See: torch.distributed.get_default_backend_for_device."""
    from ..device import device as make_device
    device_str = device.type if hasattr(device, "type") and not isinstance(device, str) \
        else make_device(device).type
    backend = _DEVICE_BACKENDS.get(device_str)
    if backend is None:
        raise ValueError(f"Default backend not registered for device : {device}")
    return backend


def is_ucc_available() -> bool:
    """False: brickwork has no UCC backend. See: torch.distributed.is_ucc_available."""
    return False


def is_xccl_available() -> bool:
    """False: brickwork has no XCCL backend. See: torch.distributed.is_xccl_available."""
    return False


def get_pg_count() -> int:
    """The number of process groups created since ``init_process_group`` (the default group
    included), as PyTorch counts them: every ``new_group`` call, this rank a member or not;
    0 once everything is destroyed. See: torch.distributed.get_pg_count."""
    return group_count[0]


def supports_complex(reduceOp: ReduceOp) -> bool:
    """Whether ``reduceOp`` can reduce complex tensors (not MAX, MIN, PRODUCT or the bitwise
    ones). See: torch.distributed.supports_complex."""
    deny = (RedOpType.MAX, RedOpType.MIN, RedOpType.PRODUCT, RedOpType.BAND, RedOpType.BOR,
            RedOpType.BXOR)
    return reduceOp not in deny


# -- debug levels ---------------------------------------------------------------------------------
class DebugLevel(enum.Enum):
    """``OFF``, ``INFO``, ``DETAIL``: how much the distributed package reports, set by the
    ``TORCH_DISTRIBUTED_DEBUG`` variable or ``set_debug_level``. brickwork stores the level;
    its collectives check argument agreement across ranks at every level.

    See: torch.distributed.DebugLevel.
    """

    OFF = 0
    INFO = 1
    DETAIL = 2

    def __int__(self) -> int:
        return self.value


def _level_from_env() -> DebugLevel:
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG")
    if value is None:
        return DebugLevel.OFF
    level = DebugLevel.__members__.get(value.upper())
    if level is None:
        raise ValueError("The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL.")
    return level


_debug_level = [_level_from_env()]


def get_debug_level() -> DebugLevel:
    """The package's debug level. See: torch.distributed.get_debug_level."""
    return _debug_level[0]


def set_debug_level(level: DebugLevel, /) -> None:
    """Set the package's debug level. See: torch.distributed.set_debug_level."""
    if not isinstance(level, DebugLevel):
        raise TypeError(f"set_debug_level(): incompatible function arguments: expected a "
                        f"DebugLevel, got {level!r}")
    _debug_level[0] = level


def set_debug_level_from_env() -> None:
    """Set the debug level from ``TORCH_DISTRIBUTED_DEBUG`` (``OFF`` when unset).

    See: torch.distributed.set_debug_level_from_env.
    """
    _debug_level[0] = _level_from_env()


# -- breakpoint -----------------------------------------------------------------------------------
_breakpoint_cache: dict[int, int] = {}
_log = logging.getLogger(__name__)


def _make_distributed_pdb():
    """A debugger that reads the terminal through ``/dev/stdin``, which MPI's launcher
    forwards, rather than the ``sys.stdin`` the process may have been given."""
    import pdb

    class _DistributedPdb(pdb.Pdb):
        def interaction(self, *args, **kwargs):
            saved = sys.stdin
            try:
                with open("/dev/stdin") as sys.stdin:
                    pdb.Pdb.interaction(self, *args, **kwargs)
            finally:
                sys.stdin = saved

    return _DistributedPdb()


def breakpoint(rank: int = 0, skip: int = 0, timeout_s=3600):  # noqa: A001
    """Enter the debugger on rank ``rank`` only; the other ranks wait for it at a barrier.

    ``skip`` passes over the first ``skip`` calls. ``timeout_s`` (unless None) becomes every
    process group's timeout, so the waiting ranks do not give up during the session. Under
    ``mpiexec`` the terminal's input reaches rank 0, so debug rank 0 unless the launcher
    forwards input elsewhere.

    See: torch.distributed.breakpoint.
    """
    if skip > 0:
        key = hash(str(traceback.format_exc()))
        counter = _breakpoint_cache.get(key, 0) + 1
        _breakpoint_cache[key] = counter
        if counter <= skip:
            _log.warning("Skip the breakpoint, counter=%d", counter)
            return
    if timeout_s is not None:
        for pg in _groups:
            pg._timeout_s = float(timeout_s)
    if get_rank() == rank:
        pdb = _make_distributed_pdb()
        pdb.message("\n!!! ATTENTION !!!\n\n"
                    f"Type 'up' to get to the frame that called dist.breakpoint(rank={rank})\n")
        pdb.set_trace()
    barrier()


# -- objects, point to point ----------------------------------------------------------------------
def _warn_not_in_group(op_name: str) -> None:
    world = GroupMember.WORLD
    global_rank = -1 if world is None else world.rank()
    warnings.warn(f"Running {op_name} on global rank {global_rank} which does not belong to "
                  "the given group.", stacklevel=3)


def _group_peer(pg: ProcessGroup, rank: int | None, group_rank: int | None, kind: str) -> int:
    """The peer's group rank from exactly one of a global ``rank`` and a ``group_rank``."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
        if not 0 <= group_rank < pg.size():
            raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
    else:
        if rank is None:
            raise ValueError("Must specify global_rank or group_rank")
        if rank not in pg._ranks:
            raise ValueError(f"Global rank {rank} is not part of group {pg}")
        group_rank = pg._ranks.index(rank)
    if group_rank == pg.rank():
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the rank "
                         "of the current process.")
    return group_rank


def _p2p_wait(op, tensor: Tensor, pg: ProcessGroup, peer: int) -> None:
    batch_isend_irecv([P2POp(op, tensor, group=pg, group_peer=peer)]).pop().wait()


def send_object_list(object_list: list[Any], dst: int | None = None, group=None, device=None,
                     group_dst: int | None = None, use_batch: bool = False):
    """Send the picklable objects of ``object_list`` to rank ``dst`` (a global rank, or
    ``group_dst`` in ``group``); the receiver passes a list of the same length to
    ``recv_object_list``. ``use_batch`` sends through ``batch_isend_irecv``.

    Only exchange pickles between ranks of one program you trust: unpickling runs code.

    See: torch.distributed.send_object_list.
    """
    pg = resolve(group)
    if pg is None:
        _warn_not_in_group("send_object_list")
        return
    peer = _group_peer(pg, dst, group_dst, "destination")
    device = _object_device(pg, device)
    blobs = [pickle.dumps(obj) for obj in object_list]
    sizes = _sizes_tensor([len(b) for b in blobs], device)
    from .. import tensor as make
    payload = make(np.frombuffer(b"".join(blobs), np.uint8).copy())
    payload = payload if device is None else payload.to(device)
    for t in (sizes, payload):  # the sizes first, so the receiver can size its buffer
        if use_batch:
            _p2p_wait(isend, t, pg, peer)
        else:
            send(t, group_dst=peer, group=pg)


def recv_object_list(object_list: list[Any], src: int | None = None, group=None, device=None,
                     group_src: int | None = None, use_batch: bool = False):
    """Fill ``object_list`` with the objects rank ``src`` (or ``group_src`` in ``group``) sent
    with ``send_object_list``; returns the sender's global rank (-1 outside ``group``).

    See: torch.distributed.recv_object_list.
    """
    pg = resolve(group)
    if pg is None:
        _warn_not_in_group("recv_object_list")
        return -1
    peer = _group_peer(pg, src, group_src, "source")
    device = _object_device(pg, device)
    from .. import empty, int64
    sizes = empty(len(object_list), dtype=int64, device=device)
    if use_batch:
        _p2p_wait(irecv, sizes, pg, peer)
    else:
        recv(sizes, group_src=peer, group=pg)
    counts = [int(n) for n in sizes.cpu().numpy()]
    payload = empty(sum(counts), dtype=_uint8(), device=device)
    if use_batch:
        _p2p_wait(irecv, payload, pg, peer)
    else:
        recv(payload, group_src=peer, group=pg)
    data = payload.cpu().numpy().tobytes()
    at = 0
    for i, n in enumerate(counts):
        object_list[i] = pickle.loads(data[at:at + n])
        at += n
    return pg._ranks[peer]


# -- subgroups ------------------------------------------------------------------------------------
def new_subgroups(group_size=None, group=None, timeout=None, backend=None, pg_options=None,
                  group_desc=None):
    """Split ``group`` (default: every rank) into consecutive subgroups of ``group_size`` ranks
    (default: the number of GPUs); every rank of ``group`` calls it. Returns this rank's
    subgroup and the list of all of them.

    See: torch.distributed.new_subgroups.
    """
    if group_size is None:
        from .. import cuda
        if not cuda.is_available():
            raise ValueError(
                "Default group size only takes effect when CUDA is available.If your subgroup "
                "using a backend that does not depend on CUDA,please pass in 'group_size' "
                "correctly.")
        group_size = cuda.device_count()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    world_size = get_world_size(group=group)
    if world_size < group_size:
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world size "
                         f"({world_size})")
    if world_size % group_size != 0:
        raise ValueError(f"The world size ({world_size}) must be divisible by '{group_size=}'")
    ranks = get_process_group_ranks(group=group)
    return new_subgroups_by_enumeration(
        [ranks[i:i + group_size] for i in range(0, len(ranks), group_size)], timeout=timeout,
        backend=backend, pg_options=pg_options, group_desc=group_desc)


def new_subgroups_by_enumeration(ranks_per_subgroup_list, timeout=None, backend=None,
                                 pg_options=None, group_desc=None):
    """Make one subgroup per list of global ranks (the lists must not overlap; a rank may be
    in none); every rank calls it. Returns this rank's subgroup (None if it is in none) and
    the list of all of them.

    See: torch.distributed.new_subgroups_by_enumeration.
    """
    if ranks_per_subgroup_list is None or len(ranks_per_subgroup_list) == 0:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    subgroups = []
    cur_subgroup = None
    owner: dict[int, Any] = {}  # rank -> the list it appeared in, to refuse overlaps
    my_rank = get_rank()
    for ranks in ranks_per_subgroup_list:
        subgroup = new_group(ranks=ranks, timeout=timeout, backend=backend,
                             pg_options=pg_options, group_desc=group_desc)
        subgroups.append(subgroup)
        for rank in ranks:
            if rank in owner:
                raise ValueError(f"Rank {rank} has appeared in both subgroup {owner[rank]} and "
                                 f"{ranks}")
            owner[rank] = ranks
            if rank == my_rank:
                cur_subgroup = subgroup
    return cur_subgroup, subgroups


# -- deprecated coalesced collectives -------------------------------------------------------------
def _same_dtype(tensors) -> None:
    from .. import complex64, complex128, float32
    last = None
    for t in tensors:
        dtype = t.dtype
        if dtype.is_complex:  # a complex tensor may travel with its element type
            dtype = float32 if dtype == complex64 else complex128
        if last is None:
            last = dtype
        elif last != dtype:
            raise ValueError("Invalid usage of tensors with different dtypesFound "
                             f"{last} and  {t.dtype}")


def _combined(works: list, outputs):
    """One future for several works: completed when all are, holding ``outputs``."""
    from ..futures import Future

    def wait():
        for w in works:
            w.wait()
        return outputs

    return Future._from_work(wait, lambda: all(w.is_completed() for w in works))


def all_reduce_coalesced(tensors, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Deprecated: ``all_reduce`` each tensor of ``tensors`` (one dtype) in place;
    ``async_op=True`` returns a future of the list.

    See: torch.distributed.all_reduce_coalesced.
    """
    warnings.warn("`torch.distributed.all_reduce_coalesced` will be deprecated. If you must "
                  "use it, please revisit our documentation later at "
                  "https://pytorch.org/docs/main/distributed.html#collective-functions",
                  FutureWarning, stacklevel=2)
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    _check_list(tensors, "tensor")
    _same_dtype(tensors)
    pg = resolve(group)
    if pg is None:
        _warn_not_in_group("all_reduce_coalesced")
        return None
    if any(t.is_complex() for t in tensors) and not supports_complex(op):
        raise ValueError(f"all_reduce does not support {as_op(op)} on complex tensors")
    works = [all_reduce(t, op=op, group=pg, async_op=True) for t in tensors]
    future = _combined(works, tensors)
    if async_op:
        return future
    future.wait()
    return None


def all_gather_coalesced(output_tensor_lists, input_tensor_list, group=None,
                         async_op: bool = False):
    """Deprecated: ``output_tensor_lists[r][i]`` receives rank r's ``input_tensor_list[i]``;
    ``async_op=True`` returns a future of ``output_tensor_lists``.

    See: torch.distributed.all_gather_coalesced.
    """
    warnings.warn("`torch.distributed.all_gather_coalesced` will be deprecated. If you must use "
                  "it, please revisit our documentation later at "
                  "https://pytorch.org/docs/main/distributed.html#collective-functions",
                  FutureWarning, stacklevel=2)
    pg = resolve(group)
    if pg is None:
        _warn_not_in_group("all_gather_coalesced")
        return None
    _check_list(input_tensor_list, "input_tensor_list")
    _same_dtype(input_tensor_list)
    if not isinstance(output_tensor_lists, list):
        raise TypeError("Invalid function argument: output_tensor_lists should be a list")
    for out in output_tensor_lists:
        _check_list(out, "output_tensor_lists")
        _same_dtype(out)
    if len(output_tensor_lists) != pg.size():
        raise RuntimeError("all_gather_coalesced: output lists should be equal to world size")
    for out in output_tensor_lists:
        if len(out) != len(input_tensor_list):
            raise RuntimeError("all_gather_coalesced: each output list should have as many "
                               "tensors as the input list")
    works = [all_gather([out[i] for out in output_tensor_lists], t, group=pg, async_op=True)
             for i, t in enumerate(input_tensor_list)]
    future = _combined(works, output_tensor_lists)
    if async_op:
        return future
    future.wait()
    return None


__all__ = [
    "DebugLevel", "all_gather_coalesced", "all_reduce_coalesced", "breakpoint",
    "get_debug_level", "get_default_backend_for_device", "get_node_local_rank",
    "get_pg_count", "is_torchelastic_launched", "is_ucc_available", "is_xccl_available",
    "new_subgroups", "new_subgroups_by_enumeration", "recv_object_list", "send_object_list",
    "set_debug_level", "set_debug_level_from_env", "supports_complex",
]
