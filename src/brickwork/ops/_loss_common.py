"""What the loss modules share: the reductions, and PyTorch's argument and dtype rules.

Each check says what a loss refuses, in PyTorch's words, and what dtype it returns, and runs
before anything is computed. The kernel names in the messages are PyTorch's CPU ones
(``"mse_cpu"``), with ``_cuda`` for a GPU tensor where PyTorch's name carries the device.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from ._util import xp_of
from .conv import scalar_name

_REDUCTIONS = ("mean", "sum", "none")


def reduction_name(reduction: str, size_average=None, reduce=None) -> str:
    """The reduction, from ``reduction`` or PyTorch's legacy ``size_average``/``reduce``."""
    if size_average is not None or reduce is not None:
        # PyTorch's legacy arguments, still accepted with a deprecation warning.
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


_ATEN_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def aten_reduction_name(reduction: int, op: str) -> str:
    """ATen's integer reduction (torch-level losses) as nn.functional's string."""
    if isinstance(reduction, bool) or not isinstance(reduction, int):
        raise TypeError(f"{op}(): argument 'reduction' must be int, not "
                        f"{type(reduction).__name__}")
    if reduction not in _ATEN_REDUCTIONS:
        # PyTorch treats other ints as 'none' silently; brickwork refuses a likely mistake.
        raise ValueError(f"{op}(): reduction must be 0 (none), 1 (mean) or 2 (sum), "
                         f"got {reduction}")
    return _ATEN_REDUCTIONS[reduction]


def reduce(loss, reduction):
    """``loss`` reduced by 'mean', 'sum' or 'none' (arrays or tensors)."""
    if reduction != "none" and _dt.is_bfloat16(getattr(loss, "dtype", None)):
        # bfloat16 arrays: accumulate in float32 and round once, as PyTorch does.
        return reduce(loss.astype(np.float32), reduction).astype(loss.dtype)
    if reduction == "mean":
        if _numel(loss) == 0:  # nan, as PyTorch, without NumPy's "Mean of empty slice" warning
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return loss.mean()
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _numel(x) -> int:
    return x.numel() if callable(getattr(x, "numel", None)) else int(x.size)


def expand_grad(g, shape, reduction, dtype):
    """The upstream gradient of a reduced loss, broadcast back to the per-element shape."""
    if reduction == "none":
        return g
    n = int(np.prod(shape)) if shape else 1
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):  # n == 0: inf/nan, as PyTorch
            scale = g / n
    else:
        scale = g
    return xp_of(g).broadcast_to(scale.astype(dtype, copy=False), shape)


SUB_TWO_BOOLS = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use "
                 "the `^` or `logical_xor()` operator instead.")


def _not_implemented(kernel: str, dtype) -> NotImplementedError:
    return NotImplementedError(f'"{kernel}" not implemented for \'{scalar_name(dtype)}\'')


def _cast_error(result, output) -> RuntimeError:
    return RuntimeError(f"result type {scalar_name(result)} can't be cast to the desired output "
                        f"type {scalar_name(output)}")


def pointwise_dtype(kind: str, input: Tensor, target: Tensor):
    """The dtype ``mse``/``smooth_l1``/``huber`` compute in; refuses integer and bool pairs.

    Huber writes into a tensor shaped and typed like ``input``, so its result has input's
    dtype and an integer input cannot take a floating result.
    """
    rt = _dt.result_type(input, target)
    if not rt.is_floating_point:
        raise _not_implemented(f"{kind}_{input._device.type}", rt)
    if kind == "huber" and not input.is_floating_point():
        raise _cast_error(rt, input.dtype)
    return rt


def check_binary_cross_entropy(input: Tensor, target: Tensor) -> None:
    """``binary_cross_entropy`` wants target in input's dtype, and a floating one."""
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {scalar_name(target.dtype)} but expected "
                           f"{scalar_name(input.dtype)}")
    if not input.is_floating_point():
        raise _not_implemented("binary_cross_entropy", input.dtype)


