"""The collective cases both transports' tests run (``test_collectives`` on MPI, ``test_nccl``).

A test builds its case list (``collective_cases`` plus cases of its own), hands it to the ranks in
the program text (``program``); there ``Runner`` runs each case on tensors of one device and saves
what the rank got (arrays in ``rank<r>.npz``, errors in ``rank<r>.json``). The test loads that
(``Ranks``) and checks it against ``expect``, computed with NumPy from the same deterministic
inputs (``values``). Ranks import this module by its folder, so it imports only NumPy at the top:
brickwork is imported when a ``Runner`` is made (under the simulated CUDA backend for NCCL).
"""
from __future__ import annotations

import json
import os
import textwrap
import traceback
from typing import Callable

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FLOATS = ["float16", "bfloat16", "float32", "float64"]
INTS = ["int8", "uint8", "int16", "int32", "int64"]
SHAPE = (3, 5)
FILL = 9999  # the seed of what output buffers hold before a collective overwrites them


def values(seed: int, rank: int, dtype: str, shape=SHAPE, op: str = "SUM") -> np.ndarray:
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


class Cases(list):
    """A case list: dicts with a unique ``name``, a ``kind`` and a ``seed`` for their inputs."""

    def add(self, **kw) -> None:
        kw["seed"] = len(self) + 1
        self.append(kw)


def collective_cases(n: int, *, all_reduce, reduce, broadcast, all_gather, gather,
                     reduce_scatter, all_to_all) -> Cases:
    """The cases of every collective at world size ``n``; the arguments pick element types.

    ``all_reduce``, ``reduce`` and ``reduce_scatter`` are ``(dtype, op)`` pairs, the others
    dtypes. ``reduce``, ``gather`` and ``scatter`` run with the first and the last rank as
    root, ``broadcast`` from every rank.
    """
    out = Cases()
    for dt, op in all_reduce:
        out.add(name=f"all_reduce-{op}-{dt}", kind="all_reduce", dtype=dt, op=op)
    for dst in (0, n - 1):
        for dt, op in reduce:
            out.add(name=f"reduce-dst{dst}-{op}-{dt}", kind="reduce", dtype=dt, op=op, root=dst)
    for src in range(n):
        for dt in broadcast:
            out.add(name=f"broadcast-src{src}-{dt}", kind="broadcast", dtype=dt, root=src)
    for dt in all_gather:
        out.add(name=f"all_gather-{dt}", kind="all_gather", dtype=dt)
        for layout in ("stacked", "concat"):
            out.add(name=f"all_gather_into_tensor-{layout}-{dt}", kind="all_gather_into_tensor",
                    dtype=dt, layout=layout)
    for root in (0, n - 1):
        for dt in gather:
            out.add(name=f"gather-dst{root}-{dt}", kind="gather", dtype=dt, root=root)
            out.add(name=f"scatter-src{root}-{dt}", kind="scatter", dtype=dt, root=root)
    for dt, op in reduce_scatter:
        out.add(name=f"reduce_scatter-{op}-{dt}", kind="reduce_scatter", dtype=dt, op=op)
        out.add(name=f"reduce_scatter_tensor-{op}-{dt}", kind="reduce_scatter_tensor",
                dtype=dt, op=op)
    for dt in all_to_all:
        out.add(name=f"all_to_all-{dt}", kind="all_to_all", dtype=dt)
        out.add(name=f"all_to_all_single-even-{dt}", kind="all_to_all_single", dtype=dt,
                splits=False)
        out.add(name=f"all_to_all_single-splits-{dt}", kind="all_to_all_single", dtype=dt,
                splits=True)
    out.add(name="async-all_reduce", kind="async_all_reduce", dtype="float32", op="SUM")
    out.add(name="noncontig-all_reduce", kind="noncontig_all_reduce", dtype="float32",
            op="SUM")
    out.add(name="subgroup-all_reduce", kind="subgroup_all_reduce", dtype="float32", op="SUM",
            members=[0, 2] if n == 4 else [0, 1], local=False)
    return out


