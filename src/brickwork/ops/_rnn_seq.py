"""Whole-sequence recurrent networks: ``rnn_tanh``, ``rnn_relu``, ``lstm``, ``gru``.

PyTorch's ATen overloads, which ``nn.RNN``/``LSTM``/``GRU`` call:

- padded: ``(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
  batch_first)``, ``input`` (T, N, I) (or (N, T, I) with ``batch_first``, or unbatched (T, I));
- packed: ``(data, batch_sizes, hx, params, has_biases, num_layers, dropout, train,
  bidirectional)``, ``data`` the time-major concatenation of a ``PackedSequence``.

``params`` is flat, per layer and direction: ``w_ih, w_hh[, b_ih, b_hh][, w_hr]`` (``w_hr`` the
LSTM's projection, present when ``h0`` and ``c0`` differ in size). Each layer projects all of its
inputs with one GEMM and then steps through time with the cells of ``_rnn_cells.py``, in
differentiable Tensor ops, so autograd gives every gradient. A packed batch is a padded one
whose active rows shrink: step ``t`` updates the first ``batch_sizes[t]`` hidden rows only, and
the others keep their state, which is how each sequence's final state is its own last step.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import _rnn_cells as R
from ._rnn_fused import fused_layer
from .activation import relu
from .activation_extra import dropout as _dropout
from .conv import scalar_name
from .elementwise import tanh
from .join import cat, stack
from .linear import linear


def _hidden_list(hx, lstm: bool):
    if lstm:
        hx = tuple(hx)
        if len(hx) != 2:
            raise RuntimeError("lstm expects two hidden states")
        return hx
    return (hx,)


def run_direction(kind, gi: Tensor, hs, weights, batch_sizes, reverse: bool):
    """Step one layer in one direction over ``gi`` (T, [N,] G); return outputs and states."""
    w_hh, b_hh, w_hr = weights
    steps = range(gi.shape[0] - 1, -1, -1) if reverse else range(gi.shape[0])
    outs = [None] * gi.shape[0]
    for t in steps:
        bs = None if batch_sizes is None else batch_sizes[t]
        full = bs is None or bs == hs[0].shape[0]
        act = hs if full else tuple(h[:bs] for h in hs)
        if kind == "lstm":
            new = R.lstm_step(gi[t], act[0], act[1], w_hh, b_hh, w_hr)
        elif kind == "gru":
            new = (R.gru_step(gi[t], act[0], w_hh, b_hh),)
        else:
            new = (R.simple_step(gi[t], act[0], w_hh, b_hh, tanh if kind == "rnn_tanh"
                                 else relu),)
        outs[t] = new[0]
        # Rows past the batch size have ended (or, in reverse, not begun): they keep their state.
        hs = new if full else tuple(cat([n, h[bs:]], 0) for n, h in zip(new, hs))
    return outs, hs


def _stacked(kind, x: Tensor, hx, params, has_biases, num_layers, dropout, train,
             bidirectional, batch_sizes):
    """The layers over ``x`` (T, [N,] I) or packed ``x`` (sum(batch_sizes), I)."""
    lstm = kind == "lstm"
    hxs = _hidden_list(hx, lstm)
    dirs = 2 if bidirectional else 1
    proj = lstm and hxs[0].shape[-1] != hxs[1].shape[-1]
    per = 2 + 2 * bool(has_biases) + bool(proj)
    params = list(params)
    if len(params) % per:
        raise RuntimeError("got an incorrect number of RNN parameters")
    if bidirectional and ((len(params) // per) % 2 or any(h.ndim and h.shape[0] % 2
                                                           for h in hxs)):
        raise RuntimeError("Odd number of params or hiddens given to a bidirectional RNN")
    if len(params) != per * num_layers * dirs:
        raise RuntimeError("got an incorrect number of RNN parameters")
    if any(h.ndim == 0 or h.shape[0] != num_layers * dirs for h in hxs):
        raise RuntimeError("Expected more hidden states in stacked_rnn")
    if batch_sizes is None and x.shape[0] == 0:
        raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
    finals = [[] for _ in hxs]
    layer_in = x
    for layer in range(num_layers):
        if layer and train and dropout:
            if not 0 <= dropout <= 1:
                raise RuntimeError(f"dropout probability has to be between 0 and 1, but got "
                                   f"{dropout}")
            layer_in = _dropout(layer_in, dropout, True)
        outs = []
        for d in range(dirs):
            base = (layer * dirs + d) * per
            w = params[base:base + per]
            w_ih, w_hh = w[0], w[1]
            b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
            w_hr = w[-1] if proj else None
            gi = linear(layer_in, w_ih, b_ih)  # every step's input projection in one GEMM
            if batch_sizes is not None:
                gi = _split_packed(gi, batch_sizes)
            hs = tuple(h[layer * dirs + d] for h in hxs)
            if batch_sizes is None and w_hr is None and _fusable(gi):
                out, hs = _fused(kind, gi, hs, w_hh, b_hh, d == 1)
                outs.append(out)
            else:
                steps, hs = run_direction(kind, gi, hs, (w_hh, b_hh, w_hr), batch_sizes, d == 1)
                outs.append(cat(steps, 0) if batch_sizes is not None else stack(steps, 0))
            for f, h in zip(finals, hs):
                f.append(h)
        layer_in = outs[0] if dirs == 1 else cat(outs, -1)
    return (layer_in,) + tuple(stack(f, 0) for f in finals)


def _fusable(gi: Tensor) -> bool:
    """Whether the fused layer ops (``_rnn_fused.py``) take this layer: real float32/float64
    (bfloat16 and complex keep the Tensor-op path, which handles their arithmetic)."""
    return gi._data.dtype.name in ("float32", "float64")


def _fused(kind, gi: Tensor, hs, w_hh, b_hh, reverse: bool):
    """One layer-direction through the fused op; unbatched (T, G) input runs as a batch of 1."""
    if gi.ndim == 2:
        out, hs = fused_layer(kind, gi.unsqueeze(1), tuple(h.unsqueeze(0) for h in hs), w_hh,
                              b_hh, reverse)
        return out.squeeze(1), tuple(h.squeeze(0) for h in hs)
    return fused_layer(kind, gi, hs, w_hh, b_hh, reverse)


class _Steps:
    """The per-step slices of a packed projection, indexed like a (T, ...) tensor."""

    def __init__(self, parts):
        self.parts = parts
        self.shape = (len(parts),)

    def __getitem__(self, t):
        return self.parts[t]


def _split_packed(gi: Tensor, batch_sizes):
    parts, start = [], 0
    for bs in batch_sizes:
        parts.append(gi[start:start + bs])
        start += bs
    return _Steps(parts)


def _batch_sizes(batch_sizes: Tensor, data: Tensor, hx_batch: int) -> list:
    """The packed batch sizes as ints, checked as PyTorch does."""
    if batch_sizes.dtype.name != "int64":
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{scalar_name(batch_sizes.dtype)}")
    sizes = [int(v) for v in batch_sizes._host().reshape(-1)]
    total = 0
    for i, bs in enumerate(sizes):
        if total + bs > data.shape[0]:
            raise RuntimeError(f"start ({total}) + length ({bs}) exceeds dimension size "
                               f"({data.shape[0]}).")
        if bs > (sizes[i - 1] if i else hx_batch) or bs <= 0:
            raise RuntimeError(f"The size of tensor a ({bs}) must match the size of tensor b "
                               f"({sizes[i - 1] if i else hx_batch}) at non-singleton "
                               f"dimension 0")
        total += bs
    return sizes


def _dispatch(kind, args, kwargs):
    """Pick the padded or the packed overload from the arguments, as PyTorch's binding does."""
    names_padded = ("input", "hx", "params", "has_biases", "num_layers", "dropout", "train",
                    "bidirectional", "batch_first")
    names_packed = ("data", "batch_sizes", "hx", "params", "has_biases", "num_layers",
                    "dropout", "train", "bidirectional")
    packed = ("batch_sizes" in kwargs or "data" in kwargs or
              (len(args) > 2 and isinstance(args[1], Tensor) and kind == "lstm") or
              (len(args) > 2 and isinstance(args[1], Tensor) and isinstance(args[2], Tensor)))
    names = names_packed if packed else names_padded
    if len(args) > len(names):
        raise TypeError(f"{kind}() takes {len(names)} arguments but {len(args)} were given")
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names or k in bound:
            raise TypeError(f"{kind}() got an unexpected or repeated keyword argument '{k}'")
        bound[k] = v
    missing = [n for n in names if n not in bound]
    if missing:
        raise TypeError(f"{kind}() missing required argument '{missing[0]}'")
    if packed:
        data, hx = bound["data"], bound["hx"]
        h0 = hx[0] if kind == "lstm" else hx
        sizes = _batch_sizes(bound["batch_sizes"], data, h0.shape[1] if h0.ndim > 1 else 0)
        return _stacked(kind, data, hx, bound["params"], bound["has_biases"],
                        bound["num_layers"], bound["dropout"], bound["train"],
                        bound["bidirectional"], sizes)
    x = bound["input"]
    if bound["batch_first"]:
        x = x.transpose(0, 1)
    out = _stacked(kind, x, bound["hx"], bound["params"], bound["has_biases"],
                   bound["num_layers"], bound["dropout"], bound["train"],
                   bound["bidirectional"], None)
    if bound["batch_first"]:
        out = (out[0].transpose(0, 1),) + out[1:]
    return out


