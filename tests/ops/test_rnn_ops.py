"""The recurrent functions (``rnn_tanh_cell`` ... ``gru``) against PyTorch: values, gradients
with respect to the input, the hidden states and every weight, and PyTorch's errors."""
import numpy as np
import pytest
from helpers import check_error, check_op, rand_array

import brickwork
from brickwork.autograd import gradcheck

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}


@pytest.mark.parametrize("cell", ["rnn_tanh_cell", "rnn_relu_cell", "gru_cell"])
@pytest.mark.parametrize("bias", [True, False])
def test_simple_cells(cell, bias):
    g = GATES[cell[:-5]]
    ins = [(3, 5), (3, 4), (g * 4, 5), (g * 4, 4)] + ([(g * 4,), (g * 4,)] if bias else [])
    check_op(lambda L, x, h, *w: getattr(L, cell)(x, h, *w), ins)


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell(bias):
    ins = [(3, 5), (3, 4), (3, 4), (16, 5), (16, 4)] + ([(16,), (16,)] if bias else [])
    check_op(lambda L, x, h, c, *w: L.lstm_cell(x, (h, c), *w), ins)


def _params(kind, layers, dirs, inp, hid, bias, proj=0):
    g, out = GATES[kind], proj or hid
    shapes = []
    for layer in range(layers):
        for _ in range(dirs):
            shapes += [(g * hid, inp if layer == 0 else out * dirs), (g * hid, out)]
            shapes += [(g * hid,), (g * hid,)] if bias else []
            shapes += [(proj, hid)] if proj else []
    return shapes


CONFIGS = [  # layers, bidirectional, batch_first, bias
    (1, False, False, True), (2, True, False, True), (2, False, True, False),
    (1, True, True, True)]


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "gru"])
@pytest.mark.parametrize("layers,bi,bf,bias", CONFIGS)
def test_sequence(kind, layers, bi, bf, bias):
    dirs = 2 if bi else 1
    x = (2, 4, 3) if bf else (4, 2, 3)
    ins = [x, (layers * dirs, 2, 5)] + _params(kind, layers, dirs, 3, 5, bias)
    # float32 gradients summed over time steps and layers in another order than PyTorch's:
    # one element of 25 differed by 2.2e-5 (0.02%) on one machine (AMD EPYC, OpenBLAS), within
    # the default tolerance on another
    check_op(lambda L, x, h, *p: getattr(L, kind)(x, h, p, bias, layers, 0.0, True, bi, bf),
             ins, second_order=layers == 1, grad_atol=5e-5)


@pytest.mark.parametrize("layers,bi,bf,bias", CONFIGS)
def test_lstm(layers, bi, bf, bias):
    dirs = 2 if bi else 1
    x = (2, 4, 3) if bf else (4, 2, 3)
    ins = [x, (layers * dirs, 2, 5), (layers * dirs, 2, 5)] + _params("lstm", layers, dirs, 3,
                                                                     5, bias)
    check_op(lambda L, x, h, c, *p: L.lstm(x, (h, c), p, bias, layers, 0.0, False, bi, bf),
             ins, second_order=layers == 1)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("bi", [False, True])
def test_lstm_with_projections(bi):
    dirs = 2 if bi else 1
    ins = [(4, 2, 3), (2 * dirs, 2, 2), (2 * dirs, 2, 5)] + _params("lstm", 2, dirs, 3, 5, True,
                                                                  proj=2)
    check_op(lambda L, x, h, c, *p: L.lstm(x, (h, c), p, True, 2, 0.0, False, bi, False), ins,
             second_order=False)


def test_unbatched_sequence():
    """PyTorch's ATen function steps a (T, I) input as unbatched (nn.RNN unsqueezes it)."""
    ins = [(4, 3), (1, 5)] + _params("rnn_tanh", 1, 1, 3, 5, True)
    check_op(lambda L, x, h, *p: L.rnn_tanh(x, h, p, True, 1, 0.0, False, False, False), ins,
             second_order=False)


