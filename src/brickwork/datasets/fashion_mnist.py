"""Fashion-MNIST: 28x28 grey-scale images of 10 kinds of clothing, read from idx files.

Where the data comes from, in this order:

1. ``root=...``: a folder holding the four files (``train-images-idx3-ubyte.gz``,
   ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``;
   uncompressed copies without ``.gz`` work too, and torchvision's ``<root>/FashionMNIST/raw``
   layout is found). ``root='embedded'`` forces the small slice shipped with brickwork.
2. The environment variable ``BRICKWORK_FASHION_MNIST`` naming such a folder.
3. The Debian/Ubuntu package: ``apt-get install dataset-fashion-mnist`` puts the full data set
   (60,000 + 10,000 images) in ``/usr/share/datasets/fashion-mnist/``.
4. Otherwise the embedded slice: 2,000 training and 500 test images (the first 200 / 50 of
   each class of the full set, in their original order), so that examples and tests run on a
   fresh machine. Nothing is ever downloaded.

Data licence: Fashion-MNIST is Copyright (c) 2017 Zalando SE (https://tech.zalando.com), released
under the MIT (Expat) licence; see ``brickwork/datasets/data/README.md``, which also says how the
slice was made (``python -m brickwork.datasets.make_slice``).
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ..utils.data.dataset import Dataset

__all__ = ["FashionMNIST", "read_idx"]

ENV_VAR = "BRICKWORK_FASHION_MNIST"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
EMBEDDED_DIR = Path(__file__).resolve().parent / "data"
FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_MAGIC = {2049: 1, 2051: 3}  # labels: 1 dimension; images: 3 dimensions
_HOW_TO_GET = (f"To get the data: pass root= a folder holding the four Fashion-MNIST idx files, "
               f"set the environment variable {ENV_VAR} to such a folder, install the Debian "
               f"package (apt-get install dataset-fashion-mnist, files in {DEBIAN_DIR}), or use "
               f"root='embedded' for the small slice shipped with brickwork.")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one idx file (``.gz`` or not) into a uint8 array, checking its header and size.

    Raises:
        RuntimeError: naming the file, when it is missing, unreadable or not a valid idx
            file of unsigned bytes.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise RuntimeError(f"Fashion-MNIST file not found: {path}. {_HOW_TO_GET}") from None
    except (OSError, EOFError) as e:
        raise RuntimeError(f"Fashion-MNIST file {path} is corrupt or unreadable ({e}). "
                           f"{_HOW_TO_GET}") from None
    if len(raw) < 8:
        raise RuntimeError(f"Fashion-MNIST file {path} is corrupt: {len(raw)} bytes is too "
                           f"short for an idx header. {_HOW_TO_GET}")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in _MAGIC:
        raise RuntimeError(f"Fashion-MNIST file {path} is corrupt: magic number {magic} is "
                           f"not an idx file of unsigned bytes (expected 2049 for labels or "
                           f"2051 for images). {_HOW_TO_GET}")
    ndim = _MAGIC[magic]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise RuntimeError(f"Fashion-MNIST file {path} is corrupt: header says shape {dims} "
                           f"({expected} bytes) but the file holds {len(raw)} bytes. "
                           f"{_HOW_TO_GET}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(folder: Path, name: str) -> Path | None:
    for d in (folder, folder / "FashionMNIST" / "raw", folder / "fashion-mnist"):
        for candidate in (d / (name + ".gz"), d / name):
            if candidate.is_file():
                return candidate
    return None


def _locate(root, train: bool) -> tuple[str, Path, Path]:
    """``(source description, images path, labels path)`` following the lookup order."""
    names = FILES[train]
    if root is not None and str(root) == "embedded":
        return "embedded", EMBEDDED_DIR / (names[0] + ".gz"), EMBEDDED_DIR / (names[1] + ".gz")
    explicit = [(f"root={str(root)!r}", Path(root))] if root is not None else []
    if not explicit and os.environ.get(ENV_VAR):
        explicit = [(f"${ENV_VAR}={os.environ[ENV_VAR]!r}", Path(os.environ[ENV_VAR]))]
    for what, folder in explicit:
        found = [_find(folder, n) for n in names]
        missing = [n for n, f in zip(names, found) if f is None]
        if missing:
            raise RuntimeError(f"Fashion-MNIST: {', '.join(m + '[.gz]' for m in missing)} not "
                               f"found in {folder} (given by {what}). {_HOW_TO_GET}")
        return str(folder), found[0], found[1]
    found = [_find(DEBIAN_DIR, n) for n in names]
    if all(found):
        return str(DEBIAN_DIR), found[0], found[1]
    return "embedded", EMBEDDED_DIR / (names[0] + ".gz"), EMBEDDED_DIR / (names[1] + ".gz")


class FashionMNIST(Dataset):
    """The Fashion-MNIST data set. See: torchvision.datasets.FashionMNIST.

    Unlike torchvision, which returns PIL images, a sample is ``(image, label)`` with ``image``
    a float32 tensor of shape (1, 28, 28) scaled to [0, 1] and ``label`` an int (0..9), so it
    needs no ``ToTensor`` transform.

    Args:
        root: a folder with the idx files, ``'embedded'`` for the shipped slice, or ``None``
            to search (see the module docstring for the order).
        train: the training split (True) or the test split (False).
        transform: applied to each image tensor.
        target_transform: applied to each label.

    Attributes:
        data: uint8 tensor (N, 28, 28). targets: int64 tensor (N,). classes: the class names.
        source: the folder the data came from, or ``'embedded'``.

    Example:
        >>> train = FashionMNIST(train=True)
        >>> image, label = train[0]
        >>> image.shape, train.classes[label]
    """

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        from ..factories import from_numpy

        self.root = root
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.source, images_path, labels_path = _locate(root, train)
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise RuntimeError(f"Fashion-MNIST file {images_path} holds arrays of shape "
                               f"{images.shape}, expected (N, 28, 28) images. {_HOW_TO_GET}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise RuntimeError(f"Fashion-MNIST: {labels_path} holds {labels.shape} labels but "
                               f"{images_path} holds {len(images)} images. {_HOW_TO_GET}")
        if len(labels) and labels.max() >= len(self.classes):
            raise RuntimeError(f"Fashion-MNIST file {labels_path} is corrupt: label "
                               f"{int(labels.max())} is not in 0..9. {_HOW_TO_GET}")
        self._images = images
        self._labels = labels.astype(np.int64)
        self.data = from_numpy(images.copy())
        self.targets = from_numpy(self._labels)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int):
        from ..tensor import _make
        from ..device import CPU

        img = _make(self._images[index].astype(np.float32)[None] / np.float32(255), CPU)
        target = int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Root location: {self.source}\n"
                f"    Split: {'Train' if self.train else 'Test'}")
