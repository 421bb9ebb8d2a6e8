"""``brickwork run``: torchrun's variables in every rank, argv, exit status, errors on one line."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from brickwork import cli
from brickwork.distributed import _rank_env

from ._launch import rank_env, require_mpi

# Writes what a torchrun script would read, one file per rank, then exits with CODE_<rank>.
_SCRIPT = """
import json, os, sys
names = ["RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"]
seen = {n: os.environ.get(n) for n in names}
seen.update(argv=sys.argv, name=__name__, path0=sys.path[0])
with open(os.path.join(os.environ["OUT_DIR"], "rank%s.json" % os.environ["RANK"]), "w") as f:
    json.dump(seen, f)
sys.exit(int(os.environ.get("CODE_" + os.environ["RANK"], "0")))
"""


def _write(folder, name, text=_SCRIPT):
    path = os.path.join(str(folder), name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def _brickwork_run(args, tmp_path, env=None, timeout=120):
    full_env = rank_env({"OUT_DIR": str(tmp_path), **(env or {})})
    # Left over from an outer job, these must not reach the ranks' defaults or values.
    for name in ("MASTER_ADDR", "MASTER_PORT"):
        full_env.pop(name, None)
    full_env.update({"RANK": "99", "WORLD_SIZE": "99", **(env or {})})
    return subprocess.run([sys.executable, "-m", "brickwork", "run", *args],
                          capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=str(tmp_path))


def _seen(tmp_path, n):
    out = []
    for rank in range(n):
        with open(os.path.join(str(tmp_path), f"rank{rank}.json")) as f:
            out.append(json.load(f))
    return out


def test_ranks_get_torchrun_variables(tmp_path):
    require_mpi()
    script = _write(tmp_path, "train.py")
    proc = _brickwork_run(["-n", "2", "train.py", "--lr", "0.1", "-n", "7"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for rank, seen in enumerate(_seen(tmp_path, 2)):
        assert seen["RANK"] == str(rank)
        assert seen["LOCAL_RANK"] == str(rank)  # one node: local ranks equal global ones
        assert seen["WORLD_SIZE"] == "2"
        assert seen["LOCAL_WORLD_SIZE"] == "2"
        assert (seen["MASTER_ADDR"], seen["MASTER_PORT"]) == ("127.0.0.1", "29500")
        # The script's own options, -n included, reach it untouched, and it runs as __main__
        # with its folder first on the path, as ``python train.py`` would.
        assert seen["argv"] == ["train.py", "--lr", "0.1", "-n", "7"]
        assert seen["name"] == "__main__"
        assert seen["path0"] == os.path.dirname(script)


def test_module_and_torchrun_option_name_and_master_kept(tmp_path):
    require_mpi()
    path = _write(tmp_path, "trainmod.py")
    proc = _brickwork_run(["--nproc-per-node", "2", "-m", "trainmod", "a"], tmp_path,
                          env={"MASTER_ADDR": "10.0.0.7", "MASTER_PORT": "4321"})
    assert proc.returncode == 0, proc.stderr
    for rank, seen in enumerate(_seen(tmp_path, 2)):
        assert (seen["RANK"], seen["WORLD_SIZE"]) == (str(rank), "2")
        assert (seen["MASTER_ADDR"], seen["MASTER_PORT"]) == ("10.0.0.7", "4321")
        assert seen["argv"] == [path, "a"]  # like ``python -m``: the module's file first
        assert seen["name"] == "__main__"


def test_exit_status_propagates(tmp_path):
    require_mpi()
    _write(tmp_path, "fail.py")
    proc = _brickwork_run(["-n", "2", "fail.py"], tmp_path, env={"CODE_1": "3"})
    assert proc.returncode == 3, proc.stderr


def _without_mpiexec(path: str) -> str:
    folders = [d for d in path.split(os.pathsep)
               if d and shutil.which("mpiexec", path=d) is None]
    return os.pathsep.join(folders)


def test_no_mpi_says_how_to_get_one(tmp_path):
    _write(tmp_path, "train.py")
    env = rank_env({"PATH": _without_mpiexec(os.environ.get("PATH", ""))})
    assert shutil.which("mpiexec", path=env["PATH"]) is None
    proc = subprocess.run([sys.executable, "-m", "brickwork", "run", "-n", "2", "train.py"],
                          capture_output=True, text=True, timeout=60, env=env,
                          cwd=str(tmp_path))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("brickwork run: error: no MPI is installed")
    assert "pip install mpi4py mpich" in lines[0]
    assert "pip install -e '.[distributed]'" in lines[0]
    assert "module" in lines[0]
    assert not os.path.exists(os.path.join(str(tmp_path), "rank0.json"))


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_nproc_must_be_positive_integer(value, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "-n", value, "train.py"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("brickwork run: error: argument -n")
    assert "positive integer" in err[0]


def test_missing_script_is_one_line_error(tmp_path, capsys):
    missing = os.path.join(str(tmp_path), "nope.py")
    assert cli.main(["run", "-n", "2", missing]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("brickwork run: error:") and "nope.py" in err[0]


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--nproc-per-node" in out and "SCRIPT" in out


@pytest.mark.parametrize("env,expected", [
    ({"PMI_RANK": "3", "PMI_SIZE": "8", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "4"},
     (3, 8, 1, 4)),
    ({"OMPI_COMM_WORLD_RANK": "5", "OMPI_COMM_WORLD_SIZE": "6",
      "OMPI_COMM_WORLD_LOCAL_RANK": "2", "OMPI_COMM_WORLD_LOCAL_SIZE": "3"}, (5, 6, 2, 3)),
    # A launcher that does not say where the rank sits on its node: one node assumed.
    ({"PMI_RANK": "1", "PMI_SIZE": "2"}, (1, 2, 1, 2)),
    ({}, (0, 1, 0, 1)),  # no launcher and no mpi4py: a single process
])
def test_rank_layout_from_launcher_variables(monkeypatch, env, expected):
    monkeypatch.setattr(_rank_env, "_mpi4py_layout", lambda: None)
    assert _rank_env.rank_layout(env) == expected
    got = _rank_env.torchrun_env({**env, "MASTER_PORT": "1234"})
    assert got == {"RANK": str(expected[0]), "WORLD_SIZE": str(expected[1]),
                   "LOCAL_RANK": str(expected[2]), "LOCAL_WORLD_SIZE": str(expected[3]),
                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1234"}


def test_bad_launcher_variable(monkeypatch):
    monkeypatch.setattr(_rank_env, "_mpi4py_layout", lambda: None)
    with pytest.raises(RuntimeError, match="PMI_RANK='x'"):
        _rank_env.rank_layout({"PMI_RANK": "x", "PMI_SIZE": "2"})
