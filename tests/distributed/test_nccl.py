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

from ._launch import mpirun

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 2

_SHARED = r'''
import numpy as np

OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX"]
FLOATS = ["float16", "bfloat16", "float32", "float64"]
INTS = ["int8", "uint8", "int32", "int64"]
SHAPE = (3, 4)


def values(seed, rank, dtype, shape=SHAPE, op="SUM"):
    """Rank ``rank``'s input for case ``seed`` as float64/int64/bool/complex128 values that
    ``dtype`` holds exactly."""
    rng = np.random.default_rng(seed * 100 + rank)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype in INTS or dtype == "int16":
        return rng.integers(0 if dtype == "uint8" else -3, 4, shape).astype(np.int64)
    lo, hi = (0.5, 1.5) if op == "PRODUCT" else (-2, 2)
    v = np.round(rng.uniform(lo, hi, shape) * 4) / 4
    if dtype == "complex64":
        return v + 1j * np.round(rng.uniform(lo, hi, shape) * 4) / 4
    return v


def cases(n):
    out = []

    def add(**kw):
        kw["seed"] = len(out) + 1
        out.append(kw)

    for dt in FLOATS + INTS + ["bool", "complex64", "int16"]:
        for op in OPS:
            add(name=f"all_reduce-{op}-{dt}", kind="all_reduce", dtype=dt, op=op)
    add(name="all_reduce-BAND-int32", kind="all_reduce", dtype="int32", op="BAND")
    for dt in ("float32", "bfloat16", "complex64"):
        add(name=f"old-nccl-AVG-{dt}", kind="all_reduce", dtype=dt, op="AVG", old=True)
    for root in (0, n - 1):
        for dt, op in (("float32", "SUM"), ("int32", "MAX"), ("float64", "AVG")):
            add(name=f"reduce-dst{root}-{op}-{dt}", kind="reduce", dtype=dt, op=op, root=root)
        for dt in ("float32", "bool", "int16", "complex64"):
            add(name=f"broadcast-src{root}-{dt}", kind="broadcast", dtype=dt, root=root)
        for dt in ("float32", "int16"):
            add(name=f"gather-dst{root}-{dt}", kind="gather", dtype=dt, root=root)
            add(name=f"scatter-src{root}-{dt}", kind="scatter", dtype=dt, root=root)
    for dt in ("float32", "int16", "bfloat16"):
        add(name=f"all_gather-{dt}", kind="all_gather", dtype=dt)
        add(name=f"all_gather_into_tensor-stacked-{dt}", kind="agit", dtype=dt, layout="stacked")
        add(name=f"all_gather_into_tensor-concat-{dt}", kind="agit", dtype=dt, layout="concat")
    for dt, op in (("float32", "SUM"), ("float64", "AVG"), ("int64", "MIN")):
        add(name=f"reduce_scatter-{op}-{dt}", kind="reduce_scatter", dtype=dt, op=op)
        add(name=f"reduce_scatter_tensor-{op}-{dt}", kind="rst", dtype=dt, op=op)
    for dt in ("float32", "int64"):
        add(name=f"all_to_all-{dt}", kind="all_to_all", dtype=dt)
        add(name=f"all_to_all_single-{dt}", kind="all_to_all_single", dtype=dt)
        add(name=f"all_to_all_pieces-counts-{dt}", kind="all_to_all_single", dtype=dt,
            direct=True)
    add(name="noncontig-all_reduce", kind="noncontig", dtype="float32", op="SUM")
    add(name="async-all_reduce", kind="async", dtype="float32", op="SUM")
    add(name="subgroup-all_reduce", kind="subgroup", dtype="float32", op="SUM")
    add(name="send_recv", kind="send_recv", dtype="float32")
    add(name="isend_irecv-noncontig", kind="isend_irecv", dtype="int64")
    add(name="recv-mismatch", kind="recv_mismatch", dtype="float32")
    add(name="recv-any-source", kind="recv_any", dtype="float32")
    add(name="send-tag", kind="send_tag", dtype="float32")
    add(name="cpu-tensor-under-nccl", kind="cpu_under_nccl", dtype="float32")
    return out
'''

