"""Collectives on picklable Python objects. See: torch.distributed.

Objects travel as pickles inside uint8 tensors, after their sizes. Unpickling runs code named by
the pickle, which is safe here only because every rank runs the same program: never use these
functions with processes you do not trust (checkpoint files are a different matter, and
brickwork never unpickles arbitrary code from them).
"""
from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from ..tensor import Tensor
from ._collectives import all_gather, broadcast, gather, scatter
from ._group import group_peer, resolve


def _to_tensor(obj: Any, device) -> tuple[Tensor, int]:
    data = np.frombuffer(pickle.dumps(obj), np.uint8).copy()
    from .. import tensor as make
    t = make(data)
    return (t if device is None else t.to(device)), data.size


def _from_tensor(t: Tensor, size: int) -> Any:
    return pickle.loads(t[:size].cpu().numpy().tobytes())


def _sizes_tensor(sizes, device):
    from .. import tensor as make
    t = make(np.asarray(sizes, np.int64))
    return t if device is None else t.to(device)


def _object_device(pg, device):
    """Where the pickles travel: ``device`` if given, the current GPU for an NCCL-only group
    (as PyTorch does), else host memory."""
    if device is not None or pg._cpu_allowed:
        return device
    from .. import cuda
    from ..device import device as make_device
    return make_device("cuda", cuda.current_device())


def broadcast_object_list(object_list: list[Any], src: int | None = None, group=None,
                          device=None, group_src: int | None = None) -> None:
    """Replace ``object_list``'s items on every rank by rank ``src``'s.

    See: torch.distributed.broadcast_object_list.
    """
    pg = resolve(group)
    if pg is None:
        return
    root = group_peer(pg, src, group_src, "broadcast_object_list", "src")
    device = _object_device(pg, device)
    from .. import empty
    if pg.rank() == root:
        blobs = [pickle.dumps(o) for o in object_list]
        sizes = _sizes_tensor([len(b) for b in blobs], device)
    else:
        sizes = _sizes_tensor([0] * len(object_list), device)
    broadcast(sizes, group_src=root, group=pg)
    counts = [int(s) for s in sizes.cpu().numpy()]
    total = sum(counts)
    if pg.rank() == root:
        from .. import tensor as make
        payload = make(np.frombuffer(b"".join(blobs), np.uint8).copy())
        payload = payload if device is None else payload.to(device)
    else:
        payload = empty(total, dtype=_uint8(), device=device)
    broadcast(payload, group_src=root, group=pg)
    if pg.rank() != root:
        data = payload.cpu().numpy().tobytes()
        at = 0
        for i, n in enumerate(counts):
            object_list[i] = pickle.loads(data[at:at + n])
            at += n


def _uint8():
    from .. import uint8
    return uint8


def _padded(obj: Any, pg, device) -> tuple[Tensor, list[int]]:
    """This rank's pickle, padded to the longest of the group's, and every rank's size."""
    from .. import zeros
    mine, size = _to_tensor(obj, device)
    sizes = [_sizes_tensor([0], device) for _ in range(pg.size())]
    all_gather(sizes, _sizes_tensor([size], device), group=pg)
    counts = [int(s.item()) for s in sizes]
    longest = max(counts)
    padded = zeros(longest, dtype=_uint8(), device=device)
    padded[:size] = mine
    return padded, counts


def all_gather_object(object_list, obj, group=None) -> None:
    """Fill ``object_list`` with every rank's ``obj``. See: torch.distributed.all_gather_object."""
    pg = resolve(group)
    if pg is None:
        return
    if len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: object_list must have one slot per rank "
                         f"({pg.size()}), got {len(object_list)}")
    padded, counts = _padded(obj, pg, _object_device(pg, None))
    outs = [padded.new_empty(padded.shape) for _ in range(pg.size())]
    all_gather(outs, padded, group=pg)
    for i, (t, n) in enumerate(zip(outs, counts)):
        object_list[i] = _from_tensor(t, n)


def gather_object(obj: Any, object_gather_list: list[Any] | None = None, dst: int | None = None,
                  group=None, group_dst: int | None = None) -> None:
    """Collect every rank's ``obj`` into ``object_gather_list`` on rank ``dst``.

    See: torch.distributed.gather_object.
    """
    pg = resolve(group)
    if pg is None:
        return
    root = group_peer(pg, dst, group_dst, "gather_object", "dst")
    if pg.rank() == root and (object_gather_list is None
                              or len(object_gather_list) != pg.size()):
        raise ValueError(f"gather_object: object_gather_list on the destination rank must have "
                         f"one slot per rank ({pg.size()})")
    padded, counts = _padded(obj, pg, _object_device(pg, None))
    outs = [padded.new_empty(padded.shape) for _ in range(pg.size())] \
        if pg.rank() == root else None
    gather(padded, outs, group_dst=root, group=pg)
    if outs is not None:
        for i, (t, n) in enumerate(zip(outs, counts)):
            object_gather_list[i] = _from_tensor(t, n)


def scatter_object_list(scatter_object_output_list: list[Any],
                        scatter_object_input_list: list[Any] | None = None,
                        src: int | None = None, group=None,
                        group_src: int | None = None) -> None:
    """Put ``scatter_object_input_list[i]`` of rank ``src`` into rank i's
    ``scatter_object_output_list[0]``. See: torch.distributed.scatter_object_list."""
    pg = resolve(group)
    if pg is None:
        return
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    root = group_peer(pg, src, group_src, "scatter_object_list", "src")
    dev = _object_device(pg, None)
    from .. import zeros
    if pg.rank() == root:
        if scatter_object_input_list is None or len(scatter_object_input_list) != pg.size():
            raise ValueError(f"scatter_object_list: the source rank's input list must have one "
                             f"object per rank ({pg.size()})")
        blobs = [pickle.dumps(o) for o in scatter_object_input_list]
        longest = _sizes_tensor([max(len(b) for b in blobs)], dev)
    else:
        longest = _sizes_tensor([0], dev)
    broadcast(longest, group_src=root, group=pg)
    n = int(longest.item())
    size = _sizes_tensor([0], dev)
    out = zeros(n, dtype=_uint8(), device=dev)
    if pg.rank() == root:
        from .. import tensor as make
        pieces = []
        for b in blobs:
            buf = np.zeros(n, np.uint8)
            buf[:len(b)] = np.frombuffer(b, np.uint8)
            pieces.append(make(buf, device=dev))
        scatter(size, [_sizes_tensor([len(b)], dev) for b in blobs], group_src=root, group=pg)
        scatter(out, pieces, group_src=root, group=pg)
    else:
        scatter(size, None, group_src=root, group=pg)
        scatter(out, None, group_src=root, group=pg)
    scatter_object_output_list[0] = _from_tensor(out, int(size.item()))
