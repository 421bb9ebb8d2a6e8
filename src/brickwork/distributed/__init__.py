"""Distributed training across processes: process groups, collectives, point-to-point.

brickwork runs PyTorch's ``torch.distributed`` API on the engines clusters already have: MPI
(through mpi4py) for CPU tensors and NCCL (through CuPy) for CUDA tensors. Start the processes
with MPI's launcher; every rank then calls ``init_process_group``::

    mpiexec -n 4 python train.py          # or: brickwork run -n 4 train.py

    import brickwork.distributed as dist
    dist.init_process_group()              # rank and world size come from MPI
    dist.all_reduce(t, op=dist.ReduceOp.SUM)

Backends: ``'mpi'``; ``'gloo'``, the name CPU scripts written for PyTorch use, which brickwork
runs on MPI as well; ``'nccl'`` for CUDA tensors (its unique id travels over MPI); ``None``
picks NCCL for CUDA tensors when CuPy has it, MPI otherwise. ``brickwork run`` also sets
torchrun's ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``, so scripts written for ``torchrun`` run unchanged.

When a rank fails with an exception, the other ranks stop with a ``DistBackendError`` naming
it; when a rank dies outright, ``mpiexec`` stops the job and names it. Collectives whose ranks
pass different tensors (shape, dtype) or different operations raise on every rank, naming both.

See: torch.distributed.
"""
from ._collectives import (all_gather, all_gather_into_tensor, all_reduce, barrier, broadcast,
                           gather, monitored_barrier, reduce, reduce_scatter,
                           reduce_scatter_tensor, scatter)
from ._extras import (DebugLevel, all_gather_coalesced, all_reduce_coalesced, breakpoint,
                      get_debug_level, get_default_backend_for_device, get_node_local_rank,
                      get_pg_count, is_torchelastic_launched, is_ucc_available,
                      is_xccl_available, new_subgroups, new_subgroups_by_enumeration,
                      recv_object_list, send_object_list, set_debug_level,
                      set_debug_level_from_env, supports_complex)
from ._exchange import (P2POp, all_to_all, all_to_all_single, batch_isend_irecv, irecv, isend,
                        recv, send)
from ._group import (Backend, GroupMember, ProcessGroup, default_pg_timeout,
                     destroy_process_group, get_backend, get_global_rank, get_group_rank,
                     get_process_group_ranks, get_rank, get_world_size, group,
                     init_process_group, is_available, is_backend_available, is_gloo_available,
                     is_initialized, is_mpi_available, is_nccl_available, new_group)
from ._objects import (all_gather_object, broadcast_object_list, gather_object,
                       scatter_object_list)
from ._reduce_op import ReduceOp, reduce_op
from ._work import DistBackendError, DistError, DistNetworkError, DistStoreError, Work

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # DistributedDataParallel's first bucket


def __getattr__(name: str):
    if name == "GradBucket":  # imported late: nn.parallel imports this package
        from ..nn.parallel._reducer import GradBucket
        return GradBucket
    raise AttributeError(f"module 'brickwork.distributed' has no attribute {name!r}")

__all__ = [
    "Backend", "DistBackendError", "DistError", "DistNetworkError", "DistStoreError",
    "GradBucket", "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "Work",
    "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_to_all",
    "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast", "broadcast_object_list",
    "default_pg_timeout", "destroy_process_group", "gather", "gather_object", "get_backend",
    "get_global_rank", "get_group_rank", "get_process_group_ranks", "get_rank",
    "get_world_size", "group", "init_process_group", "irecv", "is_available",
    "is_backend_available", "is_gloo_available", "is_initialized", "is_mpi_available",
    "is_nccl_available", "isend", "monitored_barrier", "new_group", "recv", "reduce",
    "reduce_op", "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list",
    "send", "DebugLevel", "all_gather_coalesced", "all_reduce_coalesced", "breakpoint",
    "get_debug_level", "get_default_backend_for_device", "get_node_local_rank", "get_pg_count",
    "is_torchelastic_launched", "is_ucc_available", "is_xccl_available", "new_subgroups",
    "new_subgroups_by_enumeration", "recv_object_list", "send_object_list", "set_debug_level",
    "set_debug_level_from_env", "supports_complex",
]
