"""Device semantics that need no GPU: parsing, repr, equality, errors, identity of .to/.cpu."""
import pytest

import brickwork as bw
from brickwork.device import device
from helpers import torch


@pytest.mark.parametrize("spec", ["cpu", "cuda", "cuda:1", ("cuda", 1), "cuda:0"])
def test_device_repr_matches_torch(spec):
    d = device(*spec) if isinstance(spec, tuple) else device(spec)
    if torch is not None:
        td = torch.device(*spec) if isinstance(spec, tuple) else torch.device(spec)
        assert repr(d) == repr(td)
        assert str(d) == str(td)
        assert (d.type, d.index) == (td.type, td.index)
    else:
        assert d.type in ("cpu", "cuda")


def test_device_equality_and_hash():
    assert device("cuda:1") == device("cuda", 1)
    assert device("cuda:1") != device("cuda:0")
    assert device("cpu") == "cpu"
    assert len({device("cuda:1"), device("cuda", 1)}) == 1


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cuda:-1", "cpu:0:1"])
def test_bad_device_strings_raise_runtime_error(bad):
    with pytest.raises(RuntimeError, match="device"):
        device(bad)


def test_cuda_queries_without_gpu():
    if bw.cuda.is_available():
        pytest.skip("a GPU is present")
    assert bw.cuda.device_count() == 0
    assert bw.cuda.memory_allocated() == 0
    with pytest.raises(RuntimeError, match="CuPy"):
        bw.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match=r"brickwork\[cuda12\]"):
        bw.ones(2).cuda()


def test_unavailable_device_index_is_named():
    if bw.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    with pytest.raises(RuntimeError, match="cuda:7"):
        bw.zeros(2, device="cuda:7")


def test_chapter_try_gpu_helpers():
    def try_gpu(i=0):
        if bw.cuda.device_count() >= i + 1:
            return bw.device(f"cuda:{i}")
        return bw.device("cpu")

    def try_all_gpus():
        devices = [bw.device(f"cuda:{i}") for i in range(bw.cuda.device_count())]
        return devices if devices else [bw.device("cpu")]

    expected = bw.cuda.device_count()
    assert try_gpu() == (bw.device("cuda:0") if expected else bw.device("cpu"))
    assert try_gpu(10) == bw.device("cpu")
    assert len(try_all_gpus()) == max(expected, 1)


def test_to_cpu_returns_same_object_when_nothing_changes():
    x = bw.ones(3)
    assert x.cpu() is x
    assert x.to("cpu") is x
    assert x.to(bw.float32) is x
    assert x.to("cpu", bw.float32) is x
    y = x.to(bw.float64)
    assert y is not x and y.dtype == bw.float64
    assert x.to("cpu", copy=True) is not x


def test_factories_take_device_and_default_device_context():
    x = bw.zeros(2, 3, device="cpu")
    assert x.device == bw.device("cpu") and not x.is_cuda
    with bw.device("cpu"):
        assert bw.rand(2).device.type == "cpu"
