"""``brickwork.linalg``: products, norms, inverses, solves and decompositions.

See: torch.linalg.
"""
from .ops._linalg_api import (LinAlgError, cholesky, cholesky_ex, det, eig, eigh,  # noqa: F401
                              eigvals, eigvalsh, inv, inv_ex, qr, slogdet, solve, solve_ex,
                              solve_triangular, svd, svdvals)
from .ops._linalg_more import (cond, cross, diagonal, householder_product, lstsq,  # noqa: F401
                               lu, lu_factor, lu_factor_ex, lu_solve, matrix_exp, matrix_norm,
                               matrix_power, matrix_rank, multi_dot, norm, pinv, tensorinv,
                               tensorsolve, vander, vecdot)
from .ops._linalg_ldl import ldl_factor, ldl_factor_ex, ldl_solve  # noqa: F401
from .ops.linalg import matmul, vector_norm  # noqa: F401

from ._out import install_out as _install_out  # noqa: E402

_install_out(globals(), "linalg.")  # out= as in PyTorch (see _out.py)

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig",
           "eigh", "eigvals", "eigvalsh", "householder_product", "inv", "inv_ex", "ldl_factor",
           "ldl_factor_ex", "ldl_solve", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve",
           "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot",
           "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
           "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm"]
