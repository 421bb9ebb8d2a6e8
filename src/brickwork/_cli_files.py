"""``brickwork inspect`` and ``brickwork convert``: look inside and translate saved files.

Both open only regular files (a FIFO or device would block or never end) and never trust a
file's object tree to be small: ``inspect`` walks it without recursion, visiting each shared
container once, and prints at most ``--limit`` entries.
"""
from __future__ import annotations

import errno
import json
import os
import stat

from .cli import int_at_least

from .cli import UsageError
from .serialization import CorruptFileError

_FORMATS_READ = "brickwork/PyTorch/safetensors"
_REPR_MAX = 200  # characters of a non-tensor value shown
_TIE_NAMES_MAX = 8  # names shown per tie group
_META_MAX = 2000  # characters of metadata shown


def add_parsers(sub) -> None:
    p = sub.add_parser("inspect", help="show a saved file's format, entries, ties and checks",
                       description="Show a file's format (brickwork, safetensors or PyTorch "
                                   "zip), its tree of entries with dtype, shape and size, tie "
                                   "groups, metadata and checksum status.")
    p.add_argument("file")
    p.add_argument("--limit", type=int_at_least(0, "a count (0 or more)"), default=1000,
                   help="print at most this many entries and tie groups (default 1000; 0: all)")
    p.set_defaults(func=cmd_inspect)
    p = sub.add_parser("convert", help="convert between PyTorch .pt and brickwork's format",
                       description="Load IN (any format brickwork reads) and save it to OUT in "
                                   "the format OUT's suffix implies (.pt/.pth: PyTorch's zip, "
                                   "else brickwork's), keeping tied tensors tied.")
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--format", choices=["torch", "brickwork"], default=None,
                   help="force the output format instead of choosing it by suffix")
    p.set_defaults(func=cmd_convert)


def check_input_file(path: str) -> None:
    """Raise unless ``path`` is a regular file that can be opened for reading.

    A missing path or a folder raises Python's own OSError naming it; a FIFO, device or socket
    (``/dev/zero`` never ends, a FIFO blocks) raises CorruptFileError naming it.
    """
    st = os.stat(path)  # FileNotFoundError/PermissionError with the path
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(st.st_mode):
        raise CorruptFileError(f"{path!r} is not a {_FORMATS_READ} file: it is "
                               f"{_KINDS.get(stat.S_IFMT(st.st_mode), 'not a regular file')}")
    with open(path, "rb"):
        pass  # PermissionError with the path now, rather than a less direct one later


_KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket"}


def detect_format(path: str) -> str:
    """``'torch'``, ``'brickwork'`` or ``'safetensors'`` from a file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] == b"PK\x03\x04":
        return "torch"
    if len(head) < 8:
        raise CorruptFileError(f"{path!r}: only {len(head)} bytes: not a {_FORMATS_READ} file "
                               "(or truncated)")
    meta = _safetensors_metadata(path)
    return "brickwork" if "brickwork.version" in meta else "safetensors"


def _safetensors_metadata(path: str) -> dict:
    """The ``__metadata__`` of a safetensors file's header (checked as ``load`` checks it)."""
    from .serialization._source import Source
    from .serialization.safetensors_format import read_header

    src = Source(path)
    try:
        header, _ = read_header(src)
    finally:
        src.close()
    meta = header.get("__metadata__") or {}
    return meta if isinstance(meta, dict) else {}


def _load(path: str):
    """``brickwork.load(path)``, its errors naming the file (a crafted pickle's may not)."""
    from . import load

    try:
        return load(path)
    except OSError:
        raise
    except Exception as e:
        if path in str(e):
            raise
        raise CorruptFileError(f"{path!r}: cannot be loaded: {type(e).__name__}: {e}") from e


def _root_array(arr):
    while getattr(arr, "base", None) is not None and hasattr(arr.base, "shape"):
        arr = arr.base
    return arr


