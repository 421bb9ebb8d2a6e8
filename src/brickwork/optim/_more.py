"""The optimizers of the second set, imported into ``optim``."""
from .adadelta import Adadelta
from .adamax import Adamax
from .asgd import ASGD
from .nadam import NAdam
from .radam import RAdam
from .rprop import Rprop

__all__: list = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]
