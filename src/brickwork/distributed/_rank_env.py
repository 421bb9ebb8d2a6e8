"""Runs inside each rank that ``brickwork run`` starts: sets torchrun's variables, then the script.

Usage (``brickwork run`` builds this line for ``mpiexec``)::

    python -m brickwork.distributed._rank_env SCRIPT [ARGS...]
    python -m brickwork.distributed._rank_env -m MODULE [ARGS...]

The rank, the world size and the rank's place on its node come from the variables the MPI
launcher sets (MPICH's hydra or Open MPI), or from mpi4py when neither set them, and are
published as ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE``, with
``MASTER_ADDR``/``MASTER_PORT`` defaulting to ``127.0.0.1:29500``: what a script written for
torchrun reads.
"""
from __future__ import annotations

import os
import runpy
import sys
from typing import Mapping

__all__ = ["rank_layout", "torchrun_env", "main"]

# (rank, size, local rank, local size) as each launcher names them. Open MPI first: its
# variables cannot be left over from an outer MPICH job, while PMI_* names are shared by
# several process managers.
_LAUNCHER_VARS = (
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
)

_USAGE = ("usage: python -m brickwork.distributed._rank_env [-m MODULE | SCRIPT] [ARGS...]")


def _read_int(env: Mapping[str, str], name: str) -> int:
    text = env[name]
    try:
        return int(text)
    except ValueError:
        raise RuntimeError(f"the MPI launcher set {name}={text!r}, which is not an "
                           "integer") from None


def _mpi4py_layout() -> tuple[int, int, int, int] | None:
    """(rank, size, local rank, local size) from mpi4py, or None when it is not installed."""
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    world = MPI.COMM_WORLD
    # Ranks that share memory are the ranks on this node.
    node = world.Split_type(MPI.COMM_TYPE_SHARED, key=world.Get_rank())
    try:
        return world.Get_rank(), world.Get_size(), node.Get_rank(), node.Get_size()
    finally:
        node.Free()


def rank_layout(env: Mapping[str, str] | None = None) -> tuple[int, int, int, int]:
    """This process's ``(rank, world_size, local_rank, local_world_size)``.

    Read from the launcher's variables in ``env`` (``os.environ`` by default): MPICH's hydra
    (``PMI_RANK``, ``PMI_SIZE``, ``MPI_LOCALRANKID``, ``MPI_LOCALNRANKS``) or Open MPI
    (``OMPI_COMM_WORLD_*``). Without them mpi4py is asked; without mpi4py the process is
    the only rank, ``(0, 1, 0, 1)``.

    Raises:
        RuntimeError: A launcher variable is not an integer.
    """
    env = os.environ if env is None else env
    for rank_var, size_var, local_rank_var, local_size_var in _LAUNCHER_VARS:
        if rank_var in env and size_var in env:
            rank, size = _read_int(env, rank_var), _read_int(env, size_var)
            if local_rank_var in env and local_size_var in env:
                return rank, size, _read_int(env, local_rank_var), _read_int(env,
                                                                             local_size_var)
            # An older launcher without the local variables: ask MPI, or assume one node.
            layout = _mpi4py_layout()
            return layout if layout is not None else (rank, size, rank, size)
    layout = _mpi4py_layout()
    return layout if layout is not None else (0, 1, 0, 1)


def torchrun_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables torchrun gives each worker, for this rank.

    ``MASTER_ADDR`` and ``MASTER_PORT`` keep the values in ``env`` when set.
    """
    env = os.environ if env is None else env
    rank, size, local_rank, local_size = rank_layout(env)
    return {"RANK": str(rank), "WORLD_SIZE": str(size), "LOCAL_RANK": str(local_rank),
            "LOCAL_WORLD_SIZE": str(local_size),
            "MASTER_ADDR": env.get("MASTER_ADDR") or "127.0.0.1",
            "MASTER_PORT": env.get("MASTER_PORT") or "29500"}


def main(argv: list[str] | None = None) -> None:
    """Set this rank's torchrun variables and run ``SCRIPT`` (or ``-m MODULE``) as ``__main__``.

    The script's ``SystemExit`` and exceptions pass through, so its exit status is the
    rank's.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0] == "-m" and len(argv) < 2):
        raise SystemExit(_USAGE)
    os.environ.update(torchrun_env())
    if argv[0] == "-m":
        # run_module puts the module's file in sys.argv[0], as ``python -m`` does.
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        script = argv[0]
        sys.argv = argv
        # ``python SCRIPT`` puts the script's folder first on the path, not the current one.
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