_RUNNER = r'''
import json, os, sys, traceback
sys.path.insert(0, TESTS)
import simcuda
from simcuda import _nccl as fake

out_dir = sys.argv[1]
calls = {"n": 0}
_real = fake.NcclCommunicator.allReduce


def counting(self, *args):  # counts NCCL all-reduces, to tell NCCL from MPI staging
    calls["n"] += 1
    return _real(self, *args)


fake.NcclCommunicator.allReduce = counting

with simcuda.installed():
    import brickwork as torch
    import brickwork.distributed as dist

    arrays, errors = {}, {}
    dist.init_process_group("nccl")
    rank, n = dist.get_rank(), dist.get_world_size()
    torch.cuda.set_device(rank % 2)  # each rank on its own simulated GPU
    DEV = torch.device("cuda", rank % 2)

    def tensor(v, dtype, device=None):
        device = DEV if device is None else device
        if dtype == "bfloat16":
            return torch.from_numpy(v.astype(np.float32)).to(torch.bfloat16).to(device)
        return torch.from_numpy(v.astype(dtype)).to(device)

    def save(name, key, t):
        if t.device != DEV and t.device.type == "cuda":
            raise AssertionError(f"{name}: result on {t.device}, not {DEV}")
        t = t.detach().cpu()
        arrays[f"{name}|{key}"] = (t.float() if t.dtype == torch.bfloat16 else t).numpy()

    def make(c, r=None, shape=SHAPE, seed=None, device=None):
        return tensor(values(c["seed"] if seed is None else seed, rank if r is None else r,
                             c["dtype"], shape, c.get("op", "SUM")), c["dtype"], device)

    def op_of(c):
        return getattr(dist.ReduceOp, c["op"])

    def run(c):
        k, name = c["kind"], c["name"]
        if k == "all_reduce":
            t = make(c)
            fake.VERSION = 20900 if c.get("old") else 22304
            try:
                dist.all_reduce(t, op=op_of(c))
            finally:
                fake.VERSION = 22304
            save(name, "out", t)
        elif k == "reduce":
            t = make(c)
            dist.reduce(t, dst=c["root"], op=op_of(c))
            save(name, "out", t)
        elif k == "broadcast":
            t = make(c)
            dist.broadcast(t, src=c["root"])
            save(name, "out", t)
        elif k == "gather":
            lst = [make(c, seed=999) for _ in range(n)] if rank == c["root"] else None
            dist.gather(make(c), lst, dst=c["root"])
            for i, o in enumerate(lst or []):
                save(name, str(i), o)
        elif k == "scatter":
            out = make(c, seed=999)
            lst = [make(c, r=100 + i) for i in range(n)] if rank == c["root"] else None
            dist.scatter(out, lst, src=c["root"])
            save(name, "out", out)
        elif k == "all_gather":
            outs = [make(c, seed=999) for _ in range(n)]
            dist.all_gather(outs, make(c))
            for i, o in enumerate(outs):
                save(name, str(i), o)
        elif k == "agit":
            shape = (n,) + SHAPE if c["layout"] == "stacked" else (n * SHAPE[0], SHAPE[1])
            out = make(c, shape=shape, seed=999)
            dist.all_gather_into_tensor(out, make(c))
            save(name, "out", out)
        elif k == "reduce_scatter":
            out = make(c, seed=999)
            dist.reduce_scatter(out, [make(c, r=rank * 100 + i) for i in range(n)], op=op_of(c))
            save(name, "out", out)
        elif k == "rst":
            out = make(c, seed=999)
            dist.reduce_scatter_tensor(out, make(c, shape=(n * SHAPE[0], SHAPE[1])), op=op_of(c))
            save(name, "out", out)
        elif k == "all_to_all":
            ins = [make(c, r=rank * 100 + j, shape=(2 * rank + j + 1, 2)) for j in range(n)]
            outs = [make(c, seed=999, shape=(2 * j + rank + 1, 2)) for j in range(n)]
            dist.all_to_all(outs, ins)
            for j, o in enumerate(outs):
                save(name, str(j), o)
        elif k == "all_to_all_single":
            send = [2 * rank + j + 1 for j in range(n)]
            recv = [2 * j + rank + 1 for j in range(n)]
            out = make(c, seed=999, shape=(sum(recv), 2))
            inp = make(c, shape=(sum(send), 2))
            if c.get("direct"):  # the transport itself, given byte counts
                from brickwork.distributed import _nccl
                pg = dist.GroupMember.WORLD
                size = out.element_size() * 2
                _nccl.all_to_all_pieces(_nccl.communicator(pg), [out._data], [inp._data],
                                        [size * r for r in recv], [size * s for s in send])
            else:
                dist.all_to_all_single(out, inp, recv, send)
            save(name, "out", out)
        elif k == "noncontig":
            base = make(c, shape=SHAPE[::-1])
            dist.all_reduce(base.t(), op=op_of(c))
            save(name, "out", base)
        elif k == "async":
            t = make(c)
            w = dist.all_reduce(t, op=op_of(c), async_op=True)
            assert w.wait() is True and w.is_completed()
            save(name, "out", t)
        elif k == "subgroup":
            g = dist.new_group([0, 1])
            t = make(c)
            dist.all_reduce(t, group=g)
            save(name, "out", t)
        elif k == "send_recv":
            t = make(c)
            if rank == 0:
                dist.send(t, dst=1)
            elif rank == 1:
                assert dist.recv(t, src=0) == 0
            if rank == 1:
                dist.send(t * 2, dst=0)
            elif rank == 0:
                dist.recv(t, src=1)
            save(name, "out", t)
        elif k == "isend_irecv":
            base = make(c, shape=SHAPE[::-1])
            if rank == 0:
                w = dist.isend(base.t(), dst=1)
            elif rank == 1:
                w = dist.irecv(base.t(), src=0)
            if rank < 2:
                w.wait()
                assert w.is_completed()
            save(name, "out", base)
        elif k == "recv_mismatch":
            if rank == 0:
                dist.send(make(c), dst=1)
            elif rank == 1:
                dist.recv(make(c, shape=(5,)), src=0)
        elif k == "recv_any":
            dist.recv(make(c))
        elif k == "send_tag":
            dist.send(make(c), dst=(rank + 1) % n, tag=3)
        elif k == "cpu_under_nccl":
            dist.all_reduce(make(c, device="cpu"))
        else:
            raise AssertionError(f"unknown kind {k}")

    for c in cases(n):
        try:
            run(c)
        except Exception as e:  # recorded; the checks decide whether it was expected
            errors[c["name"]] = [type(e).__name__, str(e), traceback.format_exc()]
    arrays["nccl-allreduce-calls|out"] = np.array([calls["n"]])
    dist.destroy_process_group()

    # backend=None: CPU tensors over MPI, CUDA tensors over NCCL
    dist.init_process_group()
    arrays["mixed-backend|name"] = np.array([str(dist.get_backend())])
    before = calls["n"]
    cpu = torch.full((4,), float(rank + 1))
    gpu = torch.full((4,), float(rank + 1), device=DEV)
    dist.all_reduce(cpu)
    dist.all_reduce(gpu)
    save("mixed-cpu", "out", cpu)
    save("mixed-gpu", "out", gpu)
    arrays["mixed-nccl-calls|out"] = np.array([calls["n"] - before])
    dist.destroy_process_group()

    # 'gloo' with CUDA tensors: staged through host memory, no NCCL
    dist.init_process_group("gloo")
    before = calls["n"]
    gpu = torch.full((2, 3), float(rank + 1), device=DEV)
    outs = [torch.zeros(2, 3, device=DEV) for _ in range(n)]
    dist.all_reduce(gpu)
    dist.all_gather(outs, gpu)
    save("gloo-gpu", "out", gpu)
    save("gloo-gpu-gathered", "1", outs[1])
    arrays["gloo-nccl-calls|out"] = np.array([calls["n"] - before])
    dist.destroy_process_group()

np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **arrays)
with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
    json.dump(errors, f)
'''

