"""nn.Transformer* against PyTorch (issue 16): the same weights give the same outputs and
gradients (inputs and every parameter), state_dicts move both ways, reprs match, and the
encoder's eval-mode nested-tensor zeros at padded positions are reproduced."""
import warnings

import numpy as np
import pytest

import brickwork
from brickwork import nn

pytestmark = pytest.mark.filterwarnings(
    "ignore:The PyTorch API of nested tensors:UserWarning",
    "ignore:Support for mismatched key_padding_mask:UserWarning")
from brickwork.autograd import gradcheck
from helpers import DEVICE, assert_close, check_op, pick, rand_array, requires_torch, torch

D, H, FF = 8, 2, 12


def make_pair(make, dtype="float32"):
    """The same module in both libraries, brickwork's loaded from torch's state dict."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # enable_nested_tensor's "not used because" warning
        t = make(torch)
        b = make(brickwork)
    if dtype == "float64":
        b, t = b.double(), t.double()
    assert list(b.state_dict()) == list(t.state_dict())
    b.load_state_dict({k: brickwork.tensor(v.detach().numpy().copy())
                       for k, v in t.state_dict().items()})
    return b, t


def compare_param_grads(b, t):
    for (name, bp), (tname, tp) in zip(b.named_parameters(), t.named_parameters()):
        assert name == tname
        assert_close(bp.grad.to("cpu"), tp.grad, what=f"grad of {name}")


def _pad_mask(batch, seq, lengths):
    m = np.zeros((batch, seq), dtype=bool)
    for i, n in enumerate(lengths):
        m[i, n:] = True
    return m


ENC_LAYER_CASES = [  # (make, src shape, forward kwargs built from (batch, seq))
    (lambda l: l.nn.TransformerEncoderLayer(D, H, FF, 0.0), (5, 3, D), {}),
    (lambda l: l.nn.TransformerEncoderLayer(D, H, FF, 0.0, activation="gelu",
                                            batch_first=True, norm_first=True), (3, 5, D), {}),
    (lambda l: l.nn.TransformerEncoderLayer(D, H, FF, 0.0, bias=False, layer_norm_eps=1e-3),
     (5, 3, D), {"causal": True}),
    (lambda l: l.nn.TransformerEncoderLayer(D, 4, FF, 0.0, activation=l.tanh,
                                            batch_first=True), (3, 5, D), {"pad": True}),
    (lambda l: l.nn.TransformerEncoderLayer(D, H, FF, 0.0), (5, D), {}),  # unbatched
    (lambda l: l.nn.TransformerEncoderLayer(D, H, FF, 0.0, activation=l.nn.GELU(),
                                            batch_first=True), (3, 5, D), {"pad": True}),
]


def _enc_fn(b, t, kind, batch_first):
    def fn(lib, x):
        m = pick(lib, b, t)
        kw = {}
        if kind.get("causal"):
            sz = x.shape[1 if batch_first else 0]
            kw["src_mask"] = lib.nn.Transformer.generate_square_subsequent_mask(sz)
            kw["is_causal"] = True
        if kind.get("pad"):
            batch = x.shape[0 if batch_first else 1]
            mask = lib.tensor(_pad_mask(batch, x.shape[1 if batch_first else 0], [5, 2, 4]))
            kw["src_key_padding_mask"] = mask.to(x.device)
        return m(x, **kw)
    return fn


@requires_torch
@pytest.mark.parametrize("case", range(len(ENC_LAYER_CASES)))
def test_encoder_layer_matches_torch_train_mode(case):
    make, shape, kind = ENC_LAYER_CASES[case]
    b, t = make_pair(make)
    check_op(_enc_fn(b, t, kind, b.self_attn.batch_first), [shape], second_order=False)
    compare_param_grads(b, t)
    assert repr(b) == repr(t)


@requires_torch
@pytest.mark.parametrize("case", range(len(ENC_LAYER_CASES)))
def test_encoder_layer_matches_torch_eval_mode(case):
    # eval mode with grad: torch's fast path is off only when something requires grad, so
    # compare both with and without no_grad
    make, shape, kind = ENC_LAYER_CASES[case]
    b, t = make_pair(lambda l: make(l).eval())
    check_op(_enc_fn(b, t, kind, b.self_attn.batch_first), [shape], second_order=False)
    x = rand_array(shape, seed=7)
    with torch.no_grad(), brickwork.no_grad():
        out_t = _enc_fn(b, t, kind, b.self_attn.batch_first)(torch, torch.tensor(x))
        out_b = _enc_fn(b, t, kind, b.self_attn.batch_first)(
            brickwork, brickwork.tensor(x).to(DEVICE["brickwork"]))
    assert_close(out_b, out_t)


@requires_torch
def test_encoder_layer_dropout_train_mode_is_random_and_eval_is_not():
    b = nn.TransformerEncoderLayer(D, H, FF, dropout=0.5)
    x = brickwork.randn(4, 2, D)
    assert not np.allclose(b(x).detach().numpy(), b(x).detach().numpy())
    b.eval()
    np.testing.assert_array_equal(b(x).detach().numpy(), b(x).detach().numpy())


@requires_torch
def test_decoder_layer_state_dict_both_ways_float64():
    b, t = make_pair(lambda l: l.nn.TransformerDecoderLayer(D, H, FF, 0.0), "float64")
    t2 = torch.nn.TransformerDecoderLayer(D, H, FF, 0.0).double()
    t2.load_state_dict({k: torch.tensor(v.numpy()) for k, v in b.state_dict().items()})
    x, m = rand_array((3, 2, D), "float64"), rand_array((4, 2, D), "float64", seed=2)
    with torch.no_grad():
        ref = t(torch.tensor(x), torch.tensor(m))
        np.testing.assert_allclose(t2(torch.tensor(x), torch.tensor(m)).numpy(), ref.numpy())
    # PyTorch's CPU attention kernel has no second derivative: first order only
    check_op(lambda lib, a, c: pick(lib, b, t)(a, c), [x, m], second_order=False)


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[5, 2, 4], [1, 5, 3]])
def test_encoder_nested_zeros_at_padding_in_eval_no_grad(batch_first, lengths):
    make = (lambda l: l.nn.TransformerEncoder(
        l.nn.TransformerEncoderLayer(D, H, FF, 0.0, batch_first=batch_first), 2,
        norm=l.nn.LayerNorm(D)).eval())
    b, t = make_pair(make)
    assert b.use_nested_tensor == t.use_nested_tensor == batch_first
    shape = (3, 5, D) if batch_first else (5, 3, D)
    x = rand_array(shape, seed=4)
    mask = _pad_mask(3, 5, lengths)
    with torch.no_grad(), brickwork.no_grad():
        out_t = t(torch.tensor(x), src_key_padding_mask=torch.tensor(mask))
        out_b = b(brickwork.tensor(x), src_key_padding_mask=brickwork.tensor(mask))
    assert_close(out_b, out_t)
    pad_rows = out_b.numpy()[mask] if batch_first else out_b.numpy().transpose(1, 0, 2)[mask]
    # with norm after the stack, zeroed rows become the LayerNorm bias (zeros at init)
    assert (np.abs(pad_rows) < 1e-6).all() == batch_first
    # with grad enabled (weights require grad) PyTorch computes normally: so must we
    out_t = t(torch.tensor(x), src_key_padding_mask=torch.tensor(mask))
    out_b = b(brickwork.tensor(x), src_key_padding_mask=brickwork.tensor(mask))
    assert_close(out_b, out_t)


@requires_torch
@pytest.mark.parametrize("case", ["not_left_aligned", "no_mask_check", "with_mask", "odd_heads",
                                  "train", "float_mask"])
def test_encoder_nested_path_conditions(case):
    nhead = 1 if case == "odd_heads" else H
    mask_check = case != "no_mask_check"

    def make(l):
        enc = l.nn.TransformerEncoder(
            l.nn.TransformerEncoderLayer(D, nhead, FF, 0.0, batch_first=True), 2,
            mask_check=mask_check)
        return enc.train() if case == "train" else enc.eval()
    b, t = make_pair(make)
    x = rand_array((3, 5, D), seed=5)
    pad = _pad_mask(3, 5, [3, 5, 2])
    if case in ("not_left_aligned",):
        pad[0] = [True, False, False, True, True]
    if case == "no_mask_check":
        # unchecked: PyTorch's nested tensor keeps the first three positions of row 0
        pad[0] = [False, False, True, False, True]

    def run(lib):
        kw = {"src_key_padding_mask": lib.tensor(pad)}
        if case == "float_mask":
            kw["src_key_padding_mask"] = lib.tensor(np.where(pad, -np.inf, 0.0).astype("f"))
        if case == "with_mask":
            kw["src_key_padding_mask"] = kw["src_key_padding_mask"].to(lib.float32)
            kw["src_key_padding_mask"] = kw["src_key_padding_mask"].masked_fill(
                lib.tensor(pad), float("-inf"))
            kw["mask"] = lib.zeros(5, 5)
        return pick(lib, b, t)(lib.tensor(x), **kw)

    with torch.no_grad(), brickwork.no_grad():
        assert_close(run(brickwork), run(torch))


@requires_torch
def test_encoder_is_causal_detection_and_layers_are_copies():
    make = (lambda l: l.nn.TransformerEncoder(
        l.nn.TransformerEncoderLayer(D, H, FF, 0.0), 3, enable_nested_tensor=False))
    b, t = make_pair(make)
    assert b.layers[0].linear1.weight is not b.layers[1].linear1.weight
    assert list(dict(b.named_parameters())) == list(dict(t.named_parameters()))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4)

    def fn(lib, x):
        m = lib.nn.Transformer.generate_square_subsequent_mask(4)
        return pick(lib, b, t)(x, mask=m)
    check_op(fn, [(4, 2, D)], second_order=False)
    compare_param_grads(b, t)
    assert repr(b) == repr(t)
    assert mask.shape == (4, 4)


@requires_torch
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_and_stack_match_torch(norm_first):
    make = (lambda l: l.nn.TransformerDecoder(
        l.nn.TransformerDecoderLayer(D, H, FF, 0.0, activation="gelu", norm_first=norm_first),
        2, norm=l.nn.LayerNorm(D)))
    b, t = make_pair(make)
    tpad = _pad_mask(2, 4, [4, 3])
    mpad = _pad_mask(2, 6, [6, 2])

    def fn(lib, tgt, mem):
        dev = tgt.device
        mask = lib.nn.Transformer.generate_square_subsequent_mask(4).to(dev)
        return pick(lib, b, t)(tgt, mem, tgt_mask=mask,
                               tgt_key_padding_mask=lib.tensor(tpad).to(dev),
                               memory_key_padding_mask=lib.tensor(mpad).to(dev))
    check_op(fn, [(4, 2, D), (6, 2, D)], second_order=False)
    compare_param_grads(b, t)
    assert repr(b) == repr(t)


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first):
    make = (lambda l: l.nn.Transformer(D, H, 2, 1, FF, 0.0, batch_first=batch_first))
    b, t = make_pair(make)
    assert (b.d_model, b.nhead, b.batch_first) == (D, H, batch_first)
    src_shape, tgt_shape = ((2, 5, D), (2, 3, D)) if batch_first else ((5, 2, D), (3, 2, D))

    def fn(lib, src, tgt):
        mask = lib.nn.Transformer.generate_square_subsequent_mask(3)
        return pick(lib, b, t)(src, tgt, tgt_mask=mask,
                               src_key_padding_mask=lib.tensor(_pad_mask(2, 5, [5, 3])))
    check_op(fn, [src_shape, tgt_shape], second_order=False)
    compare_param_grads(b, t)
    assert repr(b) == repr(t)
    # eval + no_grad: the encoder's nested path (batch_first only) zeroes memory's padding
    b.eval(), t.eval()
    s, g = rand_array(src_shape, seed=8), rand_array(tgt_shape, seed=9)
    with torch.no_grad(), brickwork.no_grad():
        kw = {"src_key_padding_mask": _pad_mask(2, 5, [5, 3])}
        out_t = t(torch.tensor(s), torch.tensor(g),
                  **{k: torch.tensor(v) for k, v in kw.items()})
        dev = DEVICE["brickwork"]
        out_b = b(brickwork.tensor(s).to(dev), brickwork.tensor(g).to(dev),
                  **{k: brickwork.tensor(v).to(dev) for k, v in kw.items()})
    assert_close(out_b, out_t)


def test_transformer_defaults_init_and_errors():
    with pytest.warns(UserWarning, match="use_nested_tensor is False"):  # as PyTorch does
        model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                               dim_feedforward=16)
    assert len(model.encoder.layers) == 1 and len(model.decoder.layers) == 1
    assert isinstance(model.encoder.norm, nn.LayerNorm)
    # every matrix re-initialized xavier-uniformly: within the bound sqrt(6 / (fan_in + fan_out))
    w = model.encoder.layers[0].linear1.weight.detach().numpy()
    assert np.abs(w).max() <= np.sqrt(6 / (8 + 16)) + 1e-6
    with pytest.raises(RuntimeError, match="batch number"):
        model(brickwork.randn(5, 3, 8), brickwork.randn(4, 2, 8))
    with pytest.raises(RuntimeError, match="feature number"):
        model(brickwork.randn(5, 3, 8), brickwork.randn(4, 3, 6))
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    m = nn.Transformer.generate_square_subsequent_mask(3, dtype=brickwork.float64)
    expected = np.triu(np.full((3, 3), -np.inf), 1)
    np.testing.assert_array_equal(m.numpy(), expected)
    assert m.dtype == brickwork.float64
    with pytest.warns(UserWarning, match="batch_first was not True"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1)


def test_encoder_layer_gradcheck_without_torch():
    layer = nn.TransformerEncoderLayer(4, 2, 6, 0.0, activation="gelu").double()
    x = brickwork.tensor(rand_array((3, 2, 4), "float64"), requires_grad=True)
    assert gradcheck(lambda a: layer(a), (x,))


@requires_torch
def test_unbatched_transformer_and_module_activation_encoder():
    b, t = make_pair(lambda l: l.nn.Transformer(D, H, 1, 2, FF, 0.0, activation="gelu"))
    check_op(lambda lib, src, tgt: pick(lib, b, t)(src, tgt), [(5, D), (3, D)],
             second_order=False)
    compare_param_grads(b, t)
    # an nn.GELU module counts as gelu for the nested path, as in PyTorch
    make = (lambda l: l.nn.TransformerEncoder(l.nn.TransformerEncoderLayer(
        D, H, FF, 0.0, activation=l.nn.GELU(), batch_first=True), 1).eval())
    b, t = make_pair(make)
    assert b.use_nested_tensor and t.use_nested_tensor
    x, pad = rand_array((2, 4, D), seed=3), _pad_mask(2, 4, [2, 4])
    with torch.no_grad(), brickwork.no_grad():
        out_t = t(torch.tensor(x), src_key_padding_mask=torch.tensor(pad))
        out_b = b(brickwork.tensor(x), src_key_padding_mask=brickwork.tensor(pad))
    assert_close(out_b, out_t)
    assert repr(b) == repr(t)
