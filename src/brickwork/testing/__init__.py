"""Testing helpers: ``assert_close`` (``_comparison.py``). See: torch.testing."""
from ._comparison import assert_close

__all__ = ["assert_close"]
