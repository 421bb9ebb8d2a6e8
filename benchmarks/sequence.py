"""Sequence-model training steps and attention, brickwork vs PyTorch on the CPU.

Run: ``python benchmarks/sequence.py`` (``--only sdpa`` to pick workloads).
Targets (sequence-models issue): LSTM language-model step <= 1.5, GPT step <= 1.5,
``scaled_dot_product_attention`` forward+backward <= 2.0 (1.3 the aim).

- ``lstm_lm``: embedding 10k x 256, 2-layer LSTM hidden 256, sequence 35, batch 32, linear
  decoder, cross-entropy, SGD.
- ``gpt``: nanoGPT's architecture: 4 layers, 4 heads, width 128, block 64, vocabulary 65,
  dropout 0, no biases, batch 16, AdamW.
- ``sdpa``: batch 8, 8 heads, sequence 256, head dim 64, causal, forward+backward.
- ``word2vec``: the book's skip-gram with negative sampling: two embeddings 6719 x 100, batch
  512 of one center and 60 contexts/negatives, ``bmm``, masked binary cross-entropy, Adam.
- ``char_rnn``: PyTorch's name-classification tutorial's RNN cell (``Linear`` on the concatenated
  one-hot letter and hidden state, 185 -> 128 -> 18, log-softmax), batch 1, eight letters, NLL
  loss, a hand-written SGD update: a step of small ops.
- ``gpt_peak_mem``: the growth of the process's peak resident memory over building the GPT
  model and running its first two steps (``ru_maxrss``, measured first in a fresh process).
"""
from __future__ import annotations

import os
import resource
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import framework, main, time_call  # noqa: E402

WORKLOADS = ["gpt_peak_mem", "lstm_lm", "gpt", "sdpa", "word2vec", "char_rnn"]
TARGETS = {"lstm_lm": "<=1.5", "gpt": "<=1.5", "sdpa": "<=2.0"}


def _lstm_lm_step(lib):
    nn = lib.nn
    lib.manual_seed(0)
    emb, rnn = nn.Embedding(10000, 256), nn.LSTM(256, 256, num_layers=2)
    dec = nn.Linear(256, 10000)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(dec.parameters())
    opt = lib.optim.SGD(params, lr=0.1)
    x = lib.randint(0, 10000, (35, 32))
    y = lib.randint(0, 10000, (35 * 32,))

    def step():
        opt.zero_grad()
        h, _ = rnn(emb(x))
        loss = nn.functional.cross_entropy(dec(h).reshape(-1, 10000), y)
        loss.backward()
        opt.step()
    return step


def _gpt(lib, n_layer=4, n_head=4, n_embd=128, block=64, vocab=65):
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd, bias=False)
            self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
            self.c_proj = nn.Linear(n_embd, n_embd, bias=False)
            self.ln_2 = nn.LayerNorm(n_embd, bias=False)
            self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
            self.mlp_proj = nn.Linear(4 * n_embd, n_embd, bias=False)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(n_embd, dim=2)
            q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, n_embd)
            self.wpe = nn.Embedding(block, n_embd)
            self.h = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd, bias=False)
            self.lm_head = nn.Linear(n_embd, vocab, bias=False)
            self.wte.weight = self.lm_head.weight  # weight tying, as nanoGPT

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(lib.arange(idx.shape[1]))
            for blk in self.h:
                x = blk(x)
            return self.lm_head(self.ln_f(x))

    return GPT()


def _gpt_step(lib):
    lib.manual_seed(0)
    model = _gpt(lib)
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    x = lib.randint(0, 65, (16, 64))
    y = lib.randint(0, 65, (16 * 64,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = lib.nn.functional.cross_entropy(model(x).view(-1, 65), y)
        loss.backward()
        opt.step()
    return step


def _sdpa_step(lib):
    lib.manual_seed(0)
    q, k, v = (lib.randn(8, 8, 256, 64, requires_grad=True) for _ in range(3))

    def step():
        for t in (q, k, v):
            t.grad = None
        lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    return step


def _word2vec_step(lib):
    nn = lib.nn
    lib.manual_seed(0)
    embed_v, embed_u = nn.Embedding(6719, 100), nn.Embedding(6719, 100)
    opt = lib.optim.Adam(list(embed_v.parameters()) + list(embed_u.parameters()), lr=0.002)
    center, contexts = lib.randint(0, 6719, (512, 1)), lib.randint(0, 6719, (512, 60))
    mask, label = (lib.rand(512, 60) > 0.2).float(), (lib.rand(512, 60) > 0.8).float()

    def step():
        opt.zero_grad()
        pred = lib.bmm(embed_v(center), embed_u(contexts).permute(0, 2, 1)).reshape(512, 60)
        loss = nn.functional.binary_cross_entropy_with_logits(pred, label, weight=mask,
                                                              reduction="none").mean(dim=1)
        (loss / mask.sum(dim=1) * 60).sum().backward()
        opt.step()
    return step


def _char_rnn_step(lib):
    nn = lib.nn
    lib.manual_seed(0)
    i2h, h2o = nn.Linear(57 + 128, 128), nn.Linear(128, 18)
    params = list(i2h.parameters()) + list(h2o.parameters())
    letters = lib.zeros(8, 1, 57)
    for i in range(8):
        letters[i, 0, (7 * i) % 57] = 1
    target = lib.tensor([3])

    def step():
        for p in params:
            p.grad = None
        hidden = lib.zeros(1, 128)
        for i in range(8):
            hidden = i2h(lib.cat((letters[i], hidden), 1))
            output = nn.functional.log_softmax(h2o(hidden), dim=1)
        nn.functional.nll_loss(output, target).backward()
        for p in params:
            p.data.add_(p.grad.data, alpha=-0.005)
    return step


def run_worker(fw_name: str, names, extra) -> dict:
    lib = framework(fw_name)
    if fw_name == "torch":
        lib.set_num_threads(os.cpu_count() or 1)  # NumPy's BLAS uses every core too
    out = {}
    if "gpt_peak_mem" in names:  # first: ru_maxrss is the process's high-water mark
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        step = _gpt_step(lib)
        step()
        step()  # the first step creates AdamW's state; the second runs with it
        out["gpt_peak_mem"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                               - before) * 1024.0  # bytes (the harness shows MB)
    if "lstm_lm" in names:
        out["lstm_lm"] = time_call(_lstm_lm_step(lib), min_time=2.0, repeat=3)
    if "gpt" in names:
        out["gpt"] = time_call(_gpt_step(lib), min_time=2.0, repeat=3)
    if "sdpa" in names:
        out["sdpa"] = time_call(_sdpa_step(lib), min_time=2.0, repeat=3)
    if "word2vec" in names:
        out["word2vec"] = time_call(_word2vec_step(lib), min_time=2.0, repeat=3)
    if "char_rnn" in names:
        out["char_rnn"] = time_call(_char_rnn_step(lib), min_time=2.0, repeat=3)
    return out


if __name__ == "__main__":
    main(__file__, WORKLOADS, run_worker, TARGETS, __doc__)
