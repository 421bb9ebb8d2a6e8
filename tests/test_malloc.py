"""brickwork's glibc malloc thresholds: applied at import on glibc, skipped where asked."""
import os
import platform
import subprocess
import sys

import pytest

from brickwork import _malloc

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_tune_applies_on_glibc(monkeypatch):
    for name in ("BRICKWORK_MALLOC_TUNING",) + _malloc._USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    assert _malloc.tune() is True


@pytest.mark.parametrize("env", [{"BRICKWORK_MALLOC_TUNING": "0"},
                                 {"MALLOC_MMAP_THRESHOLD_": "65536"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"}])
def test_tune_leaves_malloc_alone_when_asked(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _malloc.tune() is False


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_big_arrays_are_reused_after_free():
    # A step that allocates and frees 20 MiB in three arrays: with glibc's defaults the heap
    # top is trimmed after each and the next step faults its pages in again (about 30000
    # minor faults over 20 steps measured); with the thresholds applied the memory is reused.
    code = ("import resource, numpy as np, brickwork\n"
            "def step():\n"
            "    a = np.ones(1 << 21, np.float32); b = np.ones(1 << 21, np.float32)\n"
            "    c = np.ones(1 << 20, np.float32)\n"
            "step()\n"
            "f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "for _ in range(20):\n"
            "    step()\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)\n")
    faults = [int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True, env=dict(os.environ, BRICKWORK_MALLOC_TUNING=flag))
                  .stdout) for flag in ("1", "0")]
    assert faults[0] < 2048 < faults[1]  # 2048 pages: one 8 MiB array
