"""Every public name of ``torch``, ``torch.Tensor``, ``torch.linalg``, ``torch.fft``,
``torch.special``, ``torch.nn`` (with ``functional``, ``init``, ``utils``), ``torch.optim`` and
``torch.optim.lr_scheduler`` exists in brickwork, except whole families excluded by pattern,
each with its reason (``tools/namespace_coverage.py``: quantization, TorchScript, vendor
kernels, the data-parallel modules, ...).

A new PyTorch name, or a name lost in brickwork, fails here with the list of what is missing;
the coverage per namespace is printed (``pytest -s``) as the tool prints it.
"""
import importlib.util
import pathlib

import pytest

import brickwork

torch = pytest.importorskip("torch")

_TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "namespace_coverage.py"
_spec = importlib.util.spec_from_file_location("namespace_coverage", _TOOL)
coverage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(coverage)

PAIRS = {
    "torch": (torch, brickwork),
    "Tensor": (torch.Tensor, brickwork.Tensor),
    "linalg": (torch.linalg, brickwork.linalg),
    "fft": (torch.fft, brickwork.fft),
    "special": (torch.special, brickwork.special),
    "nn": (torch.nn, brickwork.nn),
    "nn.functional": (torch.nn.functional, brickwork.nn.functional),
    "nn.init": (torch.nn.init, brickwork.nn.init),
    "nn.utils": (torch.nn.utils, brickwork.nn.utils),
    "optim": (torch.optim, brickwork.optim),
    "lr_scheduler": (torch.optim.lr_scheduler, brickwork.optim.lr_scheduler),
}


@pytest.mark.parametrize("label", sorted(PAIRS))
def test_no_public_name_missing(label):
    theirs, ours = PAIRS[label]
    n, have, missing = coverage.compare(label, theirs, ours)
    print(f"{label:8s} {have:5d}/{n:<5d} ({100 * have / max(n, 1):5.1f}%)")
    assert n > 0 and missing == [], f"{len(missing)} public names of {label} missing: {missing}"


def test_exclusions_are_families_with_reasons():
    # No single-name exclusions: every pattern is a family (prefix, suffix or alternation of
    # a kind) and carries its reason.
    for pattern, why in coverage.FAMILIES:
        assert why and len(why) > 10, pattern
    assert coverage.excluded("quantize_per_tensor") and coverage.excluded("_foreach_add")
    assert coverage.excluded("matmul") is None and coverage.excluded("sin") is None

