"""Basic layers and their functional forms against PyTorch (same weights, same outputs/grads)."""
import math

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from brickwork.nn import functional as F
from brickwork.ops.activation_extra import _erf_array
from helpers import assert_close, check_op, rand_array, requires_torch, torch


def copy_weights(b_module, t_module):
    """Give the torch module the brickwork module's parameters and buffers."""
    sd = {k: torch.from_numpy(np.array(v.numpy(), copy=True))
          for k, v in b_module.state_dict().items()}
    t_module.load_state_dict(sd)


def run_module_pair(make, x_shape, dtype="float32", seed=0):
    """Build the same layer in both libraries, run forward + backward, compare everything."""
    b = make(brickwork)
    t = make(torch)
    copy_weights(b, t)
    x = rand_array(x_shape, dtype, seed=seed)
    bx = brickwork.tensor(x, requires_grad=True)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    bo, to = b(bx), t(tx)
    assert_close(bo, to)
    up = rand_array(tuple(to.shape), dtype, seed=seed + 1)
    (bo * brickwork.tensor(up)).sum().backward()
    (to * torch.from_numpy(up)).sum().backward()
    assert_close(bx.grad, tx.grad, what="input grad")
    for (name, bp), (tname, tp) in zip(b.named_parameters(), t.named_parameters()):
        assert name == tname
        assert_close(bp.grad, tp.grad, what=f"grad of {name}")
    assert repr(b) == repr(t)
    return bo


LAYERS = [
    (lambda lib: lib.nn.Linear(4, 3), (5, 4)),
    (lambda lib: lib.nn.Linear(4, 3, bias=False), (5, 4)),
    (lambda lib: lib.nn.Linear(4, 3), (2, 5, 4)),
    (lambda lib: lib.nn.Linear(4, 3), (4,)),
    (lambda lib: lib.nn.Linear(4, 3), (0, 4)),
    (lambda lib: lib.nn.Bilinear(3, 3, 2), None),
    (lambda lib: lib.nn.Identity(), (3, 2)),
    (lambda lib: lib.nn.Flatten(), (2, 3, 4)),
    (lambda lib: lib.nn.Flatten(0, 1), (2, 3, 4)),
    (lambda lib: lib.nn.Unflatten(1, (3, 2)), (4, 6)),
    (lambda lib: lib.nn.Unflatten(-1, (2, -1)), (4, 6)),
    (lambda lib: lib.nn.ReLU(), (3, 4)),
    (lambda lib: lib.nn.LeakyReLU(0.2), (3, 4)),
    (lambda lib: lib.nn.ELU(0.7), (3, 4)),
    (lambda lib: lib.nn.GELU(), (3, 4)),
    (lambda lib: lib.nn.GELU("tanh"), (3, 4)),
    (lambda lib: lib.nn.Sigmoid(), (3, 4)),
    (lambda lib: lib.nn.Tanh(), (3, 4)),
    (lambda lib: lib.nn.SiLU(), (3, 4)),
    (lambda lib: lib.nn.Mish(), (3, 4)),
    (lambda lib: lib.nn.Softplus(), (3, 4)),
    (lambda lib: lib.nn.Softplus(2.0, 1.0), (3, 4)),
    (lambda lib: lib.nn.Hardtanh(-0.5, 0.5), (3, 4)),
    (lambda lib: lib.nn.ReLU6(), (3, 4)),
    (lambda lib: lib.nn.Softmax(dim=1), (3, 4)),
    (lambda lib: lib.nn.LogSoftmax(dim=0), (3, 4)),
    (lambda lib: lib.nn.Softmin(dim=-1), (3, 4)),
    (lambda lib: lib.nn.Dropout(0.5).eval(), (3, 4)),
    (lambda lib: lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 1)),
     (2, 4)),
]


