"""Point-to-point messages and object collectives, on 4 ranks.

One launch runs every case (``_PROGRAM``); each rank pickles what it got (or the error it raised)
and the tests check each case.
"""
from __future__ import annotations


import pytest

from ._launch import CASE_RUNNER, rank_pickles

N = 4

_PROGRAM = r'''
import os, pickle, sys, traceback
import numpy as np
import brickwork as torch
import brickwork.distributed as dist

dist.init_process_group("mpi")
rank, n = dist.get_rank(), dist.get_world_size()
got, errors = {}, {}


def vals(r, k=5):
    return torch.arange(k, dtype=torch.float32) + 100 * r


def send_recv():
    if rank == 0:
        dist.send(vals(0), dst=1)
    elif rank == 1:
        t = torch.zeros(5)
        got["send_recv.src"] = dist.recv(t, src=0)
        got["send_recv.t"] = t.tolist()
        t = torch.zeros(5)
        got["recv_any.src"] = dist.recv(t)  # src=None: from whoever sends
        got["recv_any.t"] = t.tolist()
    elif rank == 3:
        dist.send(vals(3), dst=1)


def crossing():
    peer = rank ^ 1  # 0<->1, 2<->3: both send first, then receive
    out = torch.zeros(5)
    s = dist.isend(vals(rank), dst=peer)
    r = dist.irecv(out, src=peer)
    s.wait()
    r.wait()
    got["crossing.t"] = out.tolist()
    got["crossing.done"] = [s.is_completed(), r.is_completed()]


def ring():
    out = torch.zeros(5, dtype=torch.float32)
    ops = [dist.P2POp(dist.isend, vals(rank), (rank + 1) % n),
           dist.P2POp(dist.irecv, out, (rank - 1) % n)]
    works = dist.batch_isend_irecv(ops)
    for w in works:
        w.wait()
    got["ring.t"] = out.tolist()
    got["ring.nworks"] = len(works)


def tags():
    if rank == 0:
        a = dist.isend(vals(0) + 1, dst=1, tag=1)
        b = dist.isend(vals(0) + 2, dst=1, tag=2)
        a.wait()
        b.wait()
    elif rank == 1:
        t2, t1 = torch.zeros(5), torch.zeros(5)
        dist.recv(t2, src=0, tag=2)  # the later message first: tags keep them apart
        dist.recv(t1, src=0, tag=1)
        got["tags.t1"], got["tags.t2"] = t1.tolist(), t2.tolist()


def wrong_shape():
    if rank == 0:
        dist.send(torch.ones(3), dst=1)
    elif rank == 1:
        dist.recv(torch.zeros(4), src=0)


def objects():
    objs = [{"a": 1, "b": [1, 2]}, "text", None] if rank == 1 else [0, 0, 0]
    dist.broadcast_object_list(objs, src=1)
    got["bcast_obj"] = objs
    out = [None] * n
    dist.all_gather_object(out, {"rank": rank, "s": "x" * rank} if rank != 2 else None)
    got["all_gather_obj"] = out
    g = [None] * n if rank == 0 else None
    dist.gather_object(f"r{rank}" * (rank + 1), g, dst=0)
    got["gather_obj"] = g
    o = [None]
    src = n - 1
    dist.scatter_object_list(o, [{"to": i} if i % 2 else "s" * i for i in range(n)]
                             if rank == src else None, src=src)
    got["scatter_obj"] = o


''' + CASE_RUNNER + r'''


run_cases([send_recv, crossing, ring, tags, wrong_shape, objects], barrier=True)
dist.destroy_process_group()
'''


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return rank_pickles(N, _PROGRAM, tmp_path_factory.mktemp("p2p"))


def _got(ranks, r, key, case):
    got, errors = ranks[r]
    assert case not in errors, f"rank {r} raised in {case}:\n{errors[case][2]}"
    return got[key]


def _v(r, k=5, add=0):
    return [float(100 * r + i + add) for i in range(k)]


def test_send_recv(ranks):
    assert _got(ranks, 1, "send_recv.src", "send_recv") == 0
    assert _got(ranks, 1, "send_recv.t", "send_recv") == _v(0)


def test_recv_from_any_source_returns_sender(ranks):
    assert _got(ranks, 1, "recv_any.src", "send_recv") == 3
    assert _got(ranks, 1, "recv_any.t", "send_recv") == _v(3)


def test_isend_irecv_crossing(ranks):
    for r in range(N):
        assert _got(ranks, r, "crossing.t", "crossing") == _v(r ^ 1)
        assert _got(ranks, r, "crossing.done", "crossing") == [True, True]


def test_batch_isend_irecv_ring(ranks):
    for r in range(N):
        assert _got(ranks, r, "ring.t", "ring") == _v((r - 1) % N)
        assert _got(ranks, r, "ring.nworks", "ring") == 2


def test_tags_keep_messages_apart(ranks):
    assert _got(ranks, 1, "tags.t1", "tags") == _v(0, add=1)
    assert _got(ranks, 1, "tags.t2", "tags") == _v(0, add=2)


def test_recv_wrong_shape_names_both(ranks):
    errors = ranks[1][1]
    assert "wrong_shape" in errors, "recv into a (4,) tensor of a (3,) message did not raise"
    etype, msg, _ = errors["wrong_shape"]
    assert etype == "RuntimeError", msg
    for s in ("rank 0", "rank 1", "(3,)", "(4,)"):
        assert s in msg, msg
    assert "wrong_shape" not in ranks[0][1], ranks[0][1].get("wrong_shape")


def test_broadcast_object_list(ranks):
    for r in range(N):
        assert _got(ranks, r, "bcast_obj", "objects") == [{"a": 1, "b": [1, 2]}, "text", None]


def test_all_gather_object(ranks):
    want = [{"rank": q, "s": "x" * q} if q != 2 else None for q in range(N)]
    for r in range(N):
        assert _got(ranks, r, "all_gather_obj", "objects") == want


def test_gather_object(ranks):
    assert _got(ranks, 0, "gather_obj", "objects") == [f"r{q}" * (q + 1) for q in range(N)]
    for r in range(1, N):
        assert _got(ranks, r, "gather_obj", "objects") is None


def test_scatter_object_list(ranks):
    for r in range(N):
        assert _got(ranks, r, "scatter_obj", "objects") == [{"to": r} if r % 2 else "s" * r]


def test_no_unexpected_errors(ranks):
    for r in range(N):
        extra = {k: v[1] for k, v in ranks[r][1].items()
                 if not (k == "wrong_shape" and r == 1)}
        assert not extra, f"rank {r}: {extra}"
