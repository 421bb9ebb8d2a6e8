"""One step of the recurrent cells: ``rnn_tanh_cell``, ``rnn_relu_cell``, ``lstm_cell``,
``gru_cell`` (PyTorch's ATen functions that ``nn.RNNCell``/``LSTMCell``/``GRUCell`` call).

Written in differentiable Tensor ops (``linear``, ``sigmoid``, ``tanh``), so gradients of any
order with respect to the input, the hidden state and every weight come from autograd. The
gate layouts are PyTorch's: LSTM rows ``i, f, g, o``; GRU rows ``r, z, n`` with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (the reset gate multiplies the hidden
projection *including* its bias, unlike the original GRU paper).
"""
from __future__ import annotations

from ..tensor import Tensor
from .activation import relu, sigmoid
from .elementwise import tanh
from .linear import linear


def check_cell(input: Tensor, hxs, w_ih: Tensor, w_hh: Tensor, gates: int) -> None:
    """PyTorch's checks of a cell's input, hidden states and weights, in its words."""
    input_size = w_ih.shape[1] if w_ih.ndim > 1 else None
    if input.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(input.ndim, 1)}, {max(input.ndim, 1) - 1}], but got 1)")
    if input_size is not None and input.shape[1] != input_size:
        raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected "
                           f"{input_size}")
    hidden_size = w_hh.shape[1] if w_hh.ndim > 1 else None
    for label, hx in enumerate(hxs):
        if hx.ndim < 2:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(hx.ndim, 1)}, {max(hx.ndim, 1) - 1}], but got 1)")
        if input.shape[0] != hx.shape[0]:
            raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{label} "
                               f"batch size {hx.shape[0]}")
        if hidden_size is not None and hx.shape[1] != hidden_size:
            raise RuntimeError(f"hidden{label} has inconsistent hidden_size: got {hx.shape[1]}, "
                               f"expected {hidden_size}")
    for name, w in (("weight_ih", w_ih), ("weight_hh", w_hh)):
        if hidden_size is not None and w.ndim and w.shape[0] != gates * hidden_size:
            raise RuntimeError(f"{name} first dim must be {gates} * hidden_size = "
                               f"{gates * hidden_size}, but got {w.shape[0]}")


# -- the steps, on precomputed input projections ------------------------------------------------
# The sequence functions project every time step's input at once (one GEMM) and call these with
# ``gi = W_ih x + b_ih``; the cells below compute ``gi`` for their single step.


def simple_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh, nonlinearity) -> Tensor:
    """``act(gi + W_hh h + b_hh)``: the Elman RNN step."""
    return nonlinearity(gi + linear(h, w_hh, b_hh))


def lstm_step(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh, w_hr=None):
    """``(h', c')`` of one LSTM step (gates i, f, g, o), with ``h' = W_hr h'`` if projected."""
    i, f, g, o = (gi + linear(h, w_hh, b_hh)).chunk(4, -1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    if w_hr is not None:
        h = linear(h, w_hr)
    return h, c


def gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh) -> Tensor:
    """One GRU step (gates r, z, n): ``h' = n + z * (h - n)``, i.e. ``(1 - z) n + z h``."""
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = linear(h, w_hh, b_hh).chunk(3, -1)
    r = sigmoid(i_r + h_r)
    z = sigmoid(i_z + h_z)
    n = tanh(i_n + r * h_n)
    return n + z * (h - n)


# -- the cells ----------------------------------------------------------------------------------


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """``tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` for a batch ``x`` (N, I), ``h`` (N, H).

    See: torch.rnn_tanh_cell.
    """
    check_cell(input, (hx,), w_ih, w_hh, 1)
    return simple_step(linear(input, w_ih, b_ih), hx, w_hh, b_hh, tanh)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """``relu(x W_ih^T + b_ih + h W_hh^T + b_hh)``. See: torch.rnn_relu_cell."""
    check_cell(input, (hx,), w_ih, w_hh, 1)
    return simple_step(linear(input, w_ih, b_ih), hx, w_hh, b_hh, relu)


def lstm_cell(input: Tensor, hx, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step: ``hx`` is ``(h, c)``; returns ``(h', c')``.

    Args:
        input: (N, input_size).
        hx: a pair (h, c), each (N, hidden_size).
        w_ih, w_hh: (4 * hidden_size, input_size / hidden_size), gate rows i, f, g, o.
        b_ih, b_hh: optional (4 * hidden_size,).

    See: torch.lstm_cell.
    """
    hx = tuple(hx)
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    check_cell(input, hx, w_ih, w_hh, 4)
    return lstm_step(linear(input, w_ih, b_ih), hx[0], hx[1], w_hh, b_hh)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One GRU step with PyTorch's gates r, z, n. See: torch.gru_cell."""
    check_cell(input, (hx,), w_ih, w_hh, 3)
    return gru_step(linear(input, w_ih, b_ih), hx, w_hh, b_hh)


__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]
