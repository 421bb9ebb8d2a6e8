"""Communication hooks for ``DistributedDataParallel.register_comm_hook``.

See: torch.distributed.algorithms.ddp_comm_hooks.
"""
from . import default_hooks

__all__ = ["default_hooks"]
