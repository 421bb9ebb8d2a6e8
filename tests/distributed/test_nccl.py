"""The NCCL transport for CUDA tensors (``distributed/_nccl.py``).

On the simulated CUDA backend (``tests/simcuda``, whose ``cupy.cuda.nccl`` carries data over
MPI): one ``mpiexec -n 2`` launch runs every collective on CUDA tensors under
``init_process_group('nccl')`` and saves what each rank got, then the same ranks run the mixed
``backend=None`` routing and CUDA tensors under ``'gloo'``; the tests check each case against a
NumPy expectation computed here from the same inputs. A ``cuda``-marked test runs NCCL itself
at world size 1 on a real GPU.
"""
from __future__ import annotations

import inspect
import json
import os

import numpy as np
import pytest

from . import _cases
from ._cases import FLOATS, INTS, SHAPE, Ranks, values
from ._launch import mpirun

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 2
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX"]


def cases(n: int) -> _cases.Cases:
    out = _cases.collective_cases(
        n,
        all_reduce=[(dt, op) for dt in FLOATS + INTS + ["bool", "complex64"] for op in OPS]
        + [("int32", "BAND")],
        reduce=[("float32", "SUM"), ("int32", "MAX"), ("float64", "AVG")],
        broadcast=["float32", "bool", "int16", "complex64"],
        all_gather=["float32", "int16", "bfloat16"],
        gather=["float32", "int16"],
        reduce_scatter=[("float32", "SUM"), ("float64", "AVG"), ("int64", "MIN")],
        all_to_all=["float32", "int64"])
    add = out.add
    for dt in ("float32", "bfloat16", "complex64"):
        add(name=f"old-nccl-AVG-{dt}", kind="all_reduce", dtype=dt, op="AVG", old=True)
    for dt in ("float32", "int64"):
        add(name=f"all_to_all_pieces-counts-{dt}", kind="all_to_all_pieces", dtype=dt,
            splits=True)
    add(name="send_recv", kind="send_recv", dtype="float32")
    add(name="isend_irecv-noncontig", kind="isend_irecv", dtype="int64")
    add(name="recv-mismatch", kind="recv_mismatch", dtype="float32")
    add(name="recv-any-source", kind="recv_any", dtype="float32")
    add(name="send-tag", kind="send_tag", dtype="float32")
    add(name="cpu-tensor-under-nccl", kind="cpu_under_nccl", dtype="float32")
    return out


