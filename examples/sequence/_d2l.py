"""The few d2l helpers the sequence examples use, re-implemented small (no downloads).

``tools(torch, nn, F)`` builds them against whichever library the example imported, so the same
example code runs on brickwork and on PyTorch.
"""
import types

# A tiny local corpus instead of the book's Time Machine download.
CORPUS = ("the time traveller was expounding a recondite matter to us. "
          "his grey eyes shone and twinkled, and his usually pale face was flushed. ") * 2


def tools(torch, nn, F):
    """Return a namespace with Vocab, the data, RNNScratch, RNNLMScratch, RNNLM, fit and predict."""

    class Vocab:
        """Character vocabulary of the corpus."""
        def __init__(self, text):
            self.idx_to_token = sorted(set(text))
            self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}

        def __len__(self):
            return len(self.idx_to_token)

        def __getitem__(self, tokens):
            return [self.token_to_idx[t] for t in tokens]

        def to_tokens(self, indices):
            return [self.idx_to_token[int(i)] for i in indices]

    def time_machine(num_steps=8):
        """All (input, shifted target) windows of the corpus, as (X, Y, vocab)."""
        vocab = Vocab(CORPUS)
        corpus = vocab[CORPUS]
        array = torch.tensor([corpus[i:i + num_steps + 1]
                              for i in range(len(corpus) - num_steps)])
        return array[:, :-1], array[:, 1:], vocab

    class RNNScratch(nn.Module):
        """The book's RNN from scratch (used by the deep and bidirectional sections)."""
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
            self.W_xh = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
            self.W_hh = nn.Parameter(torch.randn(num_hiddens, num_hiddens) * sigma)
            self.b_h = nn.Parameter(torch.zeros(num_hiddens))

        def forward(self, inputs, state=None):
            if state is None:
                state = torch.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
            outputs = []
            for X in inputs:
                state = torch.tanh(torch.matmul(X, self.W_xh)
                                   + torch.matmul(state, self.W_hh) + self.b_h)
                outputs.append(state)
            return outputs, state

    class RNNLMScratch(nn.Module):
        """Language model around a from-scratch RNN (outputs: a list of per-step states)."""
        def __init__(self, rnn, vocab_size):
            super().__init__()
            self.rnn, self.vocab_size = rnn, vocab_size
            self.init_params()

        def init_params(self):
            self.W_hq = nn.Parameter(torch.randn(self.rnn.num_hiddens, self.vocab_size) * 0.01)
            self.b_q = nn.Parameter(torch.zeros(self.vocab_size))

        def one_hot(self, X):
            # Output shape: (num_steps, batch_size, vocab_size)
            return F.one_hot(X.T, self.vocab_size).type(torch.float32)

        def output_layer(self, rnn_outputs):
            outputs = [torch.matmul(H, self.W_hq) + self.b_q for H in rnn_outputs]
            return torch.stack(outputs, 1)

        def forward(self, X, state=None):
            rnn_outputs, _ = self.rnn(self.one_hot(X), state)
            return self.output_layer(rnn_outputs)

    class RNNLM(RNNLMScratch):
        """The RNN-based language model implemented with high-level APIs."""
        def init_params(self):
            self.linear = nn.LazyLinear(self.vocab_size)

        def output_layer(self, hiddens):
            return torch.swapaxes(self.linear(hiddens), 0, 1)

    def fit(model, X, Y, epochs=2, lr=1.0, batch_size=64, gradient_clip_val=1.0):
        """Minibatch SGD with gradient clipping; returns the per-epoch mean losses."""
        model(X[:1])  # materialise lazy layers before building the optimizer
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        losses = []
        for _ in range(epochs):
            total, n = 0.0, 0
            for i in range(0, X.shape[0], batch_size):
                Y_hat = model(X[i:i + batch_size])
                loss = F.cross_entropy(Y_hat.reshape(-1, Y_hat.shape[-1]),
                                       Y[i:i + batch_size].reshape(-1))
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), gradient_clip_val)
                optimizer.step()
                total, n = total + loss.item(), n + 1
            losses.append(total / n)
        return losses

    def predict(model, prefix, num_preds, vocab):
        """Greedy continuation of ``prefix`` (the book's RNNLMScratch.predict)."""
        state, outputs = None, [vocab[prefix[0]][0]]
        with torch.no_grad():
            for i in range(len(prefix) + num_preds - 1):
                X = torch.tensor([[outputs[-1]]])
                rnn_outputs, state = model.rnn(model.one_hot(X), state)
                if i < len(prefix) - 1:
                    outputs.append(vocab[prefix[i + 1]][0])
                else:
                    Y = model.output_layer(rnn_outputs)
                    outputs.append(int(Y.argmax(dim=2).reshape(1)))
        return "".join(vocab.to_tokens(outputs))

    def check_shape(a, shape):
        """The book's d2l.check_shape."""
        assert tuple(a.shape) == tuple(shape), f"tensor's shape {tuple(a.shape)} != {tuple(shape)}"

    return types.SimpleNamespace(
        Vocab=Vocab, time_machine=time_machine, RNNScratch=RNNScratch,
        RNNLMScratch=RNNLMScratch, RNNLM=RNNLM, fit=fit, predict=predict,
        check_shape=check_shape)
