"""Recurrent layers: RNN, LSTM, GRU and their one-step cells.

The parameters, their names, shapes and initialization, the checks and the error messages are
PyTorch's, so a state dict moves between the two libraries unchanged. The computation is the
torch-level functions of ``ops/_rnn_seq.py`` and ``ops/_rnn_cells.py`` (``brickwork.lstm``...),
called with PyTorch's flat parameter list, as ``torch.nn.LSTM`` calls ``_VF.lstm``.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ... import factories
from ...ops import rnn_ops as cells
from ...ops import rnn_ops as seq
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _permute(hx, permutation):
    """Reorder the batch (dim 1) of a hidden state (or an LSTM's pair)."""
    if permutation is None:
        return hx
    if isinstance(hx, tuple):
        return tuple(h.index_select(1, permutation) for h in hx)
    return hx.index_select(1, permutation)


class RNNBase(Module):
    """The shared parameters and checks of ``RNN``, ``LSTM`` and ``GRU``.

    See: torch.nn.RNNBase.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for name, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names: list = []
        self._all_weights: list = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else real_hidden * dirs
            for d in range(dirs):
                sfx = f"l{layer}" + ("_reverse" if d == 1 else "")
                shapes = [(f"weight_ih_{sfx}", (gate_size, layer_in)),
                          (f"weight_hh_{sfx}", (gate_size, real_hidden))]
                if bias:
                    shapes += [(f"bias_ih_{sfx}", (gate_size,)), (f"bias_hh_{sfx}", (gate_size,))]
                if proj_size > 0:
                    shapes += [(f"weight_hr_{sfx}", (proj_size, hidden_size))]
                for name, shape in shapes:
                    setattr(self, name, Parameter(factories.empty(shape, **kw)))
                names = [n for n, _ in shapes]
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        # Looked up on every use, so replaced or moved parameters are always the current ones.
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters, one list per layer and direction."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op: there is no cuDNN weight buffer to compact. See: torch.nn.RNNBase."""

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def check_input(self, input: Tensor, batch_sizes) -> None:
        """PyTorch's checks of the input's dtype, rank and feature size."""
        w0 = self._flat_weights[0]
        if input.dtype != w0.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w0.dtype}). Convert input: input.to({w0.dtype}), or convert "
                             f"model: model.to({input.dtype})")
        expected = 2 if batch_sizes is not None else 3
        if input.ndim != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.ndim}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _mini_batch(self, input: Tensor, batch_sizes) -> int:
        if batch_sizes is not None:
            return int(batch_sizes[0])
        return input.shape[0] if self.batch_first else input.shape[1]

    def get_expected_hidden_size(self, input: Tensor, batch_sizes) -> tuple:
        """(num_layers * num_directions, batch, proj_size or hidden_size)."""
        dirs = 2 if self.bidirectional else 1
        return (self.num_layers * dirs, self._mini_batch(input, batch_sizes),
                self.proj_size if self.proj_size > 0 else self.hidden_size)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: tuple,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        """Raise PyTorch's RuntimeError if ``hx`` is not of the expected shape."""
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(tuple(expected_hidden_size), list(hx.shape)))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        return _permute(hx, permutation)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def _zeros(self, input: Tensor, batch: int, size: int) -> Tensor:
        dirs = 2 if self.bidirectional else 1
        return factories.zeros((self.num_layers * dirs, batch, size), dtype=input.dtype,
                               device=input.device)

    def _prepare(self, input, hx, name: str, pair: bool):
        """Unpack a PackedSequence or unsqueeze an unbatched input; default and check ``hx``.

        Returns ``(input, hx, batch_sizes, sorted_indices, unsorted_indices, is_batched)``.
        """
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if isinstance(input, PackedSequence):
            input, batch_sizes, sorted_i, unsorted_i = input
            batch = int(batch_sizes[0])
            is_batched = True
            if hx is not None:
                hx = self.permute_hidden(tuple(hx) if pair else hx, sorted_i)
        else:
            batch_sizes = sorted_i = unsorted_i = None
            if input.ndim not in (2, 3):
                tail = " tensor instead" if name == "RNN" else " instead"
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D"
                                 f"{tail}")
            is_batched = input.ndim == 3
            if not is_batched:
                input = input.unsqueeze(0 if self.batch_first else 1)
            batch = input.shape[0] if self.batch_first else input.shape[1]
            if hx is not None:
                hx = self._check_hx_rank(hx, is_batched, pair)
        if hx is None:
            hx = self._zeros(input, batch, real_hidden)
            if pair:
                hx = (hx, self._zeros(input, batch, self.hidden_size))
        return input, hx, batch_sizes, sorted_i, unsorted_i, is_batched

    def _check_hx_rank(self, hx, is_batched: bool, pair: bool):
        want = 3 if is_batched else 2
        kind = "batched 3-D" if is_batched else "unbatched 2-D"
        if pair:
            hx = tuple(hx)
            if hx[0].ndim != want or hx[1].ndim != want:
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                                   f"({hx[0].ndim}-D, {hx[1].ndim}-D) tensors")
            return hx if is_batched else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        if hx.ndim != want:
            raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                               f"{hx.ndim}-D tensor")
        return hx if is_batched else hx.unsqueeze(1)

    def _run(self, fn, input, hx, name: str, pair: bool = False):
        orig = input
        input, hx, batch_sizes, sorted_i, unsorted_i, is_batched = self._prepare(
            input, hx, name, pair)
        self.check_forward_args(input, hx, batch_sizes)
        if batch_sizes is None:
            result = fn(input, hx, self._flat_weights, self.bias, self.num_layers, self.dropout,
                        self.training, self.bidirectional, self.batch_first)
        else:
            result = fn(input, batch_sizes, hx, self._flat_weights, self.bias, self.num_layers,
                        self.dropout, self.training, self.bidirectional)
        output = result[0]
        hidden = tuple(result[1:]) if pair else result[1]
        if isinstance(orig, PackedSequence):
            return (PackedSequence(output, batch_sizes, sorted_i, unsorted_i),
                    self.permute_hidden(hidden, unsorted_i))
        if not is_batched:
            output = output.squeeze(0 if self.batch_first else 1)
            hidden = (tuple(h.squeeze(1) for h in hidden) if pair else hidden.squeeze(1))
        return output, hidden


