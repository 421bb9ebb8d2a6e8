"""DataLoader worker processes: the loop each one runs, how results and errors come back, the pool.

Every way a worker can fail ends in an exception in the main process, never a wait forever:

- an exception in the data set, ``collate_fn`` or ``worker_init_fn`` comes back as text with
  its traceback and is raised again as its own type (``RuntimeError`` when that type cannot be
  rebuilt or cannot be pickled), the way ``torch._utils.ExceptionWrapper.reraise`` does;
- a batch that cannot be pickled (a lambda, a generator, a lock) is replaced, on the worker's
  queue feeder thread where pickling happens, by the pickling error (PyTorch drops it and
  waits forever);
- a worker that dies (a signal, ``os._exit``, the out-of-memory killer) is noticed within
  ``_POLL_INTERVAL`` by the main process, and ``timeout`` is enforced the same way;
- a worker whose main process has died exits by itself within ``_WATCHDOG_INTERVAL``.
"""
from __future__ import annotations

import multiprocessing as mp
import multiprocessing.queues
import os
import queue
import random as _pyrandom
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from .dataset import IterableDataset

__all__ = ["WorkerInfo", "get_worker_info"]

# How often the main process, while waiting for a batch, checks that the workers still live.
_POLL_INTERVAL = 0.1
# How often an idle worker checks that the main process still lives (PyTorch: 5 s).
_WATCHDOG_INTERVAL = 1.0
# How long workers get to finish the sample in hand and exit before they are terminated.
_JOIN_TIMEOUT = 5.0
# Values of the shared "epoch now" flag besides epoch numbers (which start at 1).
_IDLE, _STOP = 0, -1


@dataclass
class WorkerInfo:
    """What a worker process knows about itself. See: torch.utils.data.get_worker_info."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The current worker's ``WorkerInfo``, or ``None`` in the main process."""
    return _worker_info


class _Fetcher:
    """Turn one unit of work (a list of indices, one index, or a stream step) into a batch."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable,
                 batch_size: int | None, drop_last: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.stream = iter(dataset) if isinstance(dataset, IterableDataset) else None

    def fetch(self, index):
        if self.stream is not None:
            if not self.auto_collation:
                return self.collate_fn(next(self.stream))
            batch = []
            for item in self.stream:
                batch.append(item)
                if len(batch) == self.batch_size:
                    break
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                raise StopIteration
            return self.collate_fn(batch)
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(data)


class KeyErrorMessage(str):
    """A ``str`` whose repr is itself. See: torch._utils.KeyErrorMessage.

    ``str(KeyError(m))`` is ``repr(m)``, which would print a re-raised worker traceback as one
    line of ``\\n`` escapes.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return self


class _WorkerError:
    """An exception raised in a worker, carried to the main process as its type and traceback.

    Only the type crosses (by reference), never the instance, which may hold anything. See:
    torch._utils.ExceptionWrapper.
    """

    def __init__(self, exc: BaseException, where: str, note: str = "") -> None:
        self.exc_type: type | None = type(exc)
        self.type_name = type(exc).__name__
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.where = where
        self.note = note

    def reraise(self, extra: str = ""):
        """Raise the worker's exception again here, with the worker's traceback as message."""
        msg = f"Caught {self.type_name} {self.where}.\nOriginal {self.text}"
        note = self.note + extra
        if note:
            msg += f"\n{note}"
        if self.exc_type is None:
            raise RuntimeError(msg)
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            # Exceptions whose first argument is not the text but that take ``message=``.
            try:
                exc = self.exc_type(message=msg)
            except Exception:
                raise RuntimeError(msg) from None
            raise exc
        try:
            exc = self.exc_type(msg)
        except Exception:  # a constructor that needs other arguments: keep the text at least
            raise RuntimeError(msg) from None
        raise exc


