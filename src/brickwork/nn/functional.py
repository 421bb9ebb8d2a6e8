"""``brickwork.nn.functional``: the stateless forms of the layers (thin: the ops live in ops/)."""
from ..ops.activation import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.linear import *  # noqa: F401,F403
from ..ops.loss import *  # noqa: F401,F403
from ..ops.normalization import *  # noqa: F401,F403
from ..ops.pooling import *  # noqa: F401,F403
