"""Training checkpoints that resume exactly: model, optimizer, scheduler, RNG and progress.

Each checkpoint is one brickwork file ``<prefix>-<step>.bw`` in a folder, written atomically, so
a run killed at any moment leaves the previous checkpoints intact. On restart the newest file
that loads is used; a damaged newest one is skipped with a warning. Each checkpoint records the
id of the run that wrote it, and a run prunes only its own files (see ``Checkpointer``).
"""
from __future__ import annotations

import math
import operator
import os
import pickle
import re
import uuid
import warnings
from typing import Any


_UNREAD = (False, False, None, None)  # what _header gives for a file it cannot read
_NAME = re.compile(r"^(?P<prefix>.+)-(?P<step>\d{10})\.bw$")
_REQUIRED = ("step", "epoch", "metric", "rng_state", "extra")
_MAX_STEP = 10 ** 10 - 1  # the file name holds 10 digits
_SEPARATORS = ("/", "\\", os.sep) + ((os.altsep,) if os.altsep else ())

# What reading a damaged, truncated or crafted file raises: the loaders' CorruptFileError (a
# RuntimeError), UnpicklingError from a crafted pickle, OSError for a folder or unreadable file,
# and ValueError/RuntimeError for a file format version this brickwork does not read.
_UNREADABLE = (OSError, RuntimeError, ValueError, pickle.UnpicklingError)