_NS: dict = {}
exec(_SHARED, _NS)  # noqa: S102  (the same code the ranks run)
values, cases, SHAPE = _NS["values"], _NS["cases"], _NS["SHAPE"]
INTS = _NS["INTS"]
_CASES = {c["name"]: c for c in cases(N)}
_TOL = {"float16": 1e-3, "bfloat16": 1e-2, "float32": 1e-6, "float64": 1e-12,
        "complex64": 1e-6}


class _Ranks:
    def __init__(self, folder: str) -> None:
        self.arrays = [np.load(os.path.join(folder, f"rank{r}.npz")) for r in range(N)]
        self.errors = []
        for r in range(N):
            with open(os.path.join(folder, f"rank{r}.json")) as f:
                self.errors.append(json.load(f))

    def get(self, r: int, name: str, key: str = "out") -> np.ndarray:
        err = self.errors[r].get(name)
        assert err is None, f"rank {r} raised in {name}:\n{err[2]}"
        return self.arrays[r][f"{name}|{key}"]

    def error(self, r: int, name: str) -> list:
        assert name in self.errors[r], f"rank {r} did not raise in {name}"
        return self.errors[r][name]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nccl")
    program = f"TESTS = {_TESTS!r}\n" + _SHARED + _RUNNER
    mpirun(N, program, folder, timeout=150)
    return _Ranks(str(folder))


