"""``brickwork.linalg``: the linear-algebra namespace (norms and products). See: torch.linalg."""
from .ops.linalg import matmul, vector_norm  # noqa: F401
from .ops.linalg import norm as _norm


def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """Vector 2-norm of the flattened input by default, else ``vector_norm``'s orders."""
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype) \
        if ord != "fro" else _norm(A, "fro", dim, keepdim, dtype)


from ._out import install_out as _install_out  # noqa: E402

_install_out(globals(), "linalg.")  # out= as in PyTorch (see _out.py)

__all__ = ["matmul", "norm", "vector_norm"]
