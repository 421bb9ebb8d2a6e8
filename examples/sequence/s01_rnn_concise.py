"""Concise implementation of recurrent neural networks (rnn-concise)."""
import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l import tools

d2l = tools(torch, nn, F)


class RNN(nn.Module):
    """The RNN model implemented with high-level APIs."""
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self.rnn = nn.RNN(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


def main(epochs=2):
    torch.manual_seed(0)
    X, Y, vocab = d2l.time_machine(num_steps=8)
    rnn = RNN(num_inputs=len(vocab), num_hiddens=32)
    model = d2l.RNNLM(rnn, vocab_size=len(vocab))
    losses = d2l.fit(model, X, Y, epochs=epochs, lr=1)
    text = d2l.predict(model, "it has", 20, vocab)
    print(losses, text)
    outputs, H = rnn(model.one_hot(X[:4]))
    d2l.check_shape(outputs, (8, 4, 32))
    d2l.check_shape(H, (1, 4, 32))
    d2l.check_shape(model(X[:4]), (4, 8, len(vocab)))
    assert len(text) == 26
    return {"outputs": tuple(outputs.shape), "H": tuple(H.shape), "losses": losses}


if __name__ == "__main__":
    main(epochs=10)