# The NCCL-only kinds and the routing runs; ``run`` is the shared ``_cases.Runner`` on CUDA.
_PROGRAM = r"""
import sys
import numpy as np
sys.path.insert(0, TESTS)
import simcuda
from simcuda import _nccl as fake
from _cases import FILL, SHAPE, Runner

calls = {"n": 0}
_real = fake.NcclCommunicator.allReduce


def counting(self, *args):  # counts NCCL all-reduces, to tell NCCL from MPI staging
    calls["n"] += 1
    return _real(self, *args)


fake.NcclCommunicator.allReduce = counting


def all_reduce(run, c):  # "old" cases run on an NCCL without AVG
    fake.VERSION = 20900 if c.get("old") else 22304
    try:
        run.all_reduce(c)
    finally:
        fake.VERSION = 22304


def all_to_all_pieces(run, c):  # the transport itself, given byte counts
    from brickwork.distributed import _nccl
    send, recv = run.split_sizes()
    out = run.make(c, seed=FILL, shape=(sum(recv), 2))
    inp = run.make(c, shape=(sum(send), 2))
    size = out.element_size() * 2
    _nccl.all_to_all_pieces(_nccl.communicator(dist.GroupMember.WORLD), [out._data],
                            [inp._data], [size * r for r in recv], [size * s for s in send])
    run.save(c["name"], "out", out)


def send_recv(run, c):
    t = run.make(c)
    if run.rank == 0:
        dist.send(t, dst=1)
    elif run.rank == 1:
        assert dist.recv(t, src=0) == 0
    if run.rank == 1:
        dist.send(t * 2, dst=0)
    elif run.rank == 0:
        dist.recv(t, src=1)
    run.save(c["name"], "out", t)


def isend_irecv(run, c):
    base = run.make(c, shape=SHAPE[::-1])
    if run.rank == 0:
        w = dist.isend(base.t(), dst=1)
    elif run.rank == 1:
        w = dist.irecv(base.t(), src=0)
    if run.rank < 2:
        w.wait()
        assert w.is_completed()
    run.save(c["name"], "out", base)


def recv_mismatch(run, c):
    if run.rank == 0:
        dist.send(run.make(c), dst=1)
    elif run.rank == 1:
        dist.recv(run.make(c, shape=(5,)), src=0)


def recv_any(run, c):
    dist.recv(run.make(c))


def send_tag(run, c):
    dist.send(run.make(c), dst=(run.rank + 1) % run.n, tag=3)


def cpu_under_nccl(run, c):
    dist.all_reduce(run.make(c, device="cpu"))


with simcuda.installed():
    import brickwork as torch
    import brickwork.distributed as dist

    dist.init_process_group("nccl")
    rank, n = dist.get_rank(), dist.get_world_size()
    torch.cuda.set_device(rank % 2)  # each rank on its own simulated GPU
    DEV = torch.device("cuda", rank % 2)
    run = Runner(DEV, {f.__name__: f for f in (all_reduce, all_to_all_pieces, send_recv,
                                               isend_irecv, recv_mismatch, recv_any, send_tag,
                                               cpu_under_nccl)})
    run.run_all(CASES)
    run.arrays["nccl-allreduce-calls|out"] = np.array([calls["n"]])
    dist.destroy_process_group()

    # backend=None: CPU tensors over MPI, CUDA tensors over NCCL
    dist.init_process_group()
    run.arrays["mixed-backend|name"] = np.array([str(dist.get_backend())])
    before = calls["n"]
    cpu = torch.full((4,), float(rank + 1))
    gpu = torch.full((4,), float(rank + 1), device=DEV)
    dist.all_reduce(cpu)
    dist.all_reduce(gpu)
    run.save("mixed-cpu", "out", cpu)
    run.save("mixed-gpu", "out", gpu)
    run.arrays["mixed-nccl-calls|out"] = np.array([calls["n"] - before])
    dist.destroy_process_group()

    # 'gloo' with CUDA tensors: staged through host memory, no NCCL
    dist.init_process_group("gloo")
    before = calls["n"]
    gpu = torch.full((2, 3), float(rank + 1), device=DEV)
    outs = [torch.zeros(2, 3, device=DEV) for _ in range(n)]
    dist.all_reduce(gpu)
    dist.all_gather(outs, gpu)
    run.save("gloo-gpu", "out", gpu)
    run.save("gloo-gpu-gathered", "1", outs[1])
    run.arrays["gloo-nccl-calls|out"] = np.array([calls["n"] - before])
    dist.destroy_process_group()

run.write(sys.argv[1])
"""

_CASES = {c["name"]: c for c in cases(N)}
_TOL = {"float16": 1e-3, "bfloat16": 1e-2, "float32": 1e-6, "float64": 1e-12,
        "complex64": 1e-6}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nccl")
    mpirun(N, _cases.program(_PROGRAM, cases(N), TESTS=_TESTS), folder, timeout=150)
    return Ranks(N, str(folder))


def _close(got, want, dtype, what):
    if dtype in _TOL:
        np.testing.assert_allclose(got, want, rtol=_TOL[dtype], atol=_TOL[dtype], err_msg=what)
    else:
        np.testing.assert_array_equal(got, np.asarray(want).astype(got.dtype), err_msg=what)


def _check_kinds(ranks, *kinds):
    """Check every case of these kinds; returns how many there were."""
    chosen = [c for c in _CASES.values() if c["kind"] in kinds]
    for c in chosen:
        _cases.check(ranks, c, _close)
    return len(chosen)


def _expected_error(c):
    """(exception type, text) a case must raise on every rank, or None."""
    dt, op = c["dtype"], c["op"]
    if op == "BAND":
        return "ValueError", "Cannot use ReduceOp.BAND with NCCL"
    if op == "AVG" and (dt in INTS or dt == "bool"):
        return "TypeError", "ReduceOp.AVG needs a floating point or complex tensor"
    if dt == "complex64" and op not in ("SUM", "AVG"):
        return "ValueError", "complex tensors with ReduceOp.SUM or ReduceOp.AVG only"
    if dt == "int16":
        return "TypeError", "not supported for NCCL process group: int16"
    return None


_ALL_REDUCE = [n for n, c in _CASES.items() if c["kind"] == "all_reduce"]


