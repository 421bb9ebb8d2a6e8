"""DistributedDataParallel: data-parallel training, one process per device.

Each rank holds a full copy of the model and runs forward and backward on its own shard of the
global batch; DistributedDataParallel makes the copies start equal (rank 0's parameters and
buffers are broadcast when the model is wrapped) and stay equal (gradients are averaged across
ranks during backward, so every rank's optimizer takes the same step).

How the reducer works (``_reducer.py``). At wrap time the parameters are split into buckets,
walking ``model.parameters()`` backwards (the order in which backward produces gradients for a
model whose layers run in definition order): the first bucket holds up to 1 MiB
(``_DEFAULT_FIRST_BUCKET_BYTES``) so communication starts early, the others up to
``bucket_cap_mb`` (25 MiB by default), one dtype and device per bucket. As PyTorch's reducer
does, the buckets are rebuilt once, before the second synced forward, in the order the
gradients actually arrived during the first backward (rank 0's order, broadcast so all ranks
agree; not with ``find_unused_parameters`` unless ``static_graph``). Every bucket owns one flat
buffer. A ``register_post_accumulate_grad_hook`` on each parameter copies its fresh gradient,
already divided by the world size, into its slot; when a bucket's last slot is filled its
all-reduce (a sum) starts with ``async_op=True`` on the process group's communication thread
while autograd continues with the earlier layers. Buckets are launched in index order on every
rank so the collectives match. A callback queued with
``Variable._execution_engine.queue_callback`` runs at the end of backward: it waits for each
bucket and copies the averaged values into ``.grad`` (or, with ``gradient_as_bucket_view``, makes
``.grad`` a view of the bucket, so the next backward accumulates straight into it). PyTorch's
reducer starts with one bucket for the first iteration; brickwork starts with the
reverse-definition-order buckets instead (the numbers are the same). Bucketing never changes the numbers: each
element is the same sum of per-rank values divided by the world size.

See: torch.nn.parallel.DistributedDataParallel.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, Iterator

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor, _make
from ..module import Module
from ._reducer import (_DEFAULT_BUCKET_CAP_MB, _DEFAULT_FIRST_BUCKET_BYTES, _MB, GradBucket,
                       Reducer, _host, on_device_of)

__all__ = ["DistributedDataParallel"]

_BROADCAST_BUCKET_BYTES = 250 * _MB  # PyTorch's broadcast_bucket_size


class DistributedDataParallel(Module):
    """Data parallelism across processes: gradients are averaged over the process group.

    Start one process per device (``mpiexec -n 4 python train.py`` or ``brickwork run -n 4
    train.py``), call ``dist.init_process_group()``, build the model, wrap it, then train as
    usual; each rank feeds its own shard of the data (``DistributedSampler``).

    Args:
        module: the module to replicate.
        device_ids: ``None`` for CPU modules (and modules already on their GPU), or one CUDA
            device id: inputs are moved to that device before forward.
        output_device: for a single-device CUDA module, defaults to ``device_ids[0]``; must be
            ``None`` for CPU modules.
        dim: kept for PyTorch compatibility (the scatter dimension of multi-device modules,
            which brickwork does not run).
        broadcast_buffers: deprecated spelling of ``forward_sync_buffers``; ``False`` also
            skips the buffers at wrap time (PyTorch's rule).
        init_sync: broadcast rank 0's parameters (and buffers) when wrapping, after checking
            that every rank has the same parameter shapes.
        process_group: the group to average over (default: the whole world).
        bucket_cap_mb: bucket size in MiB (default 25; the first bucket then holds 1 MiB).
        find_unused_parameters: walk the autograd graph from the forward outputs and mark
            parameters that get no gradient as ready, so their buckets still go out.
        check_reduction: deprecated, warns.
        gradient_as_bucket_view: make ``.grad`` a view of the communication buckets.
        static_graph: the set of used parameters never changes; unused ones are found once, in
            the first iteration.
        delay_all_reduce_named_params, param_to_hook_all_reduce, mixed_precision,
            device_mesh, skip_all_reduce_unused_params: not supported (raise when given).
        bucket_cap_mb_list: a size in MiB for each bucket in turn (the last repeats).
        batched_grad_copy: copy a bucket's gradients into it when the bucket is complete
            rather than one parameter at a time (same numbers).
        forward_sync_buffers: broadcast rank 0's buffers at every synced forward (default
            ``True``); buffers are always broadcast at wrap time.

    Example::

        >>> dist.init_process_group("gloo")
        >>> ddp = DistributedDataParallel(model)
        >>> loss_fn(ddp(x_shard), y_shard).backward()   # .grad is the global average
        >>> opt.step()

    See: torch.nn.parallel.DistributedDataParallel.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=None, init_sync=True, process_group=None,
                 bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False,
                 bucket_cap_mb_list: list[int] | None = None, batched_grad_copy=False,
                 forward_sync_buffers: bool | None = None) -> None:
        super().__init__()
        from ... import distributed as dist  # here: importing brickwork.nn stays light
        if (delay_all_reduce_named_params is not None) != (param_to_hook_all_reduce is not None):
            raise ValueError("delay_all_reduce_named_params and param_to_hook_all_reduce "
                             "need to be set at the same time.")
        _unsupported(delay_all_reduce_named_params is not None, "delay_all_reduce_named_params "
                     "and param_to_hook_all_reduce")
        _unsupported(mixed_precision is not None, "mixed_precision")
        _unsupported(skip_all_reduce_unused_params, "skip_all_reduce_unused_params=True")
        if process_group is not None and device_mesh is not None:
            raise RuntimeError("Cannot specify both process_group and device_mesh arguments.")
        _unsupported(device_mesh is not None, "device_mesh (use process_group)")
        self.process_group = dist._group.resolve(process_group)
        if self.process_group is None:
            raise ValueError("DistributedDataParallel: this rank is not a member of "
                             "process_group")

        ignore = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        self.parameters_to_ignore = ignore
        named = [(n, p) for n, p in module.named_parameters() if n not in ignore]
        if not any(p.requires_grad for _, p in named):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        devtypes = {p.device.type for _, p in named}
        if len(devtypes) != 1:
            raise ValueError("DistributedDataParallel's input module must be on the same type "
                             f"of devices, but input module parameters locate in {devtypes}.")
        self.device_type = next(iter(devtypes))
        self.is_multi_device_module = len({str(p.device) for _, p in named}) > 1
        if (device_ids is None or len(device_ids) == 0 or self.device_type == "cpu"
                or self.is_multi_device_module):
            if device_ids or output_device:
                raise ValueError(
                    "DistributedDataParallel device_ids and output_device arguments only work "
                    "with single-device/multiple-device GPU modules or CPU modules, but got "
                    f"device_ids {device_ids}, output_device {output_device}, and module "
                    f"parameters { {str(p.device) for _, p in named} }.")
            self.device_ids = None
            self.output_device = None
        else:
            self.device_ids = [_device_index(d) for d in device_ids]
            self.output_device = _device_index(device_ids[0] if output_device is None
                                               else output_device)
        self.dim = dim
        self.module = module
        self.device = named[0][1].device

        if broadcast_buffers is not None:
            msg = ("Both `broadcast_buffers` and `forward_sync_buffers` were specified. "
                   "`broadcast_buffers` is deprecated and its value is ignored when "
                   "`forward_sync_buffers` is provided." if forward_sync_buffers is not None
                   else "`broadcast_buffers` is deprecated. Use `forward_sync_buffers` "
                   "instead. IMPORTANT: unlike `broadcast_buffers=False`, "
                   "`forward_sync_buffers=False` still syncs buffers at init.")
            warnings.warn(msg, FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers = bool(forward_sync_buffers)
            init_sync_buffers = True
        else:
            self.forward_sync_buffers = True if broadcast_buffers is None \
                else bool(broadcast_buffers)
            init_sync_buffers = self.forward_sync_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.batched_grad_copy = batched_grad_copy
        self.static_graph = static_graph
        self.mixed_precision = None
        if check_reduction:
            warnings.warn("The `check_reduction` argument in `DistributedDataParallel` module "
                          "is deprecated. Please avoid using it.", FutureWarning, stacklevel=2)
        from ..parameter import UninitializedParameter
        if any(isinstance(p, UninitializedParameter) for _, p in named):
            raise RuntimeError("Modules with uninitialized parameters can't be used with "
                               "`DistributedDataParallel`. Run a dummy forward pass to "
                               "correctly initialize the modules")

        for sub in module.modules():
            if getattr(sub, "sparse", False) is True and hasattr(sub, "weight"):
                raise NotImplementedError(
                    f"brickwork's DistributedDataParallel does not average sparse gradients "
                    f"({type(sub).__name__} with sparse=True): use sparse=False")
        caps = _bucket_caps(bucket_cap_mb, bucket_cap_mb_list)
        self.bucket_bytes_cap = caps[-1] if bucket_cap_mb_list else caps[min(1, len(caps) - 1)]
        self.broadcast_bucket_size = _BROADCAST_BUCKET_BYTES
        self.modules_buffers = [b for n, b in module.named_buffers() if n not in ignore]

        if init_sync:
            _verify_shapes(self.process_group, [p for _, p in named])
            states = [p for _, p in named] + (self.modules_buffers if init_sync_buffers else [])
            _broadcast_coalesced(self.process_group, states, self.broadcast_bucket_size)

        trainable = [(n, p) for n, p in named if p.requires_grad]
        self.reducer = Reducer([p for _, p in trainable], [n for n, _ in trainable],
                               self.process_group, caps, find_unused_parameters,
                               gradient_as_bucket_view, static_graph, batched_grad_copy)
        self._comm_hooks: list[tuple[Callable, object]] = []

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """Run the module; arm gradient averaging for the backward of what it returns."""
        from ...autograd.grad_mode import is_grad_enabled
        grad_on = is_grad_enabled()
        if grad_on and self.require_backward_grad_sync:
            self.reducer.check_prior_finished()
            self.reducer.rebuild_buckets()
        if self.will_sync_module_buffers():
            self._sync_buffers()
        if self.device_ids:
            inputs, kwargs = self.to_kwargs(inputs, kwargs, self.device_ids[0])
        out = self.module(*inputs, **kwargs)
        if grad_on and self.require_backward_grad_sync:
            self.require_forward_param_sync = True
            self.reducer.prepare_for_backward(
                _tensors_in(out) if self.find_unused_parameters or self.static_graph else [])
        else:
            self.require_forward_param_sync = False
        return out

    def to_kwargs(self, inputs, kwargs, device_id):
        """Move the tensors in ``inputs`` and ``kwargs`` to CUDA device ``device_id``."""
        dev = f"cuda:{device_id}"
        return _move(tuple(inputs), dev), _move(dict(kwargs or {}), dev)

    def will_sync_module_buffers(self) -> bool:
        """True when this forward broadcasts rank 0's buffers first."""
        return (self.require_forward_param_sync and self.forward_sync_buffers
                and len(self.modules_buffers) > 0 and self.process_group.size() > 1)

    @property
    def broadcast_buffers(self) -> bool:
        """Deprecated alias of ``forward_sync_buffers``."""
        return self.forward_sync_buffers

    @broadcast_buffers.setter
    def broadcast_buffers(self, value: bool) -> None:
        self.forward_sync_buffers = value

    def _sync_buffers(self) -> None:
        _broadcast_coalesced(self.process_group, self.modules_buffers,
                             self.broadcast_bucket_size)

    # -- gradient synchronization -----------------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Skip gradient averaging: backward passes inside accumulate local gradients, which
        the first synced backward after the block averages.

        Example::

            >>> with ddp.no_sync():
            ...     for x in micro_batches:
            ...         ddp(x).sum().backward()   # local accumulation only
            >>> ddp(last).sum().backward()        # averages the accumulated sum

        The forward pass must run inside the block, or the gradients are still synchronized.
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def register_comm_hook(self, state: object, hook: Callable) -> None:
        """Replace the per-bucket all-reduce by ``hook(state, bucket)``.

        The hook receives a ``GradBucket`` (its gradients not yet divided by the world size)
        and returns a ``brickwork.futures.Future`` whose value is the reduced flat tensor, e.g.
        ``dist.all_reduce(buf, async_op=True).get_future().then(lambda f: f.value()[0])``.
        The future is waited on at the end of backward. Call once, before training.

        Example::

            >>> from brickwork.distributed.algorithms.ddp_comm_hooks import default_hooks
            >>> ddp.register_comm_hook(None, default_hooks.fp16_compress_hook)

        See: torch.nn.parallel.DistributedDataParallel.register_comm_hook.
        """
        _check_comm_hook(hook)
        self.reducer.set_comm_hook(state, hook)
        self._comm_hooks.append((hook, state))

    def __getstate__(self):
        raise TypeError("brickwork's DistributedDataParallel cannot be pickled: pickle or save "
                        "`ddp.module` (or its state_dict) instead")


def _unsupported(given: bool, what: str) -> None:
    if given:
        raise NotImplementedError(f"brickwork's DistributedDataParallel does not support "
                                  f"{what}")


def _device_index(d) -> int:
    if isinstance(d, int):
        return d
    index = getattr(d, "index", None)
    if index is None:
        raise ValueError(f"Expected a CUDA device with an index, got {d}")
    return index


def _bucket_caps(bucket_cap_mb, bucket_cap_mb_list) -> list[int]:
    """Byte caps for bucket 0, 1, ... (the last repeats): PyTorch's bucket-size rule."""
    if bucket_cap_mb_list:
        return [int(mb * _MB) for mb in bucket_cap_mb_list]
    if bucket_cap_mb is None:
        return [_DEFAULT_FIRST_BUCKET_BYTES, _DEFAULT_BUCKET_CAP_MB * _MB]
    cap = int(bucket_cap_mb * _MB)
    return [max(cap, 1)]


def _verify_shapes(pg, params: list[Tensor]) -> None:
    """PyTorch's check that every rank wraps the same model. The description travels as
    tensors on the parameters' device (an NCCL group moves nothing else)."""
    from ... import distributed as dist
    mine = [len(params)]
    for p in params:
        mine += [len(p.shape), *p.shape, _DTYPE_CODES.index(str(p._data.dtype))
                 if str(p._data.dtype) in _DTYPE_CODES else 99]
    like = params[0]
    length = _like(np.asarray([len(mine)], np.int64), like)
    lengths = [_like(np.zeros(1, np.int64), like) for _ in range(pg.size())]
    dist.all_gather(lengths, length, group=pg)
    longest = max(int(_host(t._data)[0]) for t in lengths)
    padded = np.full(longest, -1, np.int64)
    padded[:len(mine)] = mine
    rows = [_like(np.zeros(longest, np.int64), like) for _ in range(pg.size())]
    dist.all_gather(rows, _like(padded, like), group=pg)
    for r, row in enumerate(rows):
        theirs = _host(row._data)
        if int(theirs[0]) != len(params):
            raise RuntimeError(f"DDP expects same model across all ranks, but Rank "
                               f"{pg.rank()} has {len(params)} params, while rank {r} has "
                               f"inconsistent {int(theirs[0])} params.")
        if not np.array_equal(theirs[:len(mine)], padded[:len(mine)]):
            at, k = 1, 0
            while k < len(params):
                n = int(padded[at]) + 2
                if not np.array_equal(theirs[at:at + n], padded[at:at + n]):
                    break
                at, k = at + n, k + 1
            raise RuntimeError(
                f"DDP expects same model across all ranks, but Rank {pg.rank()} has param {k} "
                f"of shape {list(params[k].shape)} ({params[k].dtype}), while rank {r} has a "
                f"different shape or dtype there.")


_DTYPE_CODES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
                "float32", "float64", "complex64", "complex128"]


