"""Gated recurrent units (gru): from scratch and concise."""
import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l import tools

d2l = tools(torch, nn, F)


class GRUScratch(nn.Module):
    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)
        triple = lambda: (init_weight(num_inputs, num_hiddens),
                          init_weight(num_hiddens, num_hiddens),
                          nn.Parameter(torch.zeros(num_hiddens)))
        self.W_xz, self.W_hz, self.b_z = triple()  # Update gate
        self.W_xr, self.W_hr, self.b_r = triple()  # Reset gate
        self.W_xh, self.W_hh, self.b_h = triple()  # Candidate hidden state

    def forward(self, inputs, H=None):
        if H is None:
            # Initial state with shape: (batch_size, num_hiddens)
            H = torch.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
        outputs = []
        for X in inputs:
            Z = torch.sigmoid(torch.matmul(X, self.W_xz) + torch.matmul(H, self.W_hz) + self.b_z)
            R = torch.sigmoid(torch.matmul(X, self.W_xr) + torch.matmul(H, self.W_hr) + self.b_r)
            H_tilde = torch.tanh(torch.matmul(X, self.W_xh)
                                 + torch.matmul(R * H, self.W_hh) + self.b_h)
            H = Z * H + (1 - Z) * H_tilde
            outputs.append(H)
        return outputs, H


class GRU(nn.Module):
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self.rnn = nn.GRU(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


def main(epochs=1):
    torch.manual_seed(0)
    X, Y, vocab = d2l.time_machine(num_steps=8)
    gru = GRUScratch(num_inputs=len(vocab), num_hiddens=32)
    model = d2l.RNNLMScratch(gru, vocab_size=len(vocab))
    scratch_losses = d2l.fit(model, X, Y, epochs=epochs, lr=4)
    outputs, H = gru(model.one_hot(X[:4]))
    assert len(outputs) == 8
    d2l.check_shape(H, (4, 32))

    gru = GRU(num_inputs=len(vocab), num_hiddens=32)
    model = d2l.RNNLM(gru, vocab_size=len(vocab))
    losses = d2l.fit(model, X, Y, epochs=epochs, lr=4)
    text = d2l.predict(model, "it has", 20, vocab)
    print(scratch_losses, losses, text)
    out, H = gru(model.one_hot(X[:4]))
    d2l.check_shape(out, (8, 4, 32))
    d2l.check_shape(H, (1, 4, 32))
    assert len(text) == 26
    return {"outputs": tuple(out.shape), "H": tuple(H.shape), "losses": scratch_losses + losses}


if __name__ == "__main__":
    main(epochs=5)
