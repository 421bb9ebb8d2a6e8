"""The optimizers of the second and last sets (and swap_in_optimizer_params_and_state),
imported into ``optim``."""
from ._stateless import swap_in_optimizer_params_and_state
from .adafactor import Adafactor
from .adadelta import Adadelta
from .adamax import Adamax
from .asgd import ASGD
from .nadam import NAdam
from .radam import RAdam
from .muon import Muon
from .rprop import Rprop

__all__: list = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "Adafactor", "Muon",
                  "swap_in_optimizer_params_and_state"]
