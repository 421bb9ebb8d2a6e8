"""Samplers: the order in which a DataLoader visits indices of a map-style data set."""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import numpy as np

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]

# Draws with replacement are made this many at a time, so a huge ``num_samples`` (PyTorch's
# idiom for an endless stream is ``num_samples=int(1e10)``) costs nothing up front. PyTorch
# draws 32 at a time; larger chunks keep the per-call overhead of NumPy small.
_CHUNK = 1024


def _fresh_rng(generator) -> np.random.Generator:
    """A NumPy generator for one pass over the data.

    With ``generator=None`` a seed is drawn from brickwork's default generator (so that
    ``brickwork.manual_seed`` and ``get_rng_state``/``set_rng_state`` make shuffling repeat),
    as PyTorch's samplers do; otherwise ``generator`` itself is drawn from.
    """
    from ...random import rng_for

    if generator is None:
        seed = int(rng_for(None).integers(0, 2 ** 63 - 1))
        return np.random.Generator(np.random.PCG64(seed))
    return rng_for(generator)


class Sampler:
    """Base class: an iterable of indices (or of lists of indices). See:
    torch.utils.data.Sampler."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``. See: torch.utils.data.SequentialSampler."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation (or ``num_samples`` draws with replacement).

    See: torch.utils.data.RandomSampler.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        rng = _fresh_rng(self.generator)
        if self.replacement:
            for start in range(0, self.num_samples, _CHUNK):
                count = min(_CHUNK, self.num_samples - start)
                yield from rng.integers(0, n, size=count).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[:self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in random order. See: torch.utils.data.SubsetRandomSampler."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _fresh_rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices of ``weights`` drawn in proportion to the weights.

    Args:
        weights: a 1-D sequence (or tensor) of non-negative weights, not necessarily summing
            to one.
        num_samples: how many indices to draw.
        replacement: draw with replacement (default); without it an index appears at most
            once, so ``num_samples`` may not exceed ``len(weights)``.
        generator: the generator to draw from (brickwork's default one if None).

    Example:
        >>> list(WeightedRandomSampler([0.1, 0.9, 0.4, 0.7, 3.0, 0.6], 5))  # doctest: +SKIP
        [4, 4, 1, 4, 5]

    See: torch.utils.data.WeightedRandomSampler.
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or \
                num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        from ...factories import as_tensor
        from ... import dtypes

        weights_tensor = as_tensor(weights, dtype=dtypes.float64)
        if weights_tensor.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights_tensor.shape)}")
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        from ...ops.random_sample import multinomial

        # PyTorch draws from the generator itself (the default one when None), not a fresh one.
        drawn = multinomial(self.weights, self.num_samples, self.replacement,
                            generator=self.generator)
        yield from drawn.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]

    See: torch.utils.data.BatchSampler.
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
