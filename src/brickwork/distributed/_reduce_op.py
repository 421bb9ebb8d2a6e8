"""``ReduceOp``: how a reduction collective combines the ranks' tensors. See: torch.distributed."""
from __future__ import annotations

import enum
import warnings


class RedOpType(enum.IntEnum):
    """The reduction kinds (the values PyTorch gives them)."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8

    def __str__(self) -> str:
        return f"RedOpType.{self.name}"


class ReduceOp:
    """Reduction operations: ``SUM``, ``AVG``, ``PRODUCT``, ``MIN``, ``MAX``, ``BAND``, ``BOR``,
    ``BXOR``. See: torch.distributed.ReduceOp.

    ``AVG`` divides the sum by the group's size, for floating point and complex tensors.
    ``PREMUL_SUM`` is not supported.
    """

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM

    def __init__(self, op: RedOpType = RedOpType.SUM) -> None:
        self.op = as_op(op)

    def __eq__(self, other) -> bool:
        return self.op == (other.op if isinstance(other, ReduceOp) else other)

    def __hash__(self) -> int:
        return hash(self.op)

    def __repr__(self) -> str:
        return repr(self.op)


def as_op(op) -> RedOpType:
    """``op`` (a ``ReduceOp`` or one of its members) as a ``RedOpType``."""
    if isinstance(op, ReduceOp):
        return op.op
    if isinstance(op, RedOpType):
        return op
    raise TypeError(f"expected a ReduceOp such as ReduceOp.SUM, got {op!r} "
                    f"({type(op).__name__})")


class _DeprecatedReduceOp:
    """Deprecated: ``reduce_op.SUM`` and the like warn and give ``ReduceOp``'s members.
    See: torch.distributed.reduce_op."""

    def __getattr__(self, key: str):
        if key.startswith("__") and key != "__members__":
            raise AttributeError(key)
        warnings.warn("`torch.distributed.reduce_op` is deprecated, please use "
                      "`torch.distributed.ReduceOp` instead", FutureWarning, stacklevel=2)
        if key == "__members__":
            return RedOpType.__members__
        try:
            return RedOpType[key]
        except KeyError:
            raise AttributeError(f"'reduce_op' has no attribute {key!r}") from None


reduce_op = _DeprecatedReduceOp()