def program(body: str, cases: list, **names) -> str:
    """A rank program: ``body`` after lines that make this module importable as ``_cases`` and
    bind ``CASES`` (and each of ``names``) to the given values."""
    head = ["import sys", f"sys.path.insert(0, {HERE!r})", f"CASES = {list(cases)!r}"]
    head += [f"{k} = {v!r}" for k, v in names.items()]
    return "\n".join(head) + "\n" + textwrap.dedent(body)


# -- on the ranks -------------------------------------------------------------------------------
class Runner:
    """Runs cases on one rank with tensors on ``device`` and keeps what each produced.

    ``extra`` maps kinds to ``fn(runner, case)``; it is looked up before the kinds here, so a
    test can add kinds or wrap one (a wrapper calls ``runner.<kind>(case)``).
    """

    def __init__(self, device=None, extra: dict[str, Callable] | None = None) -> None:
        import brickwork as torch
        import brickwork.distributed as dist

        self.torch, self.dist = torch, dist
        self.rank, self.n = dist.get_rank(), dist.get_world_size()
        self.device = torch.device("cpu" if device is None else device)
        self.extra = dict(extra or {})
        self.arrays: dict[str, np.ndarray] = {}
        self.errors: dict[str, list] = {}

    def tensor(self, v: np.ndarray, dtype: str, device=None):
        torch = self.torch
        if dtype == "bfloat16":
            t = torch.from_numpy(v.astype(np.float32)).to(torch.bfloat16)
        else:
            t = torch.from_numpy(v.astype(dtype))
        return t.to(self.device if device is None else device)

    def make(self, c: dict, r: int | None = None, shape=SHAPE, seed: int | None = None,
             device=None):
        """Rank ``r``'s (this rank's) input of case ``c`` as a tensor on the runner's device."""
        v = values(c["seed"] if seed is None else seed, self.rank if r is None else r,
                   c["dtype"], shape, c.get("op", "SUM"))
        return self.tensor(v, c["dtype"], device)

    def save(self, name: str, key: str, t) -> None:
        if t.device.type == "cuda" and t.device != self.device:
            raise AssertionError(f"{name}: result on {t.device}, not {self.device}")
        t = t.detach().cpu()
        self.arrays[f"{name}|{key}"] = \
            (t.float() if t.dtype == self.torch.bfloat16 else t).numpy().copy()

    def op(self, c: dict):
        return getattr(self.dist.ReduceOp, c["op"])

    def run_all(self, cases: list) -> None:
        for c in cases:
            fn = self.extra.get(c["kind"])
            try:
                if fn is not None:
                    fn(self, c)
                else:
                    getattr(self, c["kind"])(c)
            except Exception as e:  # recorded; the checks decide whether it was expected
                self.errors[c["name"]] = [type(e).__name__, str(e), traceback.format_exc()]

    def write(self, out_dir: str) -> None:
        np.savez(os.path.join(out_dir, f"rank{self.rank}.npz"), **self.arrays)
        with open(os.path.join(out_dir, f"rank{self.rank}.json"), "w") as f:
            json.dump(self.errors, f)

    # one method per kind of ``collective_cases``
    def all_reduce(self, c: dict) -> None:
        t = self.make(c)
        assert self.dist.all_reduce(t, op=self.op(c)) is None
        self.save(c["name"], "out", t)

    def reduce(self, c: dict) -> None:
        t = self.make(c)
        self.dist.reduce(t, dst=c["root"], op=self.op(c))
        self.save(c["name"], "out", t)

    def broadcast(self, c: dict) -> None:
        t = self.make(c)
        self.dist.broadcast(t, src=c["root"])
        self.save(c["name"], "out", t)

    def all_gather(self, c: dict) -> None:
        outs = [self.make(c, seed=FILL) for _ in range(self.n)]
        self.dist.all_gather(outs, self.make(c))
        for i, o in enumerate(outs):
            self.save(c["name"], str(i), o)

    def all_gather_into_tensor(self, c: dict) -> None:
        n = self.n
        shape = (n,) + SHAPE if c["layout"] == "stacked" else (n * SHAPE[0], SHAPE[1])
        out = self.make(c, shape=shape, seed=FILL)
        self.dist.all_gather_into_tensor(out, self.make(c))
        self.save(c["name"], "out", out)

    def gather(self, c: dict) -> None:
        mine = self.rank == c["root"]
        lst = [self.make(c, seed=FILL) for _ in range(self.n)] if mine else None
        self.dist.gather(self.make(c), lst, dst=c["root"])
        for i, o in enumerate(lst or []):
            self.save(c["name"], str(i), o)

    def scatter(self, c: dict) -> None:
        out = self.make(c, seed=FILL)
        mine = self.rank == c["root"]
        lst = [self.make(c, r=100 + i) for i in range(self.n)] if mine else None
        self.dist.scatter(out, lst, src=c["root"])
        self.save(c["name"], "out", out)

    def reduce_scatter(self, c: dict) -> None:
        out = self.make(c, seed=FILL)
        ins = [self.make(c, r=self.rank * 100 + i) for i in range(self.n)]
        self.dist.reduce_scatter(out, ins, op=self.op(c))
        self.save(c["name"], "out", out)

    def reduce_scatter_tensor(self, c: dict) -> None:
        out = self.make(c, seed=FILL)
        inp = self.make(c, shape=(self.n * SHAPE[0], SHAPE[1]))
        self.dist.reduce_scatter_tensor(out, inp, op=self.op(c))
        self.save(c["name"], "out", out)

    def all_to_all(self, c: dict) -> None:
        rank, n = self.rank, self.n
        ins = [self.make(c, r=rank * 100 + j, shape=(2 * rank + j + 1, 2)) for j in range(n)]
        outs = [self.make(c, seed=FILL, shape=(2 * j + rank + 1, 2)) for j in range(n)]
        self.dist.all_to_all(outs, ins)
        for j, o in enumerate(outs):
            self.save(c["name"], str(j), o)

    def split_sizes(self) -> tuple[list[int], list[int]]:
        """Rows this rank sends to and receives from each rank in ``all_to_all_single``."""
        rank, n = self.rank, self.n
        return [2 * rank + j + 1 for j in range(n)], [2 * j + rank + 1 for j in range(n)]

    def all_to_all_single(self, c: dict) -> None:
        if c["splits"]:
            send, recv = self.split_sizes()
            inp = self.make(c, shape=(sum(send), 2))
            out = self.make(c, seed=FILL, shape=(sum(recv), 2))
            self.dist.all_to_all_single(out, inp, recv, send)
        else:
            inp = self.make(c, shape=(self.n * 2, 3))
            out = self.make(c, seed=FILL, shape=(self.n * 2, 3))
            self.dist.all_to_all_single(out, inp)
        self.save(c["name"], "out", out)

    def async_all_reduce(self, c: dict) -> None:
        dist, name = self.dist, c["name"]
        t = self.make(c)
        w = dist.all_reduce(t, op=self.op(c), async_op=True)
        assert isinstance(w, dist.Work), type(w)
        assert w.wait() is True
        assert w.is_completed() and w.is_success()
        self.save(name, "out", t)
        t2 = self.make(c)
        res = dist.all_reduce(t2, op=self.op(c), async_op=True).get_future().wait()
        assert isinstance(res, list) and len(res) == 1, res
        self.save(name, "future", res[0])
        self.save(name, "t2", t2)

    def noncontig_all_reduce(self, c: dict) -> None:
        base = self.make(c, shape=SHAPE[::-1])
        view = base.t()
        assert not view.is_contiguous()
        self.dist.all_reduce(view, op=self.op(c))
        self.save(c["name"], "out", base)

    def subgroup_all_reduce(self, c: dict) -> None:
        dist, rank, members = self.dist, self.rank, c["members"]
        if c["local"]:
            g = dist.new_group(members, use_local_synchronization=True) if rank in members \
                else None
        else:
            g = dist.new_group(members)
        t = self.make(c)
        if rank in members:
            assert dist.get_world_size(g) == len(members)
            assert dist.get_rank(g) == members.index(rank)
            dist.all_reduce(t, op=self.op(c), group=g)
        elif g is not None:
            assert g is dist.GroupMember.NON_GROUP_MEMBER, g
            assert dist.all_reduce(t, group=g) is None
            assert dist.get_rank(g) == -1
        self.save(c["name"], "out", t)