class _ResultQueue(mp.queues.Queue):
    """The workers' result queue: a result that cannot be pickled comes back as its error.

    ``put`` pickles on a background feeder thread; by default a pickling error there is printed
    and the result dropped, and the main process would wait for it forever.
    """

    def __init__(self, ctx) -> None:
        super().__init__(ctx=ctx)
        self.worker_id = -1  # set in each worker process

    def __setstate__(self, state) -> None:  # spawned workers: the queue arrives pickled
        super().__setstate__(state)
        self.worker_id = -1

    def _on_queue_feeder_error(self, e: Exception, obj: Any) -> None:
        if not (isinstance(obj, tuple) and len(obj) == 2):  # failed while writing, not pickling
            traceback.print_exception(type(e), e, e.__traceback__)
            return
        key, result = obj
        where = f"in DataLoader worker process {self.worker_id}"
        if isinstance(result, _WorkerError):
            if result.exc_type is None:  # even the plain version failed: give up on this one
                traceback.print_exception(type(e), e, e.__traceback__)
                return
            # The exception's class cannot be pickled (a class defined inside a function):
            # send its traceback text and raise it as RuntimeError in the main process.
            result.note = (f"It is raised as RuntimeError: its class "
                           f"{result.exc_type.__module__}.{result.exc_type.__qualname__} cannot "
                           f"be pickled to cross from the worker to the main process ({e}).")
            result.exc_type = None
            self.put((key, result))
            return
        note = (f"The batch ({type(result).__module__}.{type(result).__qualname__}) that worker "
                f"{self.worker_id} built could not be pickled to send it to the main process. "
                "Return picklable batches (tensors, arrays, numbers, strings and lists, tuples "
                "and dicts of them) from the data set and collate_fn, or use num_workers=0.")
        self.put((key, _WorkerError(e, where, note)))


def _worker_loop(worker_id: int, num_workers: int, seed: int, fetcher_args: tuple,
                 init_fn: Callable | None, index_q, result_q: _ResultQueue,
                 epoch_now) -> None:
    global _worker_info
    from ... import random as _brandom

    result_q.worker_id = worker_id
    where = f"in DataLoader worker process {worker_id}"
    try:
        _brandom.default_generator.manual_seed(seed)
        _pyrandom.seed(seed)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, fetcher_args[0])
        fetcher = init_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _Fetcher(*fetcher_args)
        except Exception as e:  # reported at the first fetch, as PyTorch does
            init_error = _WorkerError(e, where)
        # The process that started this one (the main process, or the fork server that forked
        # on its behalf); a SIGKILLed main process cannot tell its workers to stop.
        parent_pid = os.getppid()
        epoch = None
        while True:
            try:
                task = index_q.get(timeout=_WATCHDOG_INTERVAL)
            except queue.Empty:
                # Stop when told through the flag (the None may never come: a Ctrl-C in the
                # main process can break its queue) or when the main process is gone.
                if epoch_now.value == _STOP or os.getppid() != parent_pid:
                    break
                continue
            if task is None or epoch_now.value == _STOP:
                break
            key, index = task
            if key[0] != epoch_now.value:
                continue  # that epoch ended early (break, error) or the loader shut down
            # Persistent workers: each epoch of an iterable data set starts a fresh stream.
            restart = epoch is not None and key[0] != epoch
            epoch = key[0]
            if init_error is not None:
                result = init_error
            else:
                try:
                    if restart and fetcher.stream is not None:
                        fetcher = _Fetcher(*fetcher_args)
                    result = fetcher.fetch(index)
                except StopIteration:
                    result = StopIteration
                except Exception as e:
                    result = _WorkerError(e, where)
            result_q.put((key, result))
            del result, task, index
    except KeyboardInterrupt:
        # Ctrl-C reaches the whole process group; the main process raises it. A second one
        # (a wrapper forwarding the signal) must not interrupt the exit below with a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    finally:
        # Results the main process did not read are not wanted; waiting at exit to flush them
        # into a pipe nobody reads would hang this process.
        result_q.cancel_join_thread()


def _describe_exit(p) -> str:
    code = p.exitcode
    if code is not None and code < 0:
        try:
            return f"pid {p.pid}: killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"pid {p.pid}: killed by signal {-code}"
    return f"pid {p.pid}: exit code {code}"


