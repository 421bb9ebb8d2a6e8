"""The Bahdanau attention mechanism (bahdanau-attention): an RNN decoder that attends over the
encoder's outputs with additive attention, trained briefly on the local English-French corpus,
with its translations, BLEU and attention weights."""
import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l_mt import tools

from s06_attention_scoring import AdditiveAttention
from s10_seq2seq import Seq2Seq, Seq2SeqEncoder, init_seq2seq, translate

d2l = tools(torch, nn, F)


class AttentionDecoder(d2l.Decoder):
    """The base attention-based decoder interface."""
    def __init__(self):
        super().__init__()

    @property
    def attention_weights(self):
        raise NotImplementedError


class Seq2SeqAttentionDecoder(AttentionDecoder):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
        super().__init__()
        self.attention = AdditiveAttention(num_hiddens, dropout)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(
            embed_size + num_hiddens, num_hiddens, num_layers,
            dropout=dropout)
        self.dense = nn.LazyLinear(vocab_size)
        self.apply(init_seq2seq)

    def init_state(self, enc_outputs, enc_valid_lens):
        # Shape of outputs: (num_steps, batch_size, num_hiddens).
        # Shape of hidden_state: (num_layers, batch_size, num_hiddens)
        outputs, hidden_state = enc_outputs
        return (outputs.permute(1, 0, 2), hidden_state, enc_valid_lens)

    def forward(self, X, state):
        # Shape of enc_outputs: (batch_size, num_steps, num_hiddens).
        # Shape of hidden_state: (num_layers, batch_size, num_hiddens)
        enc_outputs, hidden_state, enc_valid_lens = state
        # Shape of the output X: (num_steps, batch_size, embed_size)
        X = self.embedding(X).permute(1, 0, 2)
        outputs, self._attention_weights = [], []
        for x in X:
            # Shape of query: (batch_size, 1, num_hiddens)
            query = torch.unsqueeze(hidden_state[-1], dim=1)
            # Shape of context: (batch_size, 1, num_hiddens)
            context = self.attention(
                query, enc_outputs, enc_outputs, enc_valid_lens)
            # Concatenate on the feature dimension
            x = torch.cat((context, torch.unsqueeze(x, dim=1)), dim=-1)
            # Reshape x as (1, batch_size, embed_size + num_hiddens)
            out, hidden_state = self.rnn(x.permute(1, 0, 2), hidden_state)
            outputs.append(out)
            self._attention_weights.append(self.attention.attention_weights)
        # After fully connected layer transformation, shape of outputs:
        # (num_steps, batch_size, vocab_size)
        outputs = self.dense(torch.cat(outputs, dim=0))
        return outputs.permute(1, 0, 2), [enc_outputs, hidden_state,
                                          enc_valid_lens]

    @property
    def attention_weights(self):
        return self._attention_weights


def main(epochs=2):
    torch.manual_seed(0)
    vocab_size, embed_size, num_hiddens, num_layers = 10, 8, 16, 2
    batch_size, num_steps = 4, 7
    encoder = Seq2SeqEncoder(vocab_size, embed_size, num_hiddens, num_layers)
    decoder = Seq2SeqAttentionDecoder(vocab_size, embed_size, num_hiddens, num_layers)
    X = d2l.zeros((batch_size, num_steps), dtype=torch.long)
    state = decoder.init_state(encoder(X), None)
    output, state = decoder(X, state)
    d2l.check_shape(output, (batch_size, num_steps, vocab_size))
    d2l.check_shape(state[0], (batch_size, num_steps, num_hiddens))
    d2l.check_shape(state[1][0], (batch_size, num_hiddens))

    # Training (the book: batch 128, 256 units, 30 epochs on 512 pairs; here a few seconds).
    data = d2l.MTFraEng(batch_size=16)
    embed_size, num_hiddens, num_layers, dropout = 32, 32, 2, 0.2
    encoder = Seq2SeqEncoder(len(data.src_vocab), embed_size, num_hiddens, num_layers, dropout)
    decoder = Seq2SeqAttentionDecoder(
        len(data.tgt_vocab), embed_size, num_hiddens, num_layers, dropout)
    model = Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab['<pad>'], lr=0.005)
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
    attention_weights = d2l.concat(
        [step[0][0][0] for step in dec_attention_weights], 0)
    attention_weights = d2l.reshape(attention_weights, (1, 1, -1, data.num_steps))
    d2l.check_shape(attention_weights, (1, 1, data.num_steps, data.num_steps))
    # Plus one to include the end-of-sequence token: the book's heatmap shows these columns.
    shown = attention_weights[:, :, :, :len(engs[-1].split()) + 1].cpu()
    # Each query attends only to the valid source positions, and its weights sum to one.
    weights = attention_weights.detach()  # predict_step runs with autograd on, as the book's
    assert float(weights[..., :len(engs[-1].split()) + 1].sum(-1).min()) > 1 - 1e-5
    assert float(weights[..., len(engs[-1].split()) + 1:].abs().max()) < 1e-6
    return {"output": tuple(output.shape), "enc_outputs": tuple(state[0].shape),
            "preds": tuple(preds.shape), "attention_weights": tuple(attention_weights.shape),
            "shown": tuple(shown.shape), "tgt_vocab": len(data.tgt_vocab),
            "losses": trainer.losses}


if __name__ == "__main__":
    main(epochs=30)
