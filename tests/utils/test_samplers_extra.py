"""WeightedRandomSampler, StackDataset, ChainDataset, and the index streams of the samplers.

Where a stream depends only on sizes (sequential order, batching) it is compared with PyTorch's;
shuffled streams come from brickwork's generator, so their properties are tested: permutations,
lengths, frequencies and reproducibility with a seeded generator.
"""
from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

import brickwork
from brickwork.utils.data import (BatchSampler, ChainDataset, DataLoader, IterableDataset,
                                  RandomSampler, SequentialSampler, StackDataset,
                                  SubsetRandomSampler, TensorDataset, WeightedRandomSampler)
from helpers import CaseTable, check_behaviour, requires_torch, torch


def _gen(seed):
    return brickwork.Generator().manual_seed(seed)


# -- WeightedRandomSampler ------------------------------------------------------------------------
def test_weighted_frequencies_follow_weights():
    w = [0.1, 0.9, 0.0, 2.0, 1.0]
    n = 100_000
    draws = list(WeightedRandomSampler(w, n, generator=_gen(0)))
    counts = np.bincount(draws, minlength=len(w))
    assert counts[2] == 0  # a zero weight is never drawn
    p = np.array(w) / sum(w)
    se = np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(counts - n * p) <= 5 * se + 1e-9), (counts, n * p)


def test_weighted_without_replacement():
    s = WeightedRandomSampler([1.0, 5.0, 0.0, 3.0], 4, replacement=False, generator=_gen(1))
    out = list(s)
    assert sorted(out) == [0, 1, 2, 3] and out[-1] == 2  # the zero weight comes last
    # The first draw is proportional to the weights.
    firsts = np.bincount([next(iter(WeightedRandomSampler([1.0, 3.0], 1, replacement=False,
                                                          generator=_gen(i))))
                          for i in range(4000)], minlength=2)
    assert abs(firsts[1] / 4000 - 0.75) < 5 * np.sqrt(0.75 * 0.25 / 4000)


def test_weighted_reproducible_and_len():
    a = list(WeightedRandomSampler([1, 2, 3], 50, generator=_gen(3)))
    b = list(WeightedRandomSampler([1, 2, 3], 50, generator=_gen(3)))
    assert a == b and len(WeightedRandomSampler([1, 2, 3], 50)) == 50
    s = WeightedRandomSampler(brickwork.tensor([1.0, 2.0]), 7)
    assert s.weights.dtype == brickwork.float64 and len(list(s)) == 7
    brickwork.manual_seed(4)
    c = list(WeightedRandomSampler([1, 2, 3], 20))
    brickwork.manual_seed(4)
    assert c == list(WeightedRandomSampler([1, 2, 3], 20))


def test_weighted_drives_a_dataloader():
    ds = TensorDataset(brickwork.arange(6))
    sampler = WeightedRandomSampler([0, 0, 1, 0, 0, 1], 8, generator=_gen(0))
    seen = brickwork.cat([b[0] for b in DataLoader(ds, batch_size=3, sampler=sampler)])
    assert set(seen.tolist()) <= {2, 5} and seen.numel() == 8


WEIGHTED = CaseTable()


@WEIGHTED.case
def weighted_num_samples_zero(data):
    return data.WeightedRandomSampler([1.0, 2.0], 0)


@WEIGHTED.case
def weighted_num_samples_bool(data):
    return data.WeightedRandomSampler([1.0, 2.0], True)


@WEIGHTED.case
def weighted_num_samples_float(data):
    return data.WeightedRandomSampler([1.0, 2.0], 2.0)


@WEIGHTED.case
def weighted_replacement_not_bool(data):
    return data.WeightedRandomSampler([1.0, 2.0], 2, replacement=1)


@WEIGHTED.case
def weights_2d(data):
    return data.WeightedRandomSampler([[1.0, 2.0]], 2)


@WEIGHTED.case
def too_many_without_replacement(data):
    return list(data.WeightedRandomSampler([1.0, 2.0], 3, replacement=False))


@WEIGHTED.case
def negative_weight(data):
    return list(data.WeightedRandomSampler([1.0, -2.0], 3))


@WEIGHTED.case
def all_zero_weights(data):
    return list(data.WeightedRandomSampler([0.0, 0.0], 3))


@WEIGHTED.case
def certain_draws(data):
    return list(data.WeightedRandomSampler([0.0, 4.0, 0.0], 3)), \
        sorted(data.WeightedRandomSampler([0.0, 4.0, 1.0], 3, replacement=False))