@requires_torch
@pytest.mark.parametrize("make,x_shape", LAYERS, ids=lambda v: "" if callable(v) else str(v))
def test_layer_matches_torch(make, x_shape):
    if x_shape is None:  # Bilinear takes two inputs
        b, t = make(brickwork), make(torch)
        copy_weights(b, t)
        check_op(lambda lib, x1, x2: (b.to(x1.device) if lib is brickwork else t.to(x1.device))(
            x1, x2), [(4, 3), (4, 3)])
        assert repr(b) == repr(t)
        return
    run_module_pair(make, x_shape)


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_dtypes_and_grad_fn_names(dtype):
    b = nn.Linear(3, 2)
    if dtype == "float64":
        b = b.double()
    x = brickwork.tensor(rand_array((4, 3), dtype))
    assert b(x).dtype.name == dtype
    assert b(x).grad_fn.name() == "AddmmBackward0"
    assert F.linear(x, b.weight).grad_fn.name() == "MmBackward0"
    assert b(brickwork.zeros(2, 4, 3, dtype=b.weight.dtype)).grad_fn.name() == "ViewBackward0"


@requires_torch
@pytest.mark.parametrize("shape", [(3, 4), (2, 5, 4), (4,), (0, 4)])
def test_functional_linear(shape):
    check_op(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), [shape, (3, 4), (3,)])
    check_op(lambda lib, x, w: lib.nn.functional.linear(x, w), [shape, (3, 4)])


@pytest.mark.parametrize("rows", [2, 8, 48, 49])
def test_functional_linear_few_rows_by_a_large_weight(rows):
    # up to THIN_ROWS rows by a weight of 64K values or more: computed as (W @ x^T)^T
    # (sums of 300 products of values up to ~20 in float32: an absolute tolerance to match)
    tol = dict(atol=1e-4, grad_atol=1e-4, second_order=False)
    check_op(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
             [(rows, 300), (256, 300), (256,)], **tol)
    check_op(lambda lib, x, w: lib.nn.functional.linear(x, w), [(2, rows, 300), (256, 300)],
             **tol)


ACTS = [
    ("relu", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.3}), ("elu", {"alpha": 2.0}), ("silu", {}),
    ("softplus", {"beta": 3.0, "threshold": 2.0}), ("hardtanh", {}), ("relu6", {}),
    ("mish", {}), ("sigmoid", {}), ("tanh", {}),
]


@requires_torch
@pytest.mark.parametrize("name,kw", ACTS, ids=lambda v: str(v))
@pytest.mark.parametrize("shape", [(), (0,), (3, 5)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_functional_activations(name, kw, shape, dtype):
    x = rand_array(shape, dtype, low=-8.0, high=8.0, seed=3)
    check_op(lambda lib, t: getattr(lib.nn.functional, name)(t, **kw), [x])


@requires_torch
@pytest.mark.parametrize("name", ["leaky_relu", "elu", "hardtanh", "relu6", "silu", "relu"])
def test_inplace_activation(name):
    check_op(lambda lib, t: getattr(lib.nn.functional, name)(t * 1, inplace=True), [(3, 4)])


@requires_torch
def test_softmin_and_grad_fn_names():
    check_op(lambda lib, t: lib.nn.functional.softmin(t, dim=1), [(3, 4)])
    x = brickwork.randn(2, 3, requires_grad=True)
    tx = torch.randn(2, 3, requires_grad=True)
    for name in ["gelu", "leaky_relu", "elu", "silu", "softplus", "hardtanh", "relu6", "mish"]:
        assert getattr(F, name)(x).grad_fn.name() == \
            type(getattr(torch.nn.functional, name)(tx).grad_fn).__name__


@pytest.mark.parametrize("name,kw", [(n, k) for n, k in ACTS if n not in ("relu", "hardtanh",
                                                                         "relu6")])
def test_activation_gradcheck(name, kw):
    # Keep away from the kinks (0 for leaky_relu/elu, the softplus threshold).
    x = brickwork.tensor(rand_array((6,), "float64", low=0.3, high=1.7, seed=5)
                         * np.array([1, -1, 1, -1, 1, -1]), requires_grad=True)
    assert gradcheck(lambda t: getattr(F, name)(t, **kw), (x,))


def test_erf_accuracy_against_math_erf():
    xs = np.linspace(-7, 7, 4001)
    ref = np.array([math.erf(v) for v in xs])
    np.testing.assert_allclose(_erf_array(xs), ref, atol=3e-15, rtol=0)
    xs32 = xs.astype(np.float32)
    out32 = _erf_array(xs32)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, [math.erf(float(v)) for v in xs32], atol=2e-7)
    assert np.isnan(_erf_array(np.array([np.nan])))[0]
    assert _erf_array(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]


def test_erf_op_gradcheck():
    x = brickwork.tensor(rand_array((5,), "float64", low=-3, high=3), requires_grad=True)
    assert gradcheck(brickwork.erf, (x,))


def test_dropout_train_and_eval():
    brickwork.manual_seed(0)
    drop = nn.Dropout(0.5)
    x = brickwork.ones(200, 100)
    y = drop(x)
    kept = y.numpy() != 0
    assert 0.45 < kept.mean() < 0.55
    np.testing.assert_allclose(y.numpy()[kept], 2.0)
    brickwork.manual_seed(0)
    np.testing.assert_array_equal(drop(x).numpy(), y.numpy())  # same seed, same mask
    assert drop.eval()(x) is x
    assert F.dropout(x, 0.3, training=False) is x
    assert not F.dropout(x, 1.0).numpy().any()
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                                         "got 1.5"):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_the_same_mask():
    x = brickwork.ones(50, 4, requires_grad=True)
    y = F.dropout(x, 0.25)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())


