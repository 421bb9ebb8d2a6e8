"""The translation sections' models (examples/sequence/s10-s12) on brickwork against PyTorch with
the same weights: the masked loss, every gradient, the book's gradient clipping and Adam steps,
and the greedy translations and attention weights that predict_step returns."""
import numpy as np
import pytest

import brickwork
from helpers import requires_torch, torch

import test_examples_sequence as sequence  # the section loader (and its path set-up)


@pytest.fixture(scope="module")
def sections():
    return {"brickwork": sequence.load_all("brickwork"), "torch": sequence.load_all("torch")}


def build(mods, lib, kind):
    """The section's model, dropout off, lazy layers materialised; and the data."""
    s10 = mods["s10_seq2seq"]
    data = s10.d2l.MTFraEng(batch_size=16)
    src_v, tgt_v = len(data.src_vocab), len(data.tgt_vocab)
    lib.manual_seed(0)
    if kind == "transformer":
        s12 = mods["s12_transformer_mt"]
        encoder = s12.TransformerEncoder(src_v, 32, 64, 4, 2, 0.0)
        decoder = s12.TransformerDecoder(tgt_v, 32, 64, 4, 2, 0.0)
    else:
        encoder = s10.Seq2SeqEncoder(src_v, 16, 32, 2, 0.0)
        decoder = (s10.Seq2SeqDecoder if kind == "seq2seq"
                   else mods["s11_bahdanau"].Seq2SeqAttentionDecoder)(tgt_v, 16, 32, 2, 0.0)
    model = s10.Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab['<pad>'], lr=0.005)
    src, tgt, valid_len, _ = data.arrays
    model(src[:2], tgt[:2], valid_len[:2])
    return model, data


def grads(model):
    return {k: p.grad.detach().numpy() for k, p in model.named_parameters()}


@requires_torch
@pytest.mark.parametrize("kind", ["seq2seq", "bahdanau", "transformer"])
def test_translation_model_matches_torch(kind, sections):
    t_model, t_data = build(sections["torch"], torch, kind)
    b_model, b_data = build(sections["brickwork"], brickwork, kind)
    assert list(b_model.state_dict()) == list(t_model.state_dict())
    b_model.load_state_dict({k: brickwork.tensor(v.detach().numpy())
                             for k, v in t_model.state_dict().items()})
    t_batch = [a[:16] for a in t_data.arrays]
    b_batch = [brickwork.tensor(a.numpy()) for a in t_batch]
    trainers = {"torch": sections["torch"]["s10_seq2seq"].d2l.Trainer(1),
                "brickwork": sections["brickwork"]["s10_seq2seq"].d2l.Trainer(1)}
    t_opt, b_opt = t_model.configure_optimizers(), b_model.configure_optimizers()
    for _ in range(3):
        t_loss = t_model.training_step(t_batch)
        b_loss = b_model.training_step(b_batch)
        assert float(b_loss.detach()) == pytest.approx(float(t_loss.detach()), rel=1e-5)
        t_opt.zero_grad()
        b_opt.zero_grad()
        t_loss.backward()
        b_loss.backward()
        with torch.no_grad():
            trainers["torch"].clip_gradients(0.5, t_model)
        with brickwork.no_grad():
            trainers["brickwork"].clip_gradients(0.5, b_model)
        t_grads, b_grads = grads(t_model), grads(b_model)
        for name, g in t_grads.items():
            np.testing.assert_allclose(b_grads[name], g, atol=1e-5, rtol=1e-4, err_msg=name)
        t_opt.step()
        b_opt.step()
    t_model.eval()
    b_model.eval()
    engs = ['go .', 'i lost .', 'he\'s calm .', 'i\'m home .']
    fras = ['va !', 'j\'ai perdu .', 'il est calme .', 'je suis chez moi .']
    save = kind != "seq2seq"
    t_preds, t_weights = t_model.predict_step(t_data.build(engs, fras), torch.device("cpu"),
                                              t_data.num_steps, save)
    b_preds, b_weights = b_model.predict_step(b_data.build(engs, fras),
                                              brickwork.device("cpu"), b_data.num_steps, save)
    assert b_preds.dtype == brickwork.int64
    np.testing.assert_array_equal(b_preds.numpy(), t_preds.numpy())
    if kind == "bahdanau":  # per step: a list of (batch, 1, source steps) weights
        t_w, b_w = [[w for step in ws for w in step] for ws in (t_weights, b_weights)]
    elif kind == "transformer":  # per step: [self, encoder-decoder] x blocks
        t_w, b_w = [[w for step in ws for attn in step for w in attn]
                    for ws in (t_weights, b_weights)]
    else:
        return
    assert len(b_w) == len(t_w)
    for b, t in zip(b_w, t_w):
        np.testing.assert_allclose(b.detach().numpy(), t.detach().numpy(), atol=1e-5)
