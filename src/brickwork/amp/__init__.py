"""Mixed precision: dynamic loss scaling. See: torch.amp."""
from . import grad_scaler
from .grad_scaler import GradScaler

__all__ = ["GradScaler"]
