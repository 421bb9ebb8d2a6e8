"""More of ``nn.functional``: activations, distances, losses and normalizations that the
first layers did not need (implemented in ``ops/_nn_*.py``; the ``torch.xxx`` forms with
ATen's signatures are in ``ops/nn_extra.py``)."""
from __future__ import annotations

from ..device import guard_functions
from ..ops._nn_activation import (alpha_dropout, celu, celu_, feature_alpha_dropout, glu,
                                  gumbel_softmax, hardshrink, hardsigmoid, hardswish,
                                  logsigmoid, prelu, rrelu, rrelu_, selu, selu_, softshrink,
                                  softsign, tanhshrink, threshold, threshold_)
from ..ops._nn_ctc import ctc_loss
from ..ops._nn_distance import (channel_shuffle, cosine_similarity, normalize,
                                pairwise_distance, pdist, pixel_shuffle, pixel_unshuffle)
from ..ops._nn_embedding import embedding_bag_functional as embedding_bag
from ..ops._nn_loss import (cosine_embedding_loss, gaussian_nll_loss, hinge_embedding_loss,
                            margin_ranking_loss, multi_margin_loss, multilabel_margin_loss,
                            multilabel_soft_margin_loss, poisson_nll_loss, soft_margin_loss,
                            triplet_margin_loss, triplet_margin_with_distance_loss)
from ..ops._nn_norm import instance_norm, local_response_norm, rms_norm

embedding_bag.__name__ = embedding_bag.__qualname__ = "embedding_bag"

__all__: list = [
    "alpha_dropout", "celu", "celu_", "feature_alpha_dropout", "glu", "gumbel_softmax",
    "hardshrink", "hardsigmoid", "hardswish", "logsigmoid", "prelu", "rrelu", "rrelu_", "selu",
    "selu_", "softshrink", "softsign", "tanhshrink", "threshold", "threshold_", "ctc_loss",
    "channel_shuffle", "cosine_similarity", "normalize", "pairwise_distance", "pdist",
    "pixel_shuffle", "pixel_unshuffle", "embedding_bag", "cosine_embedding_loss",
    "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss", "multi_margin_loss",
    "multilabel_margin_loss", "multilabel_soft_margin_loss", "poisson_nll_loss",
    "soft_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
    "instance_norm", "local_response_norm", "rms_norm"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
