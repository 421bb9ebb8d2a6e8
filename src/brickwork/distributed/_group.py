"""Process groups: the default group made by ``init_process_group``, and ``new_group``.

A ``ProcessGroup`` owns an MPI communicator of its own (a duplicate or split of MPI's world, so
the program's own use of MPI never mixes with brickwork's), a communication thread, the timeout,
and, for CUDA tensors under the ``nccl`` backend, an NCCL communicator whose unique id travels
over MPI. The backend names: ``'mpi'``; ``'gloo'``, which scripts written for PyTorch's CPU
training ask for and which brickwork runs on MPI too; ``'nccl'`` for CUDA tensors; and ``None``,
which uses NCCL for CUDA tensors when CuPy has NCCL and MPI for everything else.
"""
from __future__ import annotations

import datetime
import os

from . import _failure, _mpi
from ._work import Worker

default_pg_timeout = datetime.timedelta(minutes=30)


class Backend(str):
    """A backend name (``Backend.MPI``, ``Backend.GLOO``, ``Backend.NCCL``). See:
    torch.distributed.Backend."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    backend_list = [UNDEFINED, GLOO, NCCL, MPI]

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, got {name!r}")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        if value == Backend.UNDEFINED:
            value = name.lower()
        return str.__new__(cls, value)


class ProcessGroup:
    """A set of ranks that run collectives together. See: torch.distributed.ProcessGroup."""

    def __init__(self, comm, ranks: list[int], backend: str, timeout_s: float,
                 name: str, uses_nccl: bool, cpu_allowed: bool) -> None:
        self._comm = comm
        self._ranks = ranks  # group rank -> global rank
        self._backend = backend
        self._timeout_s = timeout_s
        self.group_name = name
        self._uses_nccl = uses_nccl
        self._cpu_allowed = cpu_allowed
        self._nccl = None  # made on the first CUDA collective (_nccl.py)
        self._headers = comm.Dup()  # point-to-point headers travel apart from the data
        self._global_rank = ranks[comm.Get_rank()]
        self._closed = False
        self._worker = Worker(f"dist-{name}", threaded=_mpi.MPI().Query_thread()
                              == _mpi.MPI().THREAD_MULTIPLE)

    def rank(self) -> int:
        """This process's rank in the group."""
        return self._comm.Get_rank()

    def size(self) -> int:
        """The number of ranks in the group."""
        return self._comm.Get_size()

    def name(self) -> str:
        return self._backend

    def _close(self) -> None:
        self._closed = True
        self._worker.stop()
        if self._nccl is not None:
            self._nccl.close()
            self._nccl = None
        self._headers.Free()
        self._comm.Free()

    def __repr__(self) -> str:
        if self._closed:
            return f"<brickwork.distributed.ProcessGroup {self.group_name!r} (destroyed)>"
        return (f"<brickwork.distributed.ProcessGroup {self.group_name!r} backend="
                f"{self._backend} rank={self.rank()} size={self.size()}>")


