"""The smaller names of the distributed API (``_extras.py``): launch-environment queries, debug
levels, ``breakpoint``, ``send_object_list``/``recv_object_list``, subgroups and the deprecated
coalesced collectives.

What needs no process group runs in the test process and is compared with PyTorch. What
initializes MPI runs in a child ``python -c`` (one process) or on 4 ranks under ``mpiexec``
(one launch, ``_PROGRAM``; each rank pickles what it got and the tests check each case).
"""
from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

import brickwork as bw
from brickwork.distributed import _extras as ex
from brickwork.distributed import ReduceOp

from ._launch import CASE_RUNNER, RECORDER, rank_env, rank_pickles

N = 4
_NAMES = [n for n in ex.__all__ if n != "DebugLevel"]
_BUILTINS = {"get_debug_level", "set_debug_level", "set_debug_level_from_env"}  # C++ in torch


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", [n for n in _NAMES if n not in _BUILTINS])
def test_signature_matches_torch(name):
    torch = pytest.importorskip("torch")
    assert _params(getattr(ex, name)) == _params(getattr(torch.distributed, name))


def test_debug_functions_match_torchs_documented_signatures():
    torch = pytest.importorskip("torch")
    for name in _BUILTINS:  # torch's are C++ functions: compare with their docstring line
        doc = getattr(torch.distributed, name).__doc__.splitlines()[0]
        n_args = 0 if "()" in doc else 1
        params = inspect.signature(getattr(ex, name)).parameters.values()
        assert len(params) == n_args, name
        assert all(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in params)


def _outcome(fn, *args, **kwargs):
    try:
        return ("ok", fn(*args, **kwargs))
    except Exception as e:
        return (type(e).__name__, str(e))


def test_node_local_rank_and_torchelastic_like_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    td = torch.distributed
    for env in ({}, {"LOCAL_RANK": "3"}, {"LOCAL_RANK": "x"}):
        monkeypatch.delenv("LOCAL_RANK", raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        for args in ((), (2,), ("5",)):
            got = _outcome(ex.get_node_local_rank, *args)
            want = _outcome(td.get_node_local_rank, *args)
            assert got[0] == want[0] and (got[0] != "RuntimeError" or got == want), (env, args)
            if got[0] == "ok":
                assert got == want
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert ex.is_torchelastic_launched() is td.is_torchelastic_launched() is False
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "abc")
    assert ex.is_torchelastic_launched() is td.is_torchelastic_launched() is True


def test_default_backend_for_device_like_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributed
    for dev in ("cpu", "cuda", "cuda:1"):
        assert ex.get_default_backend_for_device(dev) == td.get_default_backend_for_device(dev)
    assert ex.get_default_backend_for_device(bw.device("cuda:0")) == "nccl"
    assert ex.get_default_backend_for_device(bw.device("cpu")) == "gloo"
    assert _outcome(ex.get_default_backend_for_device, "meta") == \
        _outcome(td.get_default_backend_for_device, "meta")
    with pytest.raises(RuntimeError, match="device string: foo"):
        ex.get_default_backend_for_device("foo")


def test_availability_and_supports_complex_like_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributed
    assert ex.is_ucc_available() is False and ex.is_xccl_available() is False
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        ours, theirs = getattr(ReduceOp, name), getattr(td.ReduceOp, name)
        assert ex.supports_complex(ours) == td.supports_complex(theirs), name
        # torch answers True for every ReduceOp(...) instance (its deny list holds only the
        # members); brickwork answers for the operation the instance holds
        assert ex.supports_complex(ReduceOp(ours)) == td.supports_complex(theirs), name


