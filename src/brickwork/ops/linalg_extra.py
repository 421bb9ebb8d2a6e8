"""The old top-level linear-algebra names (``torch.det``, ``torch.svd``...) and their Tensor
methods. The implementations live in ``_linalg_api.py``/``_linalg_more.py``, which also make up
the ``brickwork.linalg`` namespace (``brickwork/linalg.py``)."""
from __future__ import annotations

from ..tensor import Tensor
from ._linalg_api import (cholesky_inverse, cholesky_old, cholesky_solve, det, inverse, logdet,
                          qr_old, slogdet_top, svd_old, triangular_solve)
from ._linalg_legacy import (eig, geqrf, lstsq, lu, lu_unpack, matrix_rank, orgqr, ormqr,
                             pca_lowrank, solve, svd_lowrank, symeig)
from ._linalg_more import lu_solve as _lu_solve, matrix_exp, matrix_power, pinverse
from ._lobpcg import lobpcg


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """The old argument order of ``linalg.lu_solve(LU, pivots, B)``. See: torch.lu_solve."""
    return _lu_solve(LU_data, LU_pivots, b)


slogdet = slogdet_top
cholesky = cholesky_old
qr = qr_old
svd = svd_old

TENSOR_METHODS = {
    "det": det, "slogdet": slogdet, "logdet": logdet, "inverse": inverse, "cholesky": cholesky,
    "cholesky_solve": cholesky_solve, "cholesky_inverse": cholesky_inverse, "qr": qr,
    "svd": svd, "pinverse": pinverse, "matrix_power": matrix_power, "matrix_exp": matrix_exp,
    "triangular_solve": triangular_solve, "lu_solve": lu_solve, "lu": lu, "geqrf": geqrf,
    "orgqr": orgqr, "ormqr": ormqr,
    # removed from PyTorch in 1.9: the methods raise its migration messages
    "solve": lambda self, other: solve(self, other),
    "lstsq": lambda self, other: lstsq(self, other),
    "symeig": lambda self, eigenvectors=False: symeig(self, eigenvectors),
    "eig": lambda self, eigenvectors=False: eig(self, eigenvectors),
}
INPLACE_METHODS: tuple = ()
__all__ = [n for n in TENSOR_METHODS if n not in ("solve", "lstsq", "symeig", "eig")] + [
    "solve", "lstsq", "symeig", "eig", "lu_unpack", "matrix_rank", "svd_lowrank", "pca_lowrank",
    "lobpcg"]
