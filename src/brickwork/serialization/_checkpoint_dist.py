"""What ``Checkpointer`` does differently in a data-parallel run (a process group of size > 1).

Rank 0 alone touches the checkpoint folder: it writes (atomically), prunes and reads. Every
rank's own state (its default generator, its DataLoader's position and its sampler's epoch) is
gathered to rank 0 and saved beside the model, optimizer and scheduler, which DDP keeps equal
on every rank. Each save and restore ends with a broadcast from rank 0, so no rank runs ahead
of a write, and a failure on rank 0 raises on every rank instead of leaving the others waiting.
A restore sends the file's bytes from rank 0, so the other ranks need not see the folder.
"""
from __future__ import annotations

import io
import sys
from typing import Any, Callable


def world() -> tuple[int, int] | None:
    """``(rank, world_size)`` of the default process group, or None outside a data-parallel
    run (no group, or a group of one process)."""
    # brickwork.distributed is imported only by programs that use it: no group can exist
    # before it is, and importing it here would load MPI into every program that checkpoints.
    dist = sys.modules.get("brickwork.distributed")
    if dist is None or not dist.is_initialized():
        return None
    size = dist.get_world_size()
    return None if size <= 1 else (dist.get_rank(), size)


def unwrap(model):
    """The module inside DistributedDataParallel/DataParallel wrappers (``model`` otherwise),
    so state dicts carry no ``module.`` prefix and load into a plain model."""
    wrappers = _wrapper_types()
    while wrappers and isinstance(model, wrappers):
        model = model.module
    return model


def _wrapper_types() -> tuple[type, ...]:
    found = []
    for name in ("DistributedDataParallel", "DataParallel"):
        try:
            from ..nn import parallel
        except ImportError:  # the nn.parallel package is optional for checkpoints
            break
        cls = getattr(parallel, name, None)
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)


def sampler_of(loader):
    """The loader's sampler that has ``set_epoch`` (e.g. DistributedSampler), or None."""
    if loader is None:
        return None
    for sampler in (getattr(loader, "sampler", None),
                    getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        if callable(getattr(sampler, "set_epoch", None)) and hasattr(sampler, "epoch"):
            return sampler
    return None


def rank_state(loader) -> dict:
    """What must be saved for this rank alone: its generator, loader and sampler position.

    brickwork's GPU draws come from the CPU generator, so ``get_rng_state`` covers them.
    """
    from .. import get_rng_state

    sampler = sampler_of(loader)
    return {"rng_state": get_rng_state(),
            "loader": None if loader is None else loader.state_dict(),
            "sampler_epoch": None if sampler is None else int(sampler.epoch)}


def gather_to_rank0(obj: Any, rank: int, size: int) -> list | None:
    """Every rank's ``obj`` as a list on rank 0; None on the other ranks."""
    import brickwork.distributed as dist

    out = [None] * size if rank == 0 else None
    dist.gather_object(obj, out, dst=0)
    return out


def on_rank0(rank: int, fn: Callable[[], Any], what: str) -> Any:
    """Run ``fn`` on rank 0 and give its result to every rank.

    The broadcast is also the barrier: no rank goes on before rank 0 has finished. When
    ``fn`` raises, rank 0 re-raises it and every other rank raises RuntimeError naming it.
    """
    import brickwork.distributed as dist

    box: list = [None]
    error = None
    if rank == 0:
        try:
            box[0] = ("ok", fn())
        except Exception as e:  # noqa: BLE001  (re-raised below, after the others are told)
            error = e
            box[0] = ("error", f"{type(e).__name__}: {e}")
    dist.broadcast_object_list(box, src=0)
    if error is not None:
        raise error
    kind, value = box[0]
    if kind == "error":
        raise RuntimeError(f"Checkpointer: rank 0 failed to {what}: {value}")
    return value


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def load_bytes(data: bytes, map_location) -> Any:
    from . import load

    return load(io.BytesIO(data), map_location=map_location)


def check_world_size(state: dict, path: str, size: int) -> None:
    """Raise when the checkpoint was saved by a run of another world size.

    Each rank's generator and data position belong to that rank: they cannot be shared out
    among a different number of processes and still resume the same run.
    """
    saved = state.get("world_size", 1)
    if saved != size:
        how = (f"mpiexec -n {saved}" if saved > 1 else "a single process")
        raise RuntimeError(
            f"Checkpointer.restore: {path} was saved by a run of world size {saved}, but this "
            f"run has world size {size}; resume it with the same number of processes "
            f"({how}), or load only its weights with brickwork.load(path)['model']")


def own_state(state: dict, rank: int, path: str) -> dict:
    """This rank's entry of a data-parallel checkpoint."""
    ranks = state.get("rank_states")
    if not isinstance(ranks, list) or len(ranks) <= rank or not isinstance(ranks[rank], dict):
        raise RuntimeError(f"Checkpointer.restore: {path} lacks the state of rank {rank} "
                           "(damaged?)")
    return ranks[rank]
