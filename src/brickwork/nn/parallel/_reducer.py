"""DistributedDataParallel's reducer: gradient buckets all-reduced while backward runs.

The reducer owns one flat buffer per bucket. A post-accumulate-grad hook on every parameter
copies (or, with ``gradient_as_bucket_view``, leaves) the gradient in its bucket slot; when the
last slot of a bucket is filled the bucket's all-reduce starts asynchronously on the process
group's communication thread, while autograd goes on computing the earlier layers' gradients.
Buckets start in index order on every rank, so collectives match across ranks. A callback queued
on the autograd engine waits for every bucket at the end of backward and writes the averaged
values back into ``.grad``. See ``distributed.py`` for the user-facing side.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from ...autograd import Variable
from ...autograd.function import reached_leaves
from ...tensor import Tensor, _make

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES
_DEFAULT_BUCKET_CAP_MB = 25
_MB = 1024 * 1024

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by \n"
    "making sure all `forward` function outputs participate in calculating loss. \n"
    "If you already have done the above, then the distributed data parallel module wasn't "
    "able to locate the output tensors in the return value of your module's `forward` "
    "function. Please include the loss function and the structure of the return value of "
    "`forward` of your module when reporting this issue (e.g. list, dict, iterable).\n"
    "Parameter indices which did not receive grad for rank {rank}: {indices}\n"
    " In addition, you can set the environment variable TORCH_DISTRIBUTED_DEBUG to either "
    "INFO or DETAIL to print out information about which particular parameters did not "
    "receive gradient on this rank as part of this error")


class GradBucket:
    """One bucket of gradients, as a communication hook sees it.

    See: torch.distributed.GradBucket.
    """

    def __init__(self, bucket: _Bucket, is_last: bool) -> None:
        self._bucket = bucket
        self._is_last = is_last

    def index(self) -> int:
        """The bucket's index (0 is the first bucket to become ready)."""
        return self._bucket.index

    def buffer(self) -> Tensor:
        """The flat 1-D tensor holding the bucket's gradients."""
        return self._bucket.buffer

    def gradients(self) -> list[Tensor]:
        """Each parameter's gradient, as a view of ``buffer()``."""
        return [self._bucket.view(j) for j in range(len(self._bucket.params))]

    def parameters(self) -> list[Tensor]:
        """The parameters whose gradients are in this bucket."""
        return list(self._bucket.params)

    def is_last(self) -> bool:
        """True for the last bucket of the backward pass (the first parameters)."""
        return self._is_last

    def set_buffer(self, buffer: Tensor) -> None:
        """Replace the bucket's flat buffer (e.g. with a compressed copy)."""
        self._bucket.buffer = buffer


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer."""

    def __init__(self, index: int, params: list, indices: list[int]) -> None:
        self.index = index
        self.params = params
        self.indices = indices  # positions in the reducer's parameter list
        first = params[0]
        self.device = first.device
        self.sizes = [int(p._data.size) for p in params]
        self.offsets = list(np.cumsum([0] + self.sizes[:-1]))
        xp = np if isinstance(first._data, np.ndarray) else _cupy()
        self.flat = xp.zeros(sum(self.sizes), first._data.dtype)
        self.views = [self.flat[o:o + n].reshape(p._data.shape)
                      for o, n, p in zip(self.offsets, self.sizes, params)]
        self.buffer = _make(self.flat, self.device)
        self.pending = len(params)
        self.handle: Any = None  # a Work (built-in all-reduce) or a Future (comm hook)
        self.hooked = False

    def view(self, j: int) -> Tensor:
        return _make(self.views[j], self.device)

    def reset(self) -> None:
        self.pending = len(self.params)
        self.handle = None
        self.buffer = _make(self.flat, self.device)


def _cupy():
    from ...device import cupy_module
    return cupy_module()


def bucket_assignment(params: list, caps: list[int], order: list[int]) -> list[list[int]]:
    """Group parameter indices into buckets, taking them in ``order`` (when their gradients
    are expected), one dtype and device per bucket; the ``k``-th bucket of a dtype and device
    holds at most ``caps[min(k, len(caps) - 1)]`` bytes (a single larger parameter gets a
    bucket of its own). Buckets come out in the order their first gradient is expected."""
    open_: dict = {}  # (dtype, device) -> [indices, bytes, bucket number for this key]
    done: list[list[int]] = []
    counts: dict = {}
    for i in order:
        p = params[i]
        key = (str(p._data.dtype), str(p.device))
        cur = open_.get(key)
        if cur is None:
            n = counts.get(key, 0)
            cur = open_[key] = [[], 0, n]
            counts[key] = n + 1
        cur[0].append(i)
        cur[1] += int(p._data.nbytes)
        if cur[1] >= caps[min(cur[2], len(caps) - 1)]:
            done.append(cur[0])
            del open_[key]
    done.extend(cur[0] for cur in open_.values())
    position = {i: k for k, i in enumerate(order)}
    done.sort(key=lambda idx: position[idx[0]])
    return done


class Reducer:
    """Buckets, hooks and the end-of-backward callback of one DistributedDataParallel."""

    def __init__(self, params: list, names: list[str], pg, caps: list[int],
                 find_unused: bool, gradient_as_bucket_view: bool, static_graph: bool,
                 batched_grad_copy: bool) -> None:
        self.params = params
        self.names = names
        self.pg = pg
        self.world = pg.size()
        self.find_unused = find_unused or static_graph
        self.static_graph = static_graph
        self.as_view = gradient_as_bucket_view
        self.batched_copy = batched_grad_copy
        self.caps = caps
        self._build(list(reversed(range(len(params)))))
        # PyTorch's rule: buckets are rebuilt once, in the order gradients arrived in the first
        # synced backward, unless unused parameters are searched for every iteration.
        self.rebuild_pending = static_graph or not find_unused
        self.arrival: list[int] = []
        self.comm_hook: tuple[Any, Callable] | None = None
        self.expect_hooks = False  # set by prepare_for_backward (a synced forward)
        self.require_finalize = False  # a synced backward began and has not finished
        self.ready = [False] * len(params)
        self.local_used = np.zeros(len(params), np.int32)
        self.unused: list[int] = []
        self.static_unused: list[int] | None = None
        self.next_bucket = 0
        self.used_work = None
        self.hooks_fired = 0
        self.log: list[dict] = []  # one entry per synced backward (overlap evidence)
        self._cur: dict = {}
        self._handles = [p.register_post_accumulate_grad_hook(self._make_hook(i))
                         for i, p in enumerate(params)]

    def _build(self, order: list[int]) -> None:
        self.buckets = [_Bucket(k, [self.params[i] for i in idx], idx)
                        for k, idx in enumerate(bucket_assignment(self.params, self.caps,
                                                                  order))]
        self.where = {}  # parameter index -> (bucket, slot)
        for b in self.buckets:
            for j, i in enumerate(b.indices):
                self.where[i] = (b, j)

    def rebuild_buckets(self) -> bool:
        """After the first synced backward: rebuild the buckets in the order the gradients
        arrived (rank 0's order, so every rank has the same buckets). True when rebuilt."""
        if not self.rebuild_pending or len(self.arrival) < len(self.params):
            return False
        from ... import distributed as dist
        # A tensor on the parameters' device, not an object: an NCCL group moves only those.
        order = _on_device(np.asarray(self.arrival[:len(self.params)], np.int64),
                           self.buckets[0])
        dist.broadcast(order, src=dist.get_global_rank(self.pg, 0), group=self.pg)
        self._build([int(i) for i in _host(order._data)])
        self.rebuild_pending = False
        return True

    # -- forward side ---------------------------------------------------------------------------
    def check_prior_finished(self) -> None:
        """PyTorch's error when the last synced backward left some bucket unreduced."""
        if self.require_finalize:
            missing = [str(i) for i, r in enumerate(self.ready) if not r]
            raise RuntimeError(_UNFINISHED.format(rank=self.pg.rank(), indices=" ".join(missing)))

    def prepare_for_backward(self, outputs: list[Tensor]) -> None:
        """Arm the hooks for the coming backward; find unused parameters if asked."""
        self.expect_hooks = True
        self.ready = [False] * len(self.params)
        self.next_bucket = 0
        self.hooks_fired = 0
        for b in self.buckets:
            b.reset()
        self.unused = []
        if not self.find_unused:
            return
        if self.static_graph and self.static_unused is not None:
            self.unused = list(self.static_unused)
            return
        reached = reached_leaves(outputs)
        self.unused = [i for i, p in enumerate(self.params) if id(p) not in reached]
        if self.static_graph:
            self.static_unused = list(self.unused)

    # -- backward side --------------------------------------------------------------------------
    def _make_hook(self, i: int) -> Callable[[Tensor], None]:
        def hook(_param: Tensor) -> None:
            if self.find_unused:
                self.local_used[i] = 1  # counts under no_sync too: its gradient accumulates
            if not self.expect_hooks:
                return
            self._first_hook()
            self.hooks_fired += 1
            self._mark_ready(i)
        return hook

    def _first_hook(self) -> None:
        if self.require_finalize:
            return
        self.require_finalize = True
        self._cur = {"params": len(self.params), "buckets": len(self.buckets),
                     "hooks_at_launch": [], "launch_s": [], "start_s": time.perf_counter()}
        for i in self.unused:  # no gradient will arrive for these: their slots are ready now
            self._mark_ready(i)

    def _mark_ready(self, i: int) -> None:
        if self.ready[i]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. This error is caused by one of "
                f"the following reasons: 1) Use of a module parameter outside the `forward` "
                f"function. 2) Reused parameters in multiple reentrant backward passes. "
                f"Parameter at index {i} with name {self.names[i]} has been marked as ready "
                f"twice.")
        self.ready[i] = True
        if self.rebuild_pending and len(self.arrival) < len(self.params):
            self.arrival.append(i)
        bucket, j = self.where[i]
        if not self.batched_copy:
            self._fill_slot(bucket, j)
        bucket.pending -= 1
        if bucket.pending == 0:
            # Launch in bucket order so every rank issues the same collectives in turn.
            while self.next_bucket < len(self.buckets) and \
                    self.buckets[self.next_bucket].pending == 0:
                self._launch(self.buckets[self.next_bucket])
                self.next_bucket += 1
            if self.next_bucket == len(self.buckets):
                if self.find_unused:
                    from ... import distributed as dist
                    self.used_work = dist.all_reduce(self._used_tensor(), group=self.pg,
                                                     async_op=True)
                Variable._execution_engine.queue_callback(self._finalize)

    def _used_tensor(self) -> Tensor:
        # On the parameters' device: an NCCL group may not take CPU tensors.
        t = _on_device(self.local_used.copy(), self.buckets[0])
        self._used_arr = t._data
        return t

    def _fill_slot(self, bucket: _Bucket, j: int) -> None:
        p = bucket.params[j]
        view = bucket.views[j]
        g = p._grad
        scale = None if self.comm_hook is not None else 1.0 / self.world
        if g is None:
            view[...] = 0
        elif g._data is view or _shares(g._data, view):
            if scale is not None:
                view *= view.dtype.type(scale)
        elif scale is not None:
            np_mul = (np if isinstance(view, np.ndarray) else _cupy()).multiply
            np_mul(g._data, view.dtype.type(scale), out=view)
        else:
            view[...] = g._data

    def _launch(self, bucket: _Bucket) -> None:
        if self.batched_copy:
            for j in range(len(bucket.params)):
                self._fill_slot(bucket, j)
        self._cur["hooks_at_launch"].append(self.hooks_fired)
        self._cur["launch_s"].append(time.perf_counter() - self._cur["start_s"])
        if self.comm_hook is not None:
            state, hook = self.comm_hook
            bucket.hooked = True
            bucket.handle = hook(state, GradBucket(bucket, bucket.index == len(self.buckets) - 1))
        else:
            from ... import distributed as dist
            bucket.hooked = False
            bucket.handle = dist.all_reduce(bucket.buffer, group=self.pg, async_op=True)

    def _finalize(self) -> None:
        """End of backward: wait for every bucket and write the averaged gradients back."""
        cur = self._cur
        cur["hooks"] = self.hooks_fired
        cur["done_at_end"] = [b.handle.is_completed() if not b.hooked else b.handle.done()
                              for b in self.buckets]
        cur["end_s"] = time.perf_counter() - cur["start_s"]
        for b in self.buckets:
            if b.hooked:
                out = b.handle.wait()
                if isinstance(out, (list, tuple)):
                    out = out[0]
                if not isinstance(out, Tensor):
                    raise RuntimeError(f"the communication hook's future must hold a Tensor "
                                       f"(the reduced bucket), got {type(out).__name__}")
                if out._data is not b.flat:
                    if out.numel() != b.flat.size:
                        raise RuntimeError(
                            f"the communication hook returned a tensor of {out.numel()} "
                            f"elements for bucket {b.index} of {b.flat.size} elements")
                    b.flat[...] = out._data.reshape(-1).astype(b.flat.dtype, copy=False)
            else:
                b.handle.wait()
        global_unused = set()
        if self.find_unused and self.used_work is not None:
            self.used_work.wait()
            used = _host(self._used_arr)
            global_unused = {i for i in range(len(self.params)) if used[i] == 0}
            self.used_work = None
        for b in self.buckets:
            for j, (p, i) in enumerate(zip(b.params, b.indices)):
                if i in global_unused:
                    continue  # no rank produced a gradient: .grad stays as it was
                self._write_back(p, b, j)
        cur["finalize_s"] = time.perf_counter() - cur["start_s"]
        self.log.append(cur)
        del self.log[:-16]
        self.local_used[:] = 0
        self.expect_hooks = False
        self.require_finalize = False

    def _write_back(self, p: Tensor, b: _Bucket, j: int) -> None:
        view = b.views[j]
        g = p._grad
        if self.as_view:
            if g is None or not (g._data is view or _shares(g._data, view)):
                p._grad = _make(view, p.device)
        elif g is None:
            p._grad = _make(view.copy(), p.device)
        else:
            g._data[...] = view

    def set_comm_hook(self, state: Any, hook: Callable) -> None:
        if self.comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be "
                               "called once.")
        self.comm_hook = (state, hook)

    def remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def _on_device(arr: np.ndarray, like: _Bucket) -> Tensor:
    """``arr`` as a tensor on ``like``'s device."""
    return on_device_of(arr, like.flat, like.device)


def on_device_of(arr: np.ndarray, data, device) -> Tensor:
    """``arr`` as a tensor on ``device``, where ``data`` is an array already living there."""
    if isinstance(data, np.ndarray):
        return _make(arr, device)
    with _cupy().cuda.Device(data.device.id):
        return _make(_cupy().asarray(arr), device)


def _host(arr) -> np.ndarray:
    return arr if isinstance(arr, np.ndarray) else arr.get()


def _shares(a, b) -> bool:
    """True when arrays ``a`` and ``b`` are the same memory (a gradient that is a bucket view)."""
    if a.shape != b.shape or type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    return a.data.ptr == b.data.ptr
