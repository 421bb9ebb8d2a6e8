"""Random-access reading of a file given as a path, a real file object or an in-memory one."""
from __future__ import annotations

import contextlib
import errno
import io
import mmap as _mmap
import os
import stat
from shutil import SpecialFileError

import numpy as np

from ._common import CorruptFileError, file_label, pread_into
from .atomic import node_kind

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _open_for_read(path: str) -> tuple[int, str | None]:
    """Open ``path`` for reading; return the descriptor and, for a device, what it is.

    Raises IsADirectoryError for a folder (os.open itself succeeds on one on Linux) and
    shutil.SpecialFileError for a FIFO or a socket, both naming ``path``. The open does not wait:
    opening a FIFO with no writer would otherwise block forever.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0))
    except OSError as e:
        if e.errno == errno.ENXIO:  # opening a socket file; say what it is
            mode = 0
            with contextlib.suppress(OSError):
                mode = os.stat(path).st_mode
            _refuse_special(path, mode)
        raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        _refuse_special(path, mode)
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, node_kind(mode)


def _refuse_special(path: str, mode: int) -> None:
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        why = ", and reading it could wait forever for a writer" if stat.S_ISFIFO(mode) else ""
        raise SpecialFileError(
            f"brickwork.load: {path!r} is {node_kind(mode)}, not a regular file{why}; to read a "
            "stream, open it and pass the file object")


class Source:
    """Bytes of ``f`` from its current position, read by offset.

    A path or an object with a ``fileno`` is read with ``pread`` (no Python-level copies, and
    threads can read in parallel); anything else (``BytesIO``) is read into memory once.
    """

    def __init__(self, f) -> None:
        self.label = file_label(f)
        self.fd = None
        self.buf = None
        self._own = False
        self._mm = None
        self.kind = None  # what a non-regular file given by path is, in words
        if isinstance(f, (str, os.PathLike)):
            self.fd, self.kind = _open_for_read(os.fspath(f))
            self._own = True
            self.base = 0
            self.size = os.fstat(self.fd).st_size
            return
        fileno = None
        try:
            fileno = f.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            pass
        if fileno is not None and f.seekable():
            self.fd = fileno
            self.base = f.tell()
            self.size = os.fstat(fileno).st_size - self.base
        else:
            self.buf = bytearray(f.read())
            self.base = 0
            self.size = len(self.buf)

    def close(self) -> None:
        if self._own and self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def read(self, offset: int, n: int, what: str = "data") -> bytes:
        """Exactly ``n`` bytes at ``offset``; CorruptFileError naming ``what`` if the file ends."""
        if offset < 0 or n < 0 or offset + n > self.size:
            raise CorruptFileError(f"{self.label}: {what} at bytes {offset}..{offset + n} lies "
                                   f"past the end of the file ({self.size} bytes; truncated?)")
        if self.buf is not None:
            return bytes(self.buf[offset:offset + n])
        return os.pread(self.fd, n, self.base + offset)

    def read_into(self, arr: np.ndarray, offset: int, what: str) -> None:
        n = arr.nbytes
        if offset < 0 or offset + n > self.size:
            raise CorruptFileError(f"{self.label}: {what} at bytes {offset}..{offset + n} lies "
                                   f"past the end of the file ({self.size} bytes; truncated?)")
        if self.buf is not None:
            arr.reshape(-1).view(np.uint8)[:] = np.frombuffer(self.buf, np.uint8, n, offset)
            return
        if pread_into(self.fd, arr, self.base + offset) != n:
            raise CorruptFileError(f"{self.label}: {what}: the file ended while reading")

    def mapped(self, dtype, count: int, offset: int, what: str) -> np.ndarray:
        """``count`` items at ``offset`` mapped from the file (copy-on-write: edits stay local)."""
        dtype = np.dtype(dtype)
        if offset < 0 or offset + count * dtype.itemsize > self.size:
            raise CorruptFileError(f"{self.label}: {what} lies past the end of the file")
        if self.buf is not None:
            return np.frombuffer(self.buf, dtype, count, offset)
        if self._mm is None:
            if self.size + self.base == 0:
                return np.empty(count, dtype)
            self._mm = _mmap.mmap(self.fd, 0, access=_mmap.ACCESS_COPY)
        if count == 0:
            return np.empty(0, dtype)
        return np.frombuffer(self._mm, dtype, count, self.base + offset)
