"""Launch a small program under ``mpiexec`` from a test and collect what its ranks did.

Every multi-process test goes through ``mpirun``: it writes the program into the test's temporary
folder, starts it on ``n`` ranks (oversubscribed on small machines: each rank gets one BLAS thread)
and returns the finished process. Tests check the exit status, the output and the files the ranks
wrote; the program reads the folder from ``sys.argv[1]``.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import textwrap

import pytest


@functools.lru_cache(maxsize=None)
def _launcher() -> list[str] | None:
    exe = shutil.which("mpiexec")
    if exe is None:
        return None
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    # Open MPI refuses more ranks than cores unless asked; MPICH's hydra allows it by default.
    return [exe, "--oversubscribe"] if "Open MPI" in version or "OpenRTE" in version else [exe]


def require_mpi() -> list[str]:
    """The ``mpiexec`` command line to use; skips the test when mpi4py or mpiexec is missing."""
    pytest.importorskip("mpi4py")
    cmd = _launcher()
    if cmd is None:
        pytest.skip("mpiexec is not installed")
    return cmd


def rank_env(extra: dict | None = None) -> dict:
    """The environment for ranks: one BLAS/OpenMP thread each, brickwork importable."""
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "PYTHONUNBUFFERED": "1"})
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env["PYTHONPATH"] = os.path.abspath(src) + os.pathsep + env.get("PYTHONPATH", "")
    if extra:
        env.update(extra)
    return env


def mpirun(n: int, program: str, tmp_path, *args: str, timeout: float = 120,
           env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``program`` (Python source) on ``n`` ranks; ``sys.argv[1]`` is ``tmp_path``.

    With ``check`` a non-zero exit fails the test and shows every rank's output.
    """
    cmd = require_mpi()
    path = os.path.join(str(tmp_path), "prog.py")
    with open(path, "w") as f:
        f.write(textwrap.dedent(program))
    try:
        proc = subprocess.run([*cmd, "-n", str(n), sys.executable, path, str(tmp_path), *args],
                              capture_output=True, text=True, timeout=timeout,
                              env=rank_env(env), cwd=str(tmp_path))
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{n} ranks did not finish within {timeout} s\nstdout:\n{e.stdout}\n"
                    f"stderr:\n{e.stderr}")
    if check and proc.returncode != 0:
        pytest.fail(f"{n} ranks exited with status {proc.returncode}\nstdout:\n{proc.stdout}\n"
                    f"stderr:\n{proc.stderr}")
    return proc


def rank_pickles(n: int, program: str, folder, timeout: float = 120) -> list:
    """Run ``program`` on ``n`` ranks and load what each wrote to ``rank<r>.pkl`` in ``folder``."""
    import pickle

    mpirun(n, program, folder, timeout=timeout)
    out = []
    for r in range(n):
        with open(os.path.join(str(folder), f"rank{r}.pkl"), "rb") as f:
            out.append(pickle.load(f))
    return out


# Program text for in-process checks: ``record(name, fn)`` keeps fn's result or its error.
RECORDER = r'''
res = {}


def record(name, fn):
    try:
        res[name] = ["ok", fn()]
    except Exception as e:
        res[name] = [type(e).__name__, str(e)]
'''


# Program text that ends a multi-rank program: ``run_cases(fns)`` runs each case function,
# keeps what raised as (type, message, traceback) in ``errors`` by the function's name, and
# writes ``(got, errors)`` to ``rank<r>.pkl`` for ``rank_pickles``. The program defines
# ``rank``, ``got`` and ``errors`` and imports os, pickle, sys and traceback.
CASE_RUNNER = r'''
def run_cases(fns, barrier=False):
    for fn in fns:
        try:
            fn()
        except Exception as e:
            errors[fn.__name__] = (type(e).__name__, str(e), traceback.format_exc())
        if barrier:  # the next case starts on every rank together
            dist.barrier()
    with open(os.path.join(sys.argv[1], f"rank{rank}.pkl"), "wb") as f:
        pickle.dump((got, errors), f)
'''