@pytest.mark.parametrize("name", _ALL_REDUCE)
def test_all_reduce(ranks, name):
    c = _CASES[name]
    err = _expected_error(c)
    if err is None:
        _cases.check(ranks, c, _close)
        return
    for r in range(N):
        kind, text = ranks.error(r, name)[:2]
        assert kind == err[0] and err[1] in text, (kind, text)


def test_reduce_broadcast_gather_scatter(ranks):
    assert _check_kinds(ranks, "reduce", "broadcast", "gather", "scatter") == 22


def test_gathers_and_reduce_scatters(ranks):
    assert _check_kinds(ranks, "all_gather", "all_gather_into_tensor", "reduce_scatter",
                        "reduce_scatter_tensor") == 15


def test_all_to_all(ranks):
    assert _check_kinds(ranks, "all_to_all") == 2
    for name in ("all_to_all_pieces-counts-float32", "all_to_all_pieces-counts-int64"):
        _cases.check(ranks, dict(_CASES[name], kind="all_to_all_single"), _close)


def test_all_to_all_single(ranks):
    assert _check_kinds(ranks, "all_to_all_single") == 4


def test_noncontiguous_async_and_subgroup(ranks):
    assert _check_kinds(ranks, "noncontig_all_reduce", "async_all_reduce",
                        "subgroup_all_reduce") == 3


def test_point_to_point(ranks):
    c = _CASES["send_recv"]
    xs = _cases.inputs(c, N)
    _close(ranks.get(1, "send_recv"), xs[0], "float32", "rank 1 received rank 0's")
    _close(ranks.get(0, "send_recv"), 2 * xs[0], "float32", "rank 0 received rank 1's")
    c = _CASES["isend_irecv-noncontig"]
    x0 = values(c["seed"], 0, "int64", SHAPE[::-1])
    for r in range(N):
        _close(ranks.get(r, "isend_irecv-noncontig"), x0, "int64", f"isend/irecv rank {r}")
    kind, text = ranks.error(1, "recv-mismatch")[:2]
    assert kind == "RuntimeError" and "rank 1 expects a float32 tensor of shape (5,)" in text \
        and f"rank 0 sent a float32 tensor of shape {SHAPE}" in text, text
    assert "recv-mismatch" not in ranks.errors[0]  # the sender finished
    for r in range(N):
        kind, text = ranks.error(r, "recv-any-source")[:2]
        assert kind == "ValueError" and "any source is not supported by NCCL" in text
        kind, text = ranks.error(r, "send-tag")[:2]
        assert kind == "ValueError" and "NCCL has no message tags" in text


def test_transport_routing(ranks):
    for r in range(N):
        kind, text = ranks.error(r, "cpu-tensor-under-nccl")[:2]
        assert kind == "RuntimeError" and \
            text.startswith("No backend type associated with device type cpu"), text
        # every all_reduce case that ran went through NCCL's allReduce
        assert ranks.get(r, "nccl-allreduce-calls")[0] >= 40
        assert str(ranks.get(r, "mixed-backend", "name")[0]) == "cpu:mpi,cuda:nccl"
        np.testing.assert_array_equal(ranks.get(r, "mixed-cpu"), np.full(4, 3.0))
        np.testing.assert_array_equal(ranks.get(r, "mixed-gpu"), np.full(4, 3.0))
        assert ranks.get(r, "mixed-nccl-calls")[0] == 1  # the CUDA one only
        np.testing.assert_array_equal(ranks.get(r, "gloo-gpu"), np.full((2, 3), 3.0))
        np.testing.assert_array_equal(ranks.get(r, "gloo-gpu-gathered", "1"),
                                      np.full((2, 3), 3.0))
        assert ranks.get(r, "gloo-nccl-calls")[0] == 0


# -- the simulated NCCL keeps to CuPy's API ------------------------------------------------------
def test_simulated_nccl_has_cupys_names_and_signatures():
    import simcuda
    from simcuda import _nccl as fake

    with open(os.path.join(_TESTS, "simcuda", "cupy_api.json")) as f:
        api = json.load(f)
    mine = {n for n in dir(fake) if not n.startswith("_") and n not in
            ("annotations", "ctypes", "os", "threading", "np", "Stream", "get_current_stream",
             "VERSION")}
    assert mine <= set(api["nccl"]), sorted(mine - set(api["nccl"]))
    for name in ("NcclCommunicator", "get_unique_id", "groupStart", "groupEnd", "NCCL_SUM",
                 "NCCL_AVG", "NCCL_UINT8", "NCCL_BFLOAT16", "available", "get_version"):
        assert name in mine, name
    for name, params in api["nccl_communicator"].items():
        member = getattr(fake.NcclCommunicator, name)
        if params is None:
            continue
        got = [p for p in inspect.signature(member).parameters if p != "self"]
        assert got == params, (name, got, params)
    assert simcuda.cuda.nccl is fake
    for name in api["nccl"]:
        if name.startswith("NCCL_"):
            assert isinstance(getattr(fake, name), int), name


