"""``brickwork.accelerator``: the device-neutral view of the GPU, as PyTorch 2.6+ offers it.

brickwork's one accelerator is CUDA through CuPy. Without CuPy or a GPU there is none:
``is_available()`` is False, ``current_accelerator()`` None, and the calls that need a device
raise the RuntimeError PyTorch raises then.

See: torch.accelerator.
"""
from __future__ import annotations

import warnings

from .device import cupy_module, device as _device

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "current_stream",
           "device_count", "device_index", "empty_cache", "get_memory_info", "is_available",
           "max_memory_allocated", "max_memory_reserved", "memory_allocated", "memory_reserved",
           "memory_stats", "reset_peak_memory_stats", "set_device_idx", "set_device_index",
           "synchronize"]

_NONE = "Cannot access accelerator device when none is available."


def current_accelerator(check_available: bool = False) -> _device | None:
    """``device('cuda')`` when CuPy can use a GPU, else None.

    ``check_available`` asks for None when the accelerator cannot be used; brickwork counts
    CUDA as its accelerator only when it can be used, so both answers agree.

    See: torch.accelerator.current_accelerator.
    """
    if not isinstance(check_available, bool):
        raise TypeError(f"check_available must be a bool, got {type(check_available).__name__}")
    return _device("cuda") if cupy_module() is not None else None


def is_available() -> bool:
    """Whether an accelerator (a CUDA GPU through CuPy) can be used.

    See: torch.accelerator.is_available.
    """
    return device_count() > 0


def device_count() -> int:
    """How many accelerator devices there are (0 without one).

    See: torch.accelerator.device_count.
    """
    from . import cuda

    return cuda.device_count()


def _require():
    if current_accelerator() is None:
        raise RuntimeError(_NONE)
    from . import cuda

    return cuda


def _index_of(dev) -> int:
    if isinstance(dev, int) and not isinstance(dev, bool):
        return dev
    d = _device(dev)
    if d.type != "cuda":
        raise ValueError(f"{d} doesn't match the current accelerator cuda.")
    return _require().current_device() if d.index is None else d.index


def current_device_index() -> int:
    """The index of the current accelerator device.

    See: torch.accelerator.current_device_index.
    """
    return _require().current_device()


def set_device_index(device) -> None:  # noqa: F811 - PyTorch's parameter name
    """Make ``device`` (an index, ``'cuda:1'`` or a device) the current accelerator device.

    See: torch.accelerator.set_device_index.
    """
    cuda = _require()
    cuda.set_device(_index_of(device))


def synchronize(device=None) -> None:  # noqa: F811 - PyTorch's parameter name
    """Wait for all work on ``device`` (default: the current one) to finish.

    See: torch.accelerator.synchronize.
    """
    cuda = _require()
    cuda.synchronize(None if device is None else _index_of(device))


def current_device_idx() -> int:
    """Deprecated name of :func:`current_device_index`."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device) -> None:  # noqa: F811 - PyTorch's parameter name
    """Deprecated name of :func:`set_device_index`."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


class device_index:  # noqa: N801 - PyTorch's class name
    """Context manager that makes ``device`` the current accelerator device inside it;
    ``None`` does nothing.

    See: torch.accelerator.device_index.
    """

    def __init__(self, device: int | None, /) -> None:  # noqa: F811
        self.idx = device
        self.prev: int | None = None

    def __enter__(self) -> None:
        if self.idx is not None:
            cuda = _require()
            self.prev = cuda.current_device()
            if self.prev != self.idx:
                cuda.set_device(self.idx)

    def __exit__(self, *exc) -> None:
        if self.idx is not None and self.prev != self.idx:
            _require().set_device(self.prev)


# -- memory and streams: the ``cuda`` module's, behind the "is there an accelerator" check --------
def _on_accelerator(name: str, doc: str):
    def query(device_index=None, /):
        cuda = _require()
        return getattr(cuda, name)(None if device_index is None else _index_of(device_index))

    query.__name__ = query.__qualname__ = name
    query.__doc__ = f"{doc}\n\n    See: torch.accelerator.{name} and brickwork.cuda.{name}.\n    "
    return query


memory_allocated = _on_accelerator("memory_allocated", "Bytes held by tensors on the device.")
max_memory_allocated = _on_accelerator("max_memory_allocated",
                                       "The largest ``memory_allocated`` since the last reset.")
memory_reserved = _on_accelerator("memory_reserved", "Bytes held by the memory pool.")
max_memory_reserved = _on_accelerator("max_memory_reserved",
                                      "The largest ``memory_reserved`` since the last reset.")
memory_stats = _on_accelerator("memory_stats", "The memory counters, by PyTorch's key names.")
reset_peak_memory_stats = _on_accelerator("reset_peak_memory_stats",
                                          "Start the memory peaks again from now.")
current_stream = _on_accelerator("current_stream", "The stream work on the device is queued on.")


def get_memory_info(device_index=None, /) -> tuple[int, int]:
    """``(free, total)`` bytes of the device. See: torch.accelerator.get_memory_info."""
    cuda = _require()
    return cuda.mem_get_info(None if device_index is None else _index_of(device_index))


def empty_cache() -> None:
    """Return cached, unused device memory to the driver. See: torch.accelerator.empty_cache."""
    _require().empty_cache()
