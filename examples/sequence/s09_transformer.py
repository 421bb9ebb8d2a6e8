"""The Transformer encoder (transformer): PositionWiseFFN, AddNorm, TransformerEncoderBlock,
TransformerEncoder."""
import math

import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l import tools

from s07_multihead_attention import MultiHeadAttention
from s08_self_attention import PositionalEncoding

d2l = tools(torch, nn, F)


class PositionWiseFFN(nn.Module):
    """The positionwise feed-forward network."""
    def __init__(self, ffn_num_hiddens, ffn_num_outputs):
        super().__init__()
        self.dense1 = nn.LazyLinear(ffn_num_hiddens)
        self.relu = nn.ReLU()
        self.dense2 = nn.LazyLinear(ffn_num_outputs)

    def forward(self, X):
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(nn.Module):
    """The residual connection followed by layer normalization."""
    def __init__(self, norm_shape, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(norm_shape)

    def forward(self, X, Y):
        return self.ln(self.dropout(Y) + X)


class TransformerEncoderBlock(nn.Module):
    """The Transformer encoder block."""
    def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias=False):
        super().__init__()
        self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout, use_bias)
        self.addnorm1 = AddNorm(num_hiddens, dropout)
        self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
        self.addnorm2 = AddNorm(num_hiddens, dropout)

    def forward(self, X, valid_lens):
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


class TransformerEncoder(nn.Module):
    """The Transformer encoder."""
    def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens,
                 num_heads, num_blks, dropout, use_bias=False):
        super().__init__()
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_blks):
            self.blks.add_module("block" + str(i), TransformerEncoderBlock(
                num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias))

    def forward(self, X, valid_lens):
        # Since positional encoding values are between -1 and 1, the embedding
        # values are multiplied by the square root of the embedding dimension
        # to rescale before they are summed up
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
        self.attention_weights = [None] * len(self.blks)
        for i, blk in enumerate(self.blks):
            X = blk(X, valid_lens)
            self.attention_weights[i] = blk.attention.attention.attention_weights
        return X


def main():
    torch.manual_seed(0)
    ffn = PositionWiseFFN(4, 8)
    ffn.eval()
    d2l.check_shape(ffn(torch.ones((2, 3, 4)))[0], (3, 8))

    ln = nn.LayerNorm(2)
    bn = nn.LazyBatchNorm1d()
    X = torch.tensor([[1, 2], [2, 3]], dtype=torch.float32)
    # Compute mean and variance from X in the training mode
    ln_X, bn_X = ln(X), bn(X)
    print('layer norm:', ln_X, '\nbatch norm:', bn_X)
    # The book shows layer norm [[-1, 1], [-1, 1]] and batch norm [[-1, -1], [1, 1]].
    assert float((ln_X.detach() - torch.tensor([[-1.0, 1.0], [-1.0, 1.0]])).abs().max()) < 1e-3
    assert float((bn_X.detach() - torch.tensor([[-1.0, -1.0], [1.0, 1.0]])).abs().max()) < 1e-3

    add_norm = AddNorm(4, 0.5)
    shape = (2, 3, 4)
    d2l.check_shape(add_norm(torch.ones(shape), torch.ones(shape)), shape)

    X = torch.ones((2, 100, 24))
    valid_lens = torch.tensor([3, 2])
    encoder_blk = TransformerEncoderBlock(24, 48, 8, 0.5)
    encoder_blk.eval()
    d2l.check_shape(encoder_blk(X, valid_lens), X.shape)

    encoder = TransformerEncoder(200, 24, 48, 8, 2, 0.5)
    out = encoder(torch.ones((2, 100), dtype=torch.long), valid_lens)
    d2l.check_shape(out, (2, 100, 24))
    weights = torch.cat(encoder.attention_weights, 0).reshape((2, 8, -1, 100))
    # (num_blks, num_heads, batch_size * num_queries, num_keys)
    d2l.check_shape(weights, (2, 8, 200, 100))
    return {"block": tuple(X.shape), "encoder": tuple(out.shape), "weights": tuple(weights.shape)}


if __name__ == "__main__":
    main()