def test_debug_levels_like_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    td = torch.distributed
    assert [m for m in ex.DebugLevel.__members__] == list(td.DebugLevel.__members__)
    assert [int(m) for m in ex.DebugLevel] == [int(m) for m in td.DebugLevel.__members__.values()]
    assert str(ex.DebugLevel.INFO) == str(td.DebugLevel.INFO)
    saved_ours, saved_theirs = ex.get_debug_level(), td.get_debug_level()
    try:
        for value in ("INFO", "detail", "Off", "bogus", "", None):
            if value is None:
                monkeypatch.delenv("TORCH_DISTRIBUTED_DEBUG", raising=False)
            else:
                monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", value)
            got, want = _outcome(ex.set_debug_level_from_env), _outcome(td.set_debug_level_from_env)
            assert got == want, value
            assert ex.get_debug_level().name == td.get_debug_level().name, value
        ex.set_debug_level(ex.DebugLevel.DETAIL)
        assert ex.get_debug_level() is ex.DebugLevel.DETAIL
        with pytest.raises(TypeError, match="set_debug_level"):
            ex.set_debug_level(1)
    finally:
        ex.set_debug_level(saved_ours)
        td.set_debug_level(saved_theirs)


def test_debug_level_read_from_environment_at_import():
    code = "import brickwork.distributed._extras as e; print(e.get_debug_level())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=rank_env({"TORCH_DISTRIBUTED_DEBUG": "detail"}), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "DebugLevel.DETAIL"


_SCRIPT = r'''
import json, sys
import brickwork as torch
import brickwork.distributed as dist
from brickwork.distributed import _extras as ex
from brickwork.distributed._group import _groups

''' + RECORDER + r'''


record("count_before", ex.get_pg_count)
dist.init_process_group("gloo")
record("count_init", ex.get_pg_count)
record("default_size", lambda: ex.new_subgroups())
record("size_0", lambda: ex.new_subgroups(0))
record("size_2", lambda: ex.new_subgroups(2))
record("one", lambda: [dist.get_process_group_ranks(g) for g in ex.new_subgroups(1)[1]])
record("count_sub", ex.get_pg_count)
record("empty", lambda: ex.new_subgroups_by_enumeration([]))
record("overlap", lambda: ex.new_subgroups_by_enumeration([[0], [0]]))
record("pg_options", lambda: ex.new_subgroups(1, pg_options=object()))
record("send_self", lambda: ex.send_object_list([1], dst=0))
record("send_no_dst", lambda: ex.send_object_list([1]))
record("recv_no_src", lambda: ex.recv_object_list([1]))
record("both", lambda: ex.recv_object_list([1], src=0, group_src=0))
record("skip", lambda: ex.breakpoint(skip=1))  # logs a warning, no debugger
ex.breakpoint(timeout_s=77)   # stdin continues at once
res["timeouts"] = [pg._timeout_s for pg in _groups]
dist.destroy_process_group()
record("count_destroyed", ex.get_pg_count)
print("\nRESULT" + json.dumps(res))  # after the debugger's prompt
'''


@pytest.fixture(scope="module")
def single():
    pytest.importorskip("mpi4py")
    out = subprocess.run([sys.executable, "-c", _SCRIPT], input="p 6 * 7\nc\n",
                         capture_output=True, text=True, env=rank_env(), timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):]), out.stdout, out.stderr


def test_single_process_pg_count(single):
    res = single[0]
    assert res["count_before"] == ["ok", 0]
    assert res["count_init"] == ["ok", 1]
    assert res["count_sub"] == ["ok", 2]  # as PyTorch counts it (checked with gloo)
    assert res["count_destroyed"] == ["ok", 0]


def test_single_process_subgroup_errors_like_torch(single):
    res = single[0]
    assert res["default_size"] == [
        "ValueError", "Default group size only takes effect when CUDA is available.If your "
        "subgroup using a backend that does not depend on CUDA,please pass in 'group_size' "
        "correctly."]
    assert res["size_0"] == ["ValueError", "The arg 'group_size' (0) must be positive"]
    assert res["size_2"] == ["ValueError",
                             "The arg 'group_size' (2) must not exceed the world size (1)"]
    assert res["one"] == ["ok", [[0]]]
    assert res["empty"] == ["ValueError", "The arg 'ranks_per_subgroup_list' cannot be empty"]
    assert res["overlap"] == ["ValueError", "Rank 0 has appeared in both subgroup [0] and [0]"]
    assert res["pg_options"][0] == "ValueError" and "pg_options" in res["pg_options"][1]