@pytest.mark.parametrize("kind", ["rnn_tanh", "gru", "lstm"])
@pytest.mark.parametrize("bi", [False, True])
def test_packed(kind, bi):
    dirs = 2 if bi else 1
    sizes = np.array([3, 3, 2, 1], dtype=np.int64)
    hs = [(2 * dirs, 3, 4)] * (2 if kind == "lstm" else 1)
    ins = [(int(sizes.sum()), 3), sizes] + hs + _params(kind, 2, dirs, 3, 4, True)

    def fn(L, data, bs, *rest):
        hx = (rest[0], rest[1]) if kind == "lstm" else rest[0]
        p = rest[len(hs):]
        return getattr(L, kind)(data, bs, hx, p, True, 2, 0.0, False, bi)

    check_op(fn, ins, second_order=False)


def test_dropout_between_layers():
    """Dropout applies to the inputs of layers after the first, only when training."""
    x = brickwork.tensor(rand_array((3, 2, 4)))
    p = [brickwork.tensor(rand_array(s, seed=i)) for i, s in
         enumerate(_params("rnn_tanh", 2, 1, 4, 4, True))]
    h = brickwork.zeros(2, 2, 4)
    ref = brickwork.rnn_tanh(x, h, p, True, 2, 0.0, True, False, False)[0]
    assert brickwork.equal(brickwork.rnn_tanh(x, h, p, True, 2, 0.7, False, False, False)[0],
                           ref)
    brickwork.manual_seed(0)
    dropped = brickwork.rnn_tanh(x, h, p, True, 2, 0.7, True, False, False)[0]
    assert not brickwork.equal(dropped, ref)
    # One layer: nothing to drop between layers.
    one = brickwork.rnn_tanh(x, h[:1], p[:4], True, 1, 0.7, True, False, False)[0]
    assert brickwork.equal(one, brickwork.rnn_tanh(x, h[:1], p[:4], True, 1, 0.0, True, False,
                                                   False)[0])


def test_gru_cell_numpy_formula():
    """PyTorch's GRU: the reset gate scales the hidden projection including its bias."""
    x, h = rand_array((2, 3), seed=1), rand_array((2, 4), seed=2)
    w_ih, w_hh = rand_array((12, 3), seed=3), rand_array((12, 4), seed=4)
    b_ih, b_hh = rand_array((12,), seed=5), rand_array((12,), seed=6)
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    r, z = sig(gi[:, :4] + gh[:, :4]), sig(gi[:, 4:8] + gh[:, 4:8])
    n = np.tanh(gi[:, 8:] + r * gh[:, 8:])
    want = (1 - z) * n + z * h
    got = brickwork.gru_cell(*(brickwork.tensor(a) for a in (x, h, w_ih, w_hh, b_ih, b_hh)))
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)


