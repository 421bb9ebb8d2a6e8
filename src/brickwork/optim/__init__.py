"""Optimizers and learning-rate schedules. See: torch.optim.

Example:
    >>> from brickwork import optim
    >>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
"""
from . import lr_scheduler, swa_utils  # noqa: F401
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
from .sparse_adam import SparseAdam
from . import _more
from ._more import *  # noqa: F401,F403

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "SparseAdam", "LBFGS",
           "lr_scheduler", "swa_utils"] + _more.__all__