class GroupMember:
    """``GroupMember.WORLD`` (the default group) and ``NON_GROUP_MEMBER``, the value
    ``new_group`` gives ranks outside the new group. See: torch.distributed.GroupMember."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


group = GroupMember  # PyTorch's ``dist.group.WORLD``
_groups: list[ProcessGroup] = []
group_count = [0]  # groups created since init, members or not (get_pg_count, as PyTorch counts)


def is_available() -> bool:
    """True: brickwork always has its distributed package (it needs MPI only to run)."""
    return True


def is_initialized() -> bool:
    """True once ``init_process_group`` has run (and ``destroy_process_group`` has not)."""
    return GroupMember.WORLD is not None


def is_mpi_available() -> bool:
    """True when mpi4py (and so an MPI library) is installed."""
    return _mpi.available()


def is_gloo_available() -> bool:
    """True when the ``'gloo'`` name can be used: brickwork runs it on MPI."""
    return _mpi.available()


def is_nccl_available() -> bool:
    """True when CuPy with NCCL support is installed."""
    from ._nccl import available
    return available()


def is_backend_available(backend: str) -> bool:
    """Whether ``backend`` (``'mpi'``, ``'gloo'``, ``'nccl'``) can run here."""
    name = str(backend).lower()
    return {"mpi": is_mpi_available, "gloo": is_gloo_available,
            "nccl": is_nccl_available}.get(name, lambda: False)()


def _resolve_backend(backend) -> tuple[str, bool, bool]:
    """``(name, uses_nccl, cpu_allowed)`` for a backend argument."""
    if backend is None:
        nccl = is_nccl_available() and _cuda_count() > 0
        return ("cpu:mpi,cuda:nccl" if nccl else "mpi"), nccl, True
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string such as 'mpi', 'gloo' or 'nccl', got "
                        f"{backend!r}")
    name = backend.lower()
    if ":" in name:  # "cpu:gloo,cuda:nccl"
        pairs = dict(part.split(":", 1) for part in name.split(","))
        unknown = set(pairs) - {"cpu", "cuda"}
        if unknown or not set(pairs.values()) <= {"gloo", "mpi", "nccl"}:
            raise ValueError(f"Invalid backend string {backend!r}: expected pairs such as "
                             "'cpu:gloo,cuda:nccl'")
        return name, pairs.get("cuda") == "nccl", "cpu" in pairs
    if name in ("mpi", "gloo"):
        return name, False, True
    if name == "nccl":
        if not is_nccl_available():
            raise RuntimeError("the 'nccl' backend needs CuPy with NCCL support (install "
                               "brickwork's cuda12 or cuda13 extra); use 'mpi' or 'gloo' "
                               "for CPU tensors")
        return name, True, False
    raise ValueError(f"Invalid backend: {backend!r}: brickwork supports 'mpi', 'gloo' (run on "
                     "MPI) and 'nccl'")


def _cuda_count() -> int:
    from .. import cuda
    return cuda.device_count()


def _check_launch(world, world_size: int, rank: int) -> None:
    size, me = world.Get_size(), world.Get_rank()
    env_size = os.environ.get("WORLD_SIZE")
    if world_size == -1 and env_size is not None:
        try:
            world_size = int(env_size)
        except ValueError:
            raise ValueError(f"WORLD_SIZE must be an integer, got {env_size!r}") from None
        if world_size != size:
            raise RuntimeError(
                f"WORLD_SIZE is {world_size} but MPI started {size} process(es): brickwork "
                "forms its process group through MPI, so launch the script with `mpiexec -n "
                f"{world_size} python ...` or `brickwork run -n {world_size} ...`")
    if world_size not in (-1, size):
        raise ValueError(f"init_process_group(world_size={world_size}) but MPI started {size} "
                         f"process(es) (mpiexec -n {size}); they must agree")
    if rank not in (-1, me):
        raise ValueError(f"init_process_group(rank={rank}) but MPI gave this process rank {me}; "
                         "they must agree (or leave rank unset)")


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None, _ranks: list[int] | None = None) -> None:
    """Join the default process group of every process started by ``mpiexec``.

    Rank and world size come from MPI; ``world_size``/``rank``, when given, must agree with
    it (as must a ``WORLD_SIZE`` variable). ``init_method`` may be ``None`` or ``'env://'``:
    MPI's launcher does the rendezvous, so TCP or file addresses are refused rather than
    ignored. A single process started without ``mpiexec`` forms a group of one.

    See: torch.distributed.init_process_group.
    """
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None:
        raise ValueError("init_process_group(store=...) is not supported: brickwork forms its "
                         "process group through MPI's launcher, not a key-value store")
    if pg_options is not None:
        raise ValueError("init_process_group(pg_options=...) is not supported by brickwork")
    if _ranks is not None:
        raise ValueError("init_process_group(_ranks=...) is not supported by brickwork")
    if init_method not in (None, "env://"):
        raise ValueError(
            f"init_method {init_method!r} is not supported: brickwork's processes meet through "
            "MPI's launcher (`mpiexec -n N python script.py` or `brickwork run -n N "
            "script.py`); pass init_method=None or 'env://'")
    name, uses_nccl, cpu_allowed = _resolve_backend(backend)
    mpi = _mpi.MPI()
    world = mpi.COMM_WORLD
    _check_launch(world, world_size, rank)
    if device_id is not None:
        from .. import cuda
        from ..device import device as _device
        dev = _device("cuda", device_id) if isinstance(device_id, int) else _device(device_id)
        if dev.type != "cuda":
            raise ValueError(f"device_id must be a CUDA device, got {dev}")
        cuda.set_device(dev)
    timeout_s = (default_pg_timeout if timeout is None else timeout).total_seconds()
    _failure.install(world)
    pg = ProcessGroup(world.Dup(), list(range(world.Get_size())), name, timeout_s,
                      group_name or "default_pg", uses_nccl, cpu_allowed)
    GroupMember.WORLD = pg
    _groups.append(pg)
    group_count[0] = 1


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization: bool = False, group_desc=None, device_id=None,
              sort_ranks: bool = True):
    """A process group of ``ranks`` (global ranks; default every rank).

    Every rank calls it, unless ``use_local_synchronization`` (then only the members do);
    ranks outside the group get ``GroupMember.NON_GROUP_MEMBER``.

    See: torch.distributed.new_group.
    """
    world = _default_group()
    if pg_options is not None:
        raise ValueError("new_group(pg_options=...) is not supported by brickwork")
    if device_id is not None:
        raise ValueError("new_group(device_id=...) is not supported by brickwork; select the "
                         "GPU with brickwork.cuda.set_device")
    size = world.size()
    members = list(range(size)) if ranks is None else [int(r) for r in ranks]
    if sort_ranks:
        members = sorted(members)
    if len(set(members)) != len(members):
        raise ValueError(f"new_group: ranks {members} contain duplicates")
    for r in members:
        if not 0 <= r < size:
            raise ValueError(f"The new group's rank should be within the world_size set by "
                             f"init_process_group, got rank {r} with world size {size}")
    name, uses_nccl, cpu_allowed = ((world._backend, world._uses_nccl, world._cpu_allowed)
                                    if backend is None else _resolve_backend(backend))
    me = world._global_rank
    group_count[0] += 1
    if use_local_synchronization:
        if me not in members:
            return GroupMember.NON_GROUP_MEMBER
        comm = world._comm.Create_group(world._comm.Get_group().Incl(members))
    else:
        mpi = _mpi.MPI()
        color = 0 if me in members else mpi.UNDEFINED
        comm = world._comm.Split(color, members.index(me) if me in members else 0)
        if me not in members:
            return GroupMember.NON_GROUP_MEMBER
    timeout_s = world._timeout_s if timeout is None else timeout.total_seconds()
    label = group_desc or f"group_{len(_groups)}"
    pg = ProcessGroup(comm, members, name, timeout_s, label, uses_nccl, cpu_allowed)
    _groups.append(pg)
    return pg


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Release a group (default: every group, ending the distributed run).

    See: torch.distributed.destroy_process_group.
    """
    if group is None or group is GroupMember.WORLD:
        for pg in reversed(_groups):
            pg._close()
        _groups.clear()
        group_count[0] = 0
        GroupMember.WORLD = None
        _failure.uninstall()
        return
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    if group not in _groups:
        raise ValueError("Invalid process group specified")
    group._close()
    _groups.remove(group)


