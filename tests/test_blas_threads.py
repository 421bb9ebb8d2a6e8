"""NumPy's OpenBLAS threads: they stop spinning soon after each call (set at import), unless
the process chose its own timeout or turned the tuning off."""
import os
import subprocess
import sys

import pytest

from brickwork import _blas


@pytest.mark.parametrize("env", [{"BRICKWORK_BLAS_TUNING": "0"},
                                 {"OPENBLAS_THREAD_TIMEOUT": "28"}])
def test_spinning_left_alone_when_asked(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _blas.limit_spinning() is False
    assert os.environ.get("OPENBLAS_THREAD_TIMEOUT") == env.get("OPENBLAS_THREAD_TIMEOUT")


# GEMMs, each followed by 20 ms of sleep: the CPU time the process uses while it sleeps is
# OpenBLAS's idle workers spinning (about 0.1 s after each call with OpenBLAS's default).
_SLEEPS = ("import resource, time, os, numpy as np, brickwork\n"
           "a = np.random.rand(600, 600).astype(np.float32)\n"
           "a @ a\n"
           "def cpu():\n"
           "    r = resource.getrusage(resource.RUSAGE_SELF)\n"
           "    return r.ru_utime + r.ru_stime\n"
           "busy = idle = 0.0\n"
           "for _ in range(20):\n"
           "    c0 = cpu(); a @ a; c1 = cpu(); time.sleep(0.02); c2 = cpu()\n"
           "    idle += c2 - c1\n"
           "print(brickwork._blas._state.get('spin_limited', False), idle,\n"
           "      'OPENBLAS_THREAD_TIMEOUT' in os.environ)\n")


@pytest.mark.skipif(sys.platform != "linux" or (os.cpu_count() or 1) < 2,
                    reason="OpenBLAS runs worker threads only with 2+ cores; rusage as on Linux")
def test_idle_workers_stop_spinning():
    runs = {}
    for flag in ("1", "0"):
        env = dict(os.environ, BRICKWORK_BLAS_TUNING=flag, OPENBLAS_NUM_THREADS="2")
        env.pop("OPENBLAS_THREAD_TIMEOUT", None)
        out = subprocess.run([sys.executable, "-c", _SLEEPS], capture_output=True, text=True,
                             check=True, env=env).stdout.split()
        runs[flag] = (out[0] == "True", float(out[1]), out[2] == "True")
    if not runs["1"][0]:
        pytest.skip("this NumPy's BLAS has no openblas_read_env/blas_thread_shutdown_")
    assert runs["1"][2] is False  # the variable was set for OpenBLAS's one read only
    # spinning through 20 sleeps of 20 ms costs about 0.4 s of CPU; stopped, almost none
    assert runs["0"][1] - runs["1"][1] > 0.15, runs
