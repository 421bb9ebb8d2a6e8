"""Torch-level spatial and recurrent functions: the recurrent cells and sequences
(``_rnn_cells.py``, ``_rnn_seq.py``) and the 3-d / generic convolutions, 3-d and adaptive-max
pooling and grid sampling (``_spatial_*.py``), gathered into one family here.

The ``torch.xxx`` forms of the pools take ATen's signatures (``stride=[]`` for "the kernel
size", no ``return_indices``); their ``nn.functional`` forms live in ``nn/_functional_spatial``.
"""
from __future__ import annotations

from ..device import guard_functions
from ..tensor import Tensor
from . import _spatial_pool as _pool
from ._rnn_cells import gru_cell, lstm_cell, rnn_relu_cell, rnn_tanh_cell
from ._rnn_seq import gru, lstm, rnn_relu, rnn_tanh
from ._spatial_conv import conv3d, conv_tbc, conv_transpose3d, convolution
from ._spatial_grid import affine_grid_generator, grid_sampler, grid_sampler_2d, grid_sampler_3d


def max_pool3d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """3-d max pooling (values only); ``stride=[]`` means the kernel size. See: torch.max_pool3d.
    """
    stride = None if isinstance(stride, (tuple, list)) and not stride else stride
    return _pool.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode)


def adaptive_max_pool1d(input: Tensor, output_size) -> tuple[Tensor, Tensor]:
    """1-d adaptive max pooling returning ``(values, indices)``. See: torch.adaptive_max_pool1d.
    """
    return _pool.adaptive_max_pool1d_with_indices(input, output_size)


TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__: list = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "rnn_tanh",
                 "rnn_relu", "lstm", "gru", "conv3d", "conv_transpose3d", "convolution",
                 "conv_tbc", "max_pool3d", "adaptive_max_pool1d", "grid_sampler", "grid_sampler_2d",
                 "grid_sampler_3d", "affine_grid_generator"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
