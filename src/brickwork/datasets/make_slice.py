"""Regenerate the embedded Fashion-MNIST slice in ``brickwork/datasets/data/``.

The slice is the first 200 training and the first 50 test images of each class, in the order
they appear in the full data set (2,000 + 500 images), written as gzip-compressed idx files
with a fixed timestamp so that the output is byte-for-byte reproducible.

Usage (needs the full data set, e.g. ``apt-get install dataset-fashion-mnist``)::

    python -m brickwork.datasets.make_slice [--source /usr/share/datasets/fashion-mnist]
"""
from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np

from .fashion_mnist import DEBIAN_DIR, EMBEDDED_DIR, FILES, _find, read_idx

PER_CLASS = {True: 200, False: 50}


def balanced_indices(labels: np.ndarray, per_class: int) -> np.ndarray:
    """The first ``per_class`` indices of every class, in their original order."""
    keep = [np.flatnonzero(labels == c)[:per_class] for c in range(10)]
    if any(len(k) < per_class for k in keep):
        raise ValueError(f"fewer than {per_class} examples of some class")
    return np.sort(np.concatenate(keep))


def write_idx(path: Path, arr: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed idx file (magic 2049/2051)."""
    magic = {1: 2049, 3: 2051}[arr.ndim]
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9,
                                                mtime=0, filename="") as f:
        f.write(header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes())


def make_slice(source: Path = DEBIAN_DIR, dest: Path = EMBEDDED_DIR) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for train, (img_name, lbl_name) in FILES.items():
        img_path, lbl_path = _find(source, img_name), _find(source, lbl_name)
        if img_path is None or lbl_path is None:
            raise SystemExit(f"{img_name}/{lbl_name} not found in {source}")
        images, labels = read_idx(img_path), read_idx(lbl_path)
        idx = balanced_indices(labels, PER_CLASS[train])
        write_idx(dest / (img_name + ".gz"), images[idx])
        write_idx(dest / (lbl_name + ".gz"), labels[idx])
        print(f"{'train' if train else 'test'}: {len(idx)} images -> {dest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEBIAN_DIR,
                        help="folder with the full Fashion-MNIST idx files")
    parser.add_argument("--dest", type=Path, default=EMBEDDED_DIR)
    args = parser.parse_args()
    make_slice(args.source, args.dest)


if __name__ == "__main__":
    main()
