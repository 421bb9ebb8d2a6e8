"""DataLoader workers under faults: every fault ends in a clear error, no hang, no leaked worker.

Worker errors are compared with PyTorch where PyTorch raises. Where PyTorch hangs (an exception
class or a batch that cannot be pickled) brickwork raises instead, and the test says so.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import brickwork
from brickwork.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info
from helpers import requires_torch, torch

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork start method needed")


def _children() -> set:
    return {p.pid for p in multiprocessing.active_children()}  # also reaps finished ones


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie waiting for a reaper counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def _wait_gone(pids, seconds: float) -> list:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(_gone(p) for p in pids):
            return []
        time.sleep(0.05)
    return [p for p in pids if not _gone(p)]


class _Items(Dataset):
    """``n`` integers; ``fault(i)`` runs first for every index (in the worker)."""

    def __init__(self, fault=None, n: int = 8) -> None:
        self.fault, self.n = fault, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if self.fault is not None:
            self.fault(i)
        return i


class _Lying(Dataset):
    """Says it has 8 samples, holds 6."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i):
        return list(range(6))[i]


class _TwoArgs(Exception):
    def __init__(self, a, b) -> None:
        super().__init__(a, b)


class _HoldsLock(Exception):
    def __init__(self, msg) -> None:
        super().__init__(msg)
        self.lock = threading.Lock()  # the instance cannot be pickled; only its type crosses


class _WithMessage(Exception):
    message = "class-level message"  # PyTorch rebuilds these with message=...

    def __init__(self, message) -> None:
        super().__init__(message)


def _raise_at(i_bad: int, exc: Exception):
    def fault(i):
        if i == i_bad:
            raise exc
    return fault


def _collate_raises(batch):
    raise ValueError(f"cannot collate {batch}")


def _init_raises(worker_id):
    raise RuntimeError(f"no init for worker {worker_id}")


# name -> (dataset, extra DataLoader arguments); batch_size=1, num_workers=2 throughout
ERROR_CASES = {
    "keyerror": (lambda: _Items(_raise_at(3, KeyError("no sample\n3"))), {}),
    "len-lies": (_Lying, {}),
    "collate": (_Items, {"collate_fn": _collate_raises}),
    "worker_init_fn": (_Items, {"worker_init_fn": _init_raises}),
    "two-arg-exception": (lambda: _Items(_raise_at(3, _TwoArgs("x", 2))), {}),
    "exception-holding-lock": (lambda: _Items(_raise_at(3, _HoldsLock("locked"))), {}),
    "message-attribute": (lambda: _Items(_raise_at(3, _WithMessage("m"))), {}),
}


def _torch_error(case):
    make, kw = ERROR_CASES[case]
    it = iter(torch.utils.data.DataLoader(make(), batch_size=1, num_workers=2, **kw))
    try:
        list(it)
    except Exception as e:
        return type(e), str(e)
    finally:
        # Shut down now: left to the garbage collector, PyTorch 2.13 takes 10 s over it here.
        it._shutdown_workers()
    pytest.fail(f"PyTorch raised nothing for {case}")


def _last_line(text: str) -> str:
    return [line for line in text.splitlines() if line.strip()][-1]


@pytest.mark.timeout(60)
@requires_torch
@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_worker_errors_match_torch(case):
    t_type, t_text = _torch_error(case)
    before = _children()
    make, kw = ERROR_CASES[case]
    with pytest.raises(Exception) as info:
        list(DataLoader(make(), batch_size=1, num_workers=2, **kw))
    assert type(info.value) is t_type
    b_text = str(info.value)
    assert b_text.splitlines()[0] == t_text.splitlines()[0]  # "Caught X in ... process N."
    assert b_text.splitlines()[1] == "Original Traceback (most recent call last):"
    assert _last_line(b_text) == _last_line(t_text)  # the original "X: message" line
    assert not _children() - before, "worker processes left running"


