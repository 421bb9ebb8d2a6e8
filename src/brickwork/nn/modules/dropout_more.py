"""More dropout layers: Dropout3d, AlphaDropout and FeatureAlphaDropout."""
from __future__ import annotations

from ...ops._nn_activation import alpha_dropout, feature_alpha_dropout
from ...tensor import Tensor
from .._functional_fold import dropout3d
from .dropout import _DropoutNd as _BaseDropoutNd


class _DropoutNd(_BaseDropoutNd):
    __constants__ = ["p", "inplace"]


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) with probability ``p`` in training mode, scaling
    the rest by ``1 / (1 - p)``.

    See: torch.nn.Dropout3d.
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU's self-normalizing mean and variance (training mode only).

    ``inplace=True`` writes the result into the input (PyTorch's module accepts the flag but
    never passes it on; brickwork honours it).

    See: torch.nn.AlphaDropout.
    """

    def forward(self, input: Tensor) -> Tensor:
        return alpha_dropout(input, self.p, self.training, self.inplace)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (dimension 1 of (N, C, ...)).

    ``inplace=True`` writes the result into the input (honoured, unlike PyTorch's module).

    See: torch.nn.FeatureAlphaDropout.
    """

    def forward(self, input: Tensor) -> Tensor:
        return feature_alpha_dropout(input, self.p, self.training, self.inplace)


__all__: list = ["Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]
