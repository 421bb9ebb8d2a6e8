"""Device-generic streams and events (``torch.Stream``, ``torch.Event``) and eager futures
(``torch.Future``, ``torch.fork``, ``torch.wait``).

On the CPU a stream is the host thread itself: work is done when it returns, so a stream is
always idle and waiting is a no-op; events are refused there, as by PyTorch's CPU backend. On
CUDA both wrap ``brickwork.cuda``'s (CuPy's) streams and events.

``fork`` runs its function at once, as PyTorch's ``torch.fork`` does outside TorchScript, and
returns a completed future.
"""
from __future__ import annotations

from ..device import device as _device

_NO_CPU_EVENTS = "cpu backend doesn't support events."


def _resolve(device) -> _device:
    if device is None:
        import brickwork

        return _device("cuda", brickwork.cuda.current_device()) \
            if brickwork.cuda.is_available() else _device("cpu")
    dev = _device(device) if not isinstance(device, _device) else device
    if dev.type == "cuda" and dev.index is None:
        import brickwork

        dev = _device("cuda", brickwork.cuda.current_device())
    if dev.type not in ("cpu", "cuda"):
        raise RuntimeError(f"brickwork has no {dev.type} backend for streams")
    return dev


class Stream:
    """An in-order queue of work on a device (the current accelerator's by default).

    See: torch.Stream.
    """

    def __init__(self, device=None, *, priority: int = 0) -> None:  # noqa: F811
        dev = _resolve(device)
        self._dev = dev
        self._raw = None
        if dev.type == "cuda":
            from .. import cuda

            self._raw = cuda.Stream(dev, priority=priority)

    @property
    def device(self) -> _device:
        return self._dev

    @property
    def device_type(self) -> int:
        return 0 if self._dev.type == "cpu" else 1  # c10::DeviceType: CPU 0, CUDA 1

    @property
    def device_index(self) -> int:
        return -1 if self._dev.type == "cpu" else self._dev.index

    @property
    def stream_id(self) -> int:
        return 0 if self._raw is None else self._raw.cuda_stream

    @property
    def native_handle(self) -> int:
        return self.stream_id

    def is_capturing(self) -> bool:
        """False: brickwork does not capture CUDA graphs."""
        return False

    def query(self) -> bool:
        """Whether all work queued so far is done."""
        return True if self._raw is None else self._raw.query()

    def synchronize(self) -> None:
        """Wait until all work queued so far is done."""
        if self._raw is not None:
            self._raw.synchronize()

    def record_event(self, event: "Event | None" = None) -> "Event":
        """Record ``event`` (a new one by default) at this point of the stream."""
        if self._raw is None:
            raise RuntimeError(_NO_CPU_EVENTS)
        event = Event(self._dev) if event is None else event
        event.record(self)
        return event

    def wait_event(self, event: "Event") -> None:
        """Make later work on this stream wait for ``event``."""
        if self._raw is None:
            raise RuntimeError(_NO_CPU_EVENTS)
        self._raw.wait_event(event._raw)

    def wait_stream(self, stream: "Stream") -> None:
        """Make later work on this stream wait for the work queued on ``stream`` so far."""
        if self._raw is None:
            raise RuntimeError(_NO_CPU_EVENTS)
        self._raw.wait_stream(stream._raw)

    def __enter__(self) -> "Stream":
        if self._raw is not None:
            from .. import cuda

            self._ctx = cuda.stream(self._raw)
            self._ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        ctx = getattr(self, "_ctx", None)
        if ctx is not None:
            ctx.__exit__(*exc)
            self._ctx = None

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and other._dev == self._dev \
            and other.stream_id == self.stream_id

    def __hash__(self) -> int:
        return hash((str(self._dev), self.stream_id))

    def __repr__(self) -> str:
        return (f"brickwork.Stream device_type={self._dev.type}, device_index="
                f"{self.device_index}, stream_id={self.stream_id}")


