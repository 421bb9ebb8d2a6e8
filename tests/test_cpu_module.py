"""brickwork.cpu against torch.cpu: the device queries, streams and the deprecated amp form."""
import warnings

import pytest

import brickwork
from helpers import CaseTable, check_behaviour

CASES = CaseTable()


@CASES.case
def queries(L):
    return [L.cpu.is_available(), L.cpu.is_initialized(), L.cpu.device_count(),
            L.cpu.current_device()]


@CASES.case
def set_device_and_synchronize_accept_the_cpu(L):
    L.cpu.set_device("cpu")
    L.cpu.synchronize()
    L.cpu.synchronize("cpu")
    with L.cpu.stream(L.cpu.current_stream()):
        return L.ones(2).sum()


@CASES.case
def cpu_amp_autocast_runs_matmul_in_bfloat16(L):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with L.cpu.amp.autocast():
            return L.mm(L.ones(2, 2), L.ones(2, 2)).dtype == L.bfloat16


@pytest.mark.parametrize("name", sorted(CASES))
def test_like_torch(name):
    check_behaviour(CASES[name])


def test_cpu_amp_autocast_warns_as_deprecated():
    with pytest.warns(FutureWarning, match="amp.autocast\\('cpu'"):
        brickwork.cpu.amp.autocast()


def test_capabilities_name_the_architecture():
    caps = brickwork.cpu.get_capabilities()
    assert isinstance(caps["architecture"], str) and all(
        isinstance(v, bool) for k, v in caps.items() if k != "architecture")


def test_cuda_out_of_memory_error_is_the_top_level_class():
    assert brickwork.cuda.OutOfMemoryError is brickwork.OutOfMemoryError
