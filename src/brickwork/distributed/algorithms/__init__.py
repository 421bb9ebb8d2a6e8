"""Distributed training algorithms; ``ddp_comm_hooks`` holds DistributedDataParallel's
communication hooks. See: torch.distributed.algorithms."""
from . import ddp_comm_hooks

__all__ = ["ddp_comm_hooks"]
