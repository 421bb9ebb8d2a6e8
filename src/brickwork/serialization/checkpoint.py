"""Training checkpoints that resume exactly: model, optimizer, scheduler, RNG and progress.

Each checkpoint is one brickwork file ``<prefix>-<step>.bw`` in a folder, written atomically, so
a run killed at any moment leaves the previous checkpoints intact. On restart the newest file
that loads is used; a damaged newest one is skipped with a warning.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from typing import Any

from ._common import CorruptFileError

_NAME = re.compile(r"^(?P<prefix>.+)-(?P<step>\d{10})\.bw$")


class Checkpointer:
    """Saves training state every ``every`` steps into ``directory`` and restores the latest.

    The state saved is the model's and optimizer's/scheduler's ``state_dict``, the default
    generator's state (``brickwork.get_rng_state``: everything drawn from it, including
    DataLoader shuffling, repeats after a restore), the step, the epoch, a metric and any user
    data. The last ``keep_last`` checkpoints are kept, plus the best one by ``metric`` when
    ``keep_best`` is set; older ones are deleted.

    A run resumes bit-identically when the random draws it makes after a checkpoint depend only
    on the restored generator. Pass ``loader=`` to ``save``/``step`` and ``restore`` to resume
    mid-epoch: the DataLoader then replays the interrupted epoch's order and skips the batches
    already trained on.

    Args:
        directory: the folder (created if missing).
        keep_last: how many of the newest checkpoints to keep (at least 1).
        keep_best: also keep the checkpoint with the best metric.
        every: ``step(...)`` saves when ``step % every == 0``.
        mode: ``'min'`` (a loss) or ``'max'`` (an accuracy): which metric is best.
        prefix: the file name prefix.

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
        self.directory = os.fspath(directory)
        self.keep_last, self.keep_best, self.every = keep_last, keep_best, every
        self.mode, self.prefix = mode, prefix
        os.makedirs(self.directory, exist_ok=True)

    # -- listing ------------------------------------------------------------------------------
    def checkpoints(self) -> list[str]:
        """Paths of this folder's checkpoints, oldest first."""
        found = []
        for name in os.listdir(self.directory):
            m = _NAME.match(name)
            if m and m["prefix"] == self.prefix:
                found.append((int(m["step"]), os.path.join(self.directory, name)))
        return [p for _, p in sorted(found)]

    def path_for(self, step: int) -> str:
        return os.path.join(self.directory, f"{self.prefix}-{int(step):010d}.bw")

    # -- saving -------------------------------------------------------------------------------
    def step(self, step: int, model=None, optimizer=None, scheduler=None, **kwargs):
        """Save if ``step`` is a multiple of ``every``; return the path saved, else None."""
        if step % self.every:
            return None
        return self.save(step, model, optimizer, scheduler, **kwargs)

    def save(self, step: int, model=None, optimizer=None, scheduler=None, *, epoch=None,
             metric: float | None = None, extra: Any = None, loader=None) -> str:
        """Write a checkpoint for ``step`` now (atomically) and prune old ones."""
        from .. import get_rng_state
        from . import save

        state = {"brickwork_checkpoint": 1, "step": int(step), "epoch": epoch,
                 "metric": None if metric is None else float(metric),
                 "model": None if model is None else model.state_dict(),
                 "optimizer": None if optimizer is None else optimizer.state_dict(),
                 "scheduler": None if scheduler is None else scheduler.state_dict(),
                 "rng_state": get_rng_state(), "extra": extra,
                 "loader": None if loader is None else loader.state_dict()}
        path = self.path_for(step)
        save(state, path)
        self._prune()
        return path

    def _metric_of(self, path: str):
        from ._source import Source
        from .safetensors_format import load_structure

        try:
            src = Source(path)
        except OSError:
            return None
        try:
            return load_structure(src).get("metric")
        except (CorruptFileError, ValueError, AttributeError):
            return None
        finally:
            src.close()

    def best(self) -> str | None:
        """The kept checkpoint with the best metric (None if none has one)."""
        best, best_val = None, None
        for path in self.checkpoints():
            val = self._metric_of(path)
            if val is None or (isinstance(val, float) and math.isnan(val)):
                continue
            if best_val is None or (val < best_val if self.mode == "min" else val > best_val):
                best, best_val = path, val
        return best

    def _prune(self) -> None:
        paths = self.checkpoints()
        keep = set(paths[-self.keep_last:])
        if self.keep_best:
            best = self.best()
            if best is not None:
                keep.add(best)
        for path in paths:
            if path not in keep:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    # -- restoring ----------------------------------------------------------------------------
    def load_latest(self, map_location=None):
        """``(path, state)`` of the newest checkpoint that loads, or ``(None, None)``.

        Damaged or unreadable newer files are skipped with a warning naming them and why.
        """
        from . import load

        for path in reversed(self.checkpoints()):
            try:
                state = load(path, map_location=map_location)
            except (OSError, RuntimeError, ValueError) as e:
                warnings.warn(f"Checkpointer: skipping damaged checkpoint {path}: {e}",
                              RuntimeWarning, stacklevel=2)
                continue
            if isinstance(state, dict) and state.get("brickwork_checkpoint") == 1:
                return path, state
            warnings.warn(f"Checkpointer: skipping {path}: not a brickwork checkpoint",
                          RuntimeWarning, stacklevel=2)
        return None, None

    def restore(self, model=None, optimizer=None, scheduler=None, map_location=None,
                loader=None):
        """Put the latest valid checkpoint back into the given objects and the RNG.

        Returns:
            ``{"step", "epoch", "metric", "extra", "path"}``, or None when there is no
            checkpoint (a fresh start).
        """
        from .. import set_rng_state

        path, state = self.load_latest(map_location)
        if state is None:
            return None
        for name, obj in (("model", model), ("optimizer", optimizer),
                          ("scheduler", scheduler)):
            if obj is None:
                continue
            if state.get(name) is None:
                raise RuntimeError(f"Checkpointer.restore: {path} holds no {name} state, but a "
                                   f"{name} was given to restore")
            obj.load_state_dict(state[name])
        set_rng_state(state["rng_state"])
        if loader is not None:
            if state.get("loader") is None:
                raise RuntimeError(f"Checkpointer.restore: {path} holds no DataLoader state, "
                                   "but a loader was given to restore")
            loader.load_state_dict(state["loader"])
        return {"step": state["step"], "epoch": state["epoch"], "metric": state["metric"],
                "extra": state["extra"], "path": path}
