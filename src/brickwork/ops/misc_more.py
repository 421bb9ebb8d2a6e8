"""More of the torch namespace, gathered from the ``_more_*`` files of this family:

- the top-level in-place functions ``torch.xxx_(input, ...)`` of existing Tensor methods
- ``_more_split``: tensor_split, hsplit, vsplit, dsplit, split_with_sizes, column_stack
- ``_more_stats``: msort, kthvalue, mode, nanmedian, quantile, nanquantile, nanmean, aminmax
- ``_more_info``: finfo, iinfo, can_cast, is_* predicates, trace, isposinf/isneginf/isreal,
  detach, fill, get_device
- ``_more_windows``: bartlett, blackman, hamming, hann and kaiser windows
- ``_more_index``: slice/select/diagonal_scatter, index_copy, index_put, put, scatter_reduce,
  index_reduce, scalar_tensor, empty_strided, frombuffer
- ``_more_numeric``: gradient, histogramdd, nonzero_static, memory_format and its formats
- ``_more_igamma``: igamma, igammac
"""
from __future__ import annotations

from ..device import guard_functions
from ..tensor import Tensor
from . import (_more_igamma, _more_index, _more_info, _more_numeric, _more_split, _more_stats,
               _more_windows)
from ._more_igamma import *  # noqa: F401,F403
from ._more_index import *  # noqa: F401,F403
from ._more_numeric import *  # noqa: F401,F403
from ._more_info import *  # noqa: F401,F403
from ._more_split import *  # noqa: F401,F403
from ._more_stats import *  # noqa: F401,F403
from ._more_windows import *  # noqa: F401,F403

# torch.xxx_(input, *args) is input.xxx_(*args): the Tensor method is the one implementation.
# (relu_ is functional_aliases'.)
_INPLACE_FUNCTIONS = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_",
    "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_",
    "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_", "erfc_",
    "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_", "lcm_",
    "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_",
    "rad2deg_", "reciprocal_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_",
    "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_", "index_put_")


def _inplace_function(name: str):
    def fn(input: Tensor, *args, **kwargs) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"In-place ``input.{name}(...)``, returning ``input``. See: torch.{name}."
    return fn


for _name in _INPLACE_FUNCTIONS:
    globals()[_name] = _inplace_function(_name)

# Named results of this family, to be listed in brickwork.return_types (pickling needs them).
return_types = {**_more_stats.return_types, **_more_numeric.return_types}

__all__: list = (list(_INPLACE_FUNCTIONS) + _more_split.__all__ + _more_stats.__all__
                 + _more_info.__all__ + _more_windows.__all__ + _more_index.__all__
                 + _more_numeric.__all__ + _more_igamma.__all__)

# Functions that read their inputs' arrays run on those inputs' GPU (see device.py); the
# windows, finfo/iinfo and can_cast have no input tensor.
_NO_INPUT = set(_more_windows.__all__) | {"finfo", "iinfo", "can_cast", "scalar_tensor",
                                          "empty_strided", "frombuffer", "memory_format",
                                          "contiguous_format", "preserve_format",
                                          "channels_last", "channels_last_3d",
                                          "legacy_contiguous_format"}
guard_functions(globals(), [n for n in __all__ if n not in _NO_INPUT
                            and n not in _INPLACE_FUNCTIONS])

_METHODS = ("tensor_split", "hsplit", "vsplit", "dsplit", "split_with_sizes", "msort",
            "kthvalue", "mode", "nanmedian", "quantile", "nanquantile", "nanmean", "aminmax",
            "is_signed", "is_nonzero", "is_same_size", "is_inference", "is_neg", "resolve_neg",
            "trace",
            "isposinf", "isneginf", "isreal", "slice_scatter", "select_scatter",
            "diagonal_scatter", "index_copy", "index_put", "put", "nonzero_static",
            "scatter_reduce", "index_reduce", "igamma", "igammac")
TENSOR_METHODS: dict = {n: globals()[n] for n in _METHODS}
INPLACE_METHODS: tuple = ("index_copy", "index_put", "put", "scatter_reduce", "index_reduce",
                           "igamma", "igammac")

from ._numpy_names import install as _numpy_names  # noqa: E402

_numpy_names(globals(), TENSOR_METHODS)  # axis=/keepdims= for dim/keepdim, as PyTorch accepts
