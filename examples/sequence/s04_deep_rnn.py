"""Deep recurrent neural networks (deep-rnn): stacked from scratch, and a multilayer GRU."""
import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l import tools

d2l = tools(torch, nn, F)


class StackedRNNScratch(nn.Module):
    def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):
        super().__init__()
        self.num_inputs, self.num_hiddens, self.num_layers = num_inputs, num_hiddens, num_layers
        self.rnns = nn.Sequential(*[d2l.RNNScratch(
            num_inputs if i == 0 else num_hiddens, num_hiddens, sigma)
            for i in range(num_layers)])

    def forward(self, inputs, Hs=None):
        outputs = inputs
        if Hs is None:
            Hs = [None] * self.num_layers
        for i in range(self.num_layers):
            outputs, Hs[i] = self.rnns[i](outputs, Hs[i])
            outputs = torch.stack(outputs, 0)
        return outputs, Hs


class GRU(nn.Module):
    """The multilayer GRU model."""
    def __init__(self, num_inputs, num_hiddens, num_layers, dropout=0):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self.rnn = nn.GRU(num_inputs, num_hiddens, num_layers, dropout=dropout)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


def main(epochs=1):
    torch.manual_seed(0)
    X, Y, vocab = d2l.time_machine(num_steps=8)
    rnn_block = StackedRNNScratch(num_inputs=len(vocab), num_hiddens=32, num_layers=2)
    model = d2l.RNNLMScratch(rnn_block, vocab_size=len(vocab))
    # The stacked block returns a stacked tensor, which iterates step by step like a list.
    scratch_losses = d2l.fit(model, X, Y, epochs=epochs, lr=2)
    outputs, Hs = rnn_block(model.one_hot(X[:4]))
    d2l.check_shape(outputs, (8, 4, 32))
    assert len(Hs) == 2

    gru = GRU(num_inputs=len(vocab), num_hiddens=32, num_layers=2)
    model = d2l.RNNLM(gru, vocab_size=len(vocab))
    losses = d2l.fit(model, X, Y, epochs=epochs, lr=2)
    text = d2l.predict(model, "it has", 20, vocab)
    print(scratch_losses, losses, text)
    out, H = gru(model.one_hot(X[:4]))
    d2l.check_shape(out, (8, 4, 32))
    d2l.check_shape(H, (2, 4, 32))
    assert len(text) == 26
    return {"outputs": tuple(out.shape), "H": tuple(H.shape), "losses": scratch_losses + losses}


if __name__ == "__main__":
    main(epochs=5)