@pytest.mark.parametrize("case", sorted(WEIGHTED))
def test_weighted_arguments_match_torch(case):
    check_behaviour(lambda lib: WEIGHTED[case](lib.utils.data))


# -- RandomSampler --------------------------------------------------------------------------------
def test_random_sampler_huge_num_samples_draws_lazily():
    tracemalloc.start()
    try:
        start = time.perf_counter()
        s = RandomSampler(range(10), replacement=True, num_samples=int(1e10))
        it = iter(s)
        first = [next(it) for _ in range(3000)]
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(s) == int(1e10) and all(0 <= i < 10 for i in first)
    assert elapsed < 1.0 and peak < 10 * 2 ** 20  # 74.5 GiB if drawn at once


@pytest.mark.parametrize("num_samples", [1, 31, 32, 1024, 2500])
def test_random_sampler_with_replacement_stream(num_samples):
    out = list(RandomSampler(range(7), replacement=True, num_samples=num_samples,
                             generator=_gen(0)))
    assert len(out) == num_samples and set(out) <= set(range(7))
    again = list(RandomSampler(range(7), replacement=True, num_samples=num_samples,
                               generator=_gen(0)))
    assert out == again


def test_random_sampler_with_replacement_is_uniform():
    out = np.array(list(RandomSampler(range(5), replacement=True, num_samples=50_000,
                                      generator=_gen(2))))
    counts = np.bincount(out, minlength=5)
    assert np.all(np.abs(counts - 10_000) < 5 * np.sqrt(50_000 * 0.2 * 0.8))


@pytest.mark.parametrize("num_samples", [None, 4, 10, 23])
def test_random_sampler_without_replacement_permutations(num_samples):
    n = 10
    out = list(RandomSampler(range(n), num_samples=num_samples, generator=_gen(5)))
    total = n if num_samples is None else num_samples
    assert len(out) == total == len(RandomSampler(range(n), num_samples=num_samples))
    for start in range(0, total - total % n, n):  # each whole block is a permutation
        assert sorted(out[start:start + n]) == list(range(n))
    assert len(set(out[total - total % n:])) == total % n  # the tail has no repeats


def test_random_sampler_epochs_differ_and_seed_repeats():
    g = _gen(6)
    s = RandomSampler(range(50), generator=g)
    e1, e2 = list(s), list(s)
    assert e1 != e2 and sorted(e1) == sorted(e2) == list(range(50))
    brickwork.manual_seed(9)
    a = list(RandomSampler(range(50)))
    brickwork.manual_seed(9)
    assert a == list(RandomSampler(range(50)))


RANDOM = CaseTable()


@RANDOM.case
def random_num_samples_zero(data):
    return data.RandomSampler(range(3), num_samples=0)


@RANDOM.case
def random_num_samples_float(data):
    return data.RandomSampler(range(3), num_samples=2.5)


@RANDOM.case
def random_replacement_not_bool(data):
    return data.RandomSampler(range(3), replacement=0)


@RANDOM.case
def lengths(data):
    return (len(data.RandomSampler(range(3))), len(data.RandomSampler(range(3), True, 8)),
            len(data.SubsetRandomSampler([4, 5, 6])))


@pytest.mark.parametrize("case", sorted(RANDOM))
def test_random_sampler_arguments_match_torch(case):
    check_behaviour(lambda lib: RANDOM[case](lib.utils.data))


def test_subset_random_sampler_permutes_its_indices():
    idx = [3, 8, 1, 20, 7]
    a = list(SubsetRandomSampler(idx, generator=_gen(0)))
    assert sorted(a) == sorted(idx) and a == list(SubsetRandomSampler(idx, generator=_gen(0)))
    assert len({tuple(SubsetRandomSampler(idx, generator=_gen(s))) for s in range(20)}) > 5


# -- BatchSampler and sequential streams: PyTorch's exactly ---------------------------------------
@requires_torch
@pytest.mark.parametrize("n,batch,drop", [(10, 3, False), (10, 3, True), (9, 3, True),
                                          (2, 5, False), (2, 5, True), (0, 2, False)])
def test_batch_sampler_stream_matches_torch(n, batch, drop):
    b = BatchSampler(SequentialSampler(range(n)), batch, drop)
    t = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), batch, drop)
    assert list(b) == list(t) and len(b) == len(t)


def test_batch_sampler_of_random_sampler_covers_a_permutation():
    batches = list(BatchSampler(RandomSampler(range(11), generator=_gen(0)), 4, False))
    assert [len(x) for x in batches] == [4, 4, 3]
    assert sorted(sum(batches, [])) == list(range(11))


BATCH = CaseTable()