class RNN(RNNBase):
    """A multi-layer Elman RNN, ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    Args as PyTorch: ``input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None``.

    Example:
        >>> rnn = nn.RNN(4, 8, num_layers=2)
        >>> out, h = rnn(brickwork.randn(5, 3, 4))
        >>> out.shape, h.shape
        (brickwork.Size([5, 3, 8]), brickwork.Size([2, 3, 8]))

    See: torch.nn.RNN.
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             f"or 'relu'.")
        super().__init__(modes[self.nonlinearity], *args, **kwargs)

    def forward(self, input, hx: Tensor | None = None):
        fn = seq.rnn_tanh if self.mode == "RNN_TANH" else seq.rnn_relu
        return self._run(fn, input, hx, "RNN")


class LSTM(RNNBase):
    """A multi-layer LSTM (optionally with projections, ``proj_size > 0``).

    Args as PyTorch: ``input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None``. Returns
    ``output, (h_n, c_n)``.

    Example:
        >>> lstm = nn.LSTM(4, 8, proj_size=3)
        >>> out, (h, c) = lstm(brickwork.randn(5, 2, 4))
        >>> out.shape, h.shape, c.shape
        (brickwork.Size([5, 2, 3]), brickwork.Size([1, 2, 3]), brickwork.Size([1, 2, 8]))

    See: torch.nn.LSTM.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes) -> tuple:
        """(num_layers * num_directions, batch, hidden_size)."""
        dirs = 2 if self.bidirectional else 1
        return (self.num_layers * dirs, self._mini_batch(input, batch_sizes), self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def forward(self, input, hx=None):
        return self._run(seq.lstm, input, hx, "LSTM", pair=True)


class GRU(RNNBase):
    """A multi-layer gated recurrent unit (PyTorch's gate layout ``r, z, n``).

    Args as PyTorch: ``input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, device=None, dtype=None``.

    See: torch.nn.GRU.
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx: Tensor | None = None):
        return self._run(seq.gru, input, hx, "GRU")


class RNNCellBase(Module):
    """The shared parameters of the one-step cells. See: torch.nn.RNNCellBase."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(factories.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(factories.empty((num_chunks * hidden_size, hidden_size),
                                                   **kw))
        if bias:
            self.bias_ih = Parameter(factories.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(factories.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batched(self, name: str, input: Tensor, hxs, hx_label) -> tuple:
        """Check ranks as PyTorch; return the 2-d input and states and whether it was 2-d."""
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        for i, h in enumerate(hxs):
            if h.ndim not in (1, 2):
                label = hx_label.format(i)
                raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {h.ndim}D "
                                 f"instead")
        is_batched = input.ndim == 2
        if not is_batched:
            input = input.unsqueeze(0)
            hxs = [h.unsqueeze(0) for h in hxs]
        return input, hxs, is_batched

    def _zeros(self, input: Tensor) -> Tensor:
        return factories.zeros((input.shape[0], self.hidden_size), dtype=input.dtype,
                               device=input.device)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN. See: torch.nn.RNNCell."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, hxs, is_batched = self._batched("RNNCell", input, [] if hx is None else [hx],
                                               "hidden")
        hx = hxs[0] if hxs else self._zeros(input)
        if self.nonlinearity == "tanh":
            fn = cells.rnn_tanh_cell
        elif self.nonlinearity == "relu":
            fn = cells.rnn_relu_cell
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        ret = fn(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return ret if is_batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    """One step of an LSTM; returns ``(h', c')``. See: torch.nn.LSTMCell."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx=None) -> tuple[Tensor, Tensor]:
        input, hxs, is_batched = self._batched("LSTMCell", input,
                                               [] if hx is None else list(hx), "hx[{}]")
        if not hxs:
            zeros = self._zeros(input)
            hxs = [zeros, zeros]
        ret = cells.lstm_cell(input, tuple(hxs), self.weight_ih, self.weight_hh, self.bias_ih,
                              self.bias_hh)
        return tuple(ret) if is_batched else (ret[0].squeeze(0), ret[1].squeeze(0))


class GRUCell(RNNCellBase):
    """One step of a GRU. See: torch.nn.GRUCell."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, hxs, is_batched = self._batched("GRUCell", input, [] if hx is None else [hx],
                                               "hidden")
        hx = hxs[0] if hxs else self._zeros(input)
        ret = cells.gru_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih,
                             self.bias_hh)
        return ret if is_batched else ret.squeeze(0)