class Checkpointer:
    """Saves training state every ``every`` steps into ``directory`` and restores the latest.

    The state saved is the model's and optimizer's/scheduler's ``state_dict``, the default
    generator's state (``brickwork.get_rng_state``: everything drawn from it, including
    DataLoader shuffling, repeats after a restore), the step, the epoch, a metric and any user
    data. The last ``keep_last`` checkpoints are kept, plus the best one by ``metric`` when
    ``keep_best`` is set; older ones are deleted.

    A model wrapped in DistributedDataParallel is saved as its ``.module``'s state_dict, so
    the file loads into a plain model. In a data-parallel run (a process group of more than
    one process) every rank calls ``save``/``step``/``restore`` alike: rank 0 alone writes,
    prunes and reads the files, every rank's generator, loader position and sampler epoch
    (``DistributedSampler.set_epoch``) are saved and each rank gets its own back, and a run
    resumes only with the number of processes that saved it (restore raises otherwise).

    A run resumes bit-identically when the random draws it makes after a checkpoint depend only
    on the restored generator. Pass ``loader=`` to ``save``/``step`` and ``restore`` to resume
    mid-epoch: the DataLoader then replays the interrupted epoch's order and skips the batches
    already trained on.

    Runs sharing a folder: every checkpoint records the ``run_id`` of the run that wrote it. A
    new Checkpointer starts a new run (a fresh id); ``restore()`` continues the run it restores
    (it adopts that checkpoint's id), so a run resumed after a crash goes on pruning its own
    older checkpoints. Pruning deletes only files carrying this run's id and never the
    checkpoint just written; files of other runs, and files written before run ids existed, are
    never deleted, and ``save`` raises FileExistsError rather than overwrite one (a file at that
    name whose header cannot be read is renamed to ``<name>.damaged`` with a warning). The first
    ``save`` warns when the folder holds other runs' checkpoints. ``restore()`` picks the
    highest step that loads, whichever run wrote it, and warns when the folder holds checkpoints
    of other runs too: give each run its own folder (or ``prefix``) to keep them apart.
    ``checkpoints()`` and ``best()`` look at every checkpoint with this prefix, of any run.

    Args:
        directory: the folder (created if missing).
        keep_last: how many of this run's newest checkpoints to keep (at least 1).
        keep_best: also keep this run's checkpoint with the best metric.
        every: ``step(...)`` saves when ``step % every == 0``.
        mode: ``'min'`` (a loss) or ``'max'`` (an accuracy): which metric is best.
        prefix: the file name prefix: a non-empty name without path separators, which the
            file pattern ``<prefix>-<10 digits>.bw`` reads back.

    Attributes:
        run_id: this run's id (a hex string), written into every checkpoint it saves.

    Example:
        >>> ckpt = Checkpointer("runs/mlp", keep_last=3, every=100)
        >>> info = ckpt.restore(net, optimizer)          # None on a fresh start
        >>> start = 0 if info is None else info["step"]
        >>> for step in range(start + 1, total + 1):
        ...     loss = train_step()
        ...     ckpt.step(step, net, optimizer, metric=loss.item())
    """

    def __init__(self, directory: str | os.PathLike, keep_last: int = 3, keep_best: bool = True,
                 every: int = 1, mode: str = "min", prefix: str = "ckpt") -> None:
        if keep_last < 1:
            raise ValueError(f"Checkpointer: keep_last must be at least 1, got {keep_last}")
        if every < 1:
            raise ValueError(f"Checkpointer: every must be at least 1, got {every}")
        if mode not in ("min", "max"):
            raise ValueError(f"Checkpointer: mode must be 'min' or 'max', got {mode!r}")
        _check_prefix(prefix)
        self.directory = os.fspath(directory)
        self.keep_last, self.keep_best, self.every = keep_last, keep_best, every
        self.mode, self.prefix = mode, prefix
        self.run_id = uuid.uuid4().hex
        self._headers: dict[str, tuple] = {}  # path -> (stat signature, run id, metric)
        self._warned_foreign = False
        os.makedirs(self.directory, exist_ok=True)

    # -- listing ------------------------------------------------------------------------------
    def checkpoints(self) -> list[str]:
        """Paths of this folder's checkpoints with this prefix (of any run), oldest first."""
        found = []
        for name in os.listdir(self.directory):
            m = _NAME.match(name)
            if m and m["prefix"] == self.prefix:
                found.append((int(m["step"]), os.path.join(self.directory, name)))
        return [p for _, p in sorted(found)]

    def path_for(self, step: int) -> str:
        """The file that holds the checkpoint of ``step``."""
        return os.path.join(self.directory, f"{self.prefix}-{_check_step(step):010d}.bw")

    def _header(self, path: str) -> tuple:
        """``(readable, is a checkpoint, run id, metric)`` from the file's header alone.

        ``readable`` is False when the header cannot be read (damaged, truncated, not a
        brickwork file); checkpoints from before run ids have none. Cached by the file's
        identity, size and modification time, so pruning reads each header once however often
        it runs.
        """
        from ._source import Source
        from .safetensors_format import load_structure

        try:
            st = os.stat(path)
        except OSError:
            return _UNREAD
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        known = self._headers.get(path)
        if known is not None and known[0] == sig:
            return known[1]
        try:
            src = Source(path)
        except OSError:
            return _UNREAD
        try:
            state = load_structure(src)
        except _UNREADABLE:
            return _UNREAD
        finally:
            src.close()
        run_id = metric = None
        is_checkpoint = isinstance(state, dict) and state.get("brickwork_checkpoint") == 1
        if is_checkpoint:
            run_id, metric = state.get("run_id"), state.get("metric")
        info = (True, is_checkpoint, run_id if isinstance(run_id, str) and run_id else None,
                metric)
        self._headers[path] = (sig, info)
        return info

    def _run_of(self, path: str) -> str | None:
        return self._header(path)[2]

    def _best_of(self, paths: list[str]) -> str | None:
        best, best_val = None, None
        for path in paths:
            val = self._header(path)[3]
            if not isinstance(val, (int, float)) or math.isnan(val):
                continue
            if best_val is None or (val < best_val if self.mode == "min" else val > best_val):
                best, best_val = path, val
        return best

    def best(self) -> str | None:
        """The checkpoint with the best metric, of any run (None if none has one)."""
        return self._best_of(self.checkpoints())

    # -- saving -------------------------------------------------------------------------------
    def step(self, step: int, model=None, optimizer=None, scheduler=None, **kwargs):
        """Save if ``step`` is a multiple of ``every``; return the path saved, else None.

        ``kwargs`` go to ``save`` (``epoch``, ``metric``, ``extra``, ``loader``).
        """
        if _check_step(step) % self.every:
            return None
        return self.save(step, model, optimizer, scheduler, **kwargs)

    def save(self, step: int, model=None, optimizer=None, scheduler=None, *, epoch=None,
             metric: float | None = None, extra: Any = None, loader=None) -> str:
        """Write a checkpoint for ``step`` now (atomically) and prune this run's old ones.

        In a data-parallel run every rank calls it: rank 0 writes the file, holding every
        rank's generator and loader state, and the others wait for the write. Each rank gets
        the path back.

        Raises:
            ValueError: ``step`` is negative or has more than 10 digits.
            FileExistsError: the file for ``step`` holds another run's checkpoint.
            RuntimeError: on ranks other than 0, when rank 0 failed to write.
        """
        from . import _checkpoint_dist as _dist

        self.path_for(step)  # a bad step raises on every rank, before any collective
        model = _dist.unwrap(model)
        where = _dist.world()
        if where is None:
            return self._write(step, model, optimizer, scheduler, epoch, metric, extra,
                               [_dist.rank_state(loader)])
        rank, size = where
        ranks = _dist.gather_to_rank0(_dist.rank_state(loader), rank, size)
        path, self.run_id = _dist.on_rank0(
            rank, lambda: (self._write(step, model, optimizer, scheduler, epoch, metric, extra,
                                       ranks), self.run_id),
            f"write the checkpoint of step {step}")
        return path

    def _write(self, step: int, model, optimizer, scheduler, epoch, metric, extra,
               ranks: list[dict]) -> str:
        """Write the checkpoint holding ``ranks`` (each rank's own state, rank 0 first)."""
        from . import save

        path = self.path_for(step)
        self._clear_the_way(path)
        own = ranks[0]
        state = {"brickwork_checkpoint": 1, "run_id": self.run_id, "step": int(step),
                 "epoch": epoch, "metric": None if metric is None else float(metric),
                 "model": None if model is None else model.state_dict(),
                 "optimizer": None if optimizer is None else optimizer.state_dict(),
                 "scheduler": None if scheduler is None else scheduler.state_dict(),
                 "rng_state": own["rng_state"], "extra": extra, "loader": own["loader"],
                 "sampler_epoch": own["sampler_epoch"], "world_size": len(ranks)}
        if len(ranks) > 1:
            state["rank_states"] = ranks
        save(state, path)
        self._headers.pop(path, None)
        self._prune(just_written=path)
        return path

    def _clear_the_way(self, path: str) -> None:
        """Make sure writing ``path`` replaces nothing but a checkpoint of this run."""
        if not os.path.lexists(path):
            return
        if not os.path.isfile(path):
            raise FileExistsError(f"Checkpointer: {path} exists and is not a file; refusing to "
                                  "replace it: move it away or use another prefix")
        readable, is_checkpoint, owner, _ = self._header(path)
        if not readable:
            # Unreadable header: we cannot tell whose it is, so keep its bytes, out of the way.
            aside, n = path + ".damaged", 1
            while os.path.lexists(aside):
                aside, n = f"{path}.damaged-{n}", n + 1
            os.rename(path, aside)
            warnings.warn(f"Checkpointer: {path} could not be read (damaged?); moved it to "
                          f"{aside} to make room for this run's checkpoint",
                          RuntimeWarning, stacklevel=4)
            return
        if owner != self.run_id:
            whose = (f"a checkpoint of another run ({owner})" if owner
                     else "a checkpoint from before run ids" if is_checkpoint
                     else "a brickwork file that is not a checkpoint")
            raise FileExistsError(f"Checkpointer: {path} holds {whose}, not one of this run "
                                  f"({self.run_id}); refusing to overwrite it: use another "
                                  "directory or prefix, or restore() that run to continue it")

    def _prune(self, just_written: str) -> None:
        paths = self.checkpoints()
        ours = [p for p in paths if p == just_written or self._run_of(p) == self.run_id]
        foreign = [p for p in paths if p not in ours]
        if foreign and not self._warned_foreign:
            self._warned_foreign = True
            warnings.warn(f"Checkpointer: {self.directory} also holds {len(foreign)} "
                          f"checkpoint(s) with prefix {self.prefix!r} that this run did not "
                          f"write ({_names(foreign)}); they are never pruned, and restore() "
                          "picks the highest step that loads, whichever run wrote it",
                          RuntimeWarning, stacklevel=4)
        keep = set(ours[-self.keep_last:])
        keep.add(just_written)
        if self.keep_best:
            best = self._best_of(ours)
            if best is not None:
                keep.add(best)
        for path in ours:
            if path not in keep:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                self._headers.pop(path, None)

    # -- restoring ----------------------------------------------------------------------------
    def load_latest(self, map_location=None):
        """``(path, state)`` of the newest checkpoint that loads (of any run), or ``(None, None)``.

        Damaged, unreadable or crafted files are skipped with a warning naming them and why.
        """
        from . import load

        for path in reversed(self.checkpoints()):
            try:
                state = load(path, map_location=map_location)
            except _UNREADABLE as e:
                warnings.warn(f"Checkpointer: skipping damaged checkpoint {path}: "
                              f"{type(e).__name__}: {e}", RuntimeWarning, stacklevel=2)
                continue
            if isinstance(state, dict) and state.get("brickwork_checkpoint") == 1:
                missing = [k for k in _REQUIRED if k not in state]
                if not missing:
                    return path, state
                warnings.warn(f"Checkpointer: skipping damaged checkpoint {path}: it lacks "
                              f"{', '.join(missing)}", RuntimeWarning, stacklevel=2)
                continue
            warnings.warn(f"Checkpointer: skipping {path}: not a brickwork checkpoint",
                          RuntimeWarning, stacklevel=2)
        return None, None

    def restore(self, model=None, optimizer=None, scheduler=None, map_location=None,
                loader=None):
        """Put the latest valid checkpoint back into the given objects and the RNG.

        The checkpoint restored is the highest step that loads, whichever run wrote it; this
        Checkpointer then continues that run (takes its ``run_id``), so later saves prune that
        run's older checkpoints. A warning names checkpoints of other runs left in the folder.
        ``model`` may be plain or wrapped in DistributedDataParallel. In a data-parallel run
        every rank calls it: rank 0 picks and reads the file and sends it to the others, and
        each rank takes back its own generator, loader and sampler state.

        Returns:
            ``{"step", "epoch", "metric", "extra", "path"}``, or None when there is no
            checkpoint (a fresh start).

        Raises:
            RuntimeError: naming the file, when its state does not fit an object given, or
                when it was saved by a run with another number of processes.
        """
        from .. import set_rng_state
        from . import _checkpoint_dist as _dist

        model = _dist.unwrap(model)
        where = _dist.world()
        rank, size = (0, 1) if where is None else where
        found: list = [None, None]

        def read():
            found[:] = self.load_latest(map_location)
            return (None, None) if found[1] is None else (found[0], _dist.read_bytes(found[0]))

        if where is None:
            path, state = self.load_latest(map_location)
        else:
            path, data = _dist.on_rank0(rank, read, "read the latest checkpoint")
            state = found[1] if rank == 0 or path is None else _dist.load_bytes(data,
                                                                                map_location)
        if state is None:
            return None
        _dist.check_world_size(state, path, size)
        own = state if where is None else _dist.own_state(state, rank, path)
        for name, obj in (("model", model), ("optimizer", optimizer),
                          ("scheduler", scheduler)):
            _load_into(obj, state, name, path)
        set_rng_state(own["rng_state"])
        sampler = _dist.sampler_of(loader)
        if sampler is not None and own.get("sampler_epoch") is not None:
            sampler.set_epoch(own["sampler_epoch"])
        _load_into(loader, own, "loader", path)  # after the RNG, as it was saved
        run_id = state.get("run_id")
        if isinstance(run_id, str) and run_id:
            self.run_id = run_id
        if rank == 0:
            self._warn_other_runs(path,
                                  restored_has_id=isinstance(run_id, str) and bool(run_id))
        return {"step": state["step"], "epoch": state["epoch"], "metric": state["metric"],
                "extra": state["extra"], "path": path}

    def _warn_other_runs(self, restored: str, restored_has_id: bool) -> None:
        others = [p for p in self.checkpoints()
                  if p != restored and self._header(p)[1] and self._run_of(p) != self.run_id]
        if not restored_has_id:
            self._warned_foreign = True
            warnings.warn(f"Checkpointer.restore: {restored} was written before checkpoints "
                          "recorded their run, so this run will not prune the checkpoints "
                          "already in the folder", RuntimeWarning, stacklevel=3)
        elif others:
            self._warned_foreign = True
            warnings.warn(f"Checkpointer.restore: restored {restored}, the highest step that "
                          f"loads; {self.directory} also holds {len(others)} checkpoint(s) of "
                          f"other runs ({_names(others)}), which this run leaves alone",
                          RuntimeWarning, stacklevel=3)


