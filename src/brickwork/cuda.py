"""``brickwork.cuda``: GPU queries and control, through CuPy when it is installed.

Without CuPy the module answers as PyTorch's CPU-only build does: ``is_available()`` is False,
``device_count()`` 0, the memory counters 0 and ``memory_stats()`` empty, and the calls that
need a GPU raise PyTorch's ``AssertionError: Torch not compiled with CUDA enabled`` (with what to
install). With CuPy installed but no GPU they raise PyTorch's ``RuntimeError: No CUDA GPUs are
available``. Where PyTorch's CPU build fails by accident (``set_device``,
``reset_peak_memory_stats`` and ``memory_summary`` raise AttributeError or KeyError there),
brickwork raises that same AssertionError.
"""
from __future__ import annotations

import importlib.util

from .device import _CUPY_HINT, cupy_module, device as _device


def _cupy():
    cp = cupy_module()
    if cp is None:
        if importlib.util.find_spec("cupy") is None:
            raise AssertionError(f"Torch not compiled with CUDA enabled: {_CUPY_HINT}")
        raise RuntimeError("No CUDA GPUs are available (CuPy is installed but finds no usable "
                           "GPU or driver)")
    return cp


def is_available() -> bool:
    """Whether a CUDA GPU can be used. See: torch.cuda.is_available."""
    return device_count() > 0


def device_count() -> int:
    """How many CUDA GPUs are visible (0 without CuPy or a GPU). See: torch.cuda.device_count."""
    cp = cupy_module()
    return cp.cuda.runtime.getDeviceCount() if cp is not None else 0


def init() -> None:
    """Check that CUDA can be used (CuPy initialises itself on first use). See: torch.cuda.init."""
    _cupy()


def is_initialized() -> bool:
    """Whether CuPy is loaded and a GPU can be used. See: torch.cuda.is_initialized."""
    return cupy_module() is not None


def current_device() -> int:
    """The index of the current CUDA device. See: torch.cuda.current_device."""
    return _cupy().cuda.runtime.getDevice()


def _index(dev) -> int:
    """A device argument (None, an index, ``'cuda:1'``, a device) as a CUDA index."""
    if dev is None:
        return current_device()
    if isinstance(dev, int) and not isinstance(dev, bool):
        return dev
    d = _device(dev)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return current_device() if d.index is None else d.index


def set_device(device) -> None:  # noqa: F811 - PyTorch's parameter name
    """Make ``device`` the current CUDA device; a negative index does nothing.

    See: torch.cuda.set_device.
    """
    idx = _index(device) if device is not None else -1
    if idx >= 0:
        _cupy().cuda.runtime.setDevice(idx)


class device:  # noqa: N801 - PyTorch's class name
    """Context manager that makes ``device`` the current CUDA device; None or a negative index
    does nothing.

    See: torch.cuda.device.
    """

    def __init__(self, device) -> None:  # noqa: F811
        self.idx = -1 if device is None else _index(device)
        self.prev = -1

    def __enter__(self) -> None:
        if self.idx >= 0:
            if cupy_module() is None and importlib.util.find_spec("cupy") is None:
                raise RuntimeError(f"brickwork has no CUDA support: {_CUPY_HINT}")
            self.prev = current_device()
            if self.prev != self.idx:
                set_device(self.idx)

    def __exit__(self, *exc) -> None:
        if self.idx >= 0 and self.prev != self.idx:
            set_device(self.prev)


def synchronize(device=None) -> None:  # noqa: F811
    """Wait for all kernels on the device to finish. See: torch.cuda.synchronize."""
    cp = _cupy()
    with cp.cuda.Device(_index(device)):
        cp.cuda.Device().synchronize()


def get_device_name(device=None) -> str:  # noqa: F811
    """The GPU's marketing name. See: torch.cuda.get_device_name."""
    return get_device_properties(device).name