def _like(arr: np.ndarray, like: Tensor) -> Tensor:
    """``arr`` as a tensor on ``like``'s device."""
    return on_device_of(arr, like._data, like.device)


def _broadcast_coalesced(pg, tensors: list[Tensor], cap_bytes: int) -> None:
    """Broadcast rank 0's ``tensors`` in one flat buffer per dtype and device (up to
    ``cap_bytes`` each), then copy the values back in place."""
    if pg.size() == 1 or not tensors:
        return
    groups: dict = {}
    for t in tensors:
        groups.setdefault((str(t._data.dtype), str(t.device)), []).append(t)
    for group in groups.values():
        chunk: list[Tensor] = []
        size = 0
        for t in group + [None]:
            if t is None or (chunk and size + t._data.nbytes > cap_bytes):
                _broadcast_flat(pg, chunk)
                chunk, size = [], 0
            if t is not None:
                chunk.append(t)
                size += t._data.nbytes


def _broadcast_flat(pg, chunk: list[Tensor]) -> None:
    if not chunk:
        return
    from ... import distributed as dist
    xp = np if isinstance(chunk[0]._data, np.ndarray) else _cupy()
    flat = xp.concatenate([xp.ravel(t._data) for t in chunk])
    dist.broadcast(_make(flat, chunk[0].device), src=dist.get_global_rank(pg, 0), group=pg)
    offset = 0
    with no_grad():
        for t in chunk:
            n = t._data.size
            t.copy_(_make(flat[offset:offset + n].reshape(t._data.shape), t.device))
            offset += n


