"""``brickwork.cpu``: the CPU as a device module, as ``torch.cpu`` presents it.

The CPU backend is NumPy: it is always available, is one device, and runs every op to
completion before returning, so streams are in-order by construction and ``synchronize`` has
nothing to wait for. ``brickwork.cpu.amp.autocast`` is the deprecated spelling of
``brickwork.autocast('cpu')``. See: torch.cpu.
"""
from __future__ import annotations

import contextlib
import sys as _sys

from .amp import cpu_compat as amp

_sys.modules[__name__ + ".amp"] = amp


def is_available() -> bool:
    """Always True. See: torch.cpu.is_available."""
    return True


def is_initialized() -> bool:
    """Always True (there is nothing to initialize). See: torch.cpu.is_initialized."""
    return True


def device_count() -> int:
    """One: NumPy sees the machine as a single device. See: torch.cpu.device_count."""
    return 1


def current_device() -> str:
    """``'cpu'``. See: torch.cpu.current_device."""
    return "cpu"


def _check_cpu(device) -> None:
    from .device import device as _device

    if device is not None and _device(device).type != "cpu":
        raise ValueError(f"Expected a cpu device, but got: {device}")


def set_device(device) -> None:
    """Accepts only the CPU itself (there is one). See: torch.cpu.set_device."""
    _check_cpu(device)


def synchronize(device=None) -> None:
    """Returns at once: CPU ops have finished when they return. See: torch.cpu.synchronize."""
    _check_cpu(device)


def current_stream(device=None):
    """The CPU's stream. See: torch.cpu.current_stream."""
    from .ops._extra_streams import Stream

    _check_cpu(device)
    return Stream(device="cpu")


@contextlib.contextmanager
def stream(stream):
    """Run the block on ``stream`` (on the CPU, a no-op: there is only one order of work).

    See: torch.cpu.stream.
    """
    dev = getattr(stream, "device", None)
    if stream is not None and getattr(dev, "type", "cpu") != "cpu":
        raise ValueError(f"Expected a cpu stream, but got {stream}")
    yield


def get_capabilities() -> dict:
    """The CPU's vector instruction sets as NumPy detects them (``{name: bool}``), and its
    architecture. See: torch.cpu.get_capabilities."""
    import platform

    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
    except ImportError:  # pragma: no cover - older NumPy
        from numpy.core._multiarray_umath import __cpu_features__ as feats
    caps = {k.lower(): bool(v) for k, v in feats.items()}
    caps["architecture"] = platform.machine()
    return caps


__all__ = ["amp", "is_available", "is_initialized", "device_count", "current_device",
           "set_device", "synchronize", "current_stream", "stream", "get_capabilities"]
