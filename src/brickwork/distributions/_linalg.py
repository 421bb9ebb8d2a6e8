"""The linear algebra the multivariate distributions use, from ``brickwork.linalg``."""
from __future__ import annotations

from ..linalg import cholesky, solve_triangular

__all__ = ["cholesky", "solve_triangular"]
