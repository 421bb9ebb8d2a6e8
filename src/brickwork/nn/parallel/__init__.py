"""Data-parallel wrappers: ``DistributedDataParallel`` (one process per device, gradients
averaged across processes) and ``DataParallel`` (a single-process, single-device wrapper).

See: torch.nn.parallel.
"""
from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
