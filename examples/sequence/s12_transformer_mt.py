"""The Transformer for machine translation (transformer): TransformerDecoderBlock,
TransformerDecoder, brief training on the local English-French corpus, translation with BLEU,
and the encoder, decoder self- and encoder-decoder attention weights."""
import math

import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l_mt import tools

from s07_multihead_attention import MultiHeadAttention
from s08_self_attention import PositionalEncoding
from s09_transformer import AddNorm, PositionWiseFFN, TransformerEncoder, TransformerEncoderBlock
from s10_seq2seq import Seq2Seq, translate
from s11_bahdanau import AttentionDecoder

d2l = tools(torch, nn, F)


class TransformerDecoderBlock(nn.Module):
    # The i-th block in the Transformer decoder
    def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, i):
        super().__init__()
        self.i = i
        self.attention1 = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.addnorm1 = AddNorm(num_hiddens, dropout)
        self.attention2 = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.addnorm2 = AddNorm(num_hiddens, dropout)
        self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
        self.addnorm3 = AddNorm(num_hiddens, dropout)

    def forward(self, X, state):
        enc_outputs, enc_valid_lens = state[0], state[1]
        # During training, all the tokens of any output sequence are processed
        # at the same time, so state[2][self.i] is None as initialized. When
        # decoding any output sequence token by token during prediction,
        # state[2][self.i] contains representations of the decoded output at
        # the i-th block up to the current time step
        if state[2][self.i] is None:
            key_values = X
        else:
            key_values = torch.cat((state[2][self.i], X), dim=1)
        state[2][self.i] = key_values
        if self.training:
            batch_size, num_steps, _ = X.shape
            # Shape of dec_valid_lens: (batch_size, num_steps), where every
            # row is [1, 2, ..., num_steps]
            dec_valid_lens = torch.arange(
                1, num_steps + 1, device=X.device).repeat(batch_size, 1)
        else:
            dec_valid_lens = None
        # Self-attention
        X2 = self.attention1(X, key_values, key_values, dec_valid_lens)
        Y = self.addnorm1(X, X2)
        # Encoder-decoder attention. Shape of enc_outputs:
        # (batch_size, num_steps, num_hiddens)
        Y2 = self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens)
        Z = self.addnorm2(Y, Y2)
        return self.addnorm3(Z, self.ffn(Z)), state


class TransformerDecoder(AttentionDecoder):
    def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads,
                 num_blks, dropout):
        super().__init__()
        self.num_hiddens = num_hiddens
        self.num_blks = num_blks
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_blks):
            self.blks.add_module("block"+str(i), TransformerDecoderBlock(
                num_hiddens, ffn_num_hiddens, num_heads, dropout, i))
        self.dense = nn.LazyLinear(vocab_size)

    def init_state(self, enc_outputs, enc_valid_lens):
        return [enc_outputs, enc_valid_lens, [None] * self.num_blks]

    def forward(self, X, state):
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
        self._attention_weights = [[None] * len(self.blks) for _ in range(2)]
        for i, blk in enumerate(self.blks):
            X, state = blk(X, state)
            # Decoder self-attention weights
            self._attention_weights[0][
                i] = blk.attention1.attention.attention_weights
            # Encoder-decoder attention weights
            self._attention_weights[1][
                i] = blk.attention2.attention.attention_weights
        return self.dense(X), state

    @property
    def attention_weights(self):
        return self._attention_weights


def fillna(rows):
    """Pad ragged rows with zeros: the book's ``pd.DataFrame(rows).fillna(0.0).values``
    (pandas is not needed for anything else here)."""
    width = max(len(row) for row in rows)
    return [row + [0.0] * (width - len(row)) for row in rows]


def main(epochs=2):
    torch.manual_seed(0)
    X = d2l.ones((2, 100, 24))
    valid_lens = torch.tensor([3, 2])
    encoder_blk = TransformerEncoderBlock(24, 48, 8, 0.5)
    encoder_blk.eval()
    decoder_blk = TransformerDecoderBlock(24, 48, 8, 0.5, 0)
    state = [encoder_blk(X, valid_lens), valid_lens, [None]]
    d2l.check_shape(decoder_blk(X, state)[0], X.shape)

    # Training (the book: batch 128, 256 units, 30 epochs on 512 pairs; here a few seconds).
    data = d2l.MTFraEng(batch_size=16)
    num_hiddens, num_blks, dropout = 32, 2, 0.2
    ffn_num_hiddens, num_heads = 64, 4
    encoder = TransformerEncoder(
        len(data.src_vocab), num_hiddens, ffn_num_hiddens, num_heads,
        num_blks, dropout)
    decoder = TransformerDecoder(
        len(data.tgt_vocab), num_hiddens, ffn_num_hiddens, num_heads,
        num_blks, dropout)
    model = Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab['<pad>'], lr=0.001)
    trainer = d2l.Trainer(max_epochs=epochs, gradient_clip_val=1, num_gpus=1)
    trainer.fit(model, data)
    print('training loss per epoch:', trainer.losses)

    engs = ['go .', 'i lost .', 'he\'s calm .', 'i\'m home .']
    fras = ['va !', 'j\'ai perdu .', 'il est calme .', 'je suis chez moi .']
    preds, results = translate(model, data, engs, fras)
    d2l.check_shape(preds, (len(engs), data.num_steps))
    assert all(0.0 <= score <= 1.0 for _, score in results)

    _, dec_attention_weights = model.predict_step(
        data.build([engs[-1]], [fras[-1]]), d2l.try_gpu(), data.num_steps, True)
    enc_attention_weights = d2l.concat(model.encoder.attention_weights, 0)
    shape = (num_blks, num_heads, -1, data.num_steps)
    enc_attention_weights = d2l.reshape(enc_attention_weights, shape)
    d2l.check_shape(enc_attention_weights,
                    (num_blks, num_heads, data.num_steps, data.num_steps))

    dec_attention_weights_2d = [head[0].tolist()
                                for step in dec_attention_weights
                                for attn in step for blk in attn for head in blk]
    dec_attention_weights_filled = d2l.tensor(fillna(dec_attention_weights_2d))
    shape = (-1, 2, num_blks, num_heads, data.num_steps)
    dec_attention_weights = d2l.reshape(dec_attention_weights_filled, shape)
    dec_self_attention_weights, dec_inter_attention_weights = \
        dec_attention_weights.permute(1, 2, 3, 0, 4)
    d2l.check_shape(dec_self_attention_weights,
                    (num_blks, num_heads, data.num_steps, data.num_steps))
    d2l.check_shape(dec_inter_attention_weights,
                    (num_blks, num_heads, data.num_steps, data.num_steps))
    # No query attends to key-value pairs after its position (the upper triangle is the
    # fill), nor to the padding of the source sentence (valid length: its tokens and <eos>).
    upper = torch.triu(torch.ones(data.num_steps, data.num_steps), diagonal=1)
    assert float((dec_self_attention_weights * upper).abs().max()) == 0.0
    valid = len(engs[-1].split()) + 1
    assert float(dec_inter_attention_weights[..., valid:].abs().max()) < 1e-6
    assert float(enc_attention_weights.detach()[..., valid:].abs().max()) < 1e-6
    return {"decoder_blk": tuple(X.shape), "preds": tuple(preds.shape),
            "enc_attention_weights": tuple(enc_attention_weights.shape),
            "dec_self_attention_weights": tuple(dec_self_attention_weights.shape),
            "dec_inter_attention_weights": tuple(dec_inter_attention_weights.shape),
            "tgt_vocab": len(data.tgt_vocab), "losses": trainer.losses}


if __name__ == "__main__":
    main(epochs=30)