def test_simulated_nccl_checks_pointers_and_counts(sim_cuda):
    from simcuda import _nccl as fake

    comm = fake.NcclCommunicator(1, fake.get_unique_id(), 0)
    a = sim_cuda.arange(4, dtype=sim_cuda.float32)
    b = sim_cuda.zeros(4, dtype=sim_cuda.float32)
    comm.allReduce(a.data.ptr, b.data.ptr, 4, fake.NCCL_FLOAT32, fake.NCCL_SUM, 0)
    np.testing.assert_array_equal(b.get(), [0, 1, 2, 3])
    with pytest.raises(fake.NcclError, match="run past the end"):
        comm.allReduce(a.data.ptr, b.data.ptr, 5, fake.NCCL_FLOAT32, fake.NCCL_SUM, 0)
    with pytest.raises(fake.NcclError, match="not a pointer into simulated device memory"):
        host = np.zeros(4, np.float32)
        comm.allReduce(host.ctypes.data, b.data.ptr, 4, fake.NCCL_FLOAT32, fake.NCCL_SUM, 0)
    with sim_cuda.cuda.Device(1):
        c = sim_cuda.zeros(4, dtype=sim_cuda.float32)
    with pytest.raises(fake.NcclError, match="on cuda:1 but the communicator is on cuda:0"):
        comm.broadcast(c.data.ptr, c.data.ptr, 4, fake.NCCL_FLOAT32, 0, 0)
    comm.destroy()


def test_world_size_one_on_simulated_cuda(sim_cuda):
    """In this process, a group of one: NCCL calls are copies, and unsupported ops raise."""
    import brickwork as torch
    import brickwork.distributed as dist

    pytest.importorskip("mpi4py")
    dist.init_process_group("nccl")
    try:
        t = torch.arange(6, dtype=torch.float32, device="cuda")
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        out = torch.zeros(1, 6, device="cuda")
        dist.all_gather_into_tensor(out, t)
        np.testing.assert_array_equal(out.cpu().numpy(), np.arange(6.0)[None])
        with pytest.raises(ValueError, match="Cannot use ReduceOp.BXOR with NCCL"):
            dist.all_reduce(torch.ones(3, dtype=torch.int32, device="cuda"),
                            op=dist.ReduceOp.BXOR)
        assert dist.get_backend() == "nccl"
    finally:
        dist.destroy_process_group()


# -- a real GPU --------------------------------------------------------------------------------------
_GPU_PROGRAM = r'''
import sys
import numpy as np
import brickwork as torch
import brickwork.distributed as dist

dist.init_process_group("nccl")
assert dist.get_world_size() == 1
t = torch.arange(8, dtype=torch.float32, device="cuda")
dist.all_reduce(t)
dist.all_reduce(t, op=dist.ReduceOp.MAX)
dist.broadcast(t, src=0)
out = torch.zeros(1, 8, device="cuda")
dist.all_gather_into_tensor(out, t)
lst = [torch.zeros(8, device="cuda")]
dist.all_gather(lst, t)
h = torch.ones(4, dtype=torch.float16, device="cuda")
dist.all_reduce(h, op=dist.ReduceOp.AVG)
assert np.array_equal(out.cpu().numpy()[0], np.arange(8.0)), out
assert np.array_equal(lst[0].cpu().numpy(), np.arange(8.0)), lst
assert np.array_equal(h.cpu().numpy(), np.ones(4)), h
assert dist.get_backend() == "nccl"
dist.destroy_process_group()
print("NCCL OK")
'''


@pytest.mark.cuda
def test_real_nccl_world_size_one(tmp_path):
    import brickwork

    if not brickwork.cuda.is_available():
        pytest.skip("needs an NVIDIA GPU with CuPy")
    if not brickwork.distributed.is_nccl_available():
        pytest.skip("CuPy has no NCCL support here")
    proc = mpirun(1, _GPU_PROGRAM, tmp_path, timeout=120)
    assert "NCCL OK" in proc.stdout
