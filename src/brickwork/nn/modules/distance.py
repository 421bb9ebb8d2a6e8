"""Distance modules: thin wrappers around ``ops/_nn_distance.py``."""
from __future__ import annotations

from ...ops._nn_distance import cosine_similarity, pairwise_distance
from ...tensor import Tensor
from ..module import Module


class PairwiseDistance(Module):
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dimension.

    The norm's order is kept as ``norm`` (PyTorch's attribute name), not ``p``.

    Example:
        >>> nn.PairwiseDistance()(brickwork.randn(4, 3), brickwork.randn(4, 3)).shape
        brickwork.Size([4])

    See: torch.nn.PairwiseDistance.
    """

    __constants__ = ["norm", "eps", "keepdim"]

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine similarity of ``x1`` and ``x2`` along ``dim``, norms clamped below by ``eps``.

    Example:
        >>> nn.CosineSimilarity(dim=1)(brickwork.randn(4, 3), brickwork.randn(4, 3)).shape
        brickwork.Size([4])

    See: torch.nn.CosineSimilarity.
    """

    __constants__ = ["dim", "eps"]

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


__all__ = ["PairwiseDistance", "CosineSimilarity"]
