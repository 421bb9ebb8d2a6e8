"""Futures: values that arrive later, e.g. the result of an asynchronous collective.

A ``Future`` is either completed by ``set_result``/``set_exception`` or backed by a pending
``distributed`` work handle, which completes it when the work is waited on. Callbacks added with
``then``/``add_done_callback`` run on the thread that completes the future: for a work-backed
future, the thread that calls ``wait()`` or ``value()`` (or ``done()`` once the work finished),
so they never run concurrently with that thread's autograd.

See: torch.futures.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["Future", "collect_all", "wait_all"]

_UNSET = object()


class Future:
    """A value that may not be ready yet. See: torch.futures.Future."""

    def __init__(self, *, devices=None) -> None:
        if devices:
            raise NotImplementedError("brickwork's Future does not track CUDA streams; "
                                      "pass no devices")
        self._value: Any = _UNSET
        self._error: BaseException | None = None
        self._callbacks: list[Callable] = []
        self._source: Callable[[], Any] | None = None  # completes a work-backed future
        self._poll: Callable[[], bool] | None = None
        self._lock = threading.RLock()

    @classmethod
    def _from_work(cls, wait: Callable[[], Any], poll: Callable[[], bool]) -> Future:
        """A future completed by ``wait()`` (which returns the value or raises)."""
        fut = cls()
        fut._source, fut._poll = wait, poll
        return fut

    def _settle(self) -> None:
        """Complete a work-backed future by waiting for its work."""
        source = self._source
        if source is None:
            return
        self._source = None
        try:
            value = source()
        except BaseException as e:  # the work's error becomes the future's
            if not self._completed():
                self.set_exception(e)
        else:
            if not self._completed():  # a parent's callback may have completed it already
                self.set_result(value)

    def _completed(self) -> bool:
        return self._value is not _UNSET or self._error is not None

    def done(self) -> bool:
        """True when the value or an error is set (a finished work settles here)."""
        if self._source is not None and self._poll is not None and self._poll():
            self._settle()
        return self._completed()

    def wait(self) -> Any:
        """Block until the value is ready and return it (raise its error)."""
        self._settle()
        if self._error is not None:
            raise self._error
        if self._value is _UNSET:
            raise RuntimeError("Future.wait() on a future that nothing will complete: "
                               "call set_result() or set_exception() first")
        return self._value

    def value(self) -> Any:
        """The value of a completed future (raises its error)."""
        return self.wait()

    def set_result(self, result: Any) -> None:
        """Complete the future with ``result`` and run the callbacks."""
        with self._lock:
            if self._value is not _UNSET or self._error is not None:
                raise RuntimeError("Future can only be marked completed once.")
            self._value = result
        self._run_callbacks()

    def set_exception(self, result: BaseException) -> None:
        """Complete the future with an error; ``wait()`` raises it."""
        if not isinstance(result, BaseException):
            raise TypeError(f"{result} is of type {type(result)}, not an Exception.")
        with self._lock:
            if self._value is not _UNSET or self._error is not None:
                raise RuntimeError("Future can only be marked completed once.")
            self._error = result
        self._run_callbacks()

    def _run_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb(self)

    def add_done_callback(self, callback: Callable[[Future], None]) -> None:
        """Call ``callback(self)`` once the future completes."""
        if self._value is not _UNSET or self._error is not None:
            callback(self)
        else:
            self._callbacks.append(callback)

    def then(self, callback: Callable[[Future], Any]) -> Future:
        """A new future holding ``callback(self)`` once this one completes."""
        child = Future()

        def run(parent: Future) -> None:
            try:
                child.set_result(callback(parent))
            except BaseException as e:
                child.set_exception(e)

        if self._source is not None:  # settling the child settles this one, which runs `run`
            child._source = self._settle
            child._poll = self.done
        self.add_done_callback(run)
        return child


def collect_all(futures: list[Future]) -> Future:
    """A future whose value is the list of ``futures`` once all have completed."""
    def wait_each() -> list[Future]:
        for f in futures:
            f.wait()
        return list(futures)

    out = Future()
    out._source = wait_each
    out._poll = lambda: all(f.done() for f in futures)
    return out


def wait_all(futures: list[Future]) -> list:
    """Wait for every future and return their values."""
    return [f.wait() for f in futures]
