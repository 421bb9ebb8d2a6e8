"""get/set_num_threads reach NumPy's bundled OpenBLAS directly when threadpoolctl is absent."""
import warnings

import pytest

import brickwork
from brickwork import _settings


def test_num_threads_reads_and_sets_numpys_openblas(monkeypatch):
    fns = _settings._blas_functions()
    if fns is None:
        pytest.skip("NumPy's BLAS is not a bundled OpenBLAS")
    monkeypatch.setitem(_settings._threads, "tpc", None)  # no threadpoolctl
    monkeypatch.setitem(_settings._threads, "intra", None)
    before = fns[0]()
    assert brickwork.get_num_threads() == before
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            brickwork.set_num_threads(1)
        assert fns[0]() == 1 and brickwork.get_num_threads() == 1
    finally:
        fns[1](before)
