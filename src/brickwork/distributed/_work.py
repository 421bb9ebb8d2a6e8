"""Work handles and the per-group communication thread.

Every operation of a process group runs on that group's one communication thread, in the order
the program issued them, so collectives match across ranks whatever mixes of ``async_op`` the
program uses. mpi4py releases the GIL inside MPI calls, so an all-reduce started with
``async_op=True`` proceeds while the issuing thread goes on (DistributedDataParallel overlaps
gradient communication with backward this way, as PyTorch's reducer does). Waiting polls for
notices of a failed rank (``_failure.py``) and gives up at the group's timeout.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable

from ..futures import Future
from . import _failure

_POLL_S = 0.05  # how often a waiting thread looks for failure notices


class DistError(RuntimeError):
    """The base of the distributed package's errors. See: torch.distributed.DistError."""


class DistBackendError(DistError):
    """A collective failed: a rank stopped, or the group timed out. See: torch.distributed."""


class DistNetworkError(DistError):
    """A network failure. See: torch.distributed.DistNetworkError."""


class DistStoreError(DistError):
    """A key-value store failure (brickwork has no store: MPI does the rendezvous).
    See: torch.distributed.DistStoreError."""


class Work:
    """A handle on one operation of a process group. See: torch.distributed.Work."""

    def __init__(self, what: str, group, outputs: Callable[[], Any] | None = None) -> None:
        self._what = what
        self._group = group
        self._done = _Done()
        self._error: BaseException | None = None
        self._outputs = outputs
        self._finish: Callable[[], None] | None = None  # runs on the waiting thread
        self._source_rank = -1

    def _complete(self, error: BaseException | None = None) -> None:
        self._error = error
        self._done.set()

    def is_completed(self) -> bool:
        """True once the operation finished (successfully or not)."""
        return self._done.is_set()

    def is_success(self) -> bool:
        """True once the operation finished without an error."""
        return self._done.is_set() and self._error is None

    def exception(self) -> BaseException | None:
        """The error the operation ended with, if any."""
        return self._error

    def wait(self, timeout=None) -> bool:
        """Block until the operation finishes; raise its error. Returns True.

        Args:
            timeout: a ``datetime.timedelta`` (default: the group's timeout).
        """
        limit = self._group._timeout_s if timeout is None else _seconds(timeout)
        deadline = time.monotonic() + limit
        while not self._done.wait(_POLL_S):
            _failure.check(self._what)
            if time.monotonic() > deadline:
                raise DistBackendError(
                    f"{self._what} on rank {self._group._global_rank} did not finish within "
                    f"{limit:g} s (the process group's timeout): another rank has stopped or "
                    "has not reached this collective")
        if self._error is not None:
            raise self._error
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()
        return True

    def result(self) -> list:
        """The output tensors, once waited on."""
        self.wait()
        return [] if self._outputs is None else list(self._outputs())

    def get_future(self) -> Future:
        """A future holding ``result()``, completed when this work is waited on."""
        return Future._from_work(self.result, self.is_completed)

    def source_rank(self) -> int:
        """For a receive from any source: the rank the message came from."""
        self.wait()
        return self._source_rank

    def synchronize(self) -> None:
        """Same as ``wait()`` (brickwork's work has no stream to synchronize with)."""
        self.wait()

    def __repr__(self) -> str:
        state = "completed" if self.is_completed() else "pending"
        return f"<brickwork.distributed.Work {self._what} ({state})>"


class _Done:
    """A completion flag; the ``threading.Event`` behind it is made only when a thread has to
    wait for it (an operation run inline completes before anyone waits)."""

    __slots__ = ("_set", "_event", "_lock")
    _guard = threading.Lock()

    def __init__(self) -> None:
        self._set = False
        self._event: threading.Event | None = None

    def set(self) -> None:
        with _Done._guard:
            self._set = True
            event = self._event
        if event is not None:
            event.set()

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        if self._set:
            return True
        with _Done._guard:
            if self._set:
                return True
            if self._event is None:
                self._event = threading.Event()
            event = self._event
        return event.wait(timeout)


def _seconds(timeout) -> float:
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)


class Worker:
    """Runs a group's operations in issue order: on its thread, or on the caller's thread
    when nothing is queued (a synchronous collective then costs no thread switch; the thread
    switch costs about 0.1 ms, a tenth of a 4 MB all-reduce). Without a thread-safe MPI
    everything runs on the caller's thread."""

    def __init__(self, name: str, threaded: bool) -> None:
        self._threaded = threaded
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._name = name
        self._lock = threading.Lock()  # held while an operation runs, on either thread
        self._pending = 0  # operations queued and not yet finished

    def submit(self, work: Work, fn: Callable[[], Any], inline: bool = False) -> Work:
        """Queue ``fn``; with ``inline`` run it here instead when nothing is queued."""
        if (inline or not self._threaded) and self.run_now(lambda: _run(work, fn)):
            return work
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"brickwork-{self._name}",
                                            daemon=True)
            self._thread.start()
        with self._lock:
            self._pending += 1
        self._queue.put((work, fn))
        return work

    def run_now(self, fn: Callable[[], Any]) -> bool:
        """Run ``fn`` on this thread if nothing is queued (True), else leave it (False).
        Errors propagate to the caller."""
        if self._pending:  # (never set without the thread: everything then runs here)
            return False
        with self._lock:
            if self._pending:
                return False
            fn()
        return True

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            with self._lock:
                _run(*item)
                self._pending -= 1

    def stop(self) -> None:
        """Finish the queued operations and end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


def wait_request(request, what: str, timeout_s: float, rank: int) -> None:
    """Poll an MPI request to completion, watching for failed ranks and the timeout."""
    spins = 0
    deadline = None
    while not request.Test():
        spins += 1
        if spins < 2000:
            continue
        if deadline is None:
            deadline = time.monotonic() + timeout_s
        _failure.check(what)
        if time.monotonic() > deadline:
            raise DistBackendError(
                f"{what} on rank {rank} did not finish within {timeout_s:g} s (the process "
                "group's timeout): another rank has stopped or has not reached this collective")
        time.sleep(0.0002)


def _run(work: Work, fn: Callable[[], Any]) -> None:
    try:
        fn()
    except BaseException as e:  # handed to the thread that waits
        work._complete(e)
    else:
        work._complete()
