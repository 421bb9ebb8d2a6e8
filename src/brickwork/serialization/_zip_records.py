"""A zip archive's records, read by name, each size checked against the file before it is used.

Only the central directory is parsed up front (by ``zipfile``, whose parse is bounded by the
file's length). A record's bytes are read only when asked for, and only after checks that bound
the work by what the file declares and uses:

- its local header lies in the file, names the same record, and its bytes end inside the file;
- it overlaps no other record read from the same archive (overlapping records are how a small
  zip declares gigabytes: a thousand directory entries pointing at one record);
- it is stored or deflated, unencrypted (PyTorch refuses bzip2, LZMA and encryption too);
- a stored record's declared size equals its size in the file; a deflated record declares at most
  deflate's maximum ratio (1032:1) times its compressed size, and is inflated incrementally
  (``zlib.decompressobj`` with ``max_length``) into exactly that many bytes, never more.
  (``zipfile``'s own ``read()`` inflates a whole stream before truncating it, so it is not used.)

Every problem raises CorruptFileError naming the file and the record.
"""
from __future__ import annotations

import bisect
import io
import os
import struct
import zipfile
import zlib

import numpy as np

from ._common import CorruptFileError, crc32
from ._source import Source

# Deflate emits at most 258 bytes per length/distance pair, and a pair costs at least 2 bits.
DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20  # bytes of compressed input (and at most of output) handled per step
_PEEK_DATA = 1 << 16  # records up to this size are read with their local header
_PEEK_EXTRA = 128  # extra-field bytes expected before a small record's data
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated",
            zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
# What zipfile's central-directory parse raises on damaged input.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OverflowError,
              UnicodeDecodeError, NotImplementedError, ValueError, OSError, IndexError,
              KeyError)


class Record:
    """Where one record's bytes are: ``start`` (relative to the source), sizes, method, crc."""

    __slots__ = ("name", "start", "size", "compressed", "method", "crc", "inline")

    def __init__(self, name: str, start: int, size: int, compressed: int, method: int,
                 crc: int) -> None:
        self.name, self.start, self.size = name, start, size
        self.compressed, self.method, self.crc = compressed, method, crc
        self.inline = None  # the record's bytes as a small record's first read found them


