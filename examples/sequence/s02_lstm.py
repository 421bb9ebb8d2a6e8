"""Long short-term memory (lstm): from scratch and concise."""
import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F

from _d2l import tools

d2l = tools(torch, nn, F)


class LSTMScratch(nn.Module):
    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)
        triple = lambda: (init_weight(num_inputs, num_hiddens),
                          init_weight(num_hiddens, num_hiddens),
                          nn.Parameter(torch.zeros(num_hiddens)))
        self.W_xi, self.W_hi, self.b_i = triple()  # Input gate
        self.W_xf, self.W_hf, self.b_f = triple()  # Forget gate
        self.W_xo, self.W_ho, self.b_o = triple()  # Output gate
        self.W_xc, self.W_hc, self.b_c = triple()  # Input node

    def forward(self, inputs, H_C=None):
        if H_C is None:
            # Initial state with shape: (batch_size, num_hiddens)
            H = torch.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
            C = torch.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
        else:
            H, C = H_C
        outputs = []
        for X in inputs:
            I = torch.sigmoid(torch.matmul(X, self.W_xi) + torch.matmul(H, self.W_hi) + self.b_i)
            F = torch.sigmoid(torch.matmul(X, self.W_xf) + torch.matmul(H, self.W_hf) + self.b_f)
            O = torch.sigmoid(torch.matmul(X, self.W_xo) + torch.matmul(H, self.W_ho) + self.b_o)
            C_tilde = torch.tanh(torch.matmul(X, self.W_xc) + torch.matmul(H, self.W_hc) + self.b_c)
            C = F * C + I * C_tilde
            H = O * torch.tanh(C)
            outputs.append(H)
        return outputs, (H, C)


class LSTM(nn.Module):
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self.rnn = nn.LSTM(num_inputs, num_hiddens)

    def forward(self, inputs, H_C=None):
        return self.rnn(inputs, H_C)


def main(epochs=1):
    torch.manual_seed(0)
    X, Y, vocab = d2l.time_machine(num_steps=8)
    lstm = LSTMScratch(num_inputs=len(vocab), num_hiddens=32)
    model = d2l.RNNLMScratch(lstm, vocab_size=len(vocab))
    scratch_losses = d2l.fit(model, X, Y, epochs=epochs, lr=4)
    outputs, (H, C) = lstm(model.one_hot(X[:4]))
    assert len(outputs) == 8
    d2l.check_shape(H, (4, 32))
    d2l.check_shape(C, (4, 32))

    lstm = LSTM(num_inputs=len(vocab), num_hiddens=32)
    model = d2l.RNNLM(lstm, vocab_size=len(vocab))
    losses = d2l.fit(model, X, Y, epochs=epochs, lr=4)
    text = d2l.predict(model, "it has", 20, vocab)
    print(scratch_losses, losses, text)
    out, (H, C) = lstm(model.one_hot(X[:4]))
    d2l.check_shape(out, (8, 4, 32))
    d2l.check_shape(H, (1, 4, 32))
    d2l.check_shape(C, (1, 4, 32))
    assert len(text) == 26
    return {"outputs": tuple(out.shape), "H": tuple(H.shape), "C": tuple(C.shape),
            "losses": scratch_losses + losses}


if __name__ == "__main__":
    main(epochs=5)
