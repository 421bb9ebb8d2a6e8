"""Shared test set-up: the ``tests`` folder on the path, and the device every reference op test
runs on.

Every test under ``tests/ops`` and ``tests/nn`` (and in ``test_kernels.py``) that calls
``check_op`` runs once per device:
``cpu``; ``simcuda``, on the simulated CUDA backend (``tests/simcuda``) with its tensors on
``cuda:1`` while ``cuda:0`` is current, so each op must run on its own tensors' GPU; and, where
an NVIDIA GPU and CuPy are present, ``cuda`` (marked ``cuda``: ``pytest -m cuda``), compared
with PyTorch on the GPU when PyTorch has CUDA.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import brickwork  # noqa: E402
import helpers  # noqa: E402
import simcuda  # noqa: E402

_REAL_GPU = brickwork.cuda.is_available()
_OP_DEVICES = ["cpu", "simcuda"] + ([pytest.param("cuda", marks=pytest.mark.cuda)]
                                    if _REAL_GPU else [])
_PER_DEVICE_DIRS = tuple(os.path.join(os.path.dirname(__file__), d)
                         for d in ("ops" + os.sep, "nn" + os.sep, "test_kernels.py"))


def pytest_generate_tests(metafunc):
    fn = metafunc.function
    if "check_op" in fn.__code__.co_names and str(metafunc.definition.path).startswith(
            _PER_DEVICE_DIRS):
        metafunc.parametrize("op_device", _OP_DEVICES, indirect=True)


@pytest.fixture(autouse=True)
def op_device(request):
    """Point ``check_op`` at one device for the test (see the module docstring)."""
    param = getattr(request, "param", "cpu")
    if param == "simcuda":
        with simcuda.installed(), helpers.testing_on("cuda:1", torch_device="cpu"):
            yield "cuda:1"
    elif param == "cuda":
        ref = helpers.torch
        gpu_ref = ref is not None and ref.cuda.is_available()
        if gpu_ref:  # full float32 on the reference side (cuDNN convolutions default to TF32)
            saved = ref.backends.cudnn.allow_tf32, ref.backends.cuda.matmul.allow_tf32
            ref.backends.cudnn.allow_tf32 = ref.backends.cuda.matmul.allow_tf32 = False
        with helpers.testing_on("cuda:0", torch_device="cuda:0" if gpu_ref else "cpu"):
            yield "cuda:0"
        if gpu_ref:
            ref.backends.cudnn.allow_tf32, ref.backends.cuda.matmul.allow_tf32 = saved
    else:
        yield "cpu"


@pytest.fixture
def sim_cuda():
    """The simulated CUDA backend, installed for the test (``cuda:0`` and ``cuda:1``)."""
    with simcuda.installed() as module:
        yield module
