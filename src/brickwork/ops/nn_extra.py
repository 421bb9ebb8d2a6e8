"""The ``torch.xxx`` forms of neural-network functions, with ATen's signatures.

The implementations live in the ``_nn_*`` files of this family, in ``nn.functional``'s
signatures (``_nn_activation``, ``_nn_distance``, ``_nn_loss``, ``_nn_ctc``, ``_nn_norm``,
``_nn_embedding``, ``_nn_syncbn``); ``nn/_functional_more.py`` exports them there. Here each is
mapped onto ATen's signature: losses take ``reduction`` as an int (0 none, 1 mean, 2 sum),
dropouts take ``p`` and ``train`` positionally, ``instance_norm`` takes the affine parameters
before the running statistics.

Note on the losses' default ``reduction``: PyTorch declares ``reduction=1`` (mean), but its
Python binding of these functions applies 0 when the argument is left out (``torch.
margin_ranking_loss(a, b, t)`` returns the unreduced losses). brickwork follows the behaviour:
the default here is 0.
"""
from __future__ import annotations

from ..device import guard_functions
from ..tensor import Tensor
from . import _nn_activation as _act
from . import _nn_ctc as _ctc
from . import _nn_loss as _loss
from . import _nn_norm as _norm
from ._loss_common import aten_reduction_name as _reduction
from ._nn_distance import (channel_shuffle, cosine_similarity, pairwise_distance,  # noqa: F401
                           pdist, pixel_shuffle, pixel_unshuffle)
from ._nn_embedding import embedding_bag, segment_reduce  # noqa: F401
from ._nn_norm import (embedding_renorm_, frobenius_norm, norm_except_dim,  # noqa: F401
                       nuclear_norm)
from ._nn_syncbn import *  # noqa: F401,F403
from ._nn_syncbn import __all__ as _syncbn_all


# -- activations -------------------------------------------------------------------------------
def selu(input: Tensor) -> Tensor:
    """Scaled ELU. See: torch.selu."""
    return _act.selu(input)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``. See: torch.selu_."""
    return _act.selu(input, True)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``. See: torch.celu."""
    return _act.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``. See: torch.celu_."""
    return _act.celu(input, alpha, True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` for ``x > 0``, else ``weight * x`` (per channel). See: torch.prelu."""
    return _act.prelu(input, weight)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, generator=None) -> Tensor:
    """Randomized leaky ReLU (random slopes in training). See: torch.rrelu."""
    return _act._rrelu(input, lower, upper, training, False, generator)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False, generator=None) -> Tensor:
    """In-place ``rrelu``. See: torch.rrelu_."""
    return _act._rrelu(input, lower, upper, training, True, generator)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0. See: torch.hardshrink."""
    return _act.hardshrink(input, lambd)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    """``x`` where ``x > threshold``, else ``value``. See: torch.threshold."""
    return _act.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    """In-place ``threshold``. See: torch.threshold_."""
    return _act.threshold(input, threshold, value, True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout with ATen's signature. See: torch.alpha_dropout."""
    return _act._alpha_dropout(input, p, bool(train), False, False)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``alpha_dropout``. See: torch.alpha_dropout_."""
    return _act._alpha_dropout(input, p, bool(train), True, False)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout of whole channels, ATen's signature. See: torch.feature_alpha_dropout."""
    return _act._alpha_dropout(input, p, bool(train), False, True)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``feature_alpha_dropout``. See: torch.feature_alpha_dropout_."""
    return _act._alpha_dropout(input, p, bool(train), True, True)


# -- losses ------------------------------------------------------------------------------------
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    """See: torch.cosine_embedding_loss (and the module docstring on ``reduction``)."""
    return _loss.cosine_embedding_loss(
        input1, input2, target, margin,
        reduction=_reduction(reduction, "cosine_embedding_loss"))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction: int = 0) -> Tensor:
    """See: torch.hinge_embedding_loss (and the module docstring on ``reduction``)."""
    return _loss.hinge_embedding_loss(input, target, margin,
                                      reduction=_reduction(reduction, "hinge_embedding_loss"))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    """See: torch.margin_ranking_loss (and the module docstring on ``reduction``)."""
    return _loss._margin_ranking(input1, input2, target, margin,
                                 _reduction(reduction, "margin_ranking_loss"))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """Poisson negative log likelihood, every argument required. See: torch.poisson_nll_loss."""
    return _loss.poisson_nll_loss(input, target, log_input, full, eps=eps,
                                  reduction=_reduction(reduction, "poisson_nll_loss"))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, reduction: int = 0) -> Tensor:
    """See: torch.triplet_margin_loss (and the module docstring on ``reduction``)."""
    return _loss._triplet(anchor, positive, negative, margin, p, eps, swap,
                          _reduction(reduction, "triplet_margin_loss"))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: int = 0, zero_infinity: bool = False) -> Tensor:
    """CTC loss with ATen's int ``reduction``. See: torch.ctc_loss."""
    return _ctc.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                         _reduction(reduction, "ctc_loss"), zero_infinity)


# -- normalization -----------------------------------------------------------------------------
def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                  running_mean: Tensor | None, running_var: Tensor | None,
                  use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    """Instance normalization with ATen's all-positional signature; ``cudnn_enabled`` (a
    kernel choice in PyTorch, same result) has no effect. See: torch.instance_norm."""
    del cudnn_enabled  # a kernel choice, not a change in the result (see docstring)
    return _norm._instance_norm(input, weight, bias, running_mean, running_var,
                                use_input_stats, momentum, eps)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """Root-mean-square normalization. See: torch.rms_norm."""
    return _norm.rms_norm(input, normalized_shape, weight, eps)


# -- Tensor methods ----------------------------------------------------------------------------
def _prelu_method(self: Tensor, weight: Tensor) -> Tensor:
    """See: torch.Tensor.prelu."""
    return _act.prelu(self, weight)


def _hardshrink_method(self: Tensor, lambd: float = 0.5) -> Tensor:
    """See: torch.Tensor.hardshrink."""
    return _act.hardshrink(self, lambd)


TENSOR_METHODS: dict = {"prelu": _prelu_method, "hardshrink": _hardshrink_method}
INPLACE_METHODS: tuple = ()
__all__: list = [
    "selu", "selu_", "celu", "celu_", "prelu", "rrelu", "rrelu_", "hardshrink", "threshold",
    "threshold_", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout",
    "feature_alpha_dropout_", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "pdist",
    "cosine_similarity", "pairwise_distance", "cosine_embedding_loss", "hinge_embedding_loss",
    "margin_ranking_loss", "poisson_nll_loss", "triplet_margin_loss", "ctc_loss",
    "instance_norm", "rms_norm", "norm_except_dim", "frobenius_norm", "nuclear_norm",
    "embedding_bag", "embedding_renorm_", "segment_reduce"] + list(_syncbn_all)

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
