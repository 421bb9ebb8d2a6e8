"""Bidirectional recurrent neural networks (bi-rnn): from scratch and a bidirectional GRU."""
import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l import tools

d2l = tools(torch, nn, F)


class BiRNNScratch(nn.Module):
    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self.f_rnn = d2l.RNNScratch(num_inputs, num_hiddens, sigma)
        self.b_rnn = d2l.RNNScratch(num_inputs, num_hiddens, sigma)
        self.num_hiddens *= 2  # The output dimension will be doubled

    def forward(self, inputs, Hs=None):
        f_H, b_H = Hs if Hs is not None else (None, None)
        f_outputs, f_H = self.f_rnn(inputs, f_H)
        b_outputs, b_H = self.b_rnn(reversed(inputs), b_H)
        outputs = [torch.cat((f, b), -1) for f, b in zip(f_outputs, reversed(b_outputs))]
        return outputs, (f_H, b_H)


class BiGRU(nn.Module):
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self.rnn = nn.GRU(num_inputs, num_hiddens, bidirectional=True)
        self.num_hiddens *= 2

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


def main():
    torch.manual_seed(0)
    X = torch.randn(5, 3, 4)  # (num_steps, batch_size, num_inputs)
    birnn = BiRNNScratch(num_inputs=4, num_hiddens=8)
    outputs, (f_H, b_H) = birnn(X)
    assert len(outputs) == 5
    d2l.check_shape(outputs[0], (3, 16))
    d2l.check_shape(f_H, (3, 8))
    d2l.check_shape(b_H, (3, 8))

    bigru = BiGRU(num_inputs=4, num_hiddens=8)
    out, H = bigru(X)
    d2l.check_shape(out, (5, 3, 16))
    d2l.check_shape(H, (2, 3, 8))
    assert bigru.num_hiddens == 16
    return {"scratch": tuple(outputs[0].shape), "outputs": tuple(out.shape), "H": tuple(H.shape)}


if __name__ == "__main__":
    main()
