"""Crash-proof writes: a file is replaced whole or not at all.

The new contents go to a temporary file in the target's folder (same file system, so the rename
is atomic), which is flushed and fsync'ed before ``os.replace`` puts it over the target; the
folder is then fsync'ed so the rename itself survives a power cut. A process killed at any
moment leaves either the old file or the new one, never a torn mix.

What a write to a path means:

- a symlink (or a chain of them, or a dangling one) is written *through*, as ``open(path, 'wb')``
  would: the final target is replaced and the links stay links;
- a directory raises Python's own ``IsADirectoryError`` naming the path; a FIFO, socket or
  device raises ``shutil.SpecialFileError`` (an OSError) naming the path and what it is, and
  the node is left alone;
- any other OSError (a full disk, a read-only folder) names the path being written, not the
  temporary file, and keeps its errno and class.

Killed saves leave a temporary file ``.<name>.tmp-<pid>-<random>`` behind. The writer holds an
exclusive ``flock`` on it while writing; the kernel drops the lock when the process dies, however
it dies, so the next save to the same folder removes exactly the temporary files nobody holds
(``remove_stale_temps``). A pid reused by another process cannot make a live file look dead or a
dead one look live. Where ``flock`` fails (file systems without it) the pid in the name decides;
on platforms without ``fcntl`` (Windows) stale temporary files are not removed.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from shutil import SpecialFileError
from typing import BinaryIO, Iterator

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["atomic_write", "fsync_dir", "remove_stale_temps", "resolve_target", "node_kind"]

# brickwork's temporary names: ".<name>.tmp-<pid>-<8 hex digits>". Nothing else is ever removed.
_TEMP_NAME = re.compile(r"\..+\.tmp-([0-9]+)-[0-9a-f]{8}", re.DOTALL)
_MAX_STEM_BYTES = 200  # leaves room for the suffix within the usual 255-byte name limit
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def node_kind(mode: int) -> str | None:
    """What a file of ``st_mode`` is, in words, if it is neither a regular file nor a folder."""
    for test, words in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return words
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"a special file (mode {stat.filemode(mode)})"


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


def resolve_target(path: str | os.PathLike) -> str:
    """The regular file a write to ``path`` lands on: symlinks followed, the result checked.

    Follows chains of links and dangling links (the missing target is what gets created), as
    ``open(path, 'wb')`` does.

    Raises:
        OSError: ``ELOOP`` for a cycle of links.
        IsADirectoryError: ``path`` is (or leads to) a folder.
        shutil.SpecialFileError: ``path`` is (or leads to) a FIFO, socket or device.
    """
    path = os.fspath(path)
    target = os.path.realpath(path)
    if os.path.islink(target):  # realpath stops at a cycle of links
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    kind = node_kind(mode)
    if kind is not None:
        via = "" if target == os.path.abspath(path) else f" (through links, {target!r})"
        raise SpecialFileError(
            f"brickwork.save: {path!r}{via} is {kind}, not a regular file; saving to a path "
            "replaces a regular file atomically and leaves other nodes untouched. To write to "
            "it anyway, open it and pass the file object.")
    return target


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file for writing; on success it atomically becomes ``path``.

    If the body raises, the temporary file is removed and ``path`` is untouched. ``path`` may be
    a symlink (the final target is replaced; see ``resolve_target`` for what is refused). Before
    writing, temporary files that killed writers left in the folder are removed. An OSError from
    creating, writing or renaming the file names ``path`` (an OSError the body raises about some
    other named file keeps its name).

    Example:
        >>> with atomic_write("model.bw") as f:
        ...     f.write(data)
    """
    path = os.fspath(path)
    fd = tmp = None
    try:
        target = resolve_target(path)
        folder, name = os.path.split(target)
        # Before writing, so the space of killed saves' files is free for this one.
        remove_stale_temps(folder)
        fd, tmp, new_mode = _create_temp(folder, name)
        # The descriptor stays open (so the lock stays held) until the rename is done: a
        # finished but unrenamed file is still in use.
        f = os.fdopen(fd, "wb", closefd=False)
        try:
            yield f
        except BaseException:
            # The file is discarded: a failing flush of its buffer (a full disk again) must
            # not replace the body's exception.
            with contextlib.suppress(OSError, ValueError):
                f.close()
            raise
        f.close()
        os.fsync(fd)
        try:
            mode = os.stat(target).st_mode & 0o7777  # keep the replaced file's permissions
        except FileNotFoundError:
            mode = new_mode
        _chmod(fd, tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        renamed = _name_target(e, path, tmp) if isinstance(e, OSError) else None
        if renamed is not None:
            raise renamed.with_traceback(e.__traceback__) from None
        raise
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock
    fsync_dir(target)


def _name_target(e: OSError, path: str, tmp: str | None) -> OSError | None:
    """``e`` (about a temporary file of this process, or about no file) naming ``path`` instead.

    A new exception of the same class and errno (an OSError's second file name cannot be
    cleared in place: setting it to None prints as ``-> None``); None when ``e`` is about some
    other file the body used, or has no errno.
    """
    if e.errno is None:
        return None
    name = e.filename
    if name is not None and name != tmp:
        match = _TEMP_NAME.fullmatch(os.path.basename(os.fsdecode(name))) \
            if isinstance(name, (str, bytes)) else None
        if match is None or int(match.group(1)) != os.getpid():
            return None  # about some other file the body used
    try:
        return type(e)(e.errno, e.strerror, path)
    except TypeError:  # a subclass with another constructor: keep the original
        return None


def _chmod(fd: int, tmp: str, mode: int) -> None:
    with contextlib.suppress(OSError):
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        else:
            os.chmod(tmp, mode)


def _create_temp(folder: str, name: str) -> tuple[int, str, int]:
    """Create and lock ``.<name>.tmp-<pid>-<random>`` in ``folder``.

    Returns the descriptor, the path and the permission bits a new file gets here (0o666 less
    the umask, read from the file rather than by setting the process-wide umask, which would race
    with other threads).
    """
    stem = name
    while len(os.fsencode(stem)) > _MAX_STEM_BYTES:
        stem = stem[:-1]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        try:
            new_mode = os.fstat(fd).st_mode & 0o777
            # Private while it is written (it may hold a copy of a 0o600 file's new contents).
            _chmod(fd, tmp, 0o600)
            locked = _try_lock(fd)
            # A stale-file sweep may have locked and unlinked the file between our open and our
            # lock (it saw an unlocked file of this pattern); then pick another name.
            if locked is False or os.fstat(fd).st_nlink == 0:
                os.close(fd)
                continue
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return fd, tmp, new_mode
    raise FileExistsError(errno.EEXIST, "no free temporary file name", os.path.join(folder, name))


def _try_lock(fd: int) -> bool | None:
    """Take an exclusive flock on ``fd`` without waiting.

    Returns True when taken, False when another open file holds it, None where flock is not
    available (no ``fcntl``, or a file system without locks).
    """
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows: assume alive
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def remove_stale_temps(folder: str) -> list[str]:
    """Remove brickwork's temporary files in ``folder`` whose writing process is gone.

    A file is stale when nobody holds its flock (the writer's lock dies with the writer), or,
    where flock is not available, when the pid in its name no longer exists. The temporary file
    of a live writer, in this process or another, is never touched; nor is anything whose name
    does not follow brickwork's pattern, nor anything but a regular file. Errors are ignored.

    Returns:
        The paths removed.
    """
    removed = []
    if fcntl is None:
        return removed  # without flock, a live writer cannot be told apart safely on Windows
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        # The cheap test first: a save runs this over every name in its folder.
        match = _TEMP_NAME.fullmatch(name) if name[0] == "." and ".tmp-" in name else None
        if match is not None:
            path = os.path.join(folder, name)
            if _remove_if_stale(path, int(match.group(1))):
                removed.append(path)
    return removed


def _remove_if_stale(path: str, pid: int) -> bool:
    try:
        # O_NONBLOCK: a FIFO given this name must not make the sweep wait for a writer.
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        locked = _try_lock(fd)
        if locked is False or (locked is None and _pid_alive(pid)):
            return False
        # Unlinked while the lock is held: a writer that created this name an instant ago gets
        # the lock only afterwards, sees the file gone and picks another name.
        here = os.stat(path, follow_symlinks=False)
        if (here.st_dev, here.st_ino) != (st.st_dev, st.st_ino):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