class _DeviceProperties:
    """What ``get_device_properties`` reports: name, memory and compute capability."""

    def __init__(self, props: dict) -> None:
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else name
        self.total_memory = int(props["totalGlobalMem"])
        self.major, self.minor = int(props["major"]), int(props["minor"])
        self.multi_processor_count = int(props["multiProcessorCount"])

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // 2**20}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None) -> _DeviceProperties:  # noqa: F811
    """Name, total memory and compute capability. See: torch.cuda.get_device_properties."""
    cp = _cupy()
    return _DeviceProperties(cp.cuda.runtime.getDeviceProperties(_index(device)))


def get_device_capability(device=None) -> tuple:  # noqa: F811
    """``(major, minor)`` compute capability. See: torch.cuda.get_device_capability."""
    props = get_device_properties(device)
    return props.major, props.minor


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether bfloat16 tensors can live on the current GPU.

    brickwork's GPU arrays are CuPy's, so this needs a GPU and a CuPy that computes on
    bfloat16 (see ``ops/_bf16.py``). Like PyTorch, ``including_emulation=False`` also asks for
    native bfloat16 arithmetic: compute capability 8.0 (Ampere) or later.

    See: torch.cuda.is_bf16_supported.
    """
    if not is_available():
        return False
    from .ops._bf16 import gpu_supports_bfloat16

    if not gpu_supports_bfloat16():
        return False
    return including_emulation or get_device_capability() >= (8, 0)


# -- memory -----------------------------------------------------------------------------------
# CuPy's pool keeps no peaks, so they are sampled whenever a counter is read.
_peak: dict = {}  # (device index, "allocated" | "reserved") -> bytes


def _pool_bytes(device) -> tuple[int, int, int] | None:
    """(index, bytes in use, bytes held by the pool) on ``device``; None without CuPy."""
    cp = cupy_module()
    if cp is None:
        return None
    idx = _index(device)
    with cp.cuda.Device(idx):  # CuPy's default pool answers for the current device
        pool = cp.get_default_memory_pool()
        used, held = pool.used_bytes(), pool.total_bytes()
    for kind, value in (("allocated", used), ("reserved", held)):
        _peak[idx, kind] = max(_peak.get((idx, kind), 0), value)
    return idx, used, held


def memory_allocated(device=None) -> int:  # noqa: F811
    """Bytes held by tensors on the device (in use in CuPy's memory pool); 0 without CUDA.

    See: torch.cuda.memory_allocated.
    """
    got = _pool_bytes(device)
    return 0 if got is None else got[1]


def max_memory_allocated(device=None) -> int:  # noqa: F811
    """The largest ``memory_allocated`` seen since the last reset.

    Sampled when a memory counter is read (CuPy's pool keeps no peak), so a peak between two
    reads is missed; PyTorch's counts every allocation.

    See: torch.cuda.max_memory_allocated.
    """
    got = _pool_bytes(device)
    return 0 if got is None else _peak[got[0], "allocated"]


def memory_reserved(device=None) -> int:  # noqa: F811
    """Bytes CuPy's memory pool holds on the device, in use or cached; 0 without CUDA.

    See: torch.cuda.memory_reserved.
    """
    got = _pool_bytes(device)
    return 0 if got is None else got[2]


def max_memory_reserved(device=None) -> int:  # noqa: F811
    """The largest ``memory_reserved`` seen since the last reset (sampled, as
    ``max_memory_allocated`` is).

    See: torch.cuda.max_memory_reserved.
    """
    got = _pool_bytes(device)
    return 0 if got is None else _peak[got[0], "reserved"]


def memory_stats(device=None) -> dict:  # noqa: F811
    """The memory counters brickwork keeps, under PyTorch's key names; empty without CUDA.

    Only ``allocated_bytes.all.{current,peak}`` and ``reserved_bytes.all.{current,peak}``:
    CuPy's pool does not count allocations, frees or fragmentation as PyTorch's allocator does.

    See: torch.cuda.memory_stats.
    """
    got = _pool_bytes(device)
    if got is None:
        return {}
    idx, used, held = got
    return {"allocated_bytes.all.current": used,
            "allocated_bytes.all.peak": _peak[idx, "allocated"],
            "reserved_bytes.all.current": held,
            "reserved_bytes.all.peak": _peak[idx, "reserved"]}


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def memory_summary(device=None, abbreviated: bool = False) -> str:  # noqa: F811
    """A printable table of ``memory_stats``.

    brickwork's table has only the rows it knows (current and peak allocated and reserved
    bytes), so it is always as short as PyTorch's abbreviated one and ``abbreviated`` is
    ignored. Without CUDA it raises, as PyTorch's CPU build does.

    See: torch.cuda.memory_summary.
    """
    _cupy()
    idx = _index(device)
    stats = memory_stats(idx)
    rule = "|" + "=" * 59 + "|"
    lines = [rule, f"|{f'brickwork CUDA memory summary, device ID {idx}':^59}|",
             "|" + "-" * 59 + "|", f"| {'Metric':<25}| {'Cur Usage':>14} | {'Peak Usage':>14} |",
             "|" + "-" * 59 + "|"]
    for label, key in (("Allocated memory", "allocated_bytes"),
                       ("Reserved memory (pool)", "reserved_bytes")):
        cur, peak = stats[f"{key}.all.current"], stats[f"{key}.all.peak"]
        lines.append(f"| {label:<25}| {_fmt_bytes(cur):>14} | {_fmt_bytes(peak):>14} |")
    lines.append(rule)
    return "\n".join(lines) + "\n"


def mem_get_info(device=None) -> tuple[int, int]:  # noqa: F811
    """``(free, total)`` bytes of the GPU, as the driver reports them.

    See: torch.cuda.mem_get_info.
    """
    cp = _cupy()
    with cp.cuda.Device(_index(device)):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)


def reset_peak_memory_stats(device=None) -> None:  # noqa: F811
    """Start the peaks of ``max_memory_allocated`` and ``max_memory_reserved`` again from now.

    See: torch.cuda.reset_peak_memory_stats.
    """
    _cupy()
    idx = _index(device)
    _peak.pop((idx, "allocated"), None)
    _peak.pop((idx, "reserved"), None)


def empty_cache() -> None:
    """Return cached, unused GPU memory to the driver. See: torch.cuda.empty_cache."""
    cp = cupy_module()
    if cp is not None:
        cp.get_default_memory_pool().free_all_blocks()


# -- streams and events -----------------------------------------------------------------------
# Thin wrappers over CuPy's: brickwork's kernels launch on CuPy's current stream, so making a
# stream current (``stream(s)``, ``set_stream``) is what moves brickwork's work onto it.
class Stream:
    """A CUDA stream on ``device``: an ordered queue of GPU work.

    Only the default ``priority`` 0 is supported: CuPy's streams have no priority, so another
    value raises NotImplementedError rather than being dropped.

    See: torch.cuda.Stream.
    """

    def __init__(self, device=None, priority: int = 0) -> None:  # noqa: F811
        cp = cupy_module()
        if cp is None:
            raise RuntimeError(f"brickwork.cuda.Stream requires CUDA support: {_CUPY_HINT}")
        if priority != 0:
            raise NotImplementedError(f"Stream(priority={priority}): CuPy's streams have no "
                                      "priority; brickwork supports only priority=0")
        idx = _index(device)
        with cp.cuda.Device(idx):
            raw = cp.cuda.Stream(non_blocking=False)
        self._init(raw, idx)

    def _init(self, raw, idx: int) -> None:
        self._raw, self._idx = raw, idx

    @classmethod
    def _wrap(cls, raw, idx: int) -> "Stream":
        s = cls.__new__(cls)
        s._init(raw, idx)
        return s

    @property
    def device(self) -> _device:
        return _device("cuda", self._idx)

    @property
    def cuda_stream(self) -> int:
        """The ``cudaStream_t`` handle as an integer (0 for the default stream)."""
        return int(self._raw.ptr)

    def query(self) -> bool:
        """Whether all work queued on the stream has finished."""
        return bool(self._raw.done)

    def synchronize(self) -> None:
        """Wait for all work queued on the stream."""
        self._raw.synchronize()

    def wait_event(self, event: "Event") -> None:
        """Make later work on this stream wait for ``event``."""
        self._raw.wait_event(event._raw)

    def wait_stream(self, stream: "Stream") -> None:
        """Make later work on this stream wait for the work queued on ``stream`` so far."""
        self.wait_event(stream.record_event())

    def record_event(self, event: "Event | None" = None) -> "Event":
        """Record ``event`` (a new one if None) on this stream and return it."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and (self.cuda_stream, self._idx) == \
            (other.cuda_stream, other._idx)

    def __hash__(self) -> int:
        return hash((self.cuda_stream, self._idx))

    def __repr__(self) -> str:
        return f"<brickwork.cuda.Stream device=cuda:{self._idx} cuda_stream={self.cuda_stream:#x}>"


class Event:
    """A CUDA event: a marker in a stream, to wait on or to time between.

    ``enable_timing`` allows ``elapsed_time``; ``blocking`` makes ``synchronize`` sleep rather
    than spin; ``interprocess`` allows sharing with other processes (CuPy's flags).

    See: torch.cuda.Event.
    """

    def __init__(self, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:
        cp = cupy_module()
        if cp is None:
            raise RuntimeError(f"brickwork.cuda.Event requires CUDA support: {_CUPY_HINT}")
        self._raw = cp.cuda.Event(block=blocking, disable_timing=not enable_timing,
                                  interprocess=interprocess)

    def record(self, stream: Stream | None = None) -> None:
        """Mark the point reached by ``stream`` (default: the current stream)."""
        self._raw.record((stream if stream is not None else current_stream())._raw)

    def wait(self, stream: Stream | None = None) -> None:
        """Make later work on ``stream`` (default: the current one) wait for this event."""
        (stream if stream is not None else current_stream()).wait_event(self)

    def query(self) -> bool:
        """Whether the work before the recorded point has finished."""
        return bool(self._raw.done)

    def synchronize(self) -> None:
        """Wait until the work before the recorded point has finished."""
        self._raw.synchronize()

    def elapsed_time(self, end_event: "Event") -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, with timing)."""
        return float(_cupy().cuda.get_elapsed_time(self._raw, end_event._raw))


def current_stream(device=None) -> Stream:  # noqa: F811
    """The stream that work on ``device`` is queued on. See: torch.cuda.current_stream."""
    cp = _cupy()
    idx = _index(device)
    with cp.cuda.Device(idx):
        return Stream._wrap(cp.cuda.get_current_stream(), idx)


def default_stream(device=None) -> Stream:  # noqa: F811
    """The device's default (null) stream. See: torch.cuda.default_stream."""
    cp = _cupy()
    return Stream._wrap(cp.cuda.Stream.null, _index(device))


def set_stream(stream: Stream) -> None:
    """Make ``stream`` the current stream of its device. See: torch.cuda.set_stream."""
    if stream is not None:
        cp = _cupy()
        with cp.cuda.Device(stream._idx):
            stream._raw.use()


class StreamContext:
    """Context manager that queues the block's work on ``stream`` (None: does nothing), and
    makes the stream's device current inside it, as PyTorch does.

    See: torch.cuda.StreamContext.
    """

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream
        self.prev_device = -1

    def __enter__(self) -> None:
        if self.stream is None:
            return
        cp = _cupy()
        self.prev_device = cp.cuda.runtime.getDevice()
        cp.cuda.runtime.setDevice(self.stream._idx)
        self.stream._raw.__enter__()

    def __exit__(self, *exc) -> None:
        if self.stream is None:
            return
        self.stream._raw.__exit__(*exc)
        cupy_module().cuda.runtime.setDevice(self.prev_device)


def stream(stream: Stream | None) -> StreamContext:
    """``with stream(s):`` queues the block's work on ``s``. See: torch.cuda.stream."""
    return StreamContext(stream)


def manual_seed(seed: int) -> None:
    """Seed the GPU generators; device draws come from the CPU generator, seeded separately."""


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator. See: torch.cuda.manual_seed_all."""
from .kernels import elementwise  # noqa: E402,F401

# torch.cuda.amp: the deprecated home of GradScaler (``import brickwork.cuda.amp`` works too).
import sys as _sys  # noqa: E402

from .amp import cuda_compat as amp  # noqa: E402
from .ops._extra_torch import OutOfMemoryError  # noqa: E402,F401  (torch.cuda's is torch's)

_sys.modules[__name__ + ".amp"] = amp
