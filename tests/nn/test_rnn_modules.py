"""nn.RNN / LSTM / GRU and their cells against PyTorch: the same weights give the same outputs,
states and gradients (input, initial states and every parameter), on cpu and simcuda."""

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from helpers import (assert_close, check_behaviour, check_error, check_op, pick,
                     rand_array, requires_torch, torch)


def make_pair(make, dtype="float32"):
    """The same layer in both libraries, torch's loaded from brickwork's state dict."""
    b = make(brickwork)
    t = make(torch)
    if dtype == "float64":
        b, t = b.double(), t.double()
    t.load_state_dict({k: torch.from_numpy(np.array(v.numpy(), copy=True))
                       for k, v in b.state_dict().items()})
    return b, t


def flat(out):
    """``(output, h)`` or ``(output, (h, c))`` as one flat tuple."""
    o, h = out
    return (o,) + (tuple(h) if isinstance(h, tuple) else (h,))


def compare_param_grads(b, t):
    for (name, bp), (tname, tp) in zip(b.named_parameters(), t.named_parameters()):
        assert name == tname
        assert_close(bp.grad.to("cpu"), tp.grad, what=f"grad of {name}")


SEQ_CASES = [  # (make, input shape, state shapes or None)
    (lambda l: l.nn.RNN(3, 4), (5, 2, 3), None),
    (lambda l: l.nn.RNN(3, 4, 2, "relu", bias=False), (5, 2, 3), [(2, 2, 4)]),
    (lambda l: l.nn.RNN(3, 4, nonlinearity="relu", bidirectional=True, batch_first=True),
     (2, 5, 3), [(2, 2, 4)]),
    (lambda l: l.nn.LSTM(3, 4), (5, 2, 3), [(1, 2, 4), (1, 2, 4)]),
    (lambda l: l.nn.LSTM(3, 5, 2, bidirectional=True, proj_size=2), (4, 3, 3),
     [(4, 3, 2), (4, 3, 5)]),
    (lambda l: l.nn.LSTM(3, 4, batch_first=True, bias=False), (2, 4, 3), None),
    (lambda l: l.nn.LSTM(3, 4, proj_size=3), (4, 3), [(1, 3), (1, 4)]),  # unbatched
    (lambda l: l.nn.GRU(3, 4, 2), (5, 2, 3), [(2, 2, 4)]),
    (lambda l: l.nn.GRU(3, 4, bidirectional=True, batch_first=True), (2, 5, 3), None),
    (lambda l: l.nn.GRU(3, 4), (5, 3), [(1, 4)]),  # unbatched
    (lambda l: l.nn.RNN(3, 4, batch_first=True), (5, 3), None),  # unbatched, batch_first
]


@requires_torch
@pytest.mark.parametrize("case", range(len(SEQ_CASES)))
def test_sequence_modules_match_torch(case):
    make, x_shape, h_shapes = SEQ_CASES[case]
    b, t = make_pair(make)
    lstm = isinstance(b, nn.LSTM)

    def fn(lib, x, *hs):
        m = pick(lib, b, t)
        hx = None if not hs else (tuple(hs) if lstm else hs[0])
        return flat(m(x, hx))

    inputs = [x_shape] + list(h_shapes or [])
    check_op(fn, inputs, second_order=False)
    # check_op's backward reached the parameters too, with the same upstream gradient.
    compare_param_grads(b, t)
    assert repr(b) == repr(t)


@requires_torch
def test_second_derivatives_and_float64():
    b, t = make_pair(lambda l: l.nn.LSTM(2, 3, proj_size=2), "float64")
    check_op(lambda lib, x: flat(pick(lib, b, t)(x)), [rand_array((3, 2, 2), "float64")])
    b, t = make_pair(lambda l: l.nn.GRU(2, 3, bidirectional=True), "float64")
    check_op(lambda lib, x, h: flat(pick(lib, b, t)(x, h)),
             [rand_array((3, 2, 2), "float64"), rand_array((2, 2, 3), "float64", seed=3)])


