"""use_deterministic_algorithms(True) on the GPU: accumulating into repeated indices runs on
the host in index order instead of with CuPy's atomics (checked on the simulated backend by
making its atomic ``add.at`` fail), with the same values either way."""
import numpy as np
import pytest

import brickwork
from helpers import brickwork_device


def _workloads(dev):
    x = brickwork.arange(12.0, device=dev).reshape(3, 4).requires_grad_()
    idx = brickwork.tensor([0, 2, 0, 0], device=dev)
    y = x[idx].sum() + x.index_select(0, idx).pow(2).sum()
    y = y + brickwork.zeros(3, 4, device=dev).scatter_add(0, idx.view(1, 4).expand(2, 4),
                                                          x[:2]).sum()
    y.backward()
    emb = brickwork.nn.Embedding(5, 3).to(dev)
    emb(brickwork.tensor([1, 1, 4, 1], device=dev)).sum().backward()
    return [x.grad.cpu().numpy(), emb.weight.grad.cpu().numpy()]


@pytest.fixture
def deterministic():
    brickwork.use_deterministic_algorithms(True)
    yield
    brickwork.use_deterministic_algorithms(False)


def test_gpu_scatter_adds_avoid_atomics_when_deterministic(deterministic, monkeypatch):
    with brickwork_device("simcuda") as dev:
        from brickwork.device import cupy_module

        brickwork.manual_seed(0)
        expected = None
        brickwork.use_deterministic_algorithms(False)
        expected = _workloads(dev)
        brickwork.use_deterministic_algorithms(True)

        def atomics(*args, **kwargs):
            raise AssertionError("atomic add.at used under deterministic mode")

        monkeypatch.setattr(type(cupy_module().add), "at", atomics)
        brickwork.manual_seed(0)
        got = _workloads(dev)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def test_cpu_path_is_unchanged(deterministic):
    brickwork.manual_seed(0)
    got = _workloads("cpu")
    x = np.arange(12.0).reshape(3, 4)
    want = np.zeros((3, 4))
    for i in [0, 2, 0, 0]:  # x[idx].sum() and index_select(...).pow(2).sum()
        want[i] += 1 + 2 * x[i]
    want[:2] += 1  # scatter_add's gradient to its source rows
    np.testing.assert_allclose(got[0], want)
    np.testing.assert_array_equal(got[1].sum(axis=1), [0, 9, 0, 0, 3])