class Event:
    """A marker in a stream, to wait on or to time between (CUDA only, as PyTorch's CPU backend
    has no events).

    See: torch.Event.
    """

    def __init__(self, device=None, *, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:  # noqa: F811
        self._dev = _resolve(device)
        self._timing = bool(enable_timing)
        self._raw = None
        if self._dev.type == "cuda":
            from .. import cuda

            self._raw = cuda.Event(enable_timing=enable_timing, blocking=blocking,
                                   interprocess=interprocess)
        elif blocking or interprocess:
            raise RuntimeError(_NO_CPU_EVENTS)

    @property
    def device(self) -> _device:
        return self._dev

    @property
    def event_id(self) -> int:
        return 0 if self._raw is None else id(self._raw)

    def record(self, stream: Stream | None = None) -> None:
        """Mark the point reached by ``stream`` (default: the current one)."""
        if self._raw is None:
            raise RuntimeError(_NO_CPU_EVENTS)
        self._raw.record(None if stream is None else stream._raw)

    def wait(self, stream: Stream | None = None) -> None:
        """Make ``stream`` (default: the current one) wait for this event."""
        if self._raw is not None:
            self._raw.wait(None if stream is None else stream._raw)

    def query(self) -> bool:
        """Whether the work before this event is done."""
        return True if self._raw is None else self._raw.query()

    def synchronize(self) -> None:
        """Wait until the work before this event is done."""
        if self._raw is not None:
            self._raw.synchronize()

    def elapsed_time(self, end_event: "Event") -> float:
        """Milliseconds from this event to ``end_event`` (both need ``enable_timing``)."""
        if not (self._timing and end_event._timing):
            raise ValueError("Both events must be created with argument 'enable_timing=True'.")
        if self._raw is None:
            raise RuntimeError(_NO_CPU_EVENTS)
        return self._raw.elapsed_time(end_event._raw)

    def ipc_handle(self):
        """Not available: brickwork's events cannot be shared between processes."""
        raise NotImplementedError("Event.ipc_handle: brickwork's events cannot be shared "
                                  "between processes")

    @classmethod
    def from_ipc_handle(cls, device, ipc_handle):
        """Not available: brickwork's events cannot be shared between processes."""
        raise NotImplementedError("Event.from_ipc_handle: brickwork's events cannot be shared "
                                  "between processes")

    def __repr__(self) -> str:
        index = -1 if self._dev.type == "cpu" else self._dev.index
        return (f"brickwork.Event device_type={self._dev.type}, device_index={index}, "
                f"event_flag=0, event_id={self.event_id}")


# -- futures --------------------------------------------------------------------------------------
_PENDING = object()


class Future:
    """The result of an asynchronous computation; brickwork's complete eagerly.

    See: torch.Future.
    """

    def __init__(self, devices=None) -> None:
        self._devices = [] if devices is None else [_device(d) for d in devices]
        self._value = _PENDING
        self._error = None
        self._callbacks: list = []

    def done(self) -> bool:
        return self._value is not _PENDING or self._error is not None

    def set_result(self, result) -> None:
        """Complete the future with ``result`` and run its callbacks."""
        if self.done():
            raise RuntimeError("Attempting to mark a completed Future as complete again. Note "
                               "that a Future can only be marked completed once.")
        self._value = result
        self._run_callbacks()

    def _set_error(self, error: BaseException) -> None:
        self._error = error
        self._run_callbacks()

    def _run_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb(self)

    def value(self):
        """The result (raising the computation's error); the future must be done."""
        if self._error is not None:
            raise self._error
        if self._value is _PENDING:
            raise RuntimeError("Future.value(): the future is not completed yet; call wait()")
        return self._value

    def wait(self):
        """The result. A pending future can never complete here (nothing runs in the
        background), so waiting on one raises rather than hanging."""
        if not self.done():
            raise RuntimeError("Future.wait(): this future is not completed and nothing will "
                               "complete it (brickwork runs work eagerly)")
        return self.value()

    def then(self, callback) -> "Future":
        """A future of ``callback(self)``, run when this one completes."""
        out = Future(self._devices)

        def chain(fut):
            try:
                out.set_result(callback(fut))
            except Exception as exc:  # noqa: BLE001 - the error becomes the future's
                out._set_error(exc)

        self.add_done_callback(chain)
        return out

    def add_done_callback(self, callback) -> None:
        """Run ``callback(self)`` when done (now, if it is)."""
        if self.done():
            callback(self)
        else:
            self._callbacks.append(callback)

    def __repr__(self) -> str:
        return f"<brickwork.Future {'done' if self.done() else 'pending'}>"


def fork(func, *args, **kwargs) -> Future:
    """Run ``func(*args, **kwargs)`` and return a completed future of its result (eagerly, as
    PyTorch's fork outside TorchScript). See: torch.fork."""
    fut = Future()
    fut.set_result(func(*args, **kwargs))
    return fut


def wait(future: Future):
    """The result of a future from ``fork``. See: torch.wait."""
    if not isinstance(future, Future):
        raise TypeError(f"wait(): argument must be a Future, got {type(future).__name__}")
    return future.wait()


__all__ = ["Stream", "Event", "Future", "fork", "wait"]
