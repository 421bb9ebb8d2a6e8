"""DistributedSampler: shards equal PyTorch's without shuffling; shuffled shards checked with NumPy."""
import itertools
import sys
import types

import numpy as np
import pytest

import brickwork
from brickwork.utils.data import DistributedSampler

# (dataset length, replicas): empty, fewer items than replicas, exact and inexact splits.
_SIZES = [(0, 1), (0, 3), (1, 1), (1, 4), (2, 5), (3, 7), (5, 2), (7, 3), (10, 5), (10, 4),
          (11, 3), (16, 4), (17, 4), (100, 7)]


def _shards(n, replicas, **kwargs):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kwargs))
            for r in range(replicas)]


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("n,replicas", _SIZES)
def test_unshuffled_matches_torch(n, replicas, drop_last):
    TorchSampler = pytest.importorskip("torch.utils.data.distributed").DistributedSampler

    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        ref = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == [int(i) for i in ref], (n, replicas, rank, drop_last)
        assert len(ours) == len(ref)
        assert (ours.num_samples, ours.total_size) == (ref.num_samples, ref.total_size)


def test_unshuffled_expected_without_torch():
    # 7 items on 3 replicas pad with 0 and 1 (repeated from the start); drop_last keeps 0..5.
    assert _shards(7, 3, shuffle=False) == [[0, 3, 6], [1, 4, 0], [2, 5, 1]]
    assert _shards(7, 3, shuffle=False, drop_last=True) == [[0, 3], [1, 4], [2, 5]]
    # Fewer items than replicas: the list is repeated as often as needed.
    assert _shards(2, 5, shuffle=False) == [[0], [1], [0], [1], [0]]


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("n,replicas", [(s, r) for s, r in _SIZES if s > 0])
def test_shuffled_shards_cover_the_data(n, replicas, drop_last):
    shards = _shards(n, replicas, seed=3, drop_last=drop_last)
    lengths = {len(s) for s in shards}
    assert len(lengths) == 1, "every replica must see the same number of samples"
    size = lengths.pop()
    everything = list(itertools.chain.from_iterable(shards))
    assert all(0 <= i < n for i in everything)
    if drop_last:
        assert size == n // replicas
        assert len(set(everything)) == len(everything), "drop_last shards must be disjoint"
    else:
        assert size == -(-n // replicas)
        assert set(everything) == set(range(n)), "every index must be visited"
        # Only the padding repeats: exactly total_size - n extra draws.
        counts = np.bincount(everything, minlength=n)
        assert counts.sum() - n == size * replicas - n
        if size * replicas - n <= n:
            assert counts.max() <= 2


def test_shuffled_uses_brickwork_generator():
    # The order is brickwork.randperm seeded with seed + epoch, split every replicas-th index.
    n, replicas, seed, epoch = 12, 3, 5, 2
    g = brickwork.Generator()
    g.manual_seed(seed + epoch)
    perm = brickwork.randperm(n, generator=g).tolist()
    sampler = DistributedSampler(range(n), replicas, 1, seed=seed)
    sampler.set_epoch(epoch)
    assert list(sampler) == perm[1::replicas]
    assert sorted(perm) != perm  # it really is shuffled


def test_set_epoch_changes_order_deterministically():
    a = DistributedSampler(range(50), 2, 0, seed=1)
    b = DistributedSampler(range(50), 2, 0, seed=1)
    first = list(a)
    assert list(a) == first, "without set_epoch every pass repeats the order"
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) != first
    assert list(a) == list(b), "the same seed and epoch give the same order"
    assert list(DistributedSampler(range(50), 2, 0, seed=2)) != first, "seed matters"
    a.set_epoch(0)
    assert list(a) == first


def test_shuffled_replicas_agree_on_the_permutation():
    # Each replica draws the permutation itself: together they must cover it exactly once.
    shards = _shards(12, 4, seed=9)
    everything = sorted(itertools.chain.from_iterable(shards))
    assert everything == list(range(12))


@pytest.mark.parametrize("rank,replicas", [(2, 2), (-1, 2), (5, 3)])
def test_rank_out_of_range(rank, replicas):
    msg = f"Invalid rank {rank}, rank should be in the interval [0, {replicas - 1}]"
    with pytest.raises(ValueError) as ours:
        DistributedSampler(range(4), num_replicas=replicas, rank=rank)
    assert str(ours.value) == msg
    TorchSampler = pytest.importorskip("torch.utils.data.distributed").DistributedSampler

    with pytest.raises(ValueError) as ref:
        TorchSampler(range(4), num_replicas=replicas, rank=rank)
    assert str(ref.value) == msg


def _fake_distributed(monkeypatch, available, world_size=4, rank=3):
    fake = types.ModuleType("brickwork.distributed")
    fake.is_available = lambda: available
    fake.get_world_size = lambda: world_size
    fake.get_rank = lambda: rank
    monkeypatch.setitem(sys.modules, "brickwork.distributed", fake)
    monkeypatch.setattr(brickwork, "distributed", fake, raising=False)


def test_defaults_come_from_the_process_group(monkeypatch):
    _fake_distributed(monkeypatch, True, world_size=4, rank=3)
    s = DistributedSampler(range(10), shuffle=False)
    assert (s.num_replicas, s.rank) == (4, 3)
    assert list(s) == [3, 7, 1]


@pytest.mark.parametrize("kwargs", [{}, {"num_replicas": 2}, {"rank": 0}])
def test_requires_distributed_package(monkeypatch, kwargs):
    _fake_distributed(monkeypatch, False)
    with pytest.raises(RuntimeError, match="^Requires distributed package to be available$"):
        DistributedSampler(range(10), **kwargs)


def test_signature_matches_torch():
    import inspect

    TorchSampler = pytest.importorskip("torch.utils.data.distributed").DistributedSampler

    ours = inspect.signature(DistributedSampler.__init__).parameters
    ref = inspect.signature(TorchSampler.__init__).parameters
    assert list(ours) == list(ref)
    assert [p.default for p in ours.values()] == [p.default for p in ref.values()]


def test_works_with_dataloader():
    from brickwork.utils.data import DataLoader, TensorDataset

    data = TensorDataset(brickwork.arange(10))
    sampler = DistributedSampler(data, num_replicas=2, rank=1, shuffle=False)
    got = [b[0].tolist() for b in DataLoader(data, batch_size=2, sampler=sampler)]
    assert got == [[1, 3], [5, 7], [9]]