def test_single_process_object_p2p_errors_like_torch(single):
    res = single[0]
    assert res["send_self"] == ["ValueError", "Invalid destination rank: destination rank "
                                "should not be the same as the rank of the current process."]
    assert res["send_no_dst"] == ["ValueError", "Must specify global_rank or group_rank"]
    assert res["recv_no_src"] == ["ValueError", "Must specify global_rank or group_rank"]
    assert res["both"] == ["ValueError", "Can't specify both group_rank and global_rank"]


def test_breakpoint_enters_pdb_and_sets_timeouts(single):
    res, stdout, stderr = single
    assert res["skip"] == ["ok", None]
    assert "Skip the breakpoint, counter=1" in stderr
    assert "ATTENTION" in stdout and "dist.breakpoint(rank=0)" in stdout
    assert "42" in stdout.split("ATTENTION", 1)[1]  # pdb ran `p 6 * 7`
    assert res["timeouts"] and set(res["timeouts"]) == {77.0}  # every live group


_PROGRAM = r'''
import os, pickle, sys, traceback, warnings
import brickwork as torch
import brickwork.distributed as dist
from brickwork.distributed import _extras as ex

dist.init_process_group("gloo")
rank, n = dist.get_rank(), dist.get_world_size()
got, errors = {}, {}


def objects():
    payload = ["foo", 12, {1: (2, 3)}, torch.arange(3)]
    if rank == 0:
        ex.send_object_list(payload, dst=1)
    elif rank == 1:
        out = [None] * 4
        got["objects.src"] = ex.recv_object_list(out, src=0)
        got["objects.list"] = out[:3] + [out[3].tolist()]
    if rank == 2:
        ex.send_object_list(["batched", None], dst=3, use_batch=True)
    elif rank == 3:
        out = [0, 0]
        got["batched.src"] = ex.recv_object_list(out, src=2, use_batch=True)
        got["batched.list"] = out


def subgroups():
    cur, subs = ex.new_subgroups(2)
    got["sub.ranks"] = [dist.get_process_group_ranks(g) if g is not
                        dist.GroupMember.NON_GROUP_MEMBER else None for g in subs]
    got["sub.mine"] = dist.get_process_group_ranks(cur)
    t = torch.tensor([float(rank)])
    dist.all_reduce(t, group=cur)
    got["sub.sum"] = t.item()
    if dist.get_rank(cur) == 1:  # group ranks inside the pair, global rank returned
        ex.send_object_list([f"from {rank}"], group=cur, group_dst=0)
    else:
        out = [None]
        got["sub.recv"] = [ex.recv_object_list(out, group=cur, group_src=1), out[0]]
    for g in subs:
        dist.destroy_process_group(g)


def enumeration():
    cur, subs = ex.new_subgroups_by_enumeration([[0, 2], [1, 3]])
    t = torch.tensor([float(rank)])
    dist.all_reduce(t, group=cur)
    got["enum.sum"] = t.item()
    got["enum.ranks"] = [dist.get_process_group_ranks(g) if g is not
                         dist.GroupMember.NON_GROUP_MEMBER else None for g in subs]
    part, subs2 = ex.new_subgroups_by_enumeration([[1, 2]])
    got["enum.partial"] = None if part is None else dist.get_process_group_ranks(part)
    got["enum.count"] = ex.get_pg_count()
    for g in subs + subs2:
        dist.destroy_process_group(g)
    cur, _ = ex.new_subgroups(2, group=None, backend="mpi")
    got["sub.backend"] = str(dist.get_backend(cur))
    dist.destroy_process_group(cur)


def coalesced():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ts = [torch.ones(2) * rank, torch.ones(3) * (rank + 1)]
        got["arc.ret"] = ex.all_reduce_coalesced(ts)
        got["arc.t"] = [t.tolist() for t in ts]
        ts = [torch.ones(2) * rank]
        fut = ex.all_reduce_coalesced(ts, op=dist.ReduceOp.MAX, async_op=True)
        got["arc.async"] = [type(fut).__name__, [t.tolist() for t in fut.wait()],
                            [t.tolist() for t in ts]]
        outs = [[torch.zeros(2), torch.zeros(1, dtype=torch.float32)] for _ in range(n)]
        got["agc.ret"] = ex.all_gather_coalesced(
            outs, [torch.full((2,), float(rank)), torch.tensor([10.0 * rank])])
        got["agc.t"] = [[t.tolist() for t in out] for out in outs]
        outs = [[torch.zeros(1)] for _ in range(n)]
        fut = ex.all_gather_coalesced(outs, [torch.tensor([rank + 0.5])], async_op=True)
        got["agc.async"] = [[t.tolist() for t in out] for out in fut.wait()]
        got["warnings"] = sorted({(x.category.__name__, str(x.message)[:45]) for x in w})
    try:
        ex.all_reduce_coalesced([torch.ones(2, dtype=torch.complex64)], op=dist.ReduceOp.MAX)
    except ValueError as e:
        got["arc.complex"] = str(e)
    try:
        ex.all_gather_coalesced([[torch.zeros(1)]], [torch.ones(1)])
    except RuntimeError as e:
        got["agc.short"] = str(e)


def waiting():
    ex.breakpoint(rank=99, timeout_s=55)  # no rank debugs: every rank passes the barrier
    got["bp.timeout"] = dist.group.WORLD._timeout_s


''' + CASE_RUNNER + r'''


run_cases([objects, subgroups, enumeration, coalesced, waiting])
dist.destroy_process_group()
'''


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return rank_pickles(N, _PROGRAM, tmp_path_factory.mktemp("extras"))


