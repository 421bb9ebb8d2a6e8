"""Background threads for file reads and checksums, safe across ``fork()`` and interpreter exit.

Reads (``preadv``) and crc32 release the GIL, so a few threads overlap them. Two moments make
a plain module-level ``ThreadPoolExecutor`` unsafe:

- after ``fork()`` (DataLoader workers, ``multiprocessing``) the child inherits the executor
  object but none of its threads, so work submitted there waits forever; the child therefore
  forgets the parent's pool and starts its own on first use;
- once the interpreter has begun shutting down (``atexit`` handlers, where the last checkpoint
  of a run is often written) executors refuse new work; the work then runs on the calling
  thread instead.
"""
from __future__ import annotations

import os
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

_POOL: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    # The parent's threads do not exist in a forked child; its executor object must not be used.
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _executor() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        # Imported on first use, not with this module: importing concurrent.futures.thread
        # registers an exit hook, which raises RuntimeError once shutdown has begun (a first
        # save from an atexit handler), and submit() then runs the work inline.
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max(2, min(8, os.cpu_count() or 2)),
                                   thread_name_prefix="brickwork-io")
    return _POOL


def submit(fn: Callable, *args: Any) -> Future:
    """Run ``fn(*args)`` on an I/O thread (on this thread during interpreter shutdown)."""
    try:
        return _executor().submit(fn, *args)
    except RuntimeError:  # "cannot schedule new futures after (interpreter) shutdown"
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as e:  # delivered through result(), as from a thread
            done.set_exception(e)
        return done


def map_results(fn: Callable, items: Iterable) -> list:
    """``[fn(x) for x in items]`` computed on the I/O threads, in order."""
    return [f.result() for f in [submit(fn, x) for x in items]]