@BATCH.case
def batch_size_zero(data):
    return data.BatchSampler(range(3), 0, False)


@BATCH.case
def batch_size_bool(data):
    return data.BatchSampler(range(3), True, False)


@BATCH.case
def drop_last_not_bool(data):
    return data.BatchSampler(range(3), 2, 1)


@BATCH.case
def plain_iterable(data):
    return list(data.BatchSampler([5, 6, 7, 8, 9], 2, False)), len(data.BatchSampler(range(5),
                                                                                     2, True))


@pytest.mark.parametrize("case", sorted(BATCH))
def test_batch_sampler_arguments_match_torch(case):
    check_behaviour(lambda lib: BATCH[case](lib.utils.data))


# -- StackDataset and ChainDataset ----------------------------------------------------------------
DATASETS = CaseTable()


@DATASETS.case
def stack_tuple(lib):
    ds = lib.utils.data.StackDataset(lib.arange(5), lib.arange(5) * 10)
    return len(ds), list(ds[3]), [list(x) for x in ds.__getitems__([0, 4])]


@DATASETS.case
def stack_dict(lib):
    ds = lib.utils.data.StackDataset(x=lib.arange(4), y=lib.arange(4) * 2.0)
    item = ds[2]
    batch = ds.__getitems__([1, 3])
    return len(ds), sorted(item), item["x"], item["y"], [b["y"] for b in batch]


@DATASETS.case
def stack_nested_getitems(lib):
    data = lib.utils.data
    ds = data.StackDataset(data.Subset(data.TensorDataset(lib.arange(6)), [5, 4, 3]),
                           lib.arange(3))
    return [(a[0], b) for a, b in ds.__getitems__([0, 2])]


@DATASETS.case
def stack_through_dataloader(lib):
    data = lib.utils.data
    ds = data.StackDataset(img=lib.arange(10.0).reshape(5, 2), label=lib.arange(5))
    return [(b["img"], b["label"]) for b in data.DataLoader(ds, batch_size=2)]


@DATASETS.case
def stack_size_mismatch(lib):
    return lib.utils.data.StackDataset(lib.arange(3), lib.arange(4))


@DATASETS.case
def stack_dict_size_mismatch(lib):
    return lib.utils.data.StackDataset(a=lib.arange(3), b=lib.arange(4))


@DATASETS.case
def stack_nothing(lib):
    return lib.utils.data.StackDataset()


class _Range:
    """An IterableDataset over range(a, b), for either library."""

    @staticmethod
    def make(lib, a, b):
        class Stream(lib.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(a, b))

            def __len__(self):
                return b - a

        return Stream()


@DATASETS.case
def chain_iterates_in_order(lib):
    data = lib.utils.data
    chained = data.ChainDataset([_Range.make(lib, 0, 3), _Range.make(lib, 10, 12)])
    plus = _Range.make(lib, 0, 2) + _Range.make(lib, 5, 6)
    return (list(chained), len(chained), type(plus).__name__, list(plus), len(plus),
            list(plus + _Range.make(lib, 9, 10)))


@DATASETS.case
def chain_refuses_map_style_on_iteration(lib):
    data = lib.utils.data
    return list(data.ChainDataset([_Range.make(lib, 0, 2), data.TensorDataset(lib.arange(3))]))


@DATASETS.case
def chain_refuses_map_style_in_len(lib):
    data = lib.utils.data
    return len(data.ChainDataset([data.TensorDataset(lib.arange(3))]))


@DATASETS.case
def chain_through_dataloader(lib):
    data = lib.utils.data
    chained = data.ChainDataset([_Range.make(lib, 0, 3), _Range.make(lib, 3, 5)])
    return list(data.DataLoader(chained, batch_size=2))


@pytest.mark.parametrize("case", sorted(DATASETS))
def test_datasets_match_torch(case):
    check_behaviour(DATASETS[case])


def test_stack_refuses_both_forms():
    # PyTorch raises the same ValueError (its text lacks a space: "or``dict``").
    with pytest.raises(ValueError, match="but both types are given"):
        StackDataset(brickwork.arange(3), b=brickwork.arange(3))


def test_stack_and_chain_without_torch():
    ds = StackDataset(brickwork.arange(3), brickwork.arange(3) + 5)
    assert [tuple(int(v) for v in ds[i]) for i in range(3)] == [(0, 5), (1, 6), (2, 7)]

    class Stream(IterableDataset):
        def __iter__(self):
            return iter([1, 2])

    assert list(ChainDataset([Stream(), Stream()])) == [1, 2, 1, 2]
    assert list(Stream() + Stream()) == [1, 2, 1, 2]
