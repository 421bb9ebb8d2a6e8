"""One process without ``mpiexec``: a group of one, argument checks, and PyTorch's API surface.

``init_process_group`` starts MPI (through mpi4py) in the calling process, so everything that
initializes runs in one child ``python -c`` process (``_SCRIPT``), which records each check's
result or error; the tests compare those with PyTorch. What needs no MPI (signatures,
``ReduceOp``) is checked in the test process.
"""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest

import brickwork.distributed as dist

from ._launch import RECORDER, rank_env

_SCRIPT = r'''
import json, os, sys
import numpy as np
import brickwork as torch
import brickwork.distributed as dist

''' + RECORDER + r'''


record("initialized_before", dist.is_initialized)
record("all_reduce_before_init", lambda: dist.all_reduce(torch.ones(2)))
record("get_rank_before_init", dist.get_rank)
record("tcp_init_method", lambda: dist.init_process_group(
    "gloo", init_method="tcp://127.0.0.1:23456"))
record("file_init_method", lambda: dist.init_process_group("gloo", init_method="file:///tmp/x"))
record("world_size_mismatch", lambda: dist.init_process_group("gloo", world_size=2))
record("rank_mismatch", lambda: dist.init_process_group("gloo", rank=1))
record("store_refused", lambda: dist.init_process_group("gloo", store=object()))
os.environ["WORLD_SIZE"] = "3"
record("world_size_env_mismatch", lambda: dist.init_process_group("gloo"))
del os.environ["WORLD_SIZE"]
record("initialized_after_refusals", dist.is_initialized)

record("init_gloo", lambda: dist.init_process_group("gloo", init_method="env://",
                                                    world_size=1, rank=0))
record("initialized_after_init", dist.is_initialized)
record("double_init", lambda: dist.init_process_group("gloo"))
record("rank", dist.get_rank)
record("world_size", dist.get_world_size)
record("backend_gloo", lambda: [str(dist.get_backend()), type(dist.get_backend()).__name__,
                                isinstance(dist.get_backend(), str)])
record("non_tensor", lambda: dist.all_reduce([1.0, 2.0]))
record("non_tensor_list", lambda: dist.all_gather("x", torch.ones(1)))
record("non_tensor_list_elements", lambda: dist.all_gather([1], torch.ones(1)))
record("complex_min", lambda: dist.all_reduce(torch.ones(2, dtype=torch.complex64),
                                              op=dist.ReduceOp.MIN))
record("int_avg", lambda: dist.all_reduce(torch.ones(2, dtype=torch.int32),
                                          op=dist.ReduceOp.AVG))
record("send_to_self", lambda: dist.send(torch.ones(1), dst=0))
record("barrier_no_gpu", lambda: dist.barrier(device_ids=[0]))
record("barrier_ids_not_list", lambda: dist.barrier(device_ids=0))

x = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5


def t():
    return torch.from_numpy(x.copy())


def same(*ts):
    return all(np.array_equal(a.numpy(), x) for a in ts)


def ident_all_reduce():
    out = {}
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX"):
        a = t()
        r = dist.all_reduce(a, op=getattr(dist.ReduceOp, op))
        out[op] = r is None and same(a)
    return out


def ident_others():
    out = {}
    a = t(); dist.reduce(a, dst=0); out["reduce"] = same(a)
    a = t(); dist.broadcast(a, src=0); out["broadcast"] = same(a)
    a = t(); dist.broadcast(a, group_src=0); out["broadcast_group_src"] = same(a)
    lst = [torch.zeros(2, 3)]; dist.all_gather(lst, t()); out["all_gather"] = same(*lst)
    o = torch.zeros(1, 2, 3); dist.all_gather_into_tensor(o, t())
    out["all_gather_into_tensor"] = same(o[0])
    lst = [torch.zeros(2, 3)]; dist.gather(t(), lst, dst=0); out["gather"] = same(*lst)
    a = torch.zeros(2, 3); dist.scatter(a, [t()], src=0); out["scatter"] = same(a)
    a = torch.zeros(2, 3); dist.reduce_scatter(a, [t()]); out["reduce_scatter"] = same(a)
    a = torch.zeros(2, 3); dist.reduce_scatter_tensor(a, t())
    out["reduce_scatter_tensor"] = same(a)
    lst = [torch.zeros(2, 3)]; dist.all_to_all(lst, [t()]); out["all_to_all"] = same(*lst)
    a = torch.zeros(2, 3); dist.all_to_all_single(a, t()); out["all_to_all_single"] = same(a)
    a = torch.zeros(2, 3); dist.all_to_all_single(a, t(), [2], [2])
    out["all_to_all_single_splits"] = same(a)
    out["barrier"] = dist.barrier() is None
    a = t(); w = dist.all_reduce(a, async_op=True)
    out["async"] = w.wait() is True and w.is_completed() and same(a)
    a = t(); base = torch.from_numpy(x.T.copy()); dist.all_reduce(base.t())
    out["noncontig"] = np.array_equal(base.numpy(), x.T)
    objs = [{"k": 1}, None, "s"]; dist.broadcast_object_list(objs, src=0)
    out["broadcast_object_list"] = objs == [{"k": 1}, None, "s"]
    lst = [None]; dist.all_gather_object(lst, {"k": 2}); out["all_gather_object"] = lst == [{"k": 2}]
    lst = [None]; dist.gather_object("g", lst, dst=0); out["gather_object"] = lst == ["g"]
    lst = [None]; dist.scatter_object_list(lst, ["s"], src=0); out["scatter_object_list"] = lst == ["s"]
    g = dist.new_group([0]); a = t(); dist.all_reduce(a, group=g)
    out["new_group"] = same(a) and dist.get_world_size(g) == 1
    return out


record("identity_all_reduce", ident_all_reduce)
record("identity_others", ident_others)
record("destroy", dist.destroy_process_group)
record("initialized_after_destroy", dist.is_initialized)
record("init_mpi", lambda: dist.init_process_group("mpi"))
record("backend_mpi", lambda: str(dist.get_backend()))
record("destroy_again", dist.destroy_process_group)
with open(sys.argv[1], "w") as f:
    json.dump(res, f)
'''


