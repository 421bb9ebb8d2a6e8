"""The ``gpu`` fixture: every test here runs once per CUDA backend.

- ``simcuda``: the simulated backend (``tests/simcuda``, two devices), so CI checks the device
  logic without a GPU;
- ``cuda``: a real NVIDIA GPU through CuPy, marked ``cuda`` (``pytest -m cuda tests``) and
  skipped cleanly where there is none.
"""
from __future__ import annotations

import dataclasses

import pytest

import brickwork
import simcuda

_REAL = brickwork.cuda.is_available()


@dataclasses.dataclass
class Backend:
    name: str
    count: int  # how many CUDA devices the backend offers

    def second(self) -> str:
        """The second device, skipping the test where there is only one."""
        if self.count < 2:
            pytest.skip("needs two CUDA devices")
        return "cuda:1"


@pytest.fixture(params=["simcuda", pytest.param("cuda", marks=[
    pytest.mark.cuda,
    pytest.mark.skipif(not _REAL, reason="needs an NVIDIA GPU with CuPy "
                                         "(brickwork.cuda.is_available())")])])
def gpu(request):
    if request.param == "simcuda":
        with simcuda.installed():
            yield Backend("simcuda", simcuda.N_DEVICES)
    else:
        yield Backend("cuda", brickwork.cuda.device_count())
        brickwork.cuda.set_device(0)
