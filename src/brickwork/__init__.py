"""brickwork: a small deep-learning framework with PyTorch's API, on NumPy and CuPy.

Change ``import torch`` to ``import brickwork as torch`` and the code of the "deep learning
computation" chapter runs unchanged.
"""
from __future__ import annotations

__version__ = "0.1.0"

import warnings as _warnings

# NumPy reports floating-point exceptions (inf - inf, an overflow to inf, 0 / 0) as
# RuntimeWarnings from the line that ran the ufunc; PyTorch's kernels say nothing. One filter
# for those raised in brickwork's own modules (the user's NumPy code keeps its warnings), looked
# at only when NumPy warns, where an np.errstate around every op would cost ~1 us each.
_warnings.filterwarnings("ignore", r"(invalid value|overflow|divide by zero|underflow) "
                         r"encountered", RuntimeWarning, r"brickwork\.")
from . import _malloc

_malloc.tune()  # keep large freed arrays in the heap between steps (see _malloc.py)
from . import _blas

_blas.limit_spinning()  # OpenBLAS's idle threads sleep after 0.3 ms, not 0.1 s (see _blas.py)
from . import dtypes as _dtypes
from .dtypes import (bfloat16, bool, cdouble, cfloat, complex64, complex128, double,  # noqa: A004
                     dtype, float, float16, float32, float64, get_default_dtype, half, int, int8,
                     int16, int32, int64, long, promote_types, result_type, set_default_dtype,
                     short, uint8, uint16, uint32, uint64)
from .device import device
from .size import Size
from .tensor import Tensor
from . import _tensor_methods  # noqa: F401  (installs operators and methods on Tensor)
from ._tensor_str import get_printoptions, printoptions, set_printoptions
from .factories import (BFloat16Tensor, BoolTensor, ByteTensor, CharTensor, DoubleTensor,
                        FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor, arange,
                        as_tensor, asarray, empty, empty_like, eye, from_numpy, full, full_like,
                        jagged, layout, linspace, logspace, ones, ones_like, rand, rand_like,
                        randint, randint_like, randn, randn_like, randperm, sparse_bsc, sparse_bsr,
                        sparse_coo, sparse_csc, sparse_csr, strided, tensor, zeros, zeros_like)
from .ops.activation import *  # noqa: F401,F403
from .ops.comparison import *  # noqa: F401,F403
from .ops.elementwise import *  # noqa: F401,F403
from .ops.indexing import *  # noqa: F401,F403
from .ops.linalg import *  # noqa: F401,F403
from .ops.linalg_extra import *  # noqa: F401,F403
from .ops.math_extra import *  # noqa: F401,F403
from .ops.misc_extra import *  # noqa: F401,F403
from .ops.misc_more import *  # noqa: F401,F403
from .ops.functional_aliases import *  # noqa: F401,F403
from .ops.random_fill import *  # noqa: F401,F403
from .ops.complex_ops import *  # noqa: F401,F403
from .ops.nn_extra import *  # noqa: F401,F403
from .ops.rnn_ops import *  # noqa: F401,F403
from .ops.sparse_ops import *  # noqa: F401,F403
from .ops.spectral import *  # noqa: F401,F403
from .ops.tensor_extra import *  # noqa: F401,F403
from .ops.torch_extra import *  # noqa: F401,F403
from .ops.reduction import *  # noqa: F401,F403
from .ops.shape import *  # noqa: F401,F403
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                                 set_grad_enabled)
from .autograd.anomaly_mode import (is_anomaly_check_nan_enabled, is_anomaly_enabled,
                                    set_anomaly_enabled)
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed,
                     seed, set_rng_state)
from . import autograd, cuda, linalg, return_types  # noqa: E402

is_tensor = lambda obj: isinstance(obj, Tensor)  # noqa: E731


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


from ._out import install_out as _install_out  # noqa: E402

_install_out(globals())  # out= on each function that has it in PyTorch (see _out.py)


from . import func, nn, optim, training, utils  # noqa: E402,F401
from . import accelerator, amp, backends, distributions, special, version  # noqa: E402,F401
from . import cpu, distributed, fft, futures, sparse, testing  # noqa: E402,F401
from .amp.autocast_mode import *  # noqa: E402,F401,F403
GradScaler = amp.GradScaler
from ._settings import *  # noqa: E402,F401,F403
from .serialization import load, save  # noqa: E402,F401