def _load_into(obj, state: dict, name: str, path: str) -> None:
    if obj is None:
        return
    if state.get(name) is None:
        raise RuntimeError(f"Checkpointer.restore: {path} holds no {name} state, but a {name} "
                           "was given to restore")
    try:
        obj.load_state_dict(state[name])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise RuntimeError(f"Checkpointer.restore: {path}: its {name} state does not fit the "
                           f"{name} given: {e}") from e


def _names(paths: list[str], most: int = 3) -> str:
    names = [os.path.basename(p) for p in paths[:most]]
    return ", ".join(names) + (f" and {len(paths) - most} more" if len(paths) > most else "")


def _check_step(step) -> int:
    try:
        value = operator.index(step)
    except TypeError:
        raise TypeError(f"Checkpointer: step must be an integer, got {type(step).__name__} "
                        f"{step!r}") from None
    if not 0 <= value <= _MAX_STEP:
        raise ValueError(f"Checkpointer: step must be in 0..{_MAX_STEP} (the file name holds "
                         f"10 digits), got {value}")
    return value


def _check_prefix(prefix) -> None:
    if not isinstance(prefix, str):
        raise TypeError(f"Checkpointer: prefix must be a str, got {type(prefix).__name__}")
    bad = [s for s in _SEPARATORS if s in prefix]
    if not prefix or bad or "\0" in prefix:
        raise ValueError(f"Checkpointer: prefix must be a non-empty file name without path "
                         f"separators or NUL, got {prefix!r} (use directory= for the folder)")
    m = _NAME.match(f"{prefix}-{0:010d}.bw")
    if m is None or m["prefix"] != prefix:
        raise ValueError(f"Checkpointer: prefix {prefix!r} would write file names that the "
                         f"pattern <prefix>-<step>.bw does not read back")
