"""DistributedSampler: each process of a data-parallel job reads its own shard of a data set."""
from __future__ import annotations

import math
from typing import Iterator

from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _process_group_value(name: str) -> int:
    """``brickwork.distributed.<name>()`` for the default group, imported only when needed.

    The import is lazy so that ``brickwork.utils.data`` works without an MPI installation.
    """
    try:
        from ... import distributed as dist
    except ImportError:
        dist = None
    # An unfinished or foreign ``distributed`` module counts as unavailable.
    if dist is None or not getattr(dist, "is_available", lambda: False)():
        raise RuntimeError("Requires distributed package to be available")
    return getattr(dist, name)()


class DistributedSampler(Sampler):
    """Restricts data loading to the shard of ``dataset`` that belongs to one process.

    The indices (shuffled with seed ``seed + epoch`` when ``shuffle``) are padded by repeating
    from the start until they split evenly, or with ``drop_last`` cut to the largest multiple
    of ``num_replicas``; process ``rank`` takes every ``num_replicas``-th index from ``rank``.
    Call ``set_epoch`` at the start of each epoch, or every epoch sees the same order.

    Args:
        dataset: The map-style data set to split (only its length is used).
        num_replicas: Number of processes; by default the size of the default process group.
        rank: This process's rank in ``[0, num_replicas)``; by default its rank in the
            default process group.
        shuffle: Whether to shuffle the indices (the same permutation on every process).
        seed: Seed for the shuffle; must be the same on every process.
        drop_last: Drop the tail so the data split evenly, instead of padding.

    Example:
        >>> sampler = DistributedSampler(dataset, num_replicas=2, rank=0)
        >>> loader = DataLoader(dataset, batch_size=32, sampler=sampler)
        >>> for epoch in range(3):
        ...     sampler.set_epoch(epoch)
        ...     train(loader)

    See: torch.utils.data.distributed.DistributedSampler.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _process_group_value("get_world_size")
        if rank is None:
            rank = _process_group_value("get_rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            # Largest shard size that every process can fill without padding.
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            from ... import Generator, randperm

            # Every process draws the same permutation: the seed depends only on seed and epoch.
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:  # fewer items than processes: repeat the whole list as often as needed
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        if len(indices) != self.total_size:
            raise AssertionError(f"Number of indices ({len(indices)}) does not match total_size "
                               f"({self.total_size})")
        indices = indices[self.rank:self.total_size:self.num_replicas]
        if len(indices) != self.num_samples:
            raise AssertionError(f"Number of subsampled indices ({len(indices)}) does not match "
                               f"num_samples ({self.num_samples})")
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which seeds the next shuffle (``seed + epoch``).

        Args:
            epoch: Epoch number.
        """
        self.epoch = epoch
