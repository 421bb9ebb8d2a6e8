"""DataLoader: batches from a data set, optionally shuffled and loaded by worker processes.

With ``num_workers > 0`` each worker process (forked where the platform allows, so the data set
is shared, not pickled) receives lists of indices, fetches and collates those samples and sends
the batch back; the loader hands batches out in sampler order, keeping at most
``prefetch_factor * num_workers`` batches in flight. How worker faults (errors, unpicklable
batches, dead or hung workers, Ctrl-C) become exceptions here: see ``_worker.py``.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ._collate import default_collate, default_convert
from ._worker import WorkerInfo, _Fetcher, _WorkerError, _WorkerPool, get_worker_info
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "WorkerInfo", "get_worker_info"]


class DataLoader:
    """Iterate over a data set in batches. See: torch.utils.data.DataLoader.

    Args:
        dataset: a map-style ``Dataset`` (anything with ``__getitem__``/``__len__``) or an
            ``IterableDataset``.
        batch_size: samples per batch (``None`` to yield single samples, uncollated).
        shuffle: reshuffle at every epoch (draws from ``generator``, else from brickwork's
            default generator, so ``manual_seed``/``set_rng_state`` make the order repeat).
        sampler, batch_sampler: custom index orders (exclusive with ``shuffle``/``batch_size``).
        num_workers: worker processes loading batches (0: load in this process).
        collate_fn: merges a list of samples into a batch (``default_collate``).
        pin_memory: accepted for compatibility; nothing to pin on the CPU.
        drop_last: drop the last, incomplete batch.
        timeout: seconds to wait for each batch from the workers before raising
            ``RuntimeError`` (0: no limit; a worker that dies is reported at once either way).
        worker_init_fn: called with the worker id in each worker process.
        generator: the ``brickwork.Generator`` for shuffling and worker seeds.
        persistent_workers: keep the worker processes between epochs.

    Example:
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
        >>> for xb, yb in loader:
        ...     ...
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None \
            else prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.generator = generator
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._iterable = iterable
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._pool: _WorkerPool | None = None
        self._epoch_rng = None  # generator state when the current epoch began
        self._yielded = 0  # batches handed out in the current epoch
        self._resume = None  # (rng state, batches done) set by load_state_dict

    # -- resumable iteration --------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Where the current epoch stands: enough to replay its order and skip what is done.

        Saved in a checkpoint mid-epoch and given back to ``load_state_dict``, the next
        ``iter(loader)`` yields exactly the batches the interrupted epoch had not yet yielded,
        in the same order, without drawing from any generator (brickwork's default generator is
        left as the checkpoint restored it).
        """
        if self._iterable:
            raise TypeError("DataLoader.state_dict: iterable-style data sets cannot be resumed "
                            "mid-epoch")
        return {"epoch_rng_state": self._epoch_rng, "batches_yielded": self._yielded}

    def load_state_dict(self, state_dict: dict) -> None:
        """Make the next epoch resume the one recorded by ``state_dict``."""
        try:
            rng, done = state_dict["epoch_rng_state"], int(state_dict["batches_yielded"])
        except (KeyError, TypeError, ValueError):
            raise ValueError("DataLoader.load_state_dict: expected a dict with "
                             "'epoch_rng_state' and 'batches_yielded' (from "
                             f"DataLoader.state_dict()), got {state_dict!r}") from None
        self._resume = None if rng is None else (rng, done)

    def _generator(self):
        from ...random import default_generator

        return self.generator if self.generator is not None else default_generator

    def _epoch_plan(self):
        """``(base_seed, index batches or None)`` for a new epoch, replaying one if resuming."""
        gen = self._generator()
        if self._resume is None:
            self._epoch_rng = gen.get_state()
            return self._base_seed(), None, 0
        rng, done = self._resume
        self._resume = None
        now = gen.get_state()
        gen.set_state(rng)
        try:
            base_seed = self._base_seed()
            batches = list(self._index_sampler)  # the same draws the interrupted epoch made
        finally:
            if self.generator is None:
                # The default generator was restored by the checkpoint to where the run stood
                # (draws made after the epoch began included): put that state back.
                gen.set_state(now)
        self._epoch_rng = rng
        return base_seed, batches[done:], done

    def _counted(self, batches):
        for b in batches:
            self._yielded += 1
            yield b

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def _base_seed(self) -> int:
        from ...random import rng_for

        # Drawn every epoch, with or without workers, so the generator advances the same way
        # whatever num_workers is (and shuffles are identical for 0 and N workers).
        return int(rng_for(self.generator).integers(0, 2 ** 63 - 1))

    def __iter__(self):
        if self._iterable:
            base_seed, indices, start = self._base_seed(), None, 0
        else:
            base_seed, indices, start = self._epoch_plan()
            self._yielded = start
        if self.num_workers == 0:
            it = self._single_process(indices)
        else:
            it = self._multi_process(base_seed, indices)
        return it if self._iterable else self._counted(it)

    def _single_process(self, indices=None):
        fetcher = _Fetcher(self.dataset, self._auto_collation, self.collate_fn,
                           self.batch_size, self.drop_last)
        if self._iterable:
            while True:
                try:
                    yield fetcher.fetch(None)
                except StopIteration:
                    return
        for index in (self._index_sampler if indices is None else indices):
            yield fetcher.fetch(index)

    def _multi_process(self, base_seed: int, indices=None):
        pool = self._pool
        if pool is None or not self.persistent_workers:
            pool = _WorkerPool(self, base_seed)
            if self.persistent_workers:
                self._pool = pool
        epoch, n = pool.begin_epoch(), self.num_workers
        tasks = None if self._iterable else iter(self._index_sampler if indices is None
                                                  else indices)
        live = list(range(n))  # workers whose stream is not exhausted (iterable data sets)
        sent = received = 0
        pending: dict[int, Any] = {}
        owner: dict[int, tuple] = {}  # task number -> (worker id, indices)
        done = False

        def dispatch() -> bool:
            nonlocal sent
            if self._iterable:
                if not live:
                    return False
                wid, index = live[sent % len(live)], None
            else:
                index = next(tasks, _END)
                if index is _END:
                    return False
                wid = sent % n
            owner[sent] = (wid, index)
            pool.index_qs[wid].put(((epoch, sent), index))
            sent += 1
            return True

        try:
            for _ in range(self.prefetch_factor * n):
                if not dispatch():
                    done = True
                    break
            while received < sent:
                if pool.epoch != epoch:
                    # Persistent workers serve one epoch at a time; the results this iterator
                    # waits for are no longer computed.
                    raise RuntimeError("DataLoader: this iterator was superseded by a newer "
                                       "iter(loader); with persistent_workers=True only the "
                                       "latest iterator of a loader can be used")
                while received not in pending:
                    (ep, key), result = pool.get(self.timeout)
                    if ep == epoch:
                        pending[key] = result
                result = pending.pop(received)
                wid, index = owner.pop(received)
                received += 1
                if isinstance(result, _WorkerError):
                    result.reraise("" if self._iterable or not result.note
                                   else f" The batch was for indices {index}.")
                if result is StopIteration:
                    if wid in live:
                        live.remove(wid)
                else:
                    yield result
                if not done and not dispatch():
                    done = True
        except (KeyboardInterrupt, SystemExit):
            # It may have struck inside a queue operation and left the queue unusable.
            pool.broken = True
            raise
        finally:
            pool.end_epoch(epoch)
            if not self.persistent_workers or pool.broken:
                # A worker died or hung: a persistent pool is replaced at the next epoch.
                pool.shutdown()
                if self._pool is pool:
                    self._pool = None

    def __del__(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown()


_END = object()


class _InfiniteConstantSampler(Sampler):
    """The placeholder sampler of an IterableDataset: yields ``None`` forever."""

    def __iter__(self):
        while True:
            yield None