@pytest.fixture(scope="module")
def res(tmp_path_factory):
    pytest.importorskip("mpi4py")
    path = os.path.join(str(tmp_path_factory.mktemp("single")), "res.json")
    env = rank_env()
    for var in ("WORLD_SIZE", "RANK", "PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, path], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(path) as f:
        return json.load(f)


def _ok(res, name):
    kind, value = res[name]
    assert kind == "ok", f"{name} raised {kind}: {value}"
    return value


def _err(res, name, etype, *needles):
    kind, msg = res[name]
    assert kind == etype, f"{name}: {kind} ({msg}) instead of {etype}"
    for s in needles:
        assert s in msg, f"{name}: {s!r} not in {msg!r}"
    return msg


def test_barrier_device_ids_are_checked_not_ignored(res):
    etype, msg = res["barrier_no_gpu"]  # no CUDA device in this process
    assert etype == "ValueError" and "cuda:0" in msg and "0 CUDA device" in msg
    assert res["barrier_ids_not_list"][0] == "TypeError"


def test_is_initialized_lifecycle(res):
    assert _ok(res, "initialized_before") is False
    assert _ok(res, "initialized_after_refusals") is False
    assert _ok(res, "initialized_after_init") is True
    assert _ok(res, "initialized_after_destroy") is False
    _ok(res, "init_mpi")
    _ok(res, "destroy_again")


def test_rank_and_world_size(res):
    assert _ok(res, "rank") == 0
    assert _ok(res, "world_size") == 1


def test_backend_names(res):
    assert _ok(res, "backend_gloo") == ["gloo", "Backend", True]
    assert _ok(res, "backend_mpi") == "mpi"


def test_backend_class_matches_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributed
    for name in ("GLOO", "NCCL", "MPI", "UNDEFINED"):
        assert getattr(dist.Backend, name) == getattr(td.Backend, name)
    assert dist.Backend("GLOO") == td.Backend("GLOO") == "gloo"
    assert dist.Backend("mpi") == td.Backend("mpi")


def test_before_init_messages_match_torch(res):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as want:
        torch.distributed.all_reduce(torch.ones(2))
    assert res["all_reduce_before_init"] == ["ValueError", str(want.value)]
    _err(res, "get_rank_before_init", "ValueError",
         "Default process group has not been initialized")


def test_double_init(res):
    assert _err(res, "double_init", "ValueError") == \
        "trying to initialize the default process group twice!"


@pytest.mark.parametrize("name,etype", [
    ("tcp_init_method", "ValueError"), ("file_init_method", "ValueError"),
    ("world_size_mismatch", "ValueError"), ("rank_mismatch", "ValueError"),
    ("store_refused", "ValueError"), ("world_size_env_mismatch", "RuntimeError")])
def test_refused_init_arguments(res, name, etype):
    msg = _err(res, name, etype)
    assert msg


def test_refusals_name_the_argument(res):
    _err(res, "tcp_init_method", "ValueError", "tcp://127.0.0.1:23456")
    _err(res, "world_size_mismatch", "ValueError", "world_size=2")
    _err(res, "store_refused", "ValueError", "store")
    _err(res, "world_size_env_mismatch", "RuntimeError", "WORLD_SIZE", "3")


def test_non_tensor_argument_message_matches_torch(res):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as want:
        torch.distributed.all_reduce([1.0, 2.0])
    assert res["non_tensor"] == ["TypeError", str(want.value)]


def test_non_list_argument_type(res):
    _err(res, "non_tensor_list", "TypeError", "Invalid function argument")
    _err(res, "non_tensor_list_elements", "TypeError", "Invalid function argument")


def test_non_list_argument_message_matches_torch(res):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as want:
        torch.distributed.all_gather("x", torch.ones(1))
    assert res["non_tensor_list"] == ["TypeError", str(want.value)]


def test_non_list_elements_message_matches_torch(res):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as want:
        torch.distributed.all_gather([1], torch.ones(1))
    assert res["non_tensor_list_elements"] == ["TypeError", str(want.value)]


def test_complex_min_raises(res):
    _err(res, "complex_min", "ValueError", "does not support")
    _err(res, "int_avg", "TypeError")


def test_complex_min_message_matches_torch(res):
    torch = pytest.importorskip("torch")
    # PyTorch raises this before reaching its backend: f"all_reduce does not support {op} ..."
    want = f"all_reduce does not support {torch.distributed.ReduceOp.MIN} on complex tensors"
    assert res["complex_min"] == ["ValueError", want]


def test_send_to_self_refused(res):
    _err(res, "send_to_self", "ValueError", "should not be the same as the rank")


def test_all_reduce_is_identity(res):
    assert _ok(res, "identity_all_reduce") == {op: True for op in
                                               ("SUM", "AVG", "PRODUCT", "MIN", "MAX")}


def test_other_collectives_are_copies(res):
    out = _ok(res, "identity_others")
    assert {k: v for k, v in out.items() if v is not True} == {}
    assert len(out) == 20


def test_reduce_op_repr_and_str_match_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributed
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR", "PREMUL_SUM"):
        ours, theirs = getattr(dist.ReduceOp, name), getattr(td.ReduceOp, name)
        assert repr(ours) == repr(theirs)
        assert str(ours) == str(theirs)
        assert int(ours) == int(theirs)
    with pytest.warns(FutureWarning):
        for name in ("SUM", "PRODUCT", "MIN", "MAX"):
            assert repr(getattr(dist.reduce_op, name)) == repr(getattr(td.reduce_op, name))


def test_reduce_op_alias_warns_like_torch():
    with pytest.warns(FutureWarning, match="reduce_op"):
        dist.reduce_op.SUM


def test_p2pop_signature_matches_torch():
    torch = pytest.importorskip("torch")
    assert _params(dist.P2POp.__init__) == _params(torch.distributed.P2POp.__init__)


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


# C++ functions in torch, which inspect cannot read: test_extras.py checks them against torch's
# docstrings instead.
_CPP_IN_TORCH = {"get_debug_level", "set_debug_level", "set_debug_level_from_env"}
_PUBLIC = [n for n in dist.__all__
           if inspect.isfunction(getattr(dist, n)) and n not in _CPP_IN_TORCH]


@pytest.mark.parametrize("name", _PUBLIC)
def test_signature_matches_torch(name):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.distributed, name, None)
    if theirs is None:
        pytest.fail(f"torch.distributed has no {name}")
    assert _params(getattr(dist, name)) == _params(theirs)


def test_public_functions_cover_torchs():
    pytest.importorskip("torch")
    assert len(_PUBLIC) > 35
