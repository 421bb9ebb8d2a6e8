"""Attention scoring functions (attention-scoring-functions): masked softmax, dot-product and
additive attention."""
import math

import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l import tools

d2l = tools(torch, nn, F)


def masked_softmax(X, valid_lens):
    """Perform softmax operation by masking elements on the last axis."""
    # X: 3D tensor, valid_lens: 1D or 2D tensor
    def _sequence_mask(X, valid_len, value=0):
        maxlen = X.size(1)
        mask = torch.arange((maxlen), dtype=torch.float32,
                            device=X.device)[None, :] < valid_len[:, None]
        X[~mask] = value
        return X

    if valid_lens is None:
        return nn.functional.softmax(X, dim=-1)
    else:
        shape = X.shape
        if valid_lens.dim() == 1:
            valid_lens = torch.repeat_interleave(valid_lens, shape[1])
        else:
            valid_lens = valid_lens.reshape(-1)
        # On the last axis, replace masked elements with a very large negative
        # value, whose exponentiation outputs 0
        X = _sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
        return nn.functional.softmax(X.reshape(shape), dim=-1)


class DotProductAttention(nn.Module):
    """Scaled dot product attention."""
    def __init__(self, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)

    # Shape of queries: (batch_size, no. of queries, d)
    # Shape of keys: (batch_size, no. of key-value pairs, d)
    # Shape of values: (batch_size, no. of key-value pairs, value dimension)
    # Shape of valid_lens: (batch_size,) or (batch_size, no. of queries)
    def forward(self, queries, keys, values, valid_lens=None):
        d = queries.shape[-1]
        # Swap the last two dimensions of keys with keys.transpose(1, 2)
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class AdditiveAttention(nn.Module):
    """Additive attention."""
    def __init__(self, num_hiddens, dropout, **kwargs):
        super(AdditiveAttention, self).__init__(**kwargs)
        self.W_k = nn.LazyLinear(num_hiddens, bias=False)
        self.W_q = nn.LazyLinear(num_hiddens, bias=False)
        self.w_v = nn.LazyLinear(1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens):
        queries, keys = self.W_q(queries), self.W_k(keys)
        # After dimension expansion, shape of queries: (batch_size, no. of queries, 1,
        # num_hiddens) and shape of keys: (batch_size, 1, no. of key-value pairs, num_hiddens).
        # Sum them up with broadcasting
        features = queries.unsqueeze(2) + keys.unsqueeze(1)
        features = torch.tanh(features)
        # There is only one output of self.w_v, so we remove the last one-dimensional entry
        # from the shape. Shape of scores: (batch_size, no. of queries, no. of key-value pairs)
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = masked_softmax(scores, valid_lens)
        # Shape of values: (batch_size, no. of key-value pairs, value dimension)
        return torch.bmm(self.dropout(self.attention_weights), values)


def main():
    torch.manual_seed(0)
    A = masked_softmax(torch.rand(2, 2, 4), torch.tensor([2, 3]))
    print(A)
    # Masked positions get (numerically) zero weight; each row still sums to one.
    assert float(A[0, :, 2:].abs().max()) < 1e-6 and float(A[1, :, 3:].abs().max()) < 1e-6
    assert float((A.sum(-1) - 1).abs().max()) < 1e-5
    B = masked_softmax(torch.rand(2, 2, 4), torch.tensor([[1, 3], [2, 4]]))
    print(B)
    assert float(B[0, 0, 1:].abs().max()) < 1e-6 and float(B[1, 1].min()) > 0

    Q = torch.ones((2, 3, 4))
    K = torch.ones((2, 4, 6))
    d2l.check_shape(torch.bmm(Q, K), (2, 3, 6))

    queries = torch.normal(0, 1, (2, 1, 2))
    keys = torch.normal(0, 1, (2, 10, 2))
    values = torch.normal(0, 1, (2, 10, 4))
    valid_lens = torch.tensor([2, 6])

    attention = DotProductAttention(dropout=0.5)
    attention.eval()
    dot = attention(queries, keys, values, valid_lens)
    d2l.check_shape(dot, (2, 1, 4))
    d2l.check_shape(attention.attention_weights.reshape((1, 1, 2, 10)), (1, 1, 2, 10))

    queries = torch.normal(0, 1, (2, 1, 20))
    attention = AdditiveAttention(num_hiddens=8, dropout=0.1)
    attention.eval()
    add = attention(queries, keys, values, valid_lens)
    d2l.check_shape(add, (2, 1, 4))
    d2l.check_shape(attention.attention_weights.reshape((1, 1, 2, 10)), (1, 1, 2, 10))
    return {"masked": tuple(A.shape), "dot": tuple(dot.shape), "additive": tuple(add.shape)}


if __name__ == "__main__":
    main()