def test_no_unexpected_errors(ranks):
    for r, (_, errors) in enumerate(ranks):
        assert errors == {}, f"rank {r}: {errors}"


def test_send_recv_object_list(ranks):
    assert ranks[1][0]["objects.src"] == 0
    assert ranks[1][0]["objects.list"] == ["foo", 12, {1: (2, 3)}, [0, 1, 2]]
    assert ranks[3][0]["batched.src"] == 2
    assert ranks[3][0]["batched.list"] == ["batched", None]


def test_new_subgroups_pairs(ranks):
    for r, (got, _) in enumerate(ranks):
        assert got["sub.ranks"] == ([[0, 1], None] if r < 2 else [None, [2, 3]])
        assert got["sub.mine"] == [r - r % 2, r - r % 2 + 1]
        assert got["sub.sum"] == [1.0, 1.0, 5.0, 5.0][r]  # only its pair's ranks
        assert got["sub.backend"] == "mpi"
    assert ranks[0][0]["sub.recv"] == [1, "from 1"]
    assert ranks[2][0]["sub.recv"] == [3, "from 3"]


def test_new_subgroups_by_enumeration(ranks):
    for r, (got, _) in enumerate(ranks):
        assert got["enum.sum"] == [2.0, 4.0, 2.0, 4.0][r]
        assert got["enum.partial"] == ([1, 2] if r in (1, 2) else None)
        # live groups: the default one, this rank's [[0, 2], [1, 3]] pair, [1, 2] if a member
        assert got["enum.count"] == 6  # init, two pairs, two and one enumerated: all count
    assert ranks[0][0]["enum.ranks"] == [[0, 2], None]
    assert ranks[3][0]["enum.ranks"] == [None, [1, 3]]


def test_coalesced_collectives(ranks):
    gathered = [[[float(s)] * 2, [10.0 * s]] for s in range(N)]
    for r, (got, _) in enumerate(ranks):
        assert got["arc.ret"] is None and got["agc.ret"] is None
        assert got["arc.t"] == [[6.0, 6.0], [10.0, 10.0, 10.0]]
        assert got["arc.async"] == ["Future", [[3.0, 3.0]], [[3.0, 3.0]]]
        assert got["agc.t"] == gathered
        assert got["agc.async"] == [[[s + 0.5]] for s in range(N)]
        assert got["warnings"] == [
            ("FutureWarning", "`torch.distributed.all_gather_coalesced` will"),
            ("FutureWarning", "`torch.distributed.all_reduce_coalesced` will"),
        ]
        assert got["arc.complex"] == "all_reduce does not support RedOpType.MAX on complex tensors"
        assert "world size" in got["agc.short"]


def test_breakpoint_other_ranks_pass_the_barrier(ranks):
    for got, _ in ranks:
        assert got["bp.timeout"] == 55.0
