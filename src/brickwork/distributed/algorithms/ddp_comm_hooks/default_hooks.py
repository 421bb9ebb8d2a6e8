"""The default DDP communication hooks: plain all-reduce and fp16/bf16 compression.

Each hook takes ``(process_group, bucket)`` and returns a ``brickwork.futures.Future`` holding
the averaged flat gradient tensor of the bucket; DistributedDataParallel waits for it at the end
of backward. See: torch.distributed.algorithms.ddp_comm_hooks.default_hooks.
"""
from __future__ import annotations

from typing import Any, Callable

from .... import distributed as dist
from ....dtypes import bfloat16, float16
from ....futures import Future
from ....tensor import Tensor

__all__ = ["allreduce_hook", "bf16_compress_hook", "bf16_compress_wrapper",
           "fp16_compress_hook", "fp16_compress_wrapper"]


def _group(process_group):
    return process_group if process_group is not None else dist.group.WORLD


def _allreduce_fut(process_group, tensor: Tensor) -> Future:
    """Average ``tensor`` by all-reduce; a future holding it."""
    group_to_use = _group(process_group)
    tensor.div_(group_to_use.size())  # divide first, against overflow in low precision
    return (dist.all_reduce(tensor, group=group_to_use, async_op=True)
            .get_future().then(lambda fut: fut.value()[0]))


def allreduce_hook(process_group, bucket) -> Future:
    """All-reduce the bucket and average it: the same result as no hook at all.

    Example::

        >>> ddp_model.register_comm_hook(process_group, allreduce_hook)

    See: torch.distributed.algorithms.ddp_comm_hooks.default_hooks.allreduce_hook.
    """
    return _allreduce_fut(process_group, bucket.buffer())


def _compress_hook(dtype, process_group, bucket) -> Future:
    group_to_use = _group(process_group)
    world_size = group_to_use.size()
    buffer = bucket[0] if isinstance(bucket, tuple) else bucket.buffer()
    compressed_tensor = buffer.to(dtype).div_(world_size)

    def decompress(fut: Future) -> Tensor:
        # Decompress in place to keep peak memory down.
        buffer.copy_(fut.value()[0])
        return buffer

    return dist.all_reduce(compressed_tensor, group=group_to_use,
                           async_op=True).get_future().then(decompress)


def fp16_compress_hook(process_group, bucket) -> Future:
    """Cast the bucket to float16, divide by the group size, all-reduce, cast back.

    Example::

        >>> ddp_model.register_comm_hook(process_group, fp16_compress_hook)

    See: torch.distributed.algorithms.ddp_comm_hooks.default_hooks.fp16_compress_hook.
    """
    return _compress_hook(float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket) -> Future:
    """Like ``fp16_compress_hook`` with bfloat16.

    See: torch.distributed.algorithms.ddp_comm_hooks.default_hooks.bf16_compress_hook.
    """
    return _compress_hook(bfloat16, process_group, bucket)


def _compress_wrapper(dtype, hook: Callable[[Any, Any], Future]) -> Callable[[Any, Any], Future]:
    def wrapper_hook(hook_state, bucket) -> Future:
        bucket.set_buffer(bucket.buffer().to(dtype))
        fut = hook(hook_state, bucket)

        def decompress(fut: Future) -> Tensor:
            decompressed_tensor = bucket.buffer()
            decompressed_tensor.copy_(fut.value())
            return decompressed_tensor

        return fut.then(decompress)

    return wrapper_hook


def fp16_compress_wrapper(hook: Callable[[Any, Any], Future]) -> Callable[[Any, Any], Future]:
    """Run ``hook`` on a float16 copy of the bucket and cast its result back.

    See: torch.distributed.algorithms.ddp_comm_hooks.default_hooks.fp16_compress_wrapper.
    """
    wrapped = _compress_wrapper(float16, hook)
    wrapped.__name__ = "fp16_compress_wrapper_hook"
    return wrapped


def bf16_compress_wrapper(hook: Callable[[Any, Any], Future]) -> Callable[[Any, Any], Future]:
    """Run ``hook`` on a bfloat16 copy of the bucket and cast its result back.

    See: torch.distributed.algorithms.ddp_comm_hooks.default_hooks.bf16_compress_wrapper.
    """
    wrapped = _compress_wrapper(bfloat16, hook)
    wrapped.__name__ = "bf16_compress_wrapper_hook"
    return wrapped