@pytest.mark.timeout(30)
def test_keyerror_is_reraised_readably():
    with pytest.raises(KeyError) as info:
        list(DataLoader(_Items(_raise_at(3, KeyError("no sample 3"))), num_workers=2))
    text = str(info.value)
    # KeyError's str is the repr of its argument; the message must still print as lines.
    assert text.startswith("Caught KeyError in DataLoader worker process 1.\n"
                           "Original Traceback (most recent call last):\n")
    assert "\\n" not in text and text.rstrip().endswith("KeyError: 'no sample 3'")
    assert "_raise_at" in text or "fault" in text  # the worker's own frames


def _local_exception_class():
    class LocalError(Exception):  # defined in a function: pickle cannot find it by name
        pass
    return LocalError


@pytest.mark.timeout(30)
def test_unpicklable_exception_class_raises_instead_of_hanging():
    # PyTorch 2.13 hangs here: the pickling error is printed on the worker's feeder thread.
    local = _local_exception_class()
    before = _children()
    with pytest.raises(RuntimeError) as info:
        list(DataLoader(_Items(_raise_at(3, local("local boom"))), num_workers=2))
    text = str(info.value)
    assert text.startswith("Caught LocalError in DataLoader worker process 1.\n"
                           "Original Traceback (most recent call last):\n")
    assert "LocalError: local boom" in text and "cannot be pickled" in text
    assert not _children() - before


def _lambda_batch(batch):
    return lambda: batch


def _generator_batch(batch):
    return (x for x in batch)


def _lock_batch(batch):
    return {"x": batch, "lock": threading.Lock()}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("collate", [_lambda_batch, _generator_batch, _lock_batch])
def test_unpicklable_batch_raises_instead_of_hanging(collate):
    # PyTorch 2.13 hangs here too. The error is pickle's own (TypeError, AttributeError or
    # PicklingError), re-raised with the worker's traceback, naming the worker and the batch.
    before = _children()
    t0 = time.monotonic()
    with pytest.raises(Exception) as info:
        list(DataLoader(_Items(), batch_size=2, num_workers=2, collate_fn=collate))
    text = str(info.value)
    assert text.startswith(f"Caught {type(info.value).__name__} in DataLoader worker process 0.")
    assert "could not be pickled" in text and "indices [0, 1]" in text
    assert "pickle" in _last_line(text.split("\n\n")[0]).lower()
    assert time.monotonic() - t0 < 10
    assert not _children() - before


class _Unloadable:
    """Pickles in the worker; unpickling it in the main process raises."""

    def __reduce__(self):
        return (_refuse, ("no unpickling here",))


def _refuse(msg):
    if get_worker_info() is None:
        raise ValueError(msg)


@pytest.mark.timeout(30)
def test_result_that_does_not_unpickle_in_main_process():
    with pytest.raises(RuntimeError, match="could not be unpickled in the main process: "
                                           "ValueError: no unpickling here"):
        list(DataLoader(_Items(), num_workers=2, collate_fn=lambda b: _Unloadable()))


def _exit_at_5(i):
    if i == 5:
        os._exit(3)


def _sigkill_at_5(i):
    if i == 5:
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault,how", [(_exit_at_5, "exit code 3"),
                                       (_sigkill_at_5, "killed by signal SIGKILL")])
def test_worker_that_dies_is_reported(fault, how):
    # PyTorch: RuntimeError "DataLoader worker (pid(s) N) exited unexpectedly" (or, from its
    # SIGCHLD handler, "... exited unexpectedly with exit code 3. Details are lost ...").
    before = _children()
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited "
                                           rf"unexpectedly \(worker 1, pid \d+: {how}\)"):
        list(DataLoader(_Items(fault, n=40), num_workers=2))
    assert time.monotonic() - t0 < 5  # noticed at once, not after a long status interval
    assert not _children() - before


def _hang_at_5(i):
    if i == 5:
        time.sleep(60)


@pytest.mark.timeout(30)
def test_hung_worker_with_timeout():
    # PyTorch: RuntimeError "DataLoader timed out after 0.5 seconds"; the same here, and the
    # hung worker is terminated rather than waited for.
    before = _children()
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0.5 seconds$"):
        list(DataLoader(_Items(_hang_at_5), num_workers=2, timeout=0.5))
    assert time.monotonic() - t0 < 5
    assert not _children() - before


_FAIL_EPOCH = multiprocessing.Value("i", 0)  # inherited by forked workers