# -- in the test --------------------------------------------------------------------------------
class Ranks:
    """What every rank of a launch saved."""

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

    def error(self, r: int, name: str) -> list:
        """``[type name, message, traceback]`` of what rank ``r`` raised in case ``name``."""
        assert name in self.errors[r], f"rank {r} did not raise in {name}"
        return self.errors[r][name]


def inputs(c: dict, n: int, shape=SHAPE, ranks=None, seed: int | None = None) -> list:
    """Every rank's (or ``ranks``') input of case ``c``."""
    ranks = range(n) if ranks is None else ranks
    return [values(c["seed"] if seed is None else seed, r, c["dtype"], shape,
                   c.get("op", "SUM")) for r in ranks]


def reduce_np(xs: list, op: str, dtype: str) -> np.ndarray:
    """``xs`` reduced with ``op`` the way a collective does it (bool: logical ops)."""
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
    return acc / len(xs) if op == "AVG" else acc


def _all_to_all_single(c: dict, n: int, r: int) -> np.ndarray:
    if not c["splits"]:
        return np.concatenate([x[2 * r:2 * r + 2] for x in inputs(c, n, shape=(n * 2, 3))])
    parts = []
    for j in range(n):
        send = [2 * j + q + 1 for q in range(n)]
        at = sum(send[:r])
        parts.append(values(c["seed"], j, c["dtype"], (sum(send), 2))[at:at + send[r]])
    return np.concatenate(parts)