class ZipRecords:
    """The records of the zip archive in ``src``, by name.

    Args:
        src: the file, positioned where the archive starts.
        kind: how errors describe the archive (``'PyTorch zip archive'``).
    """

    def __init__(self, src: Source, kind: str) -> None:
        self.src, self.label, self.kind = src, src.label, kind
        fobj = io.BytesIO(src.buf) if src.buf is not None else os.fdopen(os.dup(src.fd), "rb")
        try:
            fobj.seek(src.base)
            with zipfile.ZipFile(fobj) as zf:
                infos = zf.infolist()
        except ZIP_ERRORS as e:
            raise CorruptFileError(f"{self.label}: damaged {kind} ({type(e).__name__}: "
                                   f"{e})") from None
        finally:
            fobj.close()
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self._duplicates: set = set()
        for info in infos:
            if info.filename in self.infos:
                self._duplicates.add(info.filename)
            else:
                self.infos[info.filename] = info
        self._located: dict[str, Record] = {}
        self._spans: list[tuple[int, int, str]] = []  # (start, end, name), sorted

    def names(self) -> list[str]:
        """Every record name, in directory order (each once)."""
        return list(self.infos)

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def _fail(self, name: str, problem: str) -> CorruptFileError:
        return CorruptFileError(f"{self.label}: record {name!r} of the {self.kind} {problem}")

    # -- locating -------------------------------------------------------------------------
    def locate(self, name: str) -> Record:
        """Check record ``name`` (see the module docstring) and say where its bytes are."""
        rec = self._located.get(name)
        if rec is not None:
            return rec
        info = self.infos.get(name)
        if info is None:
            raise self._fail(name, "is missing")
        if name in self._duplicates:
            raise self._fail(name, "appears more than once in the zip directory")
        if info.flag_bits & 0x1:
            raise self._fail(name, "is encrypted, which is not supported")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
            raise self._fail(name, f"is compressed with {method}; only stored and deflated "
                                   "records are supported (as in PyTorch)")
        size, compressed = info.file_size, info.compress_size
        header = info.header_offset - self.src.base
        want = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
        # One read for the local header, the name it should hold and, for a small record, its
        # extra field (PyTorch's alignment padding) and its bytes: a state_dict of thousands
        # of small tensors then costs one read per tensor.
        need = 30 + len(want)
        peek = need + (_PEEK_EXTRA + compressed if compressed <= _PEEK_DATA else 0)
        head = self.src.read(header, max(need, min(peek, self.src.size - header)),
                             f"local header of record {name!r}")
        if head[:4] != b"PK\x03\x04":
            raise self._fail(name, f"has no local header at byte {header} (damaged directory)")
        n, m = struct.unpack("<HH", head[26:30])
        if n != len(want) or head[30:need] != want:
            raise self._fail(name, f"has a local header naming {head[30:30 + n][:80]!r} "
                                   "instead (damaged or crafted directory)")
        start = header + 30 + n + m
        if start + compressed > self.src.size:
            raise self._fail(name, f"claims {compressed} bytes at byte {start}, past the end of "
                                   f"the file ({self.src.size} bytes; truncated?)")
        if info.compress_type == zipfile.ZIP_STORED and size != compressed:
            raise self._fail(name, f"is stored but declares {size} bytes uncompressed and "
                                   f"{compressed} bytes in the file")
        if info.compress_type == zipfile.ZIP_DEFLATED \
                and size > DEFLATE_MAX_RATIO * (compressed + 1):
            raise self._fail(name, f"declares {size} bytes inflated from {compressed} "
                                   f"compressed bytes, beyond deflate's maximum ratio "
                                   f"({DEFLATE_MAX_RATIO}:1)")
        self._claim(name, header, start + compressed)
        rec = self._located[name] = Record(name, start, size, compressed, info.compress_type,
                                           info.CRC)
        if start + compressed <= header + len(head):
            rec.inline = memoryview(head)[start - header:start - header + compressed]
        return rec

    def _claim(self, name: str, start: int, end: int) -> None:
        i = bisect.bisect_left(self._spans, (start, end, name))
        for j in (i - 1, i):
            if 0 <= j < len(self._spans):
                s, e, other = self._spans[j]
                if s < end and start < e:
                    raise self._fail(name, f"(bytes {start}..{end}) overlaps record {other!r} "
                                           f"(bytes {s}..{e}): a damaged or crafted zip")
        self._spans.insert(i, (start, end, name))

    # -- reading --------------------------------------------------------------------------
    def read(self, name: str, limit: int | None = None) -> bytes:
        """The whole of record ``name``, crc-checked; at most ``limit`` bytes if given."""
        rec = self.locate(name)
        if limit is not None and rec.size > limit:
            raise self._fail(name, f"declares {rec.size} bytes; expected at most {limit}")
        if rec.method == zipfile.ZIP_STORED:
            data = bytes(rec.inline) if rec.inline is not None else \
                self.src.read(rec.start, rec.size, f"record {name!r}")
            self.check_crc(rec, crc32(data))
            return data
        out = bytearray(rec.size)
        self.inflate_into(rec, out)
        return bytes(out)

    def read_stored_into(self, rec: Record, arr: np.ndarray) -> None:
        """Fill ``arr`` (``rec.size`` bytes) from stored record ``rec`` and check its crc32."""
        if rec.inline is not None:
            arr[:] = np.frombuffer(rec.inline, np.uint8)
            rec.inline = None
        else:
            self.src.read_into(arr, rec.start, f"record {rec.name!r}")
        self.check_crc(rec, crc32(arr))

    def check_crc(self, rec: Record, got: int) -> None:
        if got != rec.crc:
            raise self._fail(rec.name, f"fails its crc32 check (zip says {rec.crc:08x}, data has "
                                       f"{got:08x}): the file is damaged")

    def inflate_into(self, rec: Record, out) -> None:
        """Inflate deflated record ``rec`` into ``out`` (a writable buffer of ``rec.size``)."""
        view = memoryview(out).cast("B")
        inflater = Inflater(self, rec)
        filled = 0
        while True:
            piece = inflater.next(rec.size - filled)
            if not piece:
                break
            view[filled:filled + len(piece)] = piece
            filled += len(piece)
        inflater.finish()

    def stream(self, name: str):
        """A readable file object over record ``name``'s bytes, for an unpickler.

        A stored record is read whole (it is in the file, so the file's length bounds it); a
        deflated one is inflated as the reader asks, so a pickle that stops early never makes
        the rest of a huge declared record exist in memory. Call ``finish()`` on the result
        once done: it reads any rest and checks the size and crc32.
        """
        rec = self.locate(name)
        if rec.method == zipfile.ZIP_STORED:
            return _BytesStream(self.read(name))
        return _InflatingStream(Inflater(self, rec))


