"""``brickwork train --model charlm``: the text, the tiny character transformer and sampling.

The training loop, checkpoints, metrics and ``--resume`` are ``_cli_train``'s; this module only
supplies what differs for a language model: windows of characters instead of images, a model
whose logits have a time axis, a loss over every position, and samples printed at the end.
"""
from __future__ import annotations

import os

from .cli import UsageError

EMBEDDED = os.path.join(os.path.dirname(__file__), "datasets", "data", "brickmaker.txt")
BLOCK = 32        # context length in characters
STRIDE = 4        # windows overlap: a few KB of text still gives a few hundred of them
SAMPLE_CHARS = 80


def load_text(spec: str) -> tuple[str, str]:
    """``(text, where)`` for ``--data``: ``embedded`` (the shipped passage) or a text file.

    Raises:
        UsageError: the file is missing, unreadable, not UTF-8, or too short to train on.
    """
    path = EMBEDDED if spec == "embedded" else spec
    where = "the passage shipped with brickwork" if spec == "embedded" else path
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise UsageError(f"--data {spec}: cannot read the text file ({reason})") from None
    if len(text) < 2 * (BLOCK + 1):
        raise UsageError(f"--data {spec}: the text has {len(text)} characters; charlm needs at "
                         f"least {2 * (BLOCK + 1)} (a training and a test window of "
                         f"{BLOCK + 1})")
    return text, where


def vocabulary(text: str) -> str:
    """The sorted distinct characters of ``text``: token ``i`` is ``vocab[i]``."""
    return "".join(sorted(set(text)))


def windows(text: str, vocab: str, dev):
    """``(Xtr, ytr, Xte, yte)``: next-character windows from the first 90% and last 10%.

    Each row of ``X`` holds ``BLOCK`` token ids and the same row of ``y`` the ids one character
    later; the test part is cut off first so no test window overlaps training text.
    """
    import numpy as np

    import brickwork as bw

    index = {c: i for i, c in enumerate(vocab)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    cut = max(int(len(ids) * 0.9), len(ids) - max(len(ids) // 10, BLOCK + 1))

    def cut_windows(part, stride):
        starts = np.arange(0, len(part) - BLOCK, stride)
        rows = np.stack([part[s:s + BLOCK + 1] for s in starts])
        return (bw.from_numpy(rows[:, :-1].copy()).to(dev),
                bw.from_numpy(rows[:, 1:].copy()).to(dev))

    return (*cut_windows(ids[:cut], STRIDE), *cut_windows(ids[cut:], STRIDE))


def build_model(vocab_size: int, nn=None):
    """A 2-layer, 2-head, width-32 causal transformer over ``vocab_size`` characters."""
    if nn is None:
        from . import nn
    return _charlm_class(nn)(vocab_size)


def _charlm_class(nn):
    """The model class built on ``nn``'s Module (defined lazily: importing ``brickwork`` must
    not import its ``nn`` just to define a CLI model)."""
    import brickwork.nn.functional as F

    class Block(nn.Module):
        """Pre-norm attention and MLP, each added back to the residual stream."""

        def __init__(self, width: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                     nn.Linear(4 * width, width))

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(C, dim=-1)
            # (B, T, C) -> (B, heads, T, C/heads): attention per head
            q, k, v = (t.reshape(B, T, self.heads, C // self.heads).transpose(1, 2)
                       for t in (q, k, v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp(self.ln2(x))

    class CharLM(nn.Module):
        """Token and position embeddings, transformer blocks, and a linear head."""

        def __init__(self, vocab_size: int, width: int = 32, layers: int = 2, heads: int = 2,
                     block: int = BLOCK) -> None:
            super().__init__()
            self.block = block
            self.tok = nn.Embedding(vocab_size, width)
            self.pos = nn.Embedding(block, width)
            self.blocks = nn.Sequential(*[Block(width, heads) for _ in range(layers)])
            self.ln = nn.LayerNorm(width)
            self.head = nn.Linear(width, vocab_size)

        def forward(self, idx):
            import brickwork as bw

            T = idx.shape[1]
            pos = bw.arange(T, device=idx.device)
            x = self.tok(idx) + self.pos(pos)
            return self.head(self.ln(self.blocks(x)))  # (B, T, vocab)

    return CharLM


def loss_fn(logits, y):
    """Cross-entropy averaged over every position of every window."""
    import brickwork.nn.functional as F

    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def sample(net, vocab: str, prompt: str, n: int, generator) -> str:
    """``prompt`` followed by ``n`` characters drawn one at a time from the model."""
    import brickwork as bw

    index = {c: i for i, c in enumerate(vocab)}
    dev = next(net.parameters()).device
    ids = [index[c] for c in prompt if c in index] or [0]
    net.eval()
    with bw.no_grad():
        for _ in range(n):
            ctx = bw.tensor([ids[-net.block:]], dtype=bw.int64, device=dev)
            probs = bw.softmax(net(ctx)[0, -1].float(), dim=-1).cpu()
            ids.append(int(bw.multinomial(probs, 1, generator=generator).item()))
    return "".join(vocab[i] for i in ids)


def print_samples(net, vocab: str, seed: int, count: int = 3) -> None:
    """Print ``count`` samples, each from a capitalised prompt taken from the vocabulary."""
    import brickwork as bw

    g = bw.Generator().manual_seed(seed)
    starts = [c for c in vocab if c.isupper()] or list(vocab)
    print("samples:")
    for i in range(count):
        text = sample(net, vocab, starts[i % len(starts)], SAMPLE_CHARS, g)
        print("  " + repr(text))
