"""A process killed (SIGKILL) in the middle of a save always leaves a loadable file."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import brickwork
from brickwork.serialization import atomic_write

WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    import brickwork
    path, fmt = sys.argv[1], sys.argv[2]
    objs = [{"v": brickwork.tensor(np.full(1_000_000, float(i), np.float32))} for i in (1, 2)]
    print("ready", flush=True)
    i = 0
    while True:
        brickwork.save(objs[i % 2], path, format=fmt)
        i += 1
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("fmt", ["brickwork", "torch"])
def test_sigkill_during_save_leaves_old_or_new_file(tmp_path, fmt):
    path = tmp_path / "model.bin"
    brickwork.save({"v": brickwork.tensor(np.zeros(1_000_000, np.float32))}, path, format=fmt)
    rng = random.Random(0)
    seen = set()
    for _ in range(10):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), fmt],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        try:
            proc.wait(timeout=rng.uniform(0.0, 0.25))
        except subprocess.TimeoutExpired:
            pass
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        v = brickwork.load(path)["v"].numpy()
        assert v.shape == (1_000_000,) and v.min() == v.max() and v[0] in (0.0, 1.0, 2.0)
        seen.add(float(v[0]))
    assert seen  # at least one state observed; every one was whole


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"old")
    with pytest.raises(ZeroDivisionError):
        with atomic_write(path) as f:
            f.write(b"new, half written")
            1 / 0
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f"]  # the temporary file is gone
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"