def _inputs(c, shape=SHAPE, ranks=range(N), seed=None):
    return [values(c["seed"] if seed is None else seed, r, c["dtype"], shape,
                   c.get("op", "SUM")) for r in ranks]


def _reduce(xs, op, dtype):
    if dtype == "bool":
        fn = {"SUM": np.logical_or, "MAX": np.logical_or, "PRODUCT": np.logical_and,
              "MIN": np.logical_and}[op]
    else:
        fn = {"SUM": np.add, "AVG": np.add, "PRODUCT": np.multiply, "MIN": np.minimum,
              "MAX": np.maximum}[op]
    acc = xs[0]
    for x in xs[1:]:
        acc = fn(acc, x)
    return acc / len(xs) if op == "AVG" else acc


def _close(got, want, dtype, what):
    if dtype in _TOL:
        np.testing.assert_allclose(got, want, rtol=_TOL[dtype], atol=_TOL[dtype], err_msg=what)
    else:
        np.testing.assert_array_equal(got, np.asarray(want).astype(got.dtype), err_msg=what)


def _expected_error(c):
    """(exception type, text) a case must raise on every rank, or None."""
    dt, op = c["dtype"], c["op"]
    if op == "BAND":
        return "ValueError", "Cannot use ReduceOp.BAND with NCCL"
    if op == "AVG" and (dt in INTS or dt in ("bool", "int16")):
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
    for r in range(N):
        if err is not None:
            kind, text = ranks.error(r, name)[:2]
            assert kind == err[0] and err[1] in text, (kind, text)
        else:
            want = _reduce(_inputs(c), c["op"], c["dtype"])
            _close(ranks.get(r, name), want, c["dtype"], f"{name} rank {r}")


def test_reduce_broadcast_gather_scatter(ranks):
    for name, c in _CASES.items():
        k = c["kind"]
        if k == "reduce":
            xs = _inputs(c)
            for r in range(N):
                want = _reduce(xs, c["op"], c["dtype"]) if r == c["root"] else xs[r]
                _close(ranks.get(r, name), want, c["dtype"], f"{name} rank {r}")
        elif k == "broadcast":
            for r in range(N):
                _close(ranks.get(r, name), _inputs(c)[c["root"]], c["dtype"], name)
        elif k == "gather":
            r = c["root"]
            for i, x in enumerate(_inputs(c)):
                _close(ranks.get(r, name, str(i)), x, c["dtype"], f"{name} piece {i}")
        elif k == "scatter":
            for r in range(N):
                _close(ranks.get(r, name), values(c["seed"], 100 + r, c["dtype"]), c["dtype"],
                       f"{name} rank {r}")