@requires_torch
def test_layer_errors_match_torch():
    for make in (lambda lib, x: lib.nn.Linear(4, 3)(x),):
        for bad in [(2, 5)]:
            with pytest.raises(RuntimeError) as te:
                make(torch, torch.zeros(*bad))
            with pytest.raises(RuntimeError) as be:
                make(brickwork, brickwork.zeros(*bad))
            assert str(be.value) == str(te.value)
    with pytest.raises(RuntimeError) as te:
        torch.nn.Linear(3, 2)(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(RuntimeError) as be:
        nn.Linear(3, 2)(brickwork.zeros(2, 3, dtype=brickwork.float64))
    assert str(be.value) == str(te.value)


@requires_torch
def test_activation_reprs_match_torch():
    makers = [lambda lib: lib.nn.LeakyReLU(), lambda lib: lib.nn.LeakyReLU(0.2, True),
              lambda lib: lib.nn.GELU(), lambda lib: lib.nn.GELU("tanh"),
              lambda lib: lib.nn.Softmax(), lambda lib: lib.nn.Softmax(1),
              lambda lib: lib.nn.ELU(inplace=True), lambda lib: lib.nn.Softplus(),
              lambda lib: lib.nn.Hardtanh(), lambda lib: lib.nn.ReLU6(),
              lambda lib: lib.nn.Dropout(), lambda lib: lib.nn.Dropout(0.2, True),
              lambda lib: lib.nn.Flatten(), lambda lib: lib.nn.Unflatten(1, (3, 1)),
              lambda lib: lib.nn.Identity(), lambda lib: lib.nn.SiLU(),
              lambda lib: lib.nn.Mish(), lambda lib: lib.nn.ReLU(inplace=True),
              lambda lib: lib.nn.Linear(2, 3, bias=False), lambda lib: lib.nn.LazyLinear(3),
              lambda lib: lib.nn.Bilinear(2, 3, 4), lambda lib: lib.nn.LogSoftmax(dim=1)]
    for make in makers:
        assert repr(make(brickwork)) == repr(make(torch))


@pytest.mark.parametrize("shapes", [[(1, 7), (5, 7), (5,)], [(4, 1), (3, 1), (3,)]])
def test_linear_outer_product_gradients(shapes):
    # a batch of one (the weight gradient) or one input feature (the forward) contracts over
    # one value: a broadcast multiply instead of a GEMM, the same values
    check_op(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), shapes)
    check_op(lambda lib, x, w: lib.nn.functional.linear(x, w), shapes[:2])
    check_op(lambda lib, x, w: x @ w.t(), shapes[:2])
