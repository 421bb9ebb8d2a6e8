"""``brickwork run``: start a script on N processes under ``mpiexec``, the way torchrun does.

Each process runs ``python -m brickwork.distributed._rank_env SCRIPT ARGS...``, which sets
torchrun's ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``
and ``MASTER_PORT`` before running the script, so scripts written for torchrun run unchanged.

Example:
    $ brickwork run -n 4 train.py --epochs 3
    $ python -m brickwork.distributed.run --nproc-per-node 4 -m mypackage.train
"""
from __future__ import annotations

import errno
import functools
import os
import shutil
import signal
import subprocess
import sys

__all__ = ["NO_MPI_MESSAGE", "mpiexec_command", "launch", "main"]

NO_MPI_MESSAGE = ("no MPI is installed (mpiexec was not found on PATH): install one with "
                  "'pip install mpi4py mpich' (or \"pip install -e '.[distributed]'\" in a "
                  "brickwork checkout), or load your cluster's MPI module "
                  "(e.g. 'module load openmpi')")


@functools.lru_cache(maxsize=None)
def _is_open_mpi(exe: str) -> bool:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    text = out.stdout + out.stderr
    return "Open MPI" in text or "OpenRTE" in text


def mpiexec_command(nproc: int) -> list[str]:
    """``mpiexec`` with the options to start ``nproc`` ranks on this machine.

    Raises:
        RuntimeError: No ``mpiexec`` on ``PATH``; the message says how to install one.
    """
    exe = shutil.which("mpiexec")
    if exe is None:
        raise RuntimeError(NO_MPI_MESSAGE)
    # Open MPI refuses more ranks than cores unless asked; MPICH's hydra allows it already.
    extra = ["--oversubscribe"] if _is_open_mpi(exe) else []
    return [exe, *extra, "-n", str(nproc)]


def launch(nproc: int, script: str, args: list[str], module: bool = False) -> int:
    """Run ``script`` (a module name when ``module``) with ``args`` on ``nproc`` ranks.

    Returns:
        ``mpiexec``'s exit status, which is the first failing rank's status (128 + N when
        ended by signal N).

    Raises:
        ValueError: ``nproc`` is not a positive integer.
        FileNotFoundError: ``script`` does not exist.
        RuntimeError: No MPI is installed.
    """
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be a positive integer, got {nproc!r}")
    if not module and not os.path.isfile(script):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), script)
    target = ["-m", script] if module else [script]
    cmd = [*mpiexec_command(nproc), sys.executable, "-m", "brickwork.distributed._rank_env",
           *target, *args]
    proc = subprocess.Popen(cmd)
    try:
        status = proc.wait()
    except KeyboardInterrupt:
        # mpiexec got the same Ctrl-C and is stopping its ranks: let it, so none is orphaned.
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        raise
    return 128 - status if status < 0 else status


def main(args: list[str] | None = None) -> int:
    """``python -m brickwork.distributed.run``: the same as ``brickwork run``.

    See: torch.distributed.run.main.
    """
    from ..cli import main as cli_main

    return cli_main(["run", *(sys.argv[1:] if args is None else args)])


if __name__ == "__main__":
    sys.exit(main())