def _fail_in_marked_epoch(i):
    if _FAIL_EPOCH.value == 1 and i == 3:
        raise ValueError("bad sample 3 in epoch 2")
    if _FAIL_EPOCH.value == 2 and i == 3:
        os._exit(7)


@pytest.mark.timeout(30)
def test_persistent_workers_fault_in_a_later_epoch():
    loader = DataLoader(_Items(_fail_in_marked_epoch), batch_size=2, num_workers=2,
                        persistent_workers=True)
    try:
        _FAIL_EPOCH.value = 0
        assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7]]
        pids = [p.pid for p in loader._pool.procs]
        _FAIL_EPOCH.value = 1
        with pytest.raises(ValueError, match="(?s)worker process 1.*bad sample 3 in epoch 2"):
            list(loader)
        _FAIL_EPOCH.value = 0  # an error in the data set leaves the workers usable
        assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7]]
        assert [p.pid for p in loader._pool.procs] == pids
        _FAIL_EPOCH.value = 2
        with pytest.raises(RuntimeError, match="(?s)exited unexpectedly.*exit code 7"):
            list(loader)
        assert loader._pool is None and not any(p in _children() for p in pids)
        _FAIL_EPOCH.value = 0  # a dead worker: the next epoch starts new ones
        assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    finally:
        _FAIL_EPOCH.value = 0
        if loader._pool is not None:
            loader._pool.shutdown()


class _Stream(IterableDataset):
    def __init__(self, worker_info=get_worker_info) -> None:
        self.worker_info = worker_info

    def __iter__(self):
        info = self.worker_info()
        return iter(range(info.id, 6, info.num_workers))


@pytest.mark.timeout(30)
def test_persistent_workers_restart_an_iterable_each_epoch():
    # Every epoch of an iterable data set restarts its streams (brickwork returned nothing in
    # the second epoch before).
    loader = DataLoader(_Stream(), batch_size=2, num_workers=2, persistent_workers=True)
    try:
        for _ in range(2):
            assert [b.tolist() for b in loader] == [[0, 2], [1, 3], [4], [5]]
    finally:
        loader._pool.shutdown()
    if torch is not None:
        stream = type("_TorchStream", (torch.utils.data.IterableDataset,),
                      {"__init__": _Stream.__init__, "__iter__": _Stream.__iter__})
        ref = torch.utils.data.DataLoader(stream(torch.utils.data.get_worker_info),
                                          batch_size=2, num_workers=2, persistent_workers=True)
        try:
            assert [b.tolist() for b in ref] == [b.tolist() for b in ref] == [[0, 2], [1, 3],
                                                                             [4], [5]]
        finally:
            ref._iterator._shutdown_workers()


@pytest.mark.timeout(30)
def test_superseded_persistent_iterator_raises():
    loader = DataLoader(_Items(), batch_size=2, num_workers=2, persistent_workers=True)
    try:
        first = iter(loader)
        assert next(first).tolist() == [0, 1]
        assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7]]
        with pytest.raises(RuntimeError, match="superseded"):
            next(first)
        assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    finally:
        loader._pool.shutdown()


@pytest.mark.timeout(30)
def test_break_early_reaps_workers():
    before = _children()
    for batch in DataLoader(_Items(lambda i: time.sleep(0.05), n=64), num_workers=2):
        break
    assert not _children() - before
    loader = DataLoader(_Items(n=64), num_workers=2, persistent_workers=True)
    for batch in loader:
        break
    pids = [p.pid for p in loader._pool.procs]
    del loader, batch
    gc.collect()
    assert not _wait_gone(pids, 5)


@pytest.mark.timeout(30)
def test_forked_copy_of_a_loader_leaves_the_parent_workers_alone():
    loader = DataLoader(_Items(), batch_size=4, num_workers=2, persistent_workers=True)
    try:
        assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
        pid = os.fork()
        if pid == 0:  # the child drops its copy of the loader: it must not stop our workers
            try:
                del loader
                gc.collect()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    finally:
        loader._pool.shutdown()


def _interrupt_main(i):
    if i == 6:
        os.kill(os.getppid(), signal.SIGINT)
    time.sleep(0.02)