def _cupy():
    from ...device import cupy_module
    return cupy_module()


def _tensors_in(obj) -> list[Tensor]:
    """Every Tensor in a forward's output (nested tuples, lists, dicts)."""
    found: list[Tensor] = []
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            found.append(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif hasattr(o, "__dataclass_fields__"):
            stack.extend(getattr(o, f) for f in o.__dataclass_fields__)
    return found


def _move(obj, dev: str):
    """``obj`` with every tensor in it (through tuples, lists and dicts) moved to ``dev``."""
    if isinstance(obj, Tensor):
        return obj.to(dev)
    if isinstance(obj, tuple):
        return tuple(_move(o, dev) for o in obj)
    if isinstance(obj, list):
        return [_move(o, dev) for o in obj]
    if isinstance(obj, dict):
        return {k: _move(v, dev) for k, v in obj.items()}
    return obj


def _check_comm_hook(hook: Callable) -> None:
    """PyTorch's checks of a communication hook."""
    import inspect
    if not callable(hook):
        raise TypeError("Communication hook must be callable.")
    try:
        sig = inspect.signature(hook)
    except (TypeError, ValueError):
        return
    bucket = sig.parameters.get("bucket")
    if bucket is not None and bucket.annotation not in (inspect.Parameter.empty, GradBucket,
                                                        "GradBucket", "dist.GradBucket"):
        raise ValueError("Communication hook: bucket annotation should be dist.GradBucket.")
