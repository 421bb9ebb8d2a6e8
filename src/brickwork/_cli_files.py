"""``brickwork inspect`` and ``brickwork convert``: look inside and translate saved files."""
from __future__ import annotations

import json
import os


def add_parsers(sub) -> None:
    p = sub.add_parser("inspect", help="show a saved file's format, entries, ties and checks",
                       description="Show a file's format (brickwork, safetensors or PyTorch "
                                   "zip), its tree of entries with dtype, shape and size, tie "
                                   "groups, metadata and checksum status.")
    p.add_argument("file")
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


def detect_format(path: str) -> str:
    """``'torch'``, ``'brickwork'`` or ``'safetensors'`` from a file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] == b"PK\x03\x04":
        return "torch"
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
    return header.get("__metadata__") or {}


def _root_array(arr):
    while getattr(arr, "base", None) is not None and hasattr(arr.base, "shape"):
        arr = arr.base
    return arr


def _walk(obj, path: str, rows: list) -> None:
    from .tensor import Tensor

    if isinstance(obj, Tensor):
        rows.append((path, obj))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _walk(v, f"{path}.{k}" if path else str(k), rows)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _walk(v, f"{path}[{i}]", rows)
    elif path:
        rows.append((path, obj))


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def cmd_inspect(args) -> int:
    from . import load
    from .tensor import Tensor

    path = args.file
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    fmt = detect_format(path)
    print(f"file: {path} ({_size(os.path.getsize(path))})")
    print(f"format: {_FORMAT_NAMES[fmt]}")
    obj = load(path)  # checks checksums, offsets and sizes; raises naming what is wrong
    rows: list = []
    _walk(obj, "", rows)
    print(f"type: {type(obj).__name__}")
    groups: dict = {}
    total = 0
    for name, value in rows:
        if isinstance(value, Tensor):
            arr = value._host()
            root = _root_array(arr)
            groups.setdefault(id(root), []).append(name)
            total += arr.nbytes
            kind = "Parameter" if type(value).__name__ == "Parameter" else "tensor"
            print(f"  {name or '<root>'}: {kind} {value.dtype.name} {list(arr.shape)} "
                  f"{_size(arr.nbytes)}")
        else:
            print(f"  {name}: {type(value).__name__} {value!r}")
    ties = [names for names in groups.values() if len(names) > 1]
    print(f"tensors: {sum(isinstance(v, Tensor) for _, v in rows)}, {_size(total)}")
    if ties:
        print("tie groups (entries sharing storage):")
        for names in ties:
            print("  " + " = ".join(names))
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
    print("metadata: " + (json.dumps(shown, sort_keys=True) if shown else "none"))


def cmd_convert(args) -> int:
    from . import load, save

    obj = load(args.input)
    save(obj, args.output, format=args.format)
    print(f"converted {args.input} ({detect_format(args.input)}) -> {args.output} "
          f"({detect_format(args.output)})")
    return 0
