"""``brickwork.functional``: the functions PyTorch keeps in ``torch.functional`` (``einsum``,
``meshgrid``, ``split``, ``norm``...), the same objects as in the ``brickwork`` namespace.

See: torch.functional.
"""
from __future__ import annotations

# torch.functional.__all__ (PyTorch 2.13).
_NAMES = ("atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
          "cartesian_prod", "block_diag", "cdist", "chain_matmul", "einsum", "istft", "lu",
          "norm", "meshgrid", "pca_lowrank", "split", "stft", "svd_lowrank", "tensordot",
          "unique", "unique_consecutive", "unravel_index")


def __getattr__(name: str):
    # Resolved on use: this module is imported while the brickwork namespace is still being
    # built, and the functions live there.
    if name in _NAMES:
        import brickwork

        if hasattr(brickwork, name):
            return getattr(brickwork, name)
    raise AttributeError(f"module 'brickwork.functional' has no attribute '{name}'")


def __dir__() -> list:
    import brickwork

    return sorted(n for n in _NAMES if hasattr(brickwork, n))