def _default_group() -> ProcessGroup:
    if GroupMember.WORLD is None:
        raise ValueError("Default process group has not been initialized, please make sure "
                         "to call init_process_group.")
    return GroupMember.WORLD


def resolve(group) -> ProcessGroup | None:
    """The group an operation runs on; None for a rank outside ``group``."""
    if group is None or group is GroupMember.WORLD:
        return _default_group()
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup from new_group, got {type(group).__name__}")
    _default_group()
    if group._closed:
        raise ValueError(f"{group!r} was destroyed by destroy_process_group")
    return group


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (-1 outside it). See: torch.distributed.get_rank."""
    pg = resolve(group)
    return -1 if pg is None else pg.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of ranks in ``group`` (-1 outside it). See: torch.distributed.get_world_size."""
    pg = resolve(group)
    return -1 if pg is None else pg.size()


def get_backend(group: ProcessGroup | None = None) -> Backend:
    """The backend name of ``group``. See: torch.distributed.get_backend."""
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return Backend(pg._backend)


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    """The global ranks of ``group``'s members. See: torch.distributed.get_process_group_ranks."""
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return list(pg._ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The global rank of ``group_rank`` in ``group``. See: torch.distributed.get_global_rank."""
    pg = resolve(group)
    if pg is None or not 0 <= group_rank < len(pg._ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return pg._ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """The rank in ``group`` of ``global_rank``. See: torch.distributed.get_group_rank."""
    pg = resolve(group)
    if pg is None or global_rank not in pg._ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return pg._ranks.index(global_rank)


def group_peer(pg: ProcessGroup, rank, group_rank, what: str, word: str) -> int:
    """The group rank of a peer given as a global ``rank`` or a ``group_rank`` (one of them)."""
    if rank is not None and group_rank is not None:
        raise ValueError(f"{what}: can only specify {word} or group_{word}, not both")
    if group_rank is not None:
        if not 0 <= group_rank < pg.size():
            raise ValueError(f"{what}: group_{word} {group_rank} is outside a group of size "
                             f"{pg.size()}")
        return group_rank
    if rank is None:
        if pg.size() == 1 or what in ("recv", "irecv"):
            return 0
        raise ValueError(f"{what}: Either {word} or group_{word} must be specified")
    if rank not in pg._ranks:
        raise ValueError(f"Global rank {rank} is not part of group {pg}")
    return pg._ranks.index(rank)