def test_gathers_and_reduce_scatters(ranks):
    for name, c in _CASES.items():
        k, dt = c["kind"], c["dtype"]
        if k == "all_gather":
            for r in range(N):
                for i, x in enumerate(_inputs(c)):
                    _close(ranks.get(r, name, str(i)), x, dt, f"{name} rank {r} piece {i}")
        elif k == "agit":
            want = np.stack(_inputs(c))
            for r in range(N):
                got = ranks.get(r, name)
                _close(got, want.reshape(got.shape), dt, f"{name} rank {r}")
        elif k in ("reduce_scatter", "rst"):
            for r in range(N):
                if k == "reduce_scatter":
                    xs = [values(c["seed"], q * 100 + r, dt, op=c["op"]) for q in range(N)]
                else:
                    full = _inputs(c, shape=(N * SHAPE[0], SHAPE[1]))
                    xs = [x[r * SHAPE[0]:(r + 1) * SHAPE[0]] for x in full]
                _close(ranks.get(r, name), _reduce(xs, c["op"], dt), dt, f"{name} rank {r}")


def _check_all_to_all_single(ranks, name):
    c = _CASES[name]
    dt = c["dtype"]
    for r in range(N):
        pieces = []
        for j in range(N):
            send = [2 * j + q + 1 for q in range(N)]
            x = values(c["seed"], j, dt, (sum(send), 2))
            pieces.append(x[sum(send[:r]):sum(send[:r + 1])])
        _close(ranks.get(r, name), np.concatenate(pieces), dt, f"{name} rank {r}")


def test_all_to_all(ranks):
    for name, c in _CASES.items():
        dt = c["dtype"]
        if c["kind"] == "all_to_all":
            for r in range(N):
                for j in range(N):
                    want = values(c["seed"], j * 100 + r, dt, (2 * j + r + 1, 2))
                    _close(ranks.get(r, name, str(j)), want, dt, f"{name} rank {r} from {j}")
        elif c["kind"] == "all_to_all_single" and c.get("direct"):
            _check_all_to_all_single(ranks, name)


def test_all_to_all_single(ranks):
    for name in ("all_to_all_single-float32", "all_to_all_single-int64"):
        _check_all_to_all_single(ranks, name)


def test_noncontiguous_async_and_subgroup(ranks):
    c = _CASES["noncontig-all_reduce"]
    want = _reduce(_inputs(c, shape=SHAPE[::-1]), "SUM", "float32")
    for name in ("async-all_reduce", "subgroup-all_reduce"):
        want2 = _reduce(_inputs(_CASES[name]), "SUM", "float32")
        for r in range(N):
            _close(ranks.get(r, name), want2, "float32", f"{name} rank {r}")
    for r in range(N):
        _close(ranks.get(r, "noncontig-all_reduce"), want, "float32", f"noncontig rank {r}")


def test_point_to_point(ranks):
    c = _CASES["send_recv"]
    xs = _inputs(c)
    _close(ranks.get(1, "send_recv"), xs[0], "float32", "rank 1 received rank 0's")
    _close(ranks.get(0, "send_recv"), 2 * xs[0], "float32", "rank 0 received rank 1's")
    c = _CASES["isend_irecv-noncontig"]
    x0 = values(c["seed"], 0, "int64", SHAPE[::-1])
    for r in range(N):
        _close(ranks.get(r, "isend_irecv-noncontig"), x0, "int64", f"isend/irecv rank {r}")
    kind, text = ranks.error(1, "recv-mismatch")[:2]
    assert kind == "RuntimeError" and "rank 1 expects a float32 tensor of shape (5,)" in text \
        and "rank 0 sent a float32 tensor of shape (3, 4)" in text, text
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
