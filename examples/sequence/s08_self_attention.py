"""Self-attention and positional encoding (self-attention-and-positional-encoding)."""
import math

import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l import tools

from s07_multihead_attention import MultiHeadAttention

d2l = tools(torch, nn, F)


class PositionalEncoding(nn.Module):
    """Positional encoding."""
    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        # Create a long enough P
        self.P = torch.zeros((1, max_len, num_hiddens))
        X = torch.arange(max_len, dtype=torch.float32).reshape(
            -1, 1) / torch.pow(10000, torch.arange(
                0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)
        self.P[:, :, 0::2] = torch.sin(X)
        self.P[:, :, 1::2] = torch.cos(X)

    def forward(self, X):
        X = X + self.P[:, :X.shape[1], :].to(X.device)
        return self.dropout(X)


def main():
    torch.manual_seed(0)
    num_hiddens, num_heads = 100, 5
    attention = MultiHeadAttention(num_hiddens, num_heads, 0.5)
    batch_size, num_queries, valid_lens = 2, 4, torch.tensor([3, 2])
    X = torch.ones((batch_size, num_queries, num_hiddens))
    out = attention(X, X, X, valid_lens)
    d2l.check_shape(out, (batch_size, num_queries, num_hiddens))

    encoding_dim, num_steps = 32, 60
    pos_encoding = PositionalEncoding(encoding_dim, 0)
    X = pos_encoding(torch.zeros((1, num_steps, encoding_dim)))
    P = pos_encoding.P[:, :X.shape[1], :]
    d2l.check_shape(P[0, :, 6:10].T, (4, num_steps))
    # With zero input and no dropout the output is P itself; row 0 is [0, 1, 0, 1, ...].
    assert float((X - P).abs().max()) == 0.0
    assert float(P[0, 0, 0::2].abs().max()) == 0.0 and float(P[0, 0, 1::2].min()) == 1.0
    assert abs(float(P[0, 1, 0]) - math.sin(1.0)) < 1e-6

    for i in range(8):
        print(f'{i} in binary is {i:>03b}')

    P = P[0, :, :].unsqueeze(0).unsqueeze(0)
    d2l.check_shape(P, (1, 1, num_steps, encoding_dim))
    return {"self_attention": tuple(out.shape), "P": tuple(P.shape)}


if __name__ == "__main__":
    main()
