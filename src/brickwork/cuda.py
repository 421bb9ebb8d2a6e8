"""``brickwork.cuda``: GPU queries and control, through CuPy when it is installed.

Without CuPy (or without a GPU) the queries answer as PyTorch does on a CPU-only machine:
``is_available()`` is False and ``device_count()`` is 0; calls that need a GPU raise a
RuntimeError saying what to install.
"""
from __future__ import annotations

from .device import _CUPY_HINT, cupy_module, device as _device


def _cupy():
    cp = cupy_module()
    if cp is None:
        raise RuntimeError(f"No CUDA GPUs are available: {_CUPY_HINT}.")
    return cp


def is_available() -> bool:
    """Whether a CUDA GPU can be used. See: torch.cuda.is_available."""
    return device_count() > 0


def device_count() -> int:
    """How many CUDA GPUs are visible (0 without CuPy or a GPU). See: torch.cuda.device_count."""
    cp = cupy_module()
    return cp.cuda.runtime.getDeviceCount() if cp is not None else 0


def current_device() -> int:
    """The index of the current CUDA device. See: torch.cuda.current_device."""
    return _cupy().cuda.runtime.getDevice()


def _index(dev) -> int:
    if dev is None:
        return current_device()
    if isinstance(dev, int):
        return dev
    d = _device(dev)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return current_device() if d.index is None else d.index


def set_device(dev) -> None:
    """Make ``dev`` the current CUDA device. See: torch.cuda.set_device."""
    _cupy().cuda.runtime.setDevice(_index(dev))


class device:
    """Context manager that makes ``dev`` the current CUDA device. See: torch.cuda.device."""

    def __init__(self, dev) -> None:
        self.idx = _index(dev)

    def __enter__(self):
        self.prev = current_device()
        set_device(self.idx)

    def __exit__(self, *exc) -> None:
        set_device(self.prev)


def synchronize(dev=None) -> None:
    """Wait for all kernels on the device to finish. See: torch.cuda.synchronize."""
    cp = _cupy()
    with cp.cuda.Device(_index(dev)):
        cp.cuda.Device().synchronize()


def get_device_name(dev=None) -> str:
    """The GPU's marketing name. See: torch.cuda.get_device_name."""
    return get_device_properties(dev).name


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


def get_device_properties(dev=None) -> _DeviceProperties:
    """Name, total memory and compute capability. See: torch.cuda.get_device_properties."""
    return _DeviceProperties(_cupy().cuda.runtime.getDeviceProperties(_index(dev)))


def get_device_capability(dev=None) -> tuple:
    """``(major, minor)`` compute capability. See: torch.cuda.get_device_capability."""
    props = get_device_properties(dev)
    return props.major, props.minor


def is_initialized() -> bool:
    """Whether CuPy is loaded and a GPU can be used. See: torch.cuda.is_initialized."""
    return cupy_module() is not None


_peak: dict = {}


def memory_allocated(dev=None) -> int:
    """Bytes held by tensors on the device (CuPy's memory pool).

    See: torch.cuda.memory_allocated.
    """
    cp = cupy_module()
    if cp is None:
        return 0
    idx = _index(dev)
    with cp.cuda.Device(idx):  # CuPy's default pool answers for the current device
        used = cp.get_default_memory_pool().used_bytes()
    _peak[idx] = max(_peak.get(idx, 0), used)
    return used


def max_memory_allocated(dev=None) -> int:
    """The largest ``memory_allocated`` seen since the last reset.

    Sampled when ``memory_allocated`` or this is called (CuPy's pool keeps no peak), so a peak
    between two queries is missed; PyTorch's counts every allocation.
    """
    if cupy_module() is None:
        return 0
    memory_allocated(dev)
    return _peak.get(_index(dev), 0)


def reset_peak_memory_stats(dev=None) -> None:
    if cupy_module() is not None:
        _peak[_index(dev)] = 0


def empty_cache() -> None:
    """Return cached, unused GPU memory to the driver. See: torch.cuda.empty_cache."""
    cp = cupy_module()
    if cp is not None:
        cp.get_default_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed the GPU generators; device draws come from the CPU generator, seeded separately."""


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator. See: torch.cuda.manual_seed_all."""
from .kernels import elementwise  # noqa: E402,F401
