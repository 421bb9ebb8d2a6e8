"""Crash-proof writes: a file is replaced whole or not at all.

The new contents go to a temporary file in the target's folder (same file system, so the rename
is atomic), which is flushed and fsync'ed before ``os.replace`` puts it over the target; the
folder is then fsync'ed so the rename itself survives a power cut. A process killed at any
moment leaves either the old file or the new one, never a torn mix (at worst a stray
``.<name>.tmp-*`` file beside it, which is never read).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import BinaryIO, Iterator


def fsync_dir(path: str) -> None:
    """fsync the folder holding ``path`` so a rename in it is durable (no-op where unsupported)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file for writing; on success it atomically becomes ``path``.

    If the body raises, the temporary file is removed and ``path`` is untouched.

    Example:
        >>> with atomic_write("model.bw") as f:
        ...     f.write(data)
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            # Keep the target's permission bits (mkstemp makes the temp file 0600).
            try:
                os.chmod(tmp, os.stat(path).st_mode & 0o7777)
            except OSError:
                pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path)