@pytest.mark.timeout(30)
def test_keyboard_interrupt_in_main_process():
    before = _children()
    with pytest.raises(KeyboardInterrupt):
        for _ in DataLoader(_Items(_interrupt_main, n=10_000), num_workers=2):
            pass
    assert not _children() - before


@pytest.mark.timeout(30)
def test_workers_can_save_and_load_after_the_main_process_did(tmp_path):
    # The I/O thread pool of brickwork.save/load must be usable in forked workers.
    path = str(tmp_path / "w.pt")
    brickwork.save({"w": brickwork.arange(8.0)}, path)
    brickwork.load(path)
    out = [b.tolist() for b in DataLoader(_SaveLoad(path, str(tmp_path)), batch_size=2,
                                          num_workers=2)]
    assert out == [[0.0, 11.0], [22.0, 33.0]]


class _SaveLoad(Dataset):
    def __init__(self, path, folder) -> None:
        self.path, self.folder = path, folder

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        mine = os.path.join(self.folder, f"s{i}.pt")
        brickwork.save({"x": brickwork.full((2,), float(i))}, mine)
        return float(brickwork.load(mine)["x"].sum()) * 5 + float(brickwork.load(self.path)["w"][i])


_SCRIPT_PRELUDE = """
import os, signal, sys, time
from brickwork.utils.data import DataLoader, Dataset

class Slow(Dataset):
    def __len__(self):
        return 10_000
    def __getitem__(self, i):
        time.sleep(0.02)
        return i

def pids(loader_or_iter):
    import multiprocessing
    return [p.pid for p in multiprocessing.active_children()]
"""

_EXIT_SCRIPT = _SCRIPT_PRELUDE + """
# Leave two loaders mid-epoch, iterators still referenced, then meet Ctrl-C (sent to the whole
# process group, workers included, as a terminal does) in a third, then exit.
plain = iter(DataLoader(Slow(), num_workers=2)); next(plain)
keep = DataLoader(Slow(), num_workers=2, persistent_workers=True)
persistent = iter(keep); next(persistent)
try:
    for x in DataLoader(Slow(), num_workers=2):
        if x == 3:
            print("PIDS", *pids(None), flush=True)
            os.killpg(0, signal.SIGINT)
            time.sleep(5)
except KeyboardInterrupt:
    print("INTERRUPTED", flush=True)
sys.exit(0)
"""

_KILLED_SCRIPT = _SCRIPT_PRELUDE + """
it = iter(DataLoader(Slow(), num_workers=2, persistent_workers=True)); next(it)
print("PIDS", *pids(None), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _run(script: str, tmp_path, timeout: float):
    """Run ``script`` in a new session; its output goes to files, not pipes, so that leaked
    workers holding them open cannot make this wait."""
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with open(out, "w") as fo, open(err, "w") as fe:
        p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=fo,
                             stderr=fe, start_new_session=True)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            pytest.fail(f"the script hung; its output: {out.read_text()} {err.read_text()}")
    return p.returncode, out.read_text(), err.read_text()


def _pids_printed(stdout: str) -> list:
    return [int(p) for p in stdout.split("PIDS", 1)[1].split("\n", 1)[0].split()]


def _assert_all_gone(pids, seconds: float) -> None:
    left = _wait_gone(pids, seconds)
    for p in left:  # do not leave them behind when the test fails
        os.kill(p, signal.SIGKILL)
    assert not left, f"worker processes {left} outlived their main process"


@pytest.mark.timeout(60)
def test_interrupt_and_exit_with_live_iterators(tmp_path):
    rc, out, err = _run(_EXIT_SCRIPT, tmp_path, timeout=30)
    pids = _pids_printed(out)
    assert len(pids) == 6
    _assert_all_gone(pids, 5)
    assert rc == 0, err
    assert "INTERRUPTED" in out and "Traceback" not in err, err


@pytest.mark.timeout(60)
def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    # PyTorch's workers check on their parent every 5 s; brickwork's every second.
    rc, out, err = _run(_KILLED_SCRIPT, tmp_path, timeout=30)
    assert rc == -signal.SIGKILL, err
    pids = _pids_printed(out)
    assert len(pids) == 2
    _assert_all_gone(pids, 10)
