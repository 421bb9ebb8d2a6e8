"""nn.init: dirac_, eye_ and sparse_ against PyTorch, and the deprecated spellings' warnings."""
import inspect
import math
import warnings

import numpy as np
import pytest

import brickwork
from brickwork import nn
from helpers import brickwork_device, check_error, requires_torch, torch

DEPRECATED = ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
              "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]


@requires_torch
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (0, 3), (1, 1)])
def test_eye_matches_torch(shape):
    b = brickwork.empty(*shape, dtype=brickwork.float64)
    assert nn.init.eye_(b) is b
    np.testing.assert_array_equal(b.numpy(), torch.nn.init.eye_(torch.empty(*shape)).numpy())


@requires_torch
@pytest.mark.parametrize("shape,groups", [((6, 4, 3), 1), ((6, 4, 3), 3), ((3, 5, 2, 4), 1),
                                          ((8, 2, 3, 3), 4), ((4, 4, 3, 3, 3), 2),
                                          ((2, 6, 1, 1, 2), 1)])
def test_dirac_matches_torch(shape, groups):
    b = brickwork.randn(*shape)
    assert nn.init.dirac_(b, groups) is b
    np.testing.assert_array_equal(b.numpy(),
                                  torch.nn.init.dirac_(torch.randn(*shape), groups).numpy())


def test_dirac_and_eye_preserve_the_input():
    """No torch needed: identity weights make conv/linear layers copy their input."""
    x = brickwork.randn(2, 3, 5, 6, dtype=brickwork.float64)
    w = nn.init.dirac_(brickwork.empty(3, 3, 3, 3, dtype=brickwork.float64))
    y = nn.functional.conv2d(x, w, padding=1)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    x = brickwork.randn(4, 3, dtype=brickwork.float64)
    w = nn.init.eye_(brickwork.empty(5, 3, dtype=brickwork.float64))
    y = nn.functional.linear(x, w).numpy()
    np.testing.assert_array_equal(y[:, :3], x.numpy())
    assert not y[:, 3:].any()


def test_init_in_place_on_parameters():
    for fill, shape in [(nn.init.eye_, (3, 4)), (nn.init.dirac_, (2, 2, 3)),
                        (lambda p: nn.init.sparse_(p, 0.5), (6, 4))]:
        p = nn.Parameter(brickwork.ones(*shape))
        assert fill(p) is p
        assert p.requires_grad and p.grad_fn is None


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
@pytest.mark.parametrize("shape,sparsity", [((50, 40), 0.1), ((7, 300), 0.5), ((10, 3), 0.0),
                                            ((10, 3), 1.0), ((10, 3), 1.7), ((5, 0), 0.3),
                                            ((9, 4), 0.34)])
def test_sparse_zero_count_per_column(device, shape, sparsity):
    with brickwork_device(device) as dev:
        w = brickwork.empty(*shape, device=dev)
        assert nn.init.sparse_(w, sparsity) is w
        assert w.device.type == brickwork.device(dev).type
        zeros = (w.cpu().numpy() == 0).sum(axis=0)
    expected = min(math.ceil(sparsity * shape[0]), shape[0])
    np.testing.assert_array_equal(zeros, np.full(shape[1], expected))


def test_sparse_values_std_and_generator():
    g = brickwork.Generator().manual_seed(5)
    a = nn.init.sparse_(brickwork.empty(400, 300), 0.25, std=0.3, generator=g).numpy()
    nonzero = a[a != 0]
    assert nonzero.size == 300 * 300
    assert abs(nonzero.std() - 0.3) < 0.01 and abs(nonzero.mean()) < 0.01
    # Each column zeroes different rows.
    assert len({tuple(np.flatnonzero(a[:, j] == 0)) for j in range(300)}) > 250
    g.manual_seed(5)
    b = nn.init.sparse_(brickwork.empty(400, 300), 0.25, std=0.3, generator=g).numpy()
    np.testing.assert_array_equal(a, b)
    brickwork.manual_seed(1)
    c = nn.init.sparse_(brickwork.empty(6, 5), 0.5).numpy()
    brickwork.manual_seed(1)
    np.testing.assert_array_equal(nn.init.sparse_(brickwork.empty(6, 5), 0.5).numpy(), c)


@requires_torch
def test_sparse_statistics_match_torch():
    torch.manual_seed(0)
    t = torch.nn.init.sparse_(torch.empty(300, 200), 0.3, std=0.05).numpy()
    b = nn.init.sparse_(brickwork.empty(300, 200), 0.3, std=0.05).numpy()
    np.testing.assert_array_equal((b == 0).sum(0), (t == 0).sum(0))
    assert abs(b[b != 0].std() - t[t != 0].std()) < 0.03 * 0.05


@requires_torch
@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.init.sparse_(lib.empty(3), 0.1),
    lambda lib: lib.nn.init.sparse_(lib.empty(3, 2, 2), 0.1),
    lambda lib: lib.nn.init.eye_(lib.empty(2, 2, 2)),
    lambda lib: lib.nn.init.dirac_(lib.empty(2, 2, 2, 2, 2, 2)),
    lambda lib: lib.nn.init.dirac_(lib.empty(6, 2, 3), groups=4),
    lambda lib: lib.nn.init.dirac(lib.empty(3)),
    lambda lib: lib.nn.init.sparse(lib.empty(3), 0.5),
])
def test_errors_match_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        check_error(call)


@requires_torch
@pytest.mark.parametrize("name", DEPRECATED)
def test_deprecated_spellings_warn_like_torch(name):
    args = {"constant": (0.5,), "sparse": (0.5,)}.get(name, ())
    shape = (4, 2, 3) if name == "dirac" else (4, 6)
    with pytest.warns(FutureWarning) as t_rec:
        getattr(torch.nn.init, name)(torch.empty(*shape), *args)
    with pytest.warns(FutureWarning) as b_rec:
        out = getattr(nn.init, name)(brickwork.empty(*shape), *args)
    assert [str(r.message) for r in b_rec] == [str(r.message) for r in t_rec]
    assert b_rec[0].filename == __file__  # points at the caller, as PyTorch's stacklevel does
    assert getattr(nn.init, name).__name__ == name
    assert tuple(out.shape) == shape


def test_deprecated_spellings_call_through():
    with pytest.warns(FutureWarning, match=r"`nn.init.eye` is now deprecated in favor of "
                                           r"`nn.init.eye_`\."):
        w = nn.init.eye(brickwork.empty(2, 3))
    np.testing.assert_array_equal(w.numpy(), np.eye(2, 3))
    with pytest.warns(FutureWarning):
        w = nn.init.dirac(brickwork.empty(4, 2, 3), groups=2)
    assert w.numpy()[[0, 1, 2, 3], [0, 1, 0, 1], 1].tolist() == [1, 1, 1, 1]
    assert w.numpy().sum() == 4
    with pytest.warns(FutureWarning):
        w = nn.init.sparse(brickwork.empty(4, 5), sparsity=0.5, std=1.0)
    assert ((w.numpy() == 0).sum(0) == 2).all()


@requires_torch
def test_all_matches_torch():
    assert sorted(nn.init.__all__) == sorted(torch.nn.init.__all__)
    for name in ["sparse_", "eye_", "dirac_"]:
        b = inspect.signature(getattr(nn.init, name)).parameters
        t = inspect.signature(getattr(torch.nn.init, name)).parameters
        assert [(p.name, p.default) for p in b.values()] == \
            [(p.name, p.default) for p in t.values()]
