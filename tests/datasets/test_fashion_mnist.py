"""Fashion-MNIST reader: the embedded slice, lookup order and errors for bad files."""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

import brickwork
from brickwork.datasets import FashionMNIST, read_idx
from brickwork.datasets import fashion_mnist as fm
from brickwork.datasets.make_slice import balanced_indices, write_idx


@pytest.fixture(scope="module")
def slices():
    return FashionMNIST("embedded", train=True), FashionMNIST("embedded", train=False)


def test_embedded_slice_shapes_and_balance(slices):
    train, test = slices
    for ds, n in ((train, 2000), (test, 500)):
        assert len(ds) == n and ds.source == "embedded"
        assert tuple(ds.data.shape) == (n, 28, 28) and ds.data.dtype == brickwork.uint8
        assert ds.targets.dtype == brickwork.int64
        assert np.bincount(np.asarray(ds.targets), minlength=10).tolist() == [n // 10] * 10
    img, label = train[0]
    assert tuple(img.shape) == (1, 28, 28) and img.dtype == brickwork.float32
    assert isinstance(label, int) and 0 <= label < 10
    arr = np.asarray(img)
    assert 0.0 <= arr.min() and arr.max() <= 1.0
    np.testing.assert_allclose(arr[0] * 255, np.asarray(train.data[0]).astype(np.float32),
                               atol=1e-4)
    assert train.classes[9] == "Ankle boot" and train.class_to_idx["Bag"] == 8
    assert "Split: Test" in repr(test)


def test_slice_is_first_of_each_class_of_full_data(slices):
    full = fm.DEBIAN_DIR / "train-labels-idx1-ubyte.gz"
    if not full.is_file():
        pytest.skip("full Fashion-MNIST (dataset-fashion-mnist) not installed")
    labels = read_idx(full)
    idx = balanced_indices(labels, 200)
    np.testing.assert_array_equal(labels[idx], np.asarray(slices[0].targets))
    images = read_idx(fm.DEBIAN_DIR / "train-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(images[idx[:50]], np.asarray(slices[0].data)[:50])


def test_transforms(slices):
    ds = FashionMNIST("embedded", train=False, transform=lambda x: x * 2,
                      target_transform=lambda y: y + 100)
    img, label = ds[3]
    np.testing.assert_allclose(np.asarray(img), np.asarray(slices[1][3][0]) * 2)
    assert label == slices[1][3][1] + 100


def test_root_and_env_var_lookup(tmp_path, monkeypatch):
    for f in fm.EMBEDDED_DIR.glob("t10k-*.gz"):
        with gzip.open(f) as src, open(tmp_path / f.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)  # uncompressed copies are read too
    ds = FashionMNIST(root=tmp_path, train=False)
    assert len(ds) == 500 and ds.source == str(tmp_path)
    monkeypatch.setenv(fm.ENV_VAR, str(tmp_path))
    assert FashionMNIST(train=False).source == str(tmp_path)
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte.*BRICKWORK_FASHION_MNIST"):
        FashionMNIST(train=True)
    monkeypatch.delenv(fm.ENV_VAR)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")
    assert FashionMNIST(train=False).source == "embedded"


def test_missing_file_error(tmp_path):
    with pytest.raises(RuntimeError, match=r"t10k-images-idx3-ubyte\[\.gz\].*apt-get install"):
        FashionMNIST(root=tmp_path, train=False)


@pytest.mark.parametrize("corrupt,msg", [
    (lambda raw: raw[:-10], "header says shape"),
    (lambda raw: b"\x00\x00\x09\x99" + raw[4:], "magic number"),
    (lambda raw: raw[:5], "too short"),
])
def test_corrupt_file_errors(tmp_path, corrupt, msg):
    for f in fm.EMBEDDED_DIR.glob("t10k-*.gz"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    raw = gzip.open(path).read()
    with gzip.open(path, "wb") as f:
        f.write(corrupt(raw))
    with pytest.raises(RuntimeError, match=f"{path}.*{msg}"):
        FashionMNIST(root=tmp_path, train=False)


def test_not_gzip_error(tmp_path):
    for f in fm.EMBEDDED_DIR.glob("t10k-*.gz"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte.gz is corrupt"):
        FashionMNIST(root=tmp_path, train=False)


def test_write_idx_round_trip(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    write_idx(tmp_path / "x.gz", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), arr)
    with pytest.raises(ValueError, match="fewer than 5"):
        balanced_indices(np.zeros(10, dtype=np.uint8), 5)


def test_loader_over_fashion_mnist(slices):
    loader = brickwork.utils.data.DataLoader(slices[1], batch_size=128)
    xb, yb = next(iter(loader))
    assert tuple(xb.shape) == (128, 1, 28, 28) and xb.dtype == brickwork.float32
    assert tuple(yb.shape) == (128,) and yb.dtype == brickwork.int64
