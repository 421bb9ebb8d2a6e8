"""``brickwork.nn.functional``: the stateless forms of the layers (thin: the ops live in ops/)."""
from ..ops.activation import *  # noqa: F401,F403
from ..ops.activation_extra import (dropout, elu, gelu, hardtanh, leaky_relu,  # noqa: F401
                                    mish, relu6, silu, softmin, softplus)
from ..ops.conv import *  # noqa: F401,F403
from ..ops.elementwise import tanh  # noqa: F401
from ..ops.linear import *  # noqa: F401,F403
from ..ops.loss import *  # noqa: F401,F403
from ..ops.normalization import *  # noqa: F401,F403
from ..ops.pooling import *  # noqa: F401,F403
from ._functional_more import *  # noqa: F401,F403
from ._functional_spatial import *  # noqa: F401,F403
from ._functional_attention import *  # noqa: F401,F403
from ._functional_interpolate import *  # noqa: F401,F403
from ._functional_extra import *  # noqa: F401,F403
from ._functional_pool_more import *  # noqa: F401,F403
from ..tensor import Tensor  # noqa: F401,E402 - PyTorch's F exposes the class too


def relu_(input):
    """In-place ``relu``. See: torch.nn.functional.relu_."""
    return input.relu_()


def leaky_relu_(input, negative_slope: float = 0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def elu_(input, alpha: float = 1.0):
    return elu(input, alpha, inplace=True)


def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


from .._out import install_out as _install_out  # noqa: E402

_install_out(globals(), "nn.functional.")  # out= where PyTorch's F has it (see _out.py)