def _walk(obj) -> list:
    """The entries of ``obj`` in depth-first order, as ``(path, kind, value)``.

    ``kind`` is ``'tensor'``, ``'value'`` (anything else that is not a container) or ``'same'``
    (a container met before; ``value`` is the path where it was first met). Iterative, and each
    container is expanded once: a file can hold a tuple whose two items are one object, 40
    levels deep, which a plain recursive walk would expand into 2**40 paths.
    """
    from .tensor import Tensor

    rows: list = []
    first_path: dict[int, str] = {}
    stack = [(obj, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, Tensor):
            rows.append((path, "tensor", node))
            continue
        if isinstance(node, dict):
            items = [(v, f"{path}.{_key(k)}" if path else _key(k)) for k, v in node.items()]
        elif isinstance(node, (list, tuple)):
            items = [(v, f"{path}[{i}]") for i, v in enumerate(node)]
        else:
            if path:
                rows.append((path, "value", node))
            continue
        if items:  # empty containers are not worth a "same object" line (() is a singleton)
            seen = first_path.get(id(node))
            if seen is not None:
                rows.append((path, "same", seen or "<root>"))
                continue
            first_path[id(node)] = path
        stack.extend(reversed(items))
    return rows


def _key(k) -> str:
    text = str(k)
    return text if text.isprintable() else repr(text)  # no forged lines from hostile keys


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def cmd_inspect(args) -> int:
    """Print what ``args.file`` holds; see ``brickwork inspect --help``."""
    path, limit = args.file, args.limit or None
    check_input_file(path)
    fmt = detect_format(path)
    print(f"file: {path} ({_size(os.path.getsize(path))})")
    print(f"format: {_FORMAT_NAMES[fmt]}")
    obj = _load(path)  # checks checksums, offsets and sizes; raises naming what is wrong
    rows = _walk(obj)
    print(f"type: {type(obj).__name__}")
    groups: dict = {}
    counted: set = set()
    total = 0
    for n, (name, kind, value) in enumerate(rows):
        show = limit is None or n < limit
        if kind == "tensor":
            arr = value._host()
            groups.setdefault(id(_root_array(arr)), []).append(name or "<root>")
            if id(value) not in counted:
                counted.add(id(value))
                total += arr.nbytes
            if show:
                what = "Parameter" if type(value).__name__ == "Parameter" else "tensor"
                print(f"  {name or '<root>'}: {what} {value.dtype.name} {list(arr.shape)} "
                      f"{_size(arr.nbytes)}")
        elif show and kind == "same":
            print(f"  {name}: same object as {value}")
        elif show:
            text = repr(value)
            if len(text) > _REPR_MAX:
                text = text[:_REPR_MAX] + f"... ({len(text)} characters)"
            print(f"  {name}: {type(value).__name__} {text}")
    if limit is not None and len(rows) > limit:
        print(f"  ... {len(rows) - limit} more entries (--limit 0 shows all)")
    ties = [names for names in groups.values() if len(names) > 1]
    print(f"tensors: {sum(kind == 'tensor' for _, kind, _ in rows)}, {_size(total)}")
    if ties:
        print("tie groups (entries sharing storage):")
        for names in ties[:limit]:
            more = len(names) - _TIE_NAMES_MAX
            print("  " + " = ".join(names[:_TIE_NAMES_MAX])
                  + (f" = ... ({more} more)" if more > 0 else ""))
        if limit is not None and len(ties) > limit:
            print(f"  ... {len(ties) - limit} more tie groups")
    else:
        print("tie groups: none")
    _print_metadata(path, fmt)
    print("checksums: " + {
        "brickwork": "verified (crc32 of every tensor and of the header)",
        "safetensors": "none stored (sizes and offsets checked)",
        "torch": "none stored by PyTorch (zip records, sizes and offsets checked)",
    }[fmt])
    return 0


_FORMAT_NAMES = {"brickwork": "brickwork (safetensors with brickwork metadata)",
                 "safetensors": "safetensors", "torch": "PyTorch zip (torch.save)"}


def _print_metadata(path: str, fmt: str) -> None:
    """One line: the zip's archive name and record count, or the user metadata (shortened)."""
    if fmt == "torch":
        import zipfile

        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
        prefix = names[0].split("/")[0] if names else ""
        print(f"metadata: archive '{prefix}', {len(names)} records")
        return
    meta = _safetensors_metadata(path)
    shown = {k: v for k, v in meta.items()
             if k not in ("brickwork.tree", "brickwork.tensors", "brickwork.crc32")}
    text = json.dumps(shown, sort_keys=True) if shown else "none"
    if len(text) > _META_MAX:  # metadata is free text a writer may fill with megabytes
        text = text[:_META_MAX] + f"... ({len(text)} characters)"
    print("metadata: " + text)


def cmd_convert(args) -> int:
    """Load ``args.input`` and save it to ``args.output``; see ``brickwork convert --help``."""
    from . import save

    src, dst = args.input, args.output
    check_input_file(src)
    # Everything about OUT is checked before IN is loaded, so a bad OUT costs nothing.
    if os.path.exists(dst) and os.path.samefile(src, dst) or \
            os.path.abspath(src) == os.path.abspath(dst):
        raise UsageError(f"OUT {dst!r} is the input file itself: choose another output path")
    if os.path.isdir(dst):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), dst)
    folder = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "no such folder for the output file", folder)
    obj = _load(src)
    save(obj, dst, format=args.format)
    print(f"converted {src} ({detect_format(src)}) -> {dst} ({detect_format(dst)})")
    return 0