class _WorkerPool:
    """The worker processes of one loader and their queues (kept alive when persistent)."""

    def __init__(self, loader, base_seed: int) -> None:
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods()
                                 and sys.platform != "darwin" else "spawn")
        elif isinstance(ctx, str):
            ctx = mp.get_context(ctx)
        self._pid = os.getpid()
        self.result_q = _ResultQueue(ctx)
        # The epoch whose tasks workers should run; anything else is skipped, so an epoch left
        # early (break, an error) does not keep the workers busy with batches nobody wants.
        self.epoch_now = ctx.RawValue("q", _IDLE)
        self.index_qs: list = []
        self.procs: list = []
        self.broken = False  # a worker died or hung: the pool cannot be reused
        self.epoch = 0
        n = loader.num_workers
        args = (loader.dataset, loader._auto_collation, loader.collate_fn, loader.batch_size,
                loader.drop_last)
        try:
            for wid in range(n):
                iq = ctx.Queue()
                p = ctx.Process(target=_worker_loop, daemon=True,
                                args=(wid, n, base_seed + wid, args, loader.worker_init_fn, iq,
                                      self.result_q, self.epoch_now))
                self.index_qs.append(iq)
                p.start()
                self.procs.append(p)
        except BaseException:  # e.g. spawn cannot pickle the data set: stop those started
            self.shutdown()
            raise

    def begin_epoch(self) -> int:
        self.epoch += 1
        self.epoch_now.value = self.epoch
        return self.epoch

    def end_epoch(self, epoch: int) -> None:
        if self.epoch == epoch:  # not when an old, superseded iterator is finally collected
            self.epoch_now.value = _IDLE

    def get(self, timeout: float):
        """The next ``(key, result)`` from any worker; raise if one died or ``timeout`` passed."""
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while True:
            wait = _POLL_INTERVAL if deadline is None else \
                max(0.0, min(_POLL_INTERVAL, deadline - time.monotonic()))
            try:
                return self.result_q.get(timeout=wait)
            except queue.Empty:
                pass
            except Exception as e:  # the bytes arrived but do not unpickle here
                self.check_workers()
                self.broken = True
                raise RuntimeError(f"DataLoader: a result sent by a worker process could not be "
                                   f"unpickled in the main process: {type(e).__name__}: {e}") \
                    from e
            self.check_workers()
            if deadline is not None and time.monotonic() >= deadline:
                self.broken = True
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")

    def check_workers(self) -> None:
        """Raise ``RuntimeError`` naming every worker that is no longer running."""
        dead = [(wid, p) for wid, p in enumerate(self.procs) if not p.is_alive()]
        if dead:
            self.broken = True
            pids = ", ".join(str(p.pid) for _, p in dead)
            how = "; ".join(f"worker {wid}, {_describe_exit(p)}" for wid, p in dead)
            raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly ({how}). "
                               "Details are lost due to multiprocessing. Rerunning with "
                               "num_workers=0 may give better error trace.")

    def shutdown(self) -> None:
        """Stop the workers: ask, wait a little (not at all if broken), then terminate."""
        procs, self.procs = self.procs, []
        if os.getpid() != self._pid:
            return  # a forked copy of the owner: the workers are not this process's children
        self.epoch_now.value = _STOP
        for q in self.index_qs + [self.result_q]:
            # Never wait at exit for a feeder thread: its pipe may be full with nobody reading,
            # or a KeyboardInterrupt inside put() may have left its condition variable unable
            # to wake it (threading.Condition.notify is not safe against signals).
            q.cancel_join_thread()
        for iq in self.index_qs:
            try:
                iq.put(None)
            except Exception:  # closed, broken as above, or threads refused at exit
                pass
        deadline = time.monotonic() + (0 if self.broken else _JOIN_TIMEOUT)
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(1.0)
            if p.is_alive():
                p.kill()
                p.join()
        for q in self.index_qs + [self.result_q]:
            q.close()
        self.index_qs = []

    def __del__(self) -> None:
        if getattr(self, "procs", None):
            try:
                self.shutdown()
            except Exception:  # at interpreter exit, modules may be half torn down
                pass