class Inflater:
    """Pieces of a deflated record, inflated a chunk at a time and never past its declared size.

    Raises CorruptFileError if the stream inflates to more or fewer bytes than declared, ends
    early, or fails its crc32.
    """

    def __init__(self, records: ZipRecords, rec: Record) -> None:
        self.records, self.rec = records, rec
        self.d = zlib.decompressobj(-zlib.MAX_WBITS)
        self.pos = rec.start
        self.end = rec.start + rec.compressed
        self.produced = 0
        self.crc = 0

    def next(self, want: int) -> bytes:
        """Up to ``min(want, 1 MiB)`` more inflated bytes; ``b''`` once the stream has ended."""
        rec = self.rec
        if self.d.eof:
            return b""
        # One byte beyond the declared size is asked for, so a record that inflates to more
        # than it declares is caught without inflating any further.
        limit = min(max(want, 0), _CHUNK) + 1
        while True:
            data = self.d.unconsumed_tail
            if not data and self.pos < self.end:
                n = min(_CHUNK, self.end - self.pos)
                data = self.records.src.read(self.pos, n, f"record {rec.name!r}")
                self.pos += n
            try:
                piece = self.d.decompress(data, limit)
            except zlib.error as e:
                raise self.records._fail(rec.name, f"is not valid deflate data ({e})") from None
            if piece or self.d.eof:
                break
            if not self.d.unconsumed_tail and self.pos >= self.end:
                raise self.records._fail(rec.name, "ends in the middle of its deflate stream "
                                                   "(truncated)")
        self.produced += len(piece)
        if self.produced > rec.size:
            raise self.records._fail(rec.name, f"inflates to more than its declared {rec.size} "
                                               "bytes")
        self.crc = zlib.crc32(piece, self.crc)
        return piece

    def finish(self) -> None:
        """Inflate (and drop) whatever is left, then check the size and crc32."""
        while self.next(_CHUNK):
            pass
        rec = self.rec
        if self.produced != rec.size:
            raise self.records._fail(rec.name, f"inflates to {self.produced} bytes but declares "
                                               f"{rec.size}")
        self.records.check_crc(rec, self.crc & 0xFFFFFFFF)


class _BytesStream(io.BytesIO):
    def finish(self) -> None:
        """Nothing to do: the record was read whole and crc-checked."""


class _InflatingStream:
    """``read``/``readline`` over an Inflater, buffering only what the reader has asked for."""

    def __init__(self, inflater: Inflater) -> None:
        self.inflater = inflater
        self.buf = bytearray()
        self.pos = 0

    def _more(self) -> bool:
        piece = self.inflater.next(_CHUNK)
        if not piece:
            return False
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += piece
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.inflater.rec.size
        while len(self.buf) - self.pos < n and self._more():
            pass
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += len(out)
        return out

    def readline(self) -> bytes:
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                return self.read(i + 1 - self.pos)
            if not self._more():
                return self.read(len(self.buf) - self.pos)

    def finish(self) -> None:
        self.inflater.finish()
