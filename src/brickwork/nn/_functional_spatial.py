"""The ``nn.functional`` forms of the 3-d convolutions, 3-d / adaptive-max / power-average
pooling, max unpooling and grid sampling (the ops live in ``ops/_spatial_*.py``)."""
from __future__ import annotations

from ..device import guard_functions
from ..ops import _spatial_pool as _pool
from ..ops._spatial_conv import conv3d, conv_transpose3d
from ..ops._spatial_fractional import (fractional_max_pool2d,
                                       fractional_max_pool2d_with_indices,
                                       fractional_max_pool3d,
                                       fractional_max_pool3d_with_indices)
from ..ops._spatial_grid import affine_grid, grid_sample

max_pool3d = _pool.max_pool3d
max_pool3d_with_indices = _pool.max_pool3d_with_indices
avg_pool3d = _pool.avg_pool3d
adaptive_max_pool1d = _pool.adaptive_max_pool1d
adaptive_max_pool2d = _pool.adaptive_max_pool2d
adaptive_max_pool3d = _pool.adaptive_max_pool3d
adaptive_max_pool1d_with_indices = _pool.adaptive_max_pool1d_with_indices
adaptive_max_pool2d_with_indices = _pool.adaptive_max_pool2d_with_indices
adaptive_max_pool3d_with_indices = _pool.adaptive_max_pool3d_with_indices
adaptive_avg_pool3d = _pool.adaptive_avg_pool3d
lp_pool1d = _pool.lp_pool1d
lp_pool2d = _pool.lp_pool2d
lp_pool3d = _pool.lp_pool3d
max_unpool1d = _pool.max_unpool1d
max_unpool2d = _pool.max_unpool2d
max_unpool3d = _pool.max_unpool3d

__all__: list = ["conv3d", "conv_transpose3d", "max_pool3d", "max_pool3d_with_indices",
                 "avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
                 "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices",
                 "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
                 "adaptive_avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d",
                 "max_unpool2d", "max_unpool3d", "grid_sample", "affine_grid",
                 "fractional_max_pool2d", "fractional_max_pool3d",
                 "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