def bce_with_logits_dtype(input: Tensor, target: Tensor):
    """The result dtype of ``binary_cross_entropy_with_logits``: target's.

    PyTorch computes ``(1 - target).mul_(input)...`` in place on ``1 - target``, so the result
    takes target's dtype, a bool target fails at the subtraction and an integer one cannot hold
    the floating result.
    """
    if not input.is_floating_point():
        raise _not_implemented(f"log_sigmoid_{input._device.type}", input.dtype)
    if target.dtype == _dt.bool:
        raise RuntimeError(SUB_TWO_BOOLS)
    if not target.is_floating_point():
        raise _cast_error(input.dtype, target.dtype)
    return target.dtype


def check_kl_div(input: Tensor, target: Tensor) -> None:
    if not input.is_floating_point() or not target.is_floating_point():
        raise RuntimeError("kl_div: Integral inputs not supported.")


def check_log_softmax_input(input: Tensor) -> None:
    """cross_entropy starts with ``log_softmax`` over dim 1 (dim 0 unbatched), which has no
    integer kernel; PyTorch names the last-dim kernel when that dim is the last."""
    if not input.is_floating_point():
        kernel = "log_softmax_lastdim_kernel_impl" if input.ndim <= 2 else \
            "log_softmax_kernel_impl"
        raise _not_implemented(kernel, input.dtype)


def check_probability_target(target: Tensor, ignore_index: int) -> None:
    """cross_entropy with target shaped like input: class probabilities, so floating."""
    if not target.is_floating_point():
        raise RuntimeError(f"Expected floating point type for target with class "
                           f"probabilities, got {scalar_name(target.dtype)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")


def index_target(input: Tensor, target: Tensor, weight: Tensor | None, kernel_check: bool):
    """Check class-index targets as PyTorch's ``nll_loss_nd`` does, in its order.

    Shapes and the target's dtype first, then (``kernel_check``: nll_loss, whose input is not
    a log_softmax output already checked) the input's dtype, then the weight's dtype.

    Returns:
        ``(x, t, unbatched)``: the input as an (N, C, ...) array, the target array and whether
        a batch axis was added.
    """
    x, t = input._data, target._data
    xnd, tnd = x.ndim, t.ndim
    if xnd == 0:
        raise ValueError(f"Expected 1 or more dimensions (got {xnd})")
    n_t = t.shape[0] if tnd else 0
    if xnd != 1 and x.shape[0] != n_t:
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size "
                         f"({n_t}).")
    if xnd == 4:  # nll_loss2d
        if tnd != 3:
            raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {tnd}")
    elif xnd >= 3:
        if t.shape[1:] != x.shape[2:]:
            raise RuntimeError(f"Expected target size {[x.shape[0], *x.shape[2:]]}, got "
                               f"{list(t.shape)}")
    elif tnd > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if target.dtype != _dt.int64 and target.dtype != _dt.uint8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{scalar_name(target.dtype)}")
    if xnd == 1 and tnd == 1 and t.shape[0] != 1:
        raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                         f"{t.shape[0]}")
    n_cls = x.shape[0 if xnd == 1 else 1]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_cls):
        if xnd <= 2:
            raise RuntimeError(f"weight tensor should be defined either for all {n_cls} classes "
                               f"or no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
        raise RuntimeError("weight tensor should be defined either for all or no classes")
    if xnd == 4 and t.shape[1:] != x.shape[2:]:
        raise RuntimeError(f"size mismatch (got input: {list(x.shape)} , target: "
                           f"{list(t.shape)}")
    if kernel_check and not input.is_floating_point():
        kernel = "nll_loss_out_frame" if xnd <= 2 else "nll_loss2d_forward_out_frame"
        raise _not_implemented(kernel, input.dtype)
    if weight is not None and weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {scalar_name(input.dtype)} but found "
                           f"{scalar_name(weight.dtype)}")
    if xnd >= 3 and t.size and target.dtype == _dt.uint8:  # nll_loss2d reads int64 targets
        raise RuntimeError("expected scalar type Long but found Byte")
    if xnd == 1:  # one sample: a 0-d target, or a (1,) one (whose loss PyTorch also squeezes)
        return x[None], t if tnd else t[None], True
    return x, t, False


__all__: list = []
