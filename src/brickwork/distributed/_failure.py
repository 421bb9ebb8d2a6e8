"""Stopping every rank when one fails, with an error that names the rank.

MPI has no way to cancel a collective that a dead peer will never join, so ranks tell each
other. When a rank ends with an uncaught exception, its exception hook sends a short notice
("rank 1 failed: ValueError: ...") to every other rank on a communicator of its own, waits a
moment for them to acknowledge it, and exits with status 1. A rank waiting on a collective polls
for notices (``check``), prints the notice, and raises ``DistBackendError`` naming the failed
rank; with that error uncaught it exits with status 1 as well, without entering MPI's finalize
(which would wait forever for the dead collective). A rank killed outright sends nothing: the
launcher (``mpiexec``) then stops the job and names the rank, and ranks still waiting give up
at the group's timeout.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

import numpy as np

_TAG_FAILED = 0x7B0
_TAG_ACK = 0x7B1
_GRACE_S = 5.0

_channel = None  # the control communicator (a duplicate of MPI's world)
_previous_hook = None
_notified = False


def install(world) -> None:
    """Start watching for failures on ``world`` (an mpi4py communicator)."""
    global _channel, _previous_hook
    if _channel is not None:
        return
    _channel = world.Dup()
    _previous_hook = sys.excepthook
    sys.excepthook = _on_uncaught


def uninstall() -> None:
    global _channel, _previous_hook
    if _channel is None:
        return
    if sys.excepthook is _on_uncaught:
        sys.excepthook = _previous_hook
    _channel.Free()
    _channel = None
    _previous_hook = None


def _receive_notice() -> tuple[int, str] | None:
    from ._mpi import MPI
    mpi = MPI()
    status = mpi.Status()
    if not _channel.Iprobe(source=mpi.ANY_SOURCE, tag=_TAG_FAILED, status=status):
        return None
    buf = np.empty(status.Get_count(mpi.BYTE), np.uint8)
    src = status.Get_source()
    _channel.Recv(buf, source=src, tag=_TAG_FAILED)
    _channel.Send(np.zeros(1, np.uint8), dest=src, tag=_TAG_ACK)
    return src, buf.tobytes().decode("utf-8", "replace")


def check(what: str) -> None:
    """Raise ``DistBackendError`` if another rank has reported a failure."""
    if _channel is None:
        return
    notice = _receive_notice()
    if notice is None:
        return
    from ._work import DistBackendError
    src, message = notice
    me = _channel.Get_rank()
    text = f"rank {src} failed ({message}); rank {me} stops waiting on {what}"
    print(f"brickwork.distributed: {text}", file=sys.stderr, flush=True)
    raise DistBackendError(text)


def _on_uncaught(exc_type, exc, tb) -> None:
    """Report the failure to the other ranks, then leave without MPI's finalize."""
    from ._work import DistBackendError
    global _notified
    try:
        traceback.print_exception(exc_type, exc, tb)
        sys.stderr.flush()
        if _channel is not None and not issubclass(exc_type, DistBackendError) and not _notified:
            _notified = True
            _notify(f"{exc_type.__name__}: {exc}".strip()[:2000])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def _notify(message: str) -> None:
    """Send the failure notice to every other rank and wait briefly for their answers."""
    me, size = _channel.Get_rank(), _channel.Get_size()
    data = np.frombuffer(message.encode("utf-8"), np.uint8)
    sends = [_channel.Isend(data, dest=r, tag=_TAG_FAILED) for r in range(size) if r != me]
    acks = {r: _channel.Irecv(np.empty(1, np.uint8), source=r, tag=_TAG_ACK)
            for r in range(size) if r != me}
    deadline = time.monotonic() + _GRACE_S
    while (acks or sends) and time.monotonic() < deadline:
        sends = [req for req in sends if not req.Test()]
        for r, req in list(acks.items()):
            if req.Test():
                del acks[r]
        try:  # a rank failing at the same moment waits for our answer too
            _receive_notice()
        except Exception:  # noqa: BLE001  (leaving anyway)
            break
        time.sleep(0.01)