def rnn_tanh(*args, **kwargs) -> tuple[Tensor, Tensor]:
    """A stacked Elman RNN with tanh over a whole sequence; returns ``(output, h_n)``.

    Overloads: ``(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
    batch_first)`` and, for packed sequences, ``(data, batch_sizes, hx, params, has_biases,
    num_layers, dropout, train, bidirectional)``. ``params`` lists ``w_ih, w_hh[, b_ih, b_hh]``
    per layer and direction; ``hx`` is (num_layers * num_directions, N, H).

    See: torch.rnn_tanh.
    """
    return _dispatch("rnn_tanh", args, kwargs)


def rnn_relu(*args, **kwargs) -> tuple[Tensor, Tensor]:
    """A stacked Elman RNN with ReLU; overloads as ``rnn_tanh``. See: torch.rnn_relu."""
    return _dispatch("rnn_relu", args, kwargs)


def lstm(*args, **kwargs) -> tuple[Tensor, Tensor, Tensor]:
    """A stacked LSTM over a whole sequence; returns ``(output, h_n, c_n)``.

    Overloads as ``rnn_tanh``, with ``hx = (h_0, c_0)``. With projections (``h_0`` smaller
    than ``c_0``) each layer and direction's params end with ``w_hr``.

    See: torch.lstm.
    """
    return _dispatch("lstm", args, kwargs)


def gru(*args, **kwargs) -> tuple[Tensor, Tensor]:
    """A stacked GRU over a whole sequence; returns ``(output, h_n)``. See: torch.gru."""
    return _dispatch("gru", args, kwargs)


__all__ = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