def expect(c: dict, n: int) -> dict[tuple[int, str], np.ndarray]:  # noqa: C901 (one per kind)
    """What each rank must have saved for a case of ``collective_cases`` that succeeds:
    ``{(rank, key): array}``."""
    k, dt, op = c["kind"], c.get("dtype"), c.get("op", "SUM")
    everyone = range(n)
    if k in ("all_reduce", "async_all_reduce", "noncontig_all_reduce"):
        want = reduce_np(inputs(c, n, shape=SHAPE[::-1] if k.startswith("non") else SHAPE),
                         op, dt)
        keys = ("out", "future", "t2") if k.startswith("async") else ("out",)
        return {(r, key): want for r in everyone for key in keys}
    if k == "reduce":
        xs = inputs(c, n)
        return {(r, "out"): reduce_np(xs, op, dt) if r == c["root"] else xs[r] for r in everyone}
    if k == "broadcast":
        return {(r, "out"): inputs(c, n)[c["root"]] for r in everyone}
    if k == "all_gather":
        xs = inputs(c, n)
        return {(r, str(i)): xs[i] for r in everyone for i in everyone}
    if k == "all_gather_into_tensor":
        want = np.stack(inputs(c, n))
        if c["layout"] == "concat":
            want = want.reshape(n * SHAPE[0], SHAPE[1])
        return {(r, "out"): want for r in everyone}
    if k == "gather":
        return {(c["root"], str(i)): x for i, x in enumerate(inputs(c, n))}
    if k == "scatter":
        pieces = inputs(c, n, ranks=[100 + i for i in everyone])
        return {(r, "out"): pieces[r] for r in everyone}
    if k == "reduce_scatter":
        return {(r, "out"): reduce_np([values(c["seed"], q * 100 + r, dt, SHAPE, op)
                                       for q in everyone], op, dt) for r in everyone}
    if k == "reduce_scatter_tensor":
        full = reduce_np(inputs(c, n, shape=(n * SHAPE[0], SHAPE[1])), op, dt)
        return {(r, "out"): full[r * SHAPE[0]:(r + 1) * SHAPE[0]] for r in everyone}
    if k == "all_to_all":
        return {(r, str(j)): values(c["seed"], j * 100 + r, dt, (2 * j + r + 1, 2))
                for r in everyone for j in everyone}
    if k == "all_to_all_single":
        return {(r, "out"): _all_to_all_single(c, n, r) for r in everyone}
    if k == "subgroup_all_reduce":
        xs = inputs(c, n)
        want = reduce_np([xs[m] for m in c["members"]], op, dt)
        return {(r, "out"): want if r in c["members"] else xs[r] for r in everyone}
    raise AssertionError(f"no expectation for {k}")


def check(ranks: Ranks, c: dict, close: Callable) -> None:
    """Every array ``expect`` names against what the ranks saved, with
    ``close(got, want, dtype, what)``."""
    for (r, key), want in expect(c, ranks.n).items():
        close(ranks.get(r, c["name"], key), want, c["dtype"], f"{c['name']} rank {r} {key}")