@requires_torch
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_parameters_names_shapes_and_init(name):
    kw = dict(num_layers=2, bidirectional=True, bias=True)
    if name == "LSTM":
        kw["proj_size"] = 2
    b = getattr(nn, name)(3, 5, **kw)
    t = getattr(torch.nn, name)(3, 5, **kw)
    assert [(n, tuple(p.shape)) for n, p in b.named_parameters()] == \
           [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert [[tuple(p.shape) for p in ws] for ws in b.all_weights] == \
           [[tuple(p.shape) for p in ws] for ws in t.all_weights]
    assert b._flat_weights_names == t._flat_weights_names
    bound = 1 / np.sqrt(5)
    v = np.concatenate([p.detach().numpy().ravel() for p in b.parameters()])
    # U(-bound, bound): all inside, spread over the range (mean |v| near bound / 2).
    assert np.abs(v).max() <= bound and abs(np.abs(v).mean() - bound / 2) < 0.1 * bound
    b.flatten_parameters()  # a no-op, as on PyTorch's CPU


def test_state_dict_round_trip_without_torch():
    a, c = nn.LSTM(3, 4, 2), nn.LSTM(3, 4, 2)
    c.load_state_dict(a.state_dict())
    x = brickwork.randn(5, 2, 3)
    out_a, (h_a, _) = a(x)
    out_c, (h_c, _) = c(x)
    assert np.array_equal(out_a.detach().numpy(), out_c.detach().numpy())
    # The last step of a one-layer, one-direction output is h_n.
    assert np.allclose(out_a[-1].detach().numpy(), h_a[-1].detach().numpy())


def test_elman_step_matches_numpy():
    """One layer, one direction: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""
    m = nn.RNN(3, 4).double()
    x = rand_array((5, 1, 3), "float64")
    out, _ = m(brickwork.tensor(x))
    w = {k: v.numpy() for k, v in m.state_dict().items()}
    h = np.zeros((1, 4))
    for t in range(5):
        h = np.tanh(x[t] @ w["weight_ih_l0"].T + w["bias_ih_l0"] + h @ w["weight_hh_l0"].T
                    + w["bias_hh_l0"])
        assert np.allclose(out[t].detach().numpy(), h)


def test_gradcheck_gru_and_lstm_cells():
    gru = nn.GRU(2, 3, bidirectional=True).double()
    x = brickwork.tensor(rand_array((3, 2, 2), "float64"), requires_grad=True)
    assert gradcheck(lambda x: gru(x)[0], (x,))
    cell = nn.LSTMCell(2, 3).double()
    assert gradcheck(lambda x: cell(x)[1], (brickwork.tensor(rand_array((2, 2), "float64"),
                                                             requires_grad=True),))


CELL_CASES = [
    (lambda l: l.nn.RNNCell(3, 4), (2, 3), [(2, 4)]),
    (lambda l: l.nn.RNNCell(3, 4, bias=False, nonlinearity="relu"), (2, 3), None),
    (lambda l: l.nn.LSTMCell(3, 4), (2, 3), [(2, 4), (2, 4)]),
    (lambda l: l.nn.LSTMCell(3, 4, bias=False), (3,), None),
    (lambda l: l.nn.GRUCell(3, 4), (2, 3), [(2, 4)]),
    (lambda l: l.nn.GRUCell(3, 4), (3,), [(4,)]),
]


@requires_torch
@pytest.mark.parametrize("case", range(len(CELL_CASES)))
def test_cells_match_torch(case):
    make, x_shape, h_shapes = CELL_CASES[case]
    b, t = make_pair(make)
    lstm = isinstance(b, nn.LSTMCell)

    def fn(lib, x, *hs):
        m = pick(lib, b, t)
        hx = None if not hs else (tuple(hs) if lstm else hs[0])
        return m(x, hx)

    check_op(fn, [x_shape] + list(h_shapes or []))
    compare_param_grads(b, t)
    assert repr(b) == repr(t)
    assert [(n, tuple(p.shape)) for n, p in b.named_parameters()] == \
           [(n, tuple(p.shape)) for n, p in t.named_parameters()]


@requires_torch
def test_dropout_between_layers():
    b, t = make_pair(lambda l: l.nn.GRU(3, 4, 3, dropout=1.0))
    x = rand_array((4, 2, 3))
    # p = 1 drops every input of layers 2 and 3: deterministic, so comparable with torch.
    for train in (True, False):
        b.train(train)
        t.train(train)
        assert_close(b(brickwork.tensor(x))[0], t(torch.from_numpy(x))[0])
    b, _ = make_pair(lambda l: l.nn.RNN(3, 4, 2, dropout=0.5))
    xb = brickwork.tensor(x)
    assert not np.allclose(b(xb)[0].detach().numpy(), b.eval()(xb)[0].detach().numpy())


@requires_torch
@pytest.mark.parametrize("kwargs", [
    dict(dropout=1.5), dict(dropout=True), dict(hidden_size=0), dict(hidden_size=2.0),
    dict(input_size=0), dict(num_layers=0), dict(bias=1), dict(batch_first=None),
    dict(proj_size=4), dict(proj_size=-1), dict(nonlinearity="gelu"),
])
def test_constructor_errors_as_torch(kwargs):
    def make(lib):
        kw = dict(input_size=3, hidden_size=4)
        kw.update(kwargs)
        if "nonlinearity" in kw:
            return lib.nn.RNN(**kw)
        return lib.nn.LSTM(**kw)

    check_behaviour(make)


@requires_torch
def test_proj_size_refused_by_rnn_and_gru_and_dropout_warning():
    for name in ("RNN", "GRU"):
        check_behaviour(lambda lib: getattr(lib.nn, name)(3, 4, proj_size=2))
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.3)


FORWARD_ERRORS = [
    (lambda l: l.nn.RNN(3, 4), [(2, 3, 3, 1)]),  # 4-d input
    (lambda l: l.nn.LSTM(3, 4), [(2, 2, 3, 1)]),
    (lambda l: l.nn.GRU(3, 4), [(5, 2, 2)]),  # wrong input size
    (lambda l: l.nn.RNN(3, 4), [(5, 2, 3), (1, 3, 4)]),  # wrong batch in h0
    (lambda l: l.nn.RNN(3, 4), [(5, 2, 3), (2, 4)]),  # 2-d h0 with 3-d input
    (lambda l: l.nn.GRU(3, 4), [(5, 3), (1, 1, 4)]),  # 3-d h0 with 2-d input
    (lambda l: l.nn.LSTM(3, 4), [(5, 2, 3), (1, 2, 4), (1, 2, 3)]),  # wrong c0
    (lambda l: l.nn.LSTM(3, 4, proj_size=2), [(5, 2, 3), (1, 2, 4), (1, 2, 4)]),  # wrong h0
    (lambda l: l.nn.LSTM(3, 4), [(5, 2, 3), (2, 4), (2, 4)]),
    (lambda l: l.nn.RNNCell(3, 4), [(2, 2, 3)]),
    (lambda l: l.nn.GRUCell(3, 4), [(2, 3), (1, 2, 4)]),
    (lambda l: l.nn.LSTMCell(3, 4), [(2, 3), (2, 4), (1, 2, 4)]),
]


@requires_torch
@pytest.mark.parametrize("case", range(len(FORWARD_ERRORS)))
def test_forward_errors_as_torch(case):
    make, shapes = FORWARD_ERRORS[case]

    def fn(lib, x, *hs):
        m = make(lib)
        lstm = isinstance(m, (lib.nn.LSTM, lib.nn.LSTMCell))
        return m(x, None if not hs else (tuple(hs) if lstm else hs[0]))

    check_error(fn, shapes)


@requires_torch
def test_dtype_mismatch_error():
    for lib in (torch, brickwork):  # same text, each library's dtype names
        with pytest.raises(ValueError, match=rf"RNN input dtype \({lib.__name__}.float64\) "
                                             rf"does not match weight dtype "
                                             rf"\({lib.__name__}.float32\)"):
            lib.nn.GRU(3, 4)(lib.zeros(2, 1, 3, dtype=lib.float64))


@requires_torch
def test_device_and_dtype_arguments_and_to():
    m = nn.LSTM(3, 4, dtype=brickwork.float64)
    assert all(p.dtype == brickwork.float64 for p in m.parameters())
    m = m.float()
    out, (h, c) = m(brickwork.randn(2, 1, 3))
    assert out.dtype == brickwork.float32 and h.shape == (1, 1, 4)


@requires_torch
def test_torch_state_dict_loads_into_brickwork():
    t = torch.nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2)
    b = nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2)
    b.load_state_dict({k: brickwork.tensor(v.detach().numpy().copy())
                       for k, v in t.state_dict().items()})
    x = rand_array((5, 2, 3))
    for bo, to in zip(flat(b(brickwork.tensor(x))), flat(t(torch.from_numpy(x)))):
        assert_close(bo, to)