def test_lstm_gradcheck():
    args = [brickwork.tensor(rand_array(s, "float64", seed=i), requires_grad=True)
            for i, s in enumerate([(3, 2, 2), (1, 2, 3), (1, 2, 3), (12, 2), (12, 3), (12,),
                                   (12,)])]

    def fn(x, h, c, *p):
        return brickwork.lstm(x, (h, c), p, True, 1, 0.0, False, False, False)

    assert gradcheck(fn, args)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_layer_matches_step_by_step(kind, reverse, bias):
    """The fused layer op (hand-written backward) against its composite: the same steps in
    Tensor ops, differentiated by autograd. No torch needed."""
    from brickwork.ops._rnn_fused import ElmanLayer, GRULayer, LSTMLayer

    T, N, H, G = 4, 3, 5, GATES[kind] * 5
    shapes = [(T, N, G), (N, H)] + ([(N, H)] if kind == "lstm" else []) + [(G, H)] \
        + ([(G,)] if bias else [])

    def fresh():
        return [brickwork.tensor(rand_array(s, "float64", seed=i), requires_grad=True)
                for i, s in enumerate(shapes)]

    cls = {"lstm": LSTMLayer, "gru": GRULayer}.get(kind, ElmanLayer)
    extra = (reverse,) if cls is not ElmanLayer else (reverse, kind == "rnn_relu")

    def run(fn):
        ts = fresh()
        args = ts + ([] if bias else [None]) + list(extra)
        outs = fn(*args)
        weights = [brickwork.tensor(rand_array(tuple(o.shape), "float64", seed=9 + i))
                   for i, o in enumerate(outs)]
        sum((o * w).sum() for o, w in zip(outs, weights)).backward()
        return [o.detach().numpy() for o in outs], [t.grad.numpy() for t in ts]

    fused, composite = run(cls.apply), run(cls.composite)
    for a, b in zip(fused[0] + fused[1], composite[0] + composite[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", [
    lambda L: L.lstm_cell(L.ones(2, 3), [L.ones(2, 4)], L.ones(16, 3), L.ones(16, 4)),
    lambda L: L.lstm_cell(L.ones(2, 3), [L.ones(2, 4)] * 2, L.ones(8, 3), L.ones(16, 4)),
    lambda L: L.gru_cell(L.ones(2, 3), L.ones(2, 4), L.ones(12, 3), L.ones(9, 4)),
    lambda L: L.rnn_tanh_cell(L.ones(2, 5), L.ones(2, 4), L.ones(4, 3), L.ones(4, 4)),
    lambda L: L.rnn_tanh_cell(L.ones(2, 3), L.ones(3, 4), L.ones(4, 3), L.ones(4, 4)),
    lambda L: L.rnn_tanh_cell(L.ones(2, 3), L.ones(2, 5), L.ones(4, 3), L.ones(4, 4)),
    lambda L: L.rnn_tanh_cell(L.ones(3), L.ones(4), L.ones(4, 3), L.ones(4, 4)),
    lambda L: L.rnn_tanh(L.ones(5, 2, 3), L.ones(1, 2, 4), [L.ones(4, 3), L.ones(4, 4)], True,
                         1, 0.0, False, False, False),
    lambda L: L.rnn_tanh(L.ones(5, 2, 3), L.ones(3, 2, 4), [L.ones(4, 3), L.ones(4, 4)], False,
                         1, 0.0, False, False, False),
    lambda L: L.gru(L.ones(0, 2, 3), L.ones(1, 2, 4), [L.ones(12, 3), L.ones(12, 4)], False,
                    1, 0.0, False, False, False),
    lambda L: L.lstm(L.ones(5, 2, 3), [L.ones(1, 2, 4)], [L.ones(16, 3), L.ones(16, 4)], False,
                     1, 0.0, False, False, False),
    lambda L: L.rnn_tanh(L.ones(5, 2, 3), L.ones(2, 2, 4), [L.ones(4, 3), L.ones(4, 4)] * 2,
                         False, 2, 1.5, True, False, False),
    lambda L: L.rnn_tanh(L.ones(6, 3), L.tensor([3, 2, 1]), L.ones(1, 3, 4),
                         [L.ones(4, 3), L.ones(4, 4)], False, 1, 0.0, True, True),
    lambda L: L.rnn_tanh(L.ones(6, 3), L.tensor([3, 2, 2]), L.ones(1, 3, 4),
                         [L.ones(4, 3), L.ones(4, 4)], False, 1, 0.0, True, False),
    lambda L: L.rnn_tanh(L.ones(6, 3), L.tensor([2, 3, 1]), L.ones(1, 3, 4),
                         [L.ones(4, 3), L.ones(4, 4)], False, 1, 0.0, True, False),
    lambda L: L.rnn_tanh(L.ones(6, 3), L.tensor([3, 2, 1.0]), L.ones(1, 3, 4),
                         [L.ones(4, 3), L.ones(4, 4)], False, 1, 0.0, True, False),
])
def test_errors(case):
    check_error(case)
