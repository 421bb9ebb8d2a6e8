"""nn.utils.rnn (padding and packing) and the recurrent layers on PackedSequence, against
PyTorch, on cpu and simcuda."""
import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.nn.utils import rnn as U
from helpers import (assert_close, check_behaviour, check_op, pick, rand_array, requires_torch,
                     torch)


def make_pair(make):
    b, t = make(brickwork), make(torch)
    t.load_state_dict({k: torch.from_numpy(np.array(v.numpy(), copy=True))
                       for k, v in b.state_dict().items()})
    return b, t


def lib_rnn(lib):
    return lib.nn.utils.rnn


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    def fn(lib, a, b, c):
        return lib_rnn(lib).pad_sequence([a, b, c], batch_first=batch_first,
                                         padding_value=-1.5, padding_side=side)

    check_op(fn, [(3, 2), (5, 2), (1, 2)])


@requires_torch
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_round_trip(enforce_sorted, batch_first):
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]

    def fn(lib, x):
        R = lib_rnn(lib)
        p = R.pack_padded_sequence(x, lib.tensor(lengths), batch_first=batch_first,
                                   enforce_sorted=enforce_sorted)
        padded, lens = R.pad_packed_sequence(p, batch_first=batch_first, padding_value=7.0,
                                             total_length=6)
        extra = (p.sorted_indices, p.unsorted_indices) if not enforce_sorted else ()
        # batch_sizes and lengths stay on the CPU (as PyTorch's): compared as lists.
        return (p.data, p.batch_sizes.tolist(), padded, lens.tolist()) + extra

    check_op(fn, [(4, 5, 2) if batch_first else (5, 4, 2)])


@requires_torch
def test_pack_sequence_unpack_and_unpad():
    def fn(lib, a, b, c):
        R = lib_rnn(lib)
        p = R.pack_sequence([a, b, c], enforce_sorted=False)
        back = R.unpack_sequence(p)
        padded = R.pad_sequence([a, b, c], batch_first=True)
        unpadded = R.unpad_sequence(padded, lib.tensor([2, 4, 3]), batch_first=True)
        return (p.data, p.batch_sizes.tolist()) + tuple(back) + tuple(unpadded)

    check_op(fn, [(2, 3), (4, 3), (3, 3)])


@requires_torch
@pytest.mark.parametrize("make", [
    lambda l: l.nn.LSTM(2, 3, 2, bidirectional=True, proj_size=2),
    lambda l: l.nn.GRU(2, 3, batch_first=True),
    lambda l: l.nn.RNN(2, 3, nonlinearity="relu", bidirectional=True),
])
@pytest.mark.parametrize("with_hx", [False, True])
def test_modules_on_packed_sequences(make, with_hx):
    b, t = make_pair(make)
    lengths = [2, 4, 1]
    lstm = isinstance(b, nn.LSTM)
    dirs = 2 if b.bidirectional else 1
    real = b.proj_size or b.hidden_size
    hs = [(b.num_layers * dirs, 3, real)] + ([(b.num_layers * dirs, 3, 3)] if lstm else [])

    def fn(lib, x, *hx):
        R = lib_rnn(lib)
        m = pick(lib, b, t)
        p = R.pack_padded_sequence(x, lengths, batch_first=m.batch_first, enforce_sorted=False)
        h = None if not hx else (tuple(hx) if lstm else hx[0])
        out, h = m(p, h)
        assert isinstance(out, R.PackedSequence)
        padded, lens = R.pad_packed_sequence(out, batch_first=m.batch_first)
        assert out.batch_sizes.device.type == "cpu"
        return (out.data, padded, lens.tolist()) + (tuple(h) if lstm else (h,))

    shape = (3, 4, 2) if b.batch_first else (4, 3, 2)
    check_op(fn, [shape] + (hs if with_hx else []), second_order=False)
    for (name, bp), (_, tp) in zip(b.named_parameters(), t.named_parameters()):
        assert_close(bp.grad.to("cpu"), tp.grad, what=f"grad of {name}")


@requires_torch
def test_packed_sequence_type_and_errors():
    def fn(lib):
        R = lib_rnn(lib)
        p = R.pack_sequence([lib.ones(3, 2), lib.ones(1, 2)])
        q = p.to(lib.float64)
        return (isinstance(p, tuple), p._fields, p.is_cuda, q.data.dtype == lib.float64,
                p.double().data, p.sorted_indices is None, len(p))

    check_behaviour(fn)
    for bad in (lambda lib: lib_rnn(lib).pack_padded_sequence(lib.zeros(3, 2), [1, 2]),
                lambda lib: lib_rnn(lib).pack_padded_sequence(lib.zeros(3, 2), [3, 0]),
                lambda lib: lib_rnn(lib).pad_packed_sequence(
                    lib_rnn(lib).pack_sequence([lib.ones(3, 2)]), total_length=2),
                lambda lib: lib_rnn(lib).pack_padded_sequence(lib.zeros(3, 2), [1, 2]),
                lambda lib: lib_rnn(lib).pack_padded_sequence(lib.zeros(3, 2, 1), [1, 3]),
                lambda lib: lib_rnn(lib).pad_sequence([lib.ones(2)], padding_side="mid")):
        check_behaviour(bad)


def test_packing_without_torch():
    # PyTorch packs past the end here (a malformed PackedSequence); brickwork refuses.
    with pytest.raises(RuntimeError, match="sequence length to be at most 3, but got 4"):
        U.pack_padded_sequence(brickwork.zeros(3, 2, 1), [4, 3])
    a = brickwork.tensor(rand_array((3, 2)))
    b = brickwork.tensor(rand_array((1, 2), seed=1))
    c = brickwork.tensor(rand_array((2, 2), seed=2))
    p = U.pack_sequence([b, a, c], enforce_sorted=False)
    assert p.batch_sizes.tolist() == [3, 2, 1]
    assert p.sorted_indices.tolist() == [1, 2, 0]
    assert p.unsorted_indices.tolist() == [2, 0, 1]
    want = np.concatenate([a.numpy()[0:1], c.numpy()[0:1], b.numpy()[0:1], a.numpy()[1:2],
                           c.numpy()[1:2], a.numpy()[2:3]])
    assert np.array_equal(p.data.numpy(), want)
    for got, orig in zip(U.unpack_sequence(p), (b, a, c)):
        assert np.array_equal(got.numpy(), orig.numpy())
