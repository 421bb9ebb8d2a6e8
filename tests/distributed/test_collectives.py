"""Every collective, for every reduction and element type, at 2 and 4 ranks, against NumPy.

One ``mpiexec`` launch per world size runs every case (``_PROGRAM``) and saves what each rank
got (arrays in ``rank<r>.npz``, errors in ``rank<r>.json``); the tests then check each case
against an expectation computed here from the same deterministic inputs (``_SHARED``).
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ._launch import mpirun

# Code both the ranks and the checks run: the case list and each rank's inputs.
_SHARED = r'''
import numpy as np

FLOATS = ["float16", "bfloat16", "float32", "float64"]
INTS = ["int8", "uint8", "int16", "int32", "int64"]
ALL_DTYPES = FLOATS + INTS + ["bool", "complex64"]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]
SHAPE = (3, 5)


def np_values(seed, rank, dtype, shape=SHAPE, op="SUM"):
    """Rank ``rank``'s input for case ``seed``, as float64/int64/bool/complex128 NumPy values
    that ``dtype`` represents exactly."""
    rng = np.random.default_rng(seed * 1000 + rank)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype in INTS:
        lo, hi = (0, 4) if dtype == "uint8" else (-2, 3)
        return rng.integers(lo, hi, shape).astype(np.int64)
    if op == "PRODUCT":  # near one, so products stay in range
        v = rng.uniform(0.5, 1.5, shape)
    else:
        v = rng.uniform(-2, 2, shape)
    if dtype == "complex64":
        w = rng.uniform(0.5, 1.5, shape) if op == "PRODUCT" else rng.uniform(-2, 2, shape)
        return (v.astype(np.float32) + 1j * w.astype(np.float32)).astype(np.complex128)
    # round to what the dtype holds: 5 significant bits fit float16 and bfloat16 exactly
    return np.round(v * 16) / 16


def cases(n):
    """Every case for world size ``n``: dicts with a unique ``name`` and ``kind``."""
    out = []

    def add(**kw):
        kw["seed"] = len(out) + 1
        out.append(kw)

    for dt in ALL_DTYPES:
        for op in OPS:
            if dt in FLOATS and op in ("BAND", "BOR", "BXOR"):
                continue
            if dt == "complex64" and op in ("BAND", "BOR", "BXOR"):
                continue
            add(name=f"all_reduce-{op}-{dt}", kind="all_reduce", dtype=dt, op=op)
    for dst in (0, n - 1):
        for dt, op in (("float32", "SUM"), ("int32", "MAX"), ("float64", "AVG"),
                       ("bfloat16", "SUM")):
            add(name=f"reduce-dst{dst}-{op}-{dt}", kind="reduce", dtype=dt, op=op, root=dst)
    for src in range(n):
        for dt in ("float32", "bfloat16", "bool", "complex64", "int64"):
            add(name=f"broadcast-src{src}-{dt}", kind="broadcast", dtype=dt, root=src)
    for dt in ("float32", "int16", "bfloat16", "bool"):
        add(name=f"all_gather-{dt}", kind="all_gather", dtype=dt)
        add(name=f"all_gather_into_tensor-stacked-{dt}", kind="all_gather_into_tensor",
            dtype=dt, layout="stacked")
        add(name=f"all_gather_into_tensor-concat-{dt}", kind="all_gather_into_tensor",
            dtype=dt, layout="concat")
    for root in (0, n - 1):
        for dt in ("float32", "int8"):
            add(name=f"gather-dst{root}-{dt}", kind="gather", dtype=dt, root=root)
            add(name=f"scatter-src{root}-{dt}", kind="scatter", dtype=dt, root=root)
    for dt, op in (("float32", "SUM"), ("float32", "MAX"), ("float64", "AVG"),
                   ("int32", "SUM"), ("int64", "PRODUCT"), ("float16", "SUM")):
        add(name=f"reduce_scatter-{op}-{dt}", kind="reduce_scatter", dtype=dt, op=op)
        add(name=f"reduce_scatter_tensor-{op}-{dt}", kind="reduce_scatter_tensor", dtype=dt,
            op=op)
    for dt in ("float32", "int64", "bfloat16"):
        add(name=f"all_to_all-{dt}", kind="all_to_all", dtype=dt)
        add(name=f"all_to_all_single-even-{dt}", kind="all_to_all_single", dtype=dt,
            splits=False)
        add(name=f"all_to_all_single-splits-{dt}", kind="all_to_all_single", dtype=dt,
            splits=True)
    add(name="barrier", kind="barrier")
    add(name="async-all_reduce", kind="async_all_reduce", dtype="float32", op="SUM")
    add(name="async-broadcast", kind="async_broadcast", dtype="float32", root=n - 1)
    add(name="async-all_gather_into_tensor", kind="async_all_gather", dtype="float32")
    add(name="noncontig-all_reduce", kind="noncontig_all_reduce", dtype="float32", op="SUM")
    add(name="noncontig-broadcast", kind="noncontig_broadcast", dtype="float32", root=0)
    add(name="noncontig-all_gather", kind="noncontig_all_gather", dtype="float32")
    add(name="noncontig-reduce_scatter_tensor", kind="noncontig_rst", dtype="float32",
        op="SUM")
    members = [0, 2] if n == 4 else [0, 1]
    add(name="subgroup-all_reduce", kind="subgroup_all_reduce", dtype="float32", op="SUM",
        members=members, local=False)
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
'''

_RUNNER = r'''
import json, os, sys, traceback
import brickwork as torch
import brickwork.distributed as dist

out_dir = sys.argv[1]
dist.init_process_group("gloo")
rank, n = dist.get_rank(), dist.get_world_size()
arrays, errors = {}, {}


def tensor(values, dtype):
    if dtype == "bfloat16":
        return torch.from_numpy(values.astype(np.float32)).to(torch.bfloat16)
    if dtype == "complex64":
        return torch.from_numpy(values.astype(np.complex64))
    return torch.from_numpy(values.astype(dtype))


def save(name, key, t):
    t = t.detach()
    arrays[f"{name}|{key}"] = (t.float() if t.dtype == torch.bfloat16 else t).numpy().copy()


def make(c, r=None, shape=SHAPE, seed=None):
    return tensor(np_values(c["seed"] if seed is None else seed, rank if r is None else r,
                            c["dtype"], shape, c.get("op", "SUM")), c["dtype"])


def op_of(c):
    return getattr(dist.ReduceOp, c["op"])


def run(c):
    k, name = c["kind"], c["name"]
    if k == "all_reduce":
        t = make(c)
        assert dist.all_reduce(t, op=op_of(c)) is None
        save(name, "out", t)
    elif k == "reduce":
        t = make(c)
        dist.reduce(t, dst=c["root"], op=op_of(c))
        save(name, "out", t)
    elif k == "broadcast":
        t = make(c)
        dist.broadcast(t, src=c["root"])
        save(name, "out", t)
    elif k == "all_gather":
        outs = [make(c, seed=9999) for _ in range(n)]
        dist.all_gather(outs, make(c))
        for i, o in enumerate(outs):
            save(name, str(i), o)
    elif k == "all_gather_into_tensor":
        inp = make(c)
        shape = (n,) + SHAPE if c["layout"] == "stacked" else (n * SHAPE[0], SHAPE[1])
        out = make(c, shape=shape, seed=9999)
        dist.all_gather_into_tensor(out, inp)
        save(name, "out", out)
    elif k == "gather":
        lst = [make(c, seed=9999) for _ in range(n)] if rank == c["root"] else None
        dist.gather(make(c), lst, dst=c["root"])
        for i, o in enumerate(lst or []):
            save(name, str(i), o)
    elif k == "scatter":
        out = make(c, seed=9999)
        lst = [make(c, r=100 + i) for i in range(n)] if rank == c["root"] else None
        dist.scatter(out, lst, src=c["root"])
        save(name, "out", out)
    elif k == "reduce_scatter":
        out = make(c, seed=9999)
        dist.reduce_scatter(out, [make(c, r=rank * 100 + i) for i in range(n)], op=op_of(c))
        save(name, "out", out)
    elif k == "reduce_scatter_tensor":
        out = make(c, seed=9999)
        inp = make(c, shape=(n * SHAPE[0], SHAPE[1]))
        dist.reduce_scatter_tensor(out, inp, op=op_of(c))
        save(name, "out", out)
    elif k == "all_to_all":
        ins = [make(c, r=rank * 100 + j, shape=(2 * rank + j + 1, 2)) for j in range(n)]
        outs = [make(c, seed=9999, shape=(2 * j + rank + 1, 2)) for j in range(n)]
        dist.all_to_all(outs, ins)
        for j, o in enumerate(outs):
            save(name, str(j), o)
    elif k == "all_to_all_single":
        if c["splits"]:
            send = [2 * rank + j + 1 for j in range(n)]
            recv = [2 * j + rank + 1 for j in range(n)]
            inp = make(c, shape=(sum(send), 2))
            out = make(c, seed=9999, shape=(sum(recv), 2))
            dist.all_to_all_single(out, inp, recv, send)
        else:
            inp = make(c, shape=(n * 2, 3))
            out = make(c, seed=9999, shape=(n * 2, 3))
            dist.all_to_all_single(out, inp)
        save(name, "out", out)
    elif k == "barrier":
        assert dist.barrier() is None
        w = dist.barrier(async_op=True)
        w.wait()
        assert w.is_completed()
        arrays[f"{name}|out"] = np.array([1])
    elif k == "async_all_reduce":
        t = make(c)
        w = dist.all_reduce(t, op=op_of(c), async_op=True)
        assert isinstance(w, dist.Work), type(w)
        assert w.wait() is True
        assert w.is_completed() and w.is_success()
        save(name, "out", t)
        t2 = make(c)
        fut = dist.all_reduce(t2, op=op_of(c), async_op=True).get_future()
        res = fut.wait()
        assert isinstance(res, list) and len(res) == 1, res
        save(name, "future", res[0])
        save(name, "t2", t2)
    elif k == "async_broadcast":
        t = make(c)
        w = dist.broadcast(t, src=c["root"], async_op=True)
        w.wait()
        assert w.is_completed()
        save(name, "out", t)
    elif k == "async_all_gather":
        out = make(c, shape=(n,) + SHAPE, seed=9999)
        works = [dist.all_gather_into_tensor(out, make(c), async_op=True)]
        t = make(c)
        works.append(dist.all_reduce(t, async_op=True))
        for w in works:
            w.get_future().wait()
        assert all(w.is_completed() for w in works)
        save(name, "out", out)
        save(name, "sum", t)
    elif k == "noncontig_all_reduce":
        base = make(c, shape=SHAPE[::-1])
        view = base.t()
        assert not view.is_contiguous()
        dist.all_reduce(view, op=op_of(c))
        save(name, "out", base)
    elif k == "noncontig_broadcast":
        base = make(c, shape=SHAPE[::-1])
        dist.broadcast(base.t(), src=c["root"])
        save(name, "out", base)
    elif k == "noncontig_all_gather":
        bases = [make(c, shape=SHAPE[::-1], seed=9999) for _ in range(n)]
        inp = make(c, shape=SHAPE[::-1]).t()
        dist.all_gather([b.t() for b in bases], inp)
        for i, b in enumerate(bases):
            save(name, str(i), b)
    elif k == "noncontig_rst":
        base = make(c, shape=SHAPE[::-1], seed=9999)
        inp = make(c, shape=(SHAPE[1], n * SHAPE[0])).t()
        dist.reduce_scatter_tensor(base.t(), inp, op=op_of(c))
        save(name, "out", base)
    elif k == "subgroup_all_reduce":
        members = c["members"]
        if c["local"]:
            g = dist.new_group(members, use_local_synchronization=True) if rank in members \
                else None
        else:
            g = dist.new_group(members)
        t = make(c)
        if rank in members:
            assert dist.get_world_size(g) == len(members)
            assert dist.get_rank(g) == members.index(rank)
            dist.all_reduce(t, op=op_of(c), group=g)
        else:
            if g is not None:
                assert g is dist.GroupMember.NON_GROUP_MEMBER, g
                assert dist.all_reduce(t, group=g) is None
                assert dist.get_rank(g) == -1
        save(name, "out", t)
    elif k in ("subgroup_broadcast", "subgroup_reduce", "subgroup_gather",
               "subgroup_scatter"):
        members = c["members"]
        g = dist.new_group(members)
        if rank in members:
            t = make(c)
            if k == "subgroup_broadcast":
                dist.broadcast(t, group=g, group_src=1)
            elif k == "subgroup_reduce":
                dist.reduce(t, group=g, group_dst=1)
            elif k == "subgroup_gather":
                lst = [make(c, seed=9999) for _ in members] if rank == members[1] else None
                dist.gather(t, lst, group=g, group_dst=1)
                for i, o in enumerate(lst or []):
                    save(name, str(i), o)
            else:
                lst = [make(c, r=100 + i) for i in range(len(members))] \
                    if rank == members[1] else None
                dist.scatter(t, lst, group=g, group_src=1)
            save(name, "out", t)
    elif k == "mismatch_shape":
        dist.all_reduce(make(c, shape=(3 + (rank == 1),)))
    elif k == "mismatch_dtype":
        dist.all_reduce(tensor(np.ones(4), "float32" if rank == 1 else "float64"))
    elif k == "mismatch_collective":
        t = make(c)
        if rank % 2 == 0:
            dist.all_reduce(t)
        else:
            dist.broadcast(t, src=0)
    elif k == "mismatch_root":
        dist.broadcast(make(c), src=rank % 2)
    elif k == "mismatch_op":
        dist.all_reduce(make(c), op=dist.ReduceOp.MAX if rank == 1 else dist.ReduceOp.SUM)
    else:
        raise AssertionError(f"unknown kind {k}")


for c in cases(n):
    try:
        run(c)
    except Exception as e:  # recorded; the checks decide whether it was expected
        errors[c["name"]] = [type(e).__name__, str(e), traceback.format_exc()]

np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **arrays)
with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
    json.dump(errors, f)
dist.destroy_process_group()
'''

_NS: dict = {}
exec(_SHARED, _NS)  # noqa: S102  (the same code the ranks run)
np_values, cases, SHAPE = _NS["np_values"], _NS["cases"], _NS["SHAPE"]
INTS, FLOATS = _NS["INTS"], _NS["FLOATS"]

_EPS = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "float32": 2.0 ** -23,
        "float64": 2.0 ** -52, "complex64": 2.0 ** -23}


class _Ranks:
    """What every rank saved for a world size."""

    def __init__(self, n: int, folder: str) -> None:
        self.n = n
        self.arrays = [np.load(os.path.join(folder, f"rank{r}.npz")) for r in range(n)]
        self.errors = []
        for r in range(n):
            with open(os.path.join(folder, f"rank{r}.json")) as f:
                self.errors.append(json.load(f))

    def get(self, r: int, name: str, key: str = "out") -> np.ndarray:
        err = self.errors[r].get(name)
        assert err is None, f"rank {r} raised in {name}:\n{err[2]}"
        full = f"{name}|{key}"
        assert full in self.arrays[r].files, f"rank {r} saved no {full}"
        return self.arrays[r][full]


_RUNS: dict[int, _Ranks] = {}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    def get(n: int) -> _Ranks:
        if n not in _RUNS:
            folder = tmp_path_factory.mktemp(f"coll{n}")
            mpirun(n, _SHARED + _RUNNER, folder, timeout=180)
            _RUNS[n] = _Ranks(n, str(folder))
        return _RUNS[n]
    return get


def _inputs(c: dict, n: int, shape=SHAPE, ranks=None, seed=None) -> list[np.ndarray]:
    ranks = range(n) if ranks is None else ranks
    return [np_values(c["seed"] if seed is None else seed, r, c["dtype"], shape,
                      c.get("op", "SUM")) for r in ranks]


def _reduce(xs: list[np.ndarray], op: str, dtype: str) -> np.ndarray:
    if dtype == "bool":
        fn = {"SUM": np.logical_or, "MAX": np.logical_or, "BOR": np.logical_or,
              "PRODUCT": np.logical_and, "MIN": np.logical_and, "BAND": np.logical_and,
              "BXOR": np.logical_xor}[op]
    else:
        fn = {"SUM": np.add, "AVG": np.add, "PRODUCT": np.multiply, "MIN": np.minimum,
              "MAX": np.maximum, "BAND": np.bitwise_and, "BOR": np.bitwise_or,
              "BXOR": np.bitwise_xor}[op]
    acc = xs[0]
    for x in xs[1:]:
        acc = fn(acc, x)
    if op == "AVG":
        acc = acc / len(xs)
    return acc


def _close(got: np.ndarray, want: np.ndarray, dtype: str, n: int, what: str) -> None:
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


def _expect_error(ranks: _Ranks, name: str, etype: str, *needles: str) -> None:
    for r in range(ranks.n):
        err = ranks.errors[r].get(name)
        assert err is not None, f"rank {r} raised nothing in {name}"
        assert err[0] == etype, f"rank {r}: {err[0]} instead of {etype}: {err[1]}"
        for s in needles:
            assert s in err[1], f"rank {r}: {s!r} not in {err[1]!r}"


def _check(ranks: _Ranks, c: dict) -> None:  # noqa: C901  (one branch per kind)
    n, k, name = ranks.n, c["kind"], c["name"]
    dt = c.get("dtype")
    if k == "all_reduce":
        op = c["op"]
        if dt == "complex64" and op in ("MIN", "MAX"):
            _expect_error(ranks, name, "ValueError", "does not support")
            return
        if op == "AVG" and dt in INTS + ["bool"]:
            _expect_error(ranks, name, "TypeError")
            return
        want = _reduce(_inputs(c, n), op, dt)
        for r in range(n):
            _close(ranks.get(r, name), want, dt, n, f"rank {r}")
    elif k == "reduce":
        xs = _inputs(c, n)
        want = _reduce(xs, c["op"], dt)
        for r in range(n):
            _close(ranks.get(r, name), want if r == c["root"] else xs[r], dt, n, f"rank {r}")
    elif k == "broadcast":
        want = _inputs(c, n)[c["root"]]
        for r in range(n):
            _close(ranks.get(r, name), want, dt, n, f"rank {r}")
    elif k == "all_gather":
        xs = _inputs(c, n)
        for r in range(n):
            for i in range(n):
                _close(ranks.get(r, name, str(i)), xs[i], dt, n, f"rank {r} piece {i}")
    elif k == "all_gather_into_tensor":
        xs = np.stack(_inputs(c, n))
        if c["layout"] == "concat":
            xs = xs.reshape(n * SHAPE[0], SHAPE[1])
        for r in range(n):
            _close(ranks.get(r, name), xs, dt, n, f"rank {r}")
    elif k == "gather":
        xs = _inputs(c, n)
        root = c["root"]
        for i in range(n):
            _close(ranks.get(root, name, str(i)), xs[i], dt, n, f"piece {i}")
    elif k == "scatter":
        pieces = _inputs(c, n, ranks=[100 + i for i in range(n)])
        for r in range(n):
            _close(ranks.get(r, name), pieces[r], dt, n, f"rank {r}")
    elif k == "reduce_scatter":
        for r in range(n):
            xs = [np_values(c["seed"], q * 100 + r, dt, SHAPE, c["op"]) for q in range(n)]
            _close(ranks.get(r, name), _reduce(xs, c["op"], dt), dt, n, f"rank {r}")
    elif k == "reduce_scatter_tensor":
        full = _reduce(_inputs(c, n, shape=(n * SHAPE[0], SHAPE[1])), c["op"], dt)
        for r in range(n):
            _close(ranks.get(r, name), full[r * SHAPE[0]:(r + 1) * SHAPE[0]], dt, n,
                   f"rank {r}")
    elif k == "all_to_all":
        for r in range(n):
            for j in range(n):
                want = np_values(c["seed"], j * 100 + r, dt, (2 * j + r + 1, 2))
                _close(ranks.get(r, name, str(j)), want, dt, n, f"rank {r} from {j}")
    elif k == "all_to_all_single":
        xs = None if c["splits"] else _inputs(c, n, shape=(n * 2, 3))
        for r in range(n):
            if c["splits"]:
                parts = []
                for j in range(n):
                    send = [2 * j + q + 1 for q in range(n)]
                    src = np_values(c["seed"], j, dt, (sum(send), 2))
                    at = sum(send[:r])
                    parts.append(src[at:at + send[r]])
                want = np.concatenate(parts)
            else:
                want = np.concatenate([xs[j][2 * r:2 * r + 2] for j in range(n)])
            _close(ranks.get(r, name), want, dt, n, f"rank {r}")
    elif k == "barrier":
        for r in range(n):
            ranks.get(r, name)
    elif k == "async_all_reduce":
        want = _reduce(_inputs(c, n), "SUM", dt)
        for r in range(n):
            for key in ("out", "future", "t2"):
                _close(ranks.get(r, name, key), want, dt, n, f"rank {r} {key}")
    elif k == "async_broadcast":
        want = _inputs(c, n)[c["root"]]
        for r in range(n):
            _close(ranks.get(r, name), want, dt, n, f"rank {r}")
    elif k == "async_all_gather":
        xs = _inputs(c, n)
        for r in range(n):
            _close(ranks.get(r, name), np.stack(xs), dt, n, f"rank {r}")
            _close(ranks.get(r, name, "sum"), _reduce(xs, "SUM", dt), dt, n, f"rank {r}")
    elif k == "noncontig_all_reduce":
        want = _reduce(_inputs(c, n, shape=SHAPE[::-1]), "SUM", dt)
        for r in range(n):
            _close(ranks.get(r, name), want, dt, n, f"rank {r}")
    elif k == "noncontig_broadcast":
        want = _inputs(c, n, shape=SHAPE[::-1])[c["root"]]
        for r in range(n):
            _close(ranks.get(r, name), want, dt, n, f"rank {r}")
    elif k == "noncontig_all_gather":
        xs = _inputs(c, n, shape=SHAPE[::-1])
        for r in range(n):
            for i in range(n):
                _close(ranks.get(r, name, str(i)), xs[i], dt, n, f"rank {r} piece {i}")
    elif k == "noncontig_rst":
        full = _reduce([x.T for x in _inputs(c, n, shape=(SHAPE[1], n * SHAPE[0]))], "SUM", dt)
        for r in range(n):
            _close(ranks.get(r, name), full[r * SHAPE[0]:(r + 1) * SHAPE[0]].T, dt, n,
                   f"rank {r}")
    elif k == "subgroup_all_reduce":
        xs = _inputs(c, n)
        want = _reduce([xs[m] for m in c["members"]], "SUM", dt)
        for r in range(n):
            _close(ranks.get(r, name), want if r in c["members"] else xs[r], dt, n,
                   f"rank {r}")
    elif k == "subgroup_broadcast":
        xs = _inputs(c, n)
        for r in c["members"]:
            _close(ranks.get(r, name), xs[c["members"][1]], dt, n, f"rank {r}")
    elif k == "subgroup_reduce":
        xs = _inputs(c, n)
        want = _reduce([xs[m] for m in c["members"]], "SUM", dt)
        for r in c["members"]:
            _close(ranks.get(r, name), want if r == c["members"][1] else xs[r], dt, n,
                   f"rank {r}")
    elif k == "subgroup_gather":
        xs = _inputs(c, n)
        for i, m in enumerate(c["members"]):
            _close(ranks.get(c["members"][1], name, str(i)), xs[m], dt, n, f"piece {i}")
    elif k == "subgroup_scatter":
        pieces = _inputs(c, n, ranks=[100 + i for i in range(len(c["members"]))])
        for i, m in enumerate(c["members"]):
            _close(ranks.get(m, name), pieces[i], dt, n, f"rank {m}")
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
    else:
        raise AssertionError(f"no check for {k}")


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
