"""ResNet-18 and the book's AlexNet, BatchNorm LeNet, NiN, GoogLeNet and DenseNet
(``benchmarks/models.py``, the networks that ``benchmarks/train_step.py`` times) run one
training step's forward and backward on brickwork as on PyTorch: from PyTorch's weights copied
in, the same loss, every parameter's gradient and (ResNet) the batch norm running statistics
the step leaves behind.

Tolerances. Every quantity is compared at ``rtol=1e-4`` plus an absolute term of ``3e-5`` times
the largest magnitude of the reference tensor (its scale): float32 sums of a few thousand
products (a 3x3x512 conv, a 6400-wide linear) in a different order differ by about
``sqrt(n) * eps`` of the scale, and a float64 PyTorch run of the same networks on inputs like
these puts PyTorch's own float32 gradients up to 3e-6 of the scale away from exact, brickwork's
likewise, and the two at most 4.4e-6 apart. ``3e-5`` leaves a margin of about seven for other BLAS builds and thread
counts, while a real mistake (a biased batch variance, a missed residual, a mis-strided conv)
moves results by 1e-3 of the scale or far more. A per-tensor scale rather than one ``atol``
because the gradients' scales run from 6e-4 (AlexNet's first conv) to 0.4 from layer to
layer, and many entries of each sit far below their tensor's scale.
"""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import brickwork

torch = pytest.importorskip("torch")

# Loaded by file path under its own name rather than by putting benchmarks/ on sys.path: that
# folder also holds modules called ``sequence``, ``conv`` and ``serialize``, which would shadow
# any same-named import elsewhere in the test session.
_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "models.py")
_SPEC = importlib.util.spec_from_file_location("benchmark_models", os.path.abspath(_PATH))
models = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(models)

RTOL, SCALE_ATOL = 1e-4, 3e-5
# A bias that batch norm follows has a zero gradient in exact arithmetic, and both frameworks
# give rounding noise there (up to 2e-5 of the model's largest gradient in the book's DenseNet),
# so its own scale is noise: a gradient whose reference scale is under this fraction of the
# largest one is held to that fraction of the largest, absolutely.
ZERO_FRACTION = 1e-4


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t.detach().numpy() if isinstance(t, brickwork.Tensor) else t)


def _close(actual, expected, what: str, scale_atol: float = SCALE_ATOL):
    """``|actual - expected| <= RTOL * |expected| + scale_atol * max|expected|`` everywhere, in
    float32 (``assert_allclose``'s float64 copies of AlexNet's 26M-weight layer take seconds)."""
    a, e = _np(actual), _np(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    if not e.size:
        return
    scale = float(np.abs(e).max())
    diff = np.abs(a - e)
    if float(diff.max()) <= scale_atol * scale:  # the usual case, without the rtol pass
        return
    excess = diff - (RTOL * np.abs(e) + scale_atol * scale)
    worst = int(np.argmax(excess))
    assert excess.flat[worst] <= 0, (
        f"{what}: {float(a.flat[worst])!r} != {float(e.flat[worst])!r} at flat index {worst} "
        f"(reference scale {scale:.3g}, {int((excess > 0).sum())} of {e.size} out of tolerance)")


def _step_both(build, x: np.ndarray, y: np.ndarray, train: bool,
               scale_atol: float = SCALE_ATOL):
    """Build the network in PyTorch, copy its weights into brickwork's, run one training step's
    forward and backward on each and check the loss and every gradient; returns both models."""
    torch.manual_seed(0)
    tm, bm = build(torch), build(brickwork)
    tsd = tm.state_dict()
    assert list(bm.state_dict()) == list(tsd), "the two builds must name the same tensors"
    bm.load_state_dict({k: brickwork.tensor(v.detach().numpy()) for k, v in tsd.items()})
    losses = []
    for lib, model in ((torch, tm), (brickwork, bm)):
        model.train(train)
        loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
        loss.backward()
        losses.append(float(loss.detach()))
    _close(np.float32(losses[1]), np.float32(losses[0]), "loss")
    tparams, bparams = dict(tm.named_parameters()), dict(bm.named_parameters())
    assert list(bparams) == list(tparams), "parameter names differ"
    largest = max(float(p.grad.abs().max()) for p in tparams.values())
    for k, p in tparams.items():
        assert bparams[k].grad is not None, f"no gradient for {k}"
        if float(p.grad.abs().max()) < ZERO_FRACTION * largest:
            diff = float(np.abs(_np(bparams[k].grad) - _np(p.grad)).max())
            assert diff <= ZERO_FRACTION * largest, f"grad of {k}: off by {diff:.3g}"
        else:
            _close(bparams[k].grad, p.grad, f"grad of {k}", scale_atol)
    return tm, bm


def test_resnet18_training_step_matches_torch():
    rng = np.random.default_rng(0)
    # Batch 4: the last stage's batch norm still averages over 4 * 4 * 4 = 64 values per channel.
    x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 4)
    tm, bm = _step_both(models.resnet18, x, y, train=True)
    tbufs, bbufs = dict(tm.named_buffers()), dict(bm.named_buffers())
    assert list(bbufs) == list(tbufs), "buffer names differ"
    assert sum(k.endswith("running_var") for k in tbufs) == 20  # every batch norm is checked
    for k, ref in tbufs.items():
        if k.endswith("num_batches_tracked"):
            assert int(bbufs[k].item()) == int(ref.item()) == 1, k
        else:  # running_mean, and running_var from the unbiased batch variance
            _close(bbufs[k], ref, k)


def test_alexnet_training_step_matches_torch():
    rng = np.random.default_rng(1)
    # 193x193 is the smallest input whose features come out 256x5x5 for Linear(6400, ...).
    x = rng.standard_normal((2, 1, 193, 193)).astype(np.float32)
    y = rng.integers(0, 10, 2)
    # eval() only turns dropout off: AlexNet has no batch norm or other train-mode layer.
    _step_both(models.alexnet, x, y, train=False)


@pytest.mark.parametrize("name,shape,train", [
    ("bn_lenet", (4, 1, 28, 28), True),
    ("nin", (1, 1, 224, 224), False),  # eval: dropout off
    ("googlenet", (2, 1, 96, 96), True),
    ("densenet", (2, 1, 96, 96), True),
])
def test_book_cnn_training_step_matches_torch(name, shape, train):
    # The book's modern CNNs as it writes them (lazy layers), one step each. 1e-4 of the scale:
    # DenseNet's first batch norm bias gradient sums 4608 values that mostly cancel, and a
    # float64 PyTorch run puts PyTorch's float32 result 3.5e-5 of that tensor's scale away,
    # brickwork's 3.8e-5, so the two can be 7e-5 apart; a real mistake moves 1e-3 or more.
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, shape[0])
    _step_both(getattr(models, name), x, y, train=train, scale_atol=1e-4)
