"""Every collective, for every reduction and element type, at 2 and 4 ranks, against NumPy.

One ``mpiexec`` launch per world size runs every case on CPU tensors (the shared runner of
``_cases`` plus the kinds of ``_PROGRAM``) and saves what each rank got; the tests then check
each case against an expectation computed here from the same deterministic inputs.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from . import _cases
from ._cases import FLOATS, INTS, SHAPE, Ranks, inputs, reduce_np
from ._launch import mpirun

ALL_DTYPES = FLOATS + INTS + ["bool", "complex64"]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]


def cases(n: int) -> _cases.Cases:
    """Every case for world size ``n``: dicts with a unique ``name`` and ``kind``."""
    out = _cases.collective_cases(
        n,
        all_reduce=[(dt, op) for dt in ALL_DTYPES for op in OPS
                    if not (dt in FLOATS + ["complex64"] and op in ("BAND", "BOR", "BXOR"))],
        reduce=[("float32", "SUM"), ("int32", "MAX"), ("float64", "AVG"), ("bfloat16", "SUM")],
        broadcast=["float32", "bfloat16", "bool", "complex64", "int64"],
        all_gather=["float32", "int16", "bfloat16", "bool"],
        gather=["float32", "int8"],
        reduce_scatter=[("float32", "SUM"), ("float32", "MAX"), ("float64", "AVG"),
                        ("int32", "SUM"), ("int64", "PRODUCT"), ("float16", "SUM")],
        all_to_all=["float32", "int64", "bfloat16"])
    add = out.add
    add(name="barrier", kind="barrier")
    add(name="async-broadcast", kind="async_broadcast", dtype="float32", root=n - 1)
    add(name="async-all_gather_into_tensor", kind="async_all_gather", dtype="float32")
    add(name="noncontig-broadcast", kind="noncontig_broadcast", dtype="float32", root=0)
    add(name="noncontig-all_gather", kind="noncontig_all_gather", dtype="float32")
    add(name="noncontig-reduce_scatter_tensor", kind="noncontig_rst", dtype="float32",
        op="SUM")
    members = [0, 2] if n == 4 else [0, 1]
    add(name="subgroup-local-all_reduce", kind="subgroup_all_reduce", dtype="int32",
        op="SUM", members=[1, n - 1] if n == 4 else [1], local=True)
    add(name="subgroup-broadcast-group_src", kind="subgroup_broadcast", dtype="float32",
        members=members)
    add(name="subgroup-reduce-group_dst", kind="subgroup_reduce", dtype="float32",
        op="SUM", members=members)
    add(name="subgroup-gather-group_dst", kind="subgroup_gather", dtype="float32",
        members=members)
    add(name="subgroup-scatter-group_src", kind="subgroup_scatter", dtype="float32",
        members=members)
    add(name="mismatch-shape", kind="mismatch_shape", dtype="float32")
    add(name="mismatch-dtype", kind="mismatch_dtype")
    add(name="mismatch-collective", kind="mismatch_collective", dtype="float32")
    add(name="mismatch-root", kind="mismatch_root", dtype="float32")
    add(name="mismatch-op", kind="mismatch_op", dtype="float32")
    add(name="after-mismatch-all_reduce", kind="all_reduce", dtype="float32", op="SUM")
    return out


# The kinds only this file runs; ``run`` is the shared ``_cases.Runner``.
_PROGRAM = r'''
import sys
import numpy as np
import brickwork.distributed as dist
from _cases import FILL, SHAPE, Runner


def barrier(run, c):
    assert dist.barrier() is None
    w = dist.barrier(async_op=True)
    w.wait()
    assert w.is_completed()
    run.arrays[f"{c['name']}|out"] = np.array([1])


def async_broadcast(run, c):
    t = run.make(c)
    w = dist.broadcast(t, src=c["root"], async_op=True)
    w.wait()
    assert w.is_completed()
    run.save(c["name"], "out", t)


def async_all_gather(run, c):
    out = run.make(c, shape=(run.n,) + SHAPE, seed=FILL)
    works = [dist.all_gather_into_tensor(out, run.make(c), async_op=True)]
    t = run.make(c)
    works.append(dist.all_reduce(t, async_op=True))
    for w in works:
        w.get_future().wait()
    assert all(w.is_completed() for w in works)
    run.save(c["name"], "out", out)
    run.save(c["name"], "sum", t)


def noncontig_broadcast(run, c):
    base = run.make(c, shape=SHAPE[::-1])
    dist.broadcast(base.t(), src=c["root"])
    run.save(c["name"], "out", base)


def noncontig_all_gather(run, c):
    bases = [run.make(c, shape=SHAPE[::-1], seed=FILL) for _ in range(run.n)]
    dist.all_gather([b.t() for b in bases], run.make(c, shape=SHAPE[::-1]).t())
    for i, b in enumerate(bases):
        run.save(c["name"], str(i), b)


def noncontig_rst(run, c):
    base = run.make(c, shape=SHAPE[::-1], seed=FILL)
    inp = run.make(c, shape=(SHAPE[1], run.n * SHAPE[0])).t()
    dist.reduce_scatter_tensor(base.t(), inp, op=run.op(c))
    run.save(c["name"], "out", base)


def subgroup_rooted(run, c):
    k, members = c["kind"], c["members"]
    g = dist.new_group(members)
    if run.rank not in members:
        return
    t = run.make(c)
    leader = run.rank == members[1]
    if k == "subgroup_broadcast":
        dist.broadcast(t, group=g, group_src=1)
    elif k == "subgroup_reduce":
        dist.reduce(t, group=g, group_dst=1)
    elif k == "subgroup_gather":
        lst = [run.make(c, seed=FILL) for _ in members] if leader else None
        dist.gather(t, lst, group=g, group_dst=1)
        for i, o in enumerate(lst or []):
            run.save(c["name"], str(i), o)
    else:
        lst = [run.make(c, r=100 + i) for i in range(len(members))] if leader else None
        dist.scatter(t, lst, group=g, group_src=1)
    run.save(c["name"], "out", t)


def mismatch_shape(run, c):
    dist.all_reduce(run.make(c, shape=(3 + (run.rank == 1),)))


def mismatch_dtype(run, c):
    dist.all_reduce(run.tensor(np.ones(4), "float32" if run.rank == 1 else "float64"))


def mismatch_collective(run, c):
    if run.rank % 2 == 0:
        dist.all_reduce(run.make(c))
    else:
        dist.broadcast(run.make(c), src=0)


def mismatch_root(run, c):
    dist.broadcast(run.make(c), src=run.rank % 2)


def mismatch_op(run, c):
    dist.all_reduce(run.make(c), op=dist.ReduceOp.MAX if run.rank == 1 else dist.ReduceOp.SUM)


dist.init_process_group("gloo")
extra = {f.__name__: f for f in (barrier, async_broadcast, async_all_gather, noncontig_broadcast,
                                 noncontig_all_gather, noncontig_rst, mismatch_shape,
                                 mismatch_dtype, mismatch_collective, mismatch_root, mismatch_op)}
extra.update(dict.fromkeys(("subgroup_broadcast", "subgroup_reduce", "subgroup_gather",
                            "subgroup_scatter"), subgroup_rooted))
run = Runner("cpu", extra)
run.run_all(CASES)
run.write(sys.argv[1])
dist.destroy_process_group()
'''

_EPS = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "float32": 2.0 ** -23,
        "float64": 2.0 ** -52, "complex64": 2.0 ** -23}
_RUNS: dict[int, Ranks] = {}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    def get(n: int) -> Ranks:
        if n not in _RUNS:
            folder = tmp_path_factory.mktemp(f"coll{n}")
            mpirun(n, _cases.program(_PROGRAM, cases(n)), folder, timeout=180)
            _RUNS[n] = Ranks(n, str(folder))
        return _RUNS[n]
    return get


def _close(got: np.ndarray, want: np.ndarray, dtype: str, what: str, *, n: int) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    if dtype in INTS or dtype == "bool":
        np.testing.assert_array_equal(got.astype(np.int64), np.asarray(want).astype(np.int64),
                                      err_msg=what)
        return
    eps = _EPS[dtype]
    if dtype in ("float16", "bfloat16"):
        # any tree order, each partial result rounded: a few ulps of the largest partial sum
        scale = n * max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_allclose(got, want, rtol=0, atol=2 * n * eps * scale, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=max(1e-6, 8 * eps), atol=1e-6,
                                   err_msg=what)


def _expect_error(ranks: Ranks, name: str, etype: str, *needles: str) -> None:
    for r in range(ranks.n):
        err = ranks.errors[r].get(name)
        assert err is not None, f"rank {r} raised nothing in {name}"
        assert err[0] == etype, f"rank {r}: {err[0]} instead of {etype}: {err[1]}"
        for s in needles:
            assert s in err[1], f"rank {r}: {s!r} not in {err[1]!r}"


def _check(ranks: Ranks, c: dict) -> None:  # noqa: C901  (one branch per kind)
    n, k, name = ranks.n, c["kind"], c["name"]
    dt = c.get("dtype")
    close = functools.partial(_close, n=n)
    if k == "all_reduce" and dt == "complex64" and c["op"] in ("MIN", "MAX"):
        _expect_error(ranks, name, "ValueError", "does not support")
    elif k == "all_reduce" and c["op"] == "AVG" and dt in INTS + ["bool"]:
        _expect_error(ranks, name, "TypeError")
    elif k == "barrier":
        for r in range(n):
            ranks.get(r, name)
    elif k == "async_broadcast":
        for r in range(n):
            close(ranks.get(r, name), inputs(c, n)[c["root"]], dt, f"rank {r}")
    elif k == "async_all_gather":
        xs = inputs(c, n)
        for r in range(n):
            close(ranks.get(r, name), np.stack(xs), dt, f"rank {r}")
            close(ranks.get(r, name, "sum"), reduce_np(xs, "SUM", dt), dt, f"rank {r}")
    elif k == "noncontig_broadcast":
        want = inputs(c, n, shape=SHAPE[::-1])[c["root"]]
        for r in range(n):
            close(ranks.get(r, name), want, dt, f"rank {r}")
    elif k == "noncontig_all_gather":
        xs = inputs(c, n, shape=SHAPE[::-1])
        for r in range(n):
            for i in range(n):
                close(ranks.get(r, name, str(i)), xs[i], dt, f"rank {r} piece {i}")
    elif k == "noncontig_rst":
        full = reduce_np([x.T for x in inputs(c, n, shape=(SHAPE[1], n * SHAPE[0]))], "SUM", dt)
        for r in range(n):
            close(ranks.get(r, name), full[r * SHAPE[0]:(r + 1) * SHAPE[0]].T, dt,
                  f"rank {r}")
    elif k in ("subgroup_broadcast", "subgroup_reduce"):
        xs, members = inputs(c, n), c["members"]
        summed = reduce_np([xs[m] for m in members], "SUM", dt)
        for r in members:
            if k == "subgroup_broadcast":
                want = xs[members[1]]
            else:
                want = summed if r == members[1] else xs[r]
            close(ranks.get(r, name), want, dt, f"rank {r}")
    elif k == "subgroup_gather":
        xs = inputs(c, n)
        for i, m in enumerate(c["members"]):
            close(ranks.get(c["members"][1], name, str(i)), xs[m], dt, f"piece {i}")
    elif k == "subgroup_scatter":
        pieces = inputs(c, n, ranks=[100 + i for i in range(len(c["members"]))])
        for i, m in enumerate(c["members"]):
            close(ranks.get(m, name), pieces[i], dt, f"rank {m}")
    elif k == "mismatch_shape":
        _expect_error(ranks, name, "RuntimeError", "rank 1", "(3,)", "(4,)")
        for r in range(n):
            assert f"rank {r}" in ranks.errors[r][name][1], ranks.errors[r][name][1]
    elif k == "mismatch_dtype":
        _expect_error(ranks, name, "RuntimeError", "rank 1", "float64", "float32")
        for r in range(n):
            assert f"rank {r}" in ranks.errors[r][name][1], ranks.errors[r][name][1]
    elif k == "mismatch_collective":
        _expect_error(ranks, name, "RuntimeError", "all_reduce", "broadcast")
        for r in range(n):
            msg = ranks.errors[r][name][1]
            assert f"rank {r}" in msg, msg
    elif k == "mismatch_root":
        _expect_error(ranks, name, "RuntimeError", "root")
        for r in range(n):
            msg = ranks.errors[r][name][1]
            assert f"rank {r} gave {r % 2}" in msg, msg
    elif k == "mismatch_op":
        _expect_error(ranks, name, "RuntimeError", "SUM", "MAX", "rank 1")
    else:  # the kinds of _cases.collective_cases
        _cases.check(ranks, c, close)


_CASES = [(n, c) for n in (2, 4) for c in cases(n)]


@pytest.mark.parametrize("n,case", _CASES, ids=[f"{n}ranks-{c['name']}" for n, c in _CASES])
def test_collective(ranks, n, case):
    _check(ranks(n), case)


@pytest.mark.parametrize("n", [2, 4])
def test_no_unexpected_errors(ranks, n):
    """Every error a rank raised belongs to a case that expects one."""
    run = ranks(n)
    expected = {c["name"] for c in cases(n)
                if c["kind"].startswith("mismatch")
                or (c["kind"] == "all_reduce" and (
                    (c["dtype"] == "complex64" and c["op"] in ("MIN", "MAX"))
                    or (c["op"] == "AVG" and c["dtype"] in INTS + ["bool"])))}
    for r in range(n):
        extra = {k: v[1] for k, v in run.errors[r].items() if k not in expected}
        assert not extra, f"rank {r}: {extra}"
