"""brickwork.utils.data against torch.utils.data: batching, collation, samplers, workers."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import brickwork
from brickwork.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                  IterableDataset, RandomSampler, SequentialSampler, Subset,
                                  SubsetRandomSampler, TensorDataset, default_collate,
                                  get_worker_info, random_split)
from helpers import requires_torch, torch

Point = collections.namedtuple("Point", "x y")


def _same(b, t):
    """Structural equality of a brickwork batch and a torch batch."""
    if isinstance(t, torch.Tensor):
        assert isinstance(b, brickwork.Tensor), f"{type(b)} vs tensor"
        assert b.dtype.name == str(t.dtype)[6:] and tuple(b.shape) == tuple(t.shape)
        np.testing.assert_array_equal(np.asarray(b), t.numpy())
    elif isinstance(t, dict):
        assert type(b) is type(t) and list(b) == list(t)
        for k in t:
            _same(b[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(b) is type(t) and len(b) == len(t), f"{type(b)} vs {type(t)}"
        for x, y in zip(b, t):
            _same(x, y)
    else:
        assert b == t


SAMPLES = {
    "floats": [1.5, 2.0, -3.25],
    "ints": [1, 2, 3],
    "bools": [True, False, True],
    "strings": ["a", "bb", "c"],
    "numpy": [np.arange(4, dtype=np.float32) * i for i in range(3)],
    "numpy-scalars": [np.float64(i) for i in range(3)],
    "tuples": [(i, float(i), "s") for i in range(3)],
    "lists": [[i, i + 1] for i in range(3)],
    "dicts": [{"x": i, "y": [1.0 * i, 2.0]} for i in range(3)],
    "namedtuple": [Point(i, 0.5 * i) for i in range(3)],
}


@requires_torch
@pytest.mark.parametrize("kind", list(SAMPLES))
def test_default_collate_matches_torch(kind):
    data = SAMPLES[kind]
    _same(default_collate(data), torch.utils.data.default_collate(data))


@requires_torch
def test_default_collate_tensors_matches_torch():
    arrays = [np.random.default_rng(i).standard_normal((2, 3)).astype(np.float32)
              for i in range(4)]
    b = default_collate([(brickwork.tensor(a), i) for i, a in enumerate(arrays)])
    t = torch.utils.data.default_collate([(torch.tensor(a), i) for i, a in enumerate(arrays)])
    _same(b, t)


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])


def _loaders(data_fn, **kw):
    X = np.arange(50, dtype=np.float32).reshape(25, 2)
    y = np.arange(25) % 3
    b = DataLoader(data_fn(brickwork, X, y), **kw)
    t = torch.utils.data.DataLoader(data_fn(torch, X, y), **kw)
    return b, t


@requires_torch
@pytest.mark.parametrize("kw", [dict(), dict(batch_size=4), dict(batch_size=4, drop_last=True),
                                dict(batch_size=25), dict(batch_size=None),
                                dict(batch_size=3, collate_fn=lambda b: len(b))])
def test_loader_batches_match_torch(kw):
    def make(lib, X, y):
        return lib.utils.data.TensorDataset(lib.tensor(X), lib.tensor(y))

    b, t = _loaders(make, **kw)
    assert len(b) == len(t)
    bb, tb = list(b), list(t)
    assert len(bb) == len(tb)
    for x, y in zip(bb, tb):
        _same(x, y)


@requires_torch
def test_loader_with_batch_sampler_and_sampler_match_torch():
    def make(lib, X, y):
        return [(X[i], int(y[i])) for i in range(len(y))]

    b, t = _loaders(make, batch_sampler=[[0, 1], [5, 3, 2], [24]])
    for x, y in zip(b, t):
        _same(x, y)
    b, t = _loaders(make, sampler=[4, 2, 0], batch_size=2)
    assert len(b) == len(t) == 2
    for x, y in zip(b, t):
        _same(x, y)


@requires_torch
@pytest.mark.parametrize("kw,msg", [
    (dict(shuffle=True, sampler=[0]), "mutually exclusive with shuffle"),
    (dict(batch_size=2, batch_sampler=[[0]]), "batch_sampler option is mutually exclusive"),
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
])
def test_loader_errors_match_torch(kw, msg):
    for lib in (brickwork, torch):
        with pytest.raises(ValueError, match=msg):
            lib.utils.data.DataLoader(list(range(5)), **kw)


def test_shuffle_repeatable_with_generator_and_rng_state():
    ds = list(range(40))
    epochs = lambda g: [x.tolist() for x in DataLoader(ds, 8, shuffle=True, generator=g)]  # noqa
    a = epochs(brickwork.Generator().manual_seed(3))
    assert a == epochs(brickwork.Generator().manual_seed(3))
    assert sorted(sum(a, [])) == ds and sum(a, []) != ds
    # Without a generator, shuffling draws from the default generator: restoring its state
    # (as a checkpoint does) restores the order.
    state = brickwork.get_rng_state()
    first = [x.tolist() for x in DataLoader(ds, 8, shuffle=True)]
    brickwork.set_rng_state(state)
    assert first == [x.tolist() for x in DataLoader(ds, 8, shuffle=True)]
    brickwork.manual_seed(0)
    s1 = list(RandomSampler(ds))
    brickwork.manual_seed(0)
    assert s1 == list(RandomSampler(ds))


class _Squares(Dataset):
    def __len__(self):
        return 23

    def __getitem__(self, i):
        return {"x": np.full(3, i, dtype=np.float32), "y": i * i,
                "w": -1 if get_worker_info() is None else get_worker_info().id}


def test_workers_give_the_same_batches_as_the_main_process():
    ds = _Squares()
    g0, g2 = brickwork.Generator().manual_seed(5), brickwork.Generator().manual_seed(5)
    single = list(DataLoader(ds, batch_size=4, shuffle=True, generator=g0))
    multi_loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g2, num_workers=2)
    assert len(multi_loader) == len(single) == 6
    multi = list(multi_loader)
    assert len(multi) == len(single)
    for a, b in zip(single, multi):
        np.testing.assert_array_equal(np.asarray(a["x"]), np.asarray(b["x"]))
        np.testing.assert_array_equal(np.asarray(a["y"]), np.asarray(b["y"]))
    assert set(np.concatenate([np.asarray(b["w"]) for b in multi]).tolist()) == {0, 1}


def test_persistent_workers_and_init_fn():
    seen = []
    loader = DataLoader(list(range(10)), batch_size=3, num_workers=2, persistent_workers=True,
                        worker_init_fn=seen.append)
    assert [x.tolist() for x in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert [x.tolist() for x in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    loader._pool.shutdown()


class _Boom(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError("no sample 2")
        return i


def test_worker_errors_are_reraised():
    with pytest.raises(KeyError, match="DataLoader worker process"):
        list(DataLoader(_Boom(), batch_size=1, num_workers=2))


class _Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def test_iterable_dataset():
    assert [x.tolist() for x in DataLoader(_Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5],
                                                                          [6]]
    out = [x.tolist() for x in DataLoader(_Stream(8), batch_size=2, num_workers=2)]
    assert sorted(sum(out, [])) == list(range(8))
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(_Stream(3), shuffle=True)


def test_datasets_and_random_split():
    ds = TensorDataset(brickwork.arange(10), brickwork.arange(10) * 2)
    x, y = ds[3]
    assert (int(x), int(y)) == (3, 6) and len(ds) == 10
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(brickwork.zeros(3), brickwork.zeros(4))
    sub = Subset(list("abcdef"), [5, 0])
    assert (len(sub), sub[0], sub[1]) == (2, "f", "a")
    cat = ConcatDataset([list("ab"), list("cde")])
    assert [cat[i] for i in range(len(cat))] == list("abcde") and cat[-1] == "e"
    g = brickwork.Generator().manual_seed(1)
    parts = random_split(range(10), [3, 7], generator=g)
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    assert [len(p) for p in random_split(range(10), [0.33, 0.33, 0.34])] == [4, 3, 3]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 3])


def test_samplers():
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    assert list(BatchSampler(range(5), 2, False)) == [[0, 1], [2, 3], [4]]
    assert len(BatchSampler(range(5), 2, True)) == 2
    g = brickwork.Generator().manual_seed(0)
    assert sorted(SubsetRandomSampler([7, 8, 9], generator=g)) == [7, 8, 9]
    r = list(RandomSampler(range(4), replacement=True, num_samples=10, generator=g))
    assert len(r) == 10 and set(r) <= set(range(4))
    assert len(list(RandomSampler(range(4), num_samples=6, generator=g))) == 6
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
