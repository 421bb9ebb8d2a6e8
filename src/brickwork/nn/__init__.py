"""Neural-network building blocks: Module, Parameter, containers, layers, init, functional.

See: torch.nn.
"""
from . import common_types, functional, grad, init, utils  # noqa: F401
from ._factory_kwargs import factory_kwargs  # noqa: F401
from .containers import (ModuleDict, ModuleList, ParameterDict, ParameterList,  # noqa: F401
                         Sequential)
from .module import Module  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import (Buffer, Parameter, UninitializedBuffer,  # noqa: F401
                        UninitializedParameter)
from . import parameter  # noqa: F401,E402
from . import parallel  # noqa: F401,E402
from .parallel import DataParallel  # noqa: F401,E402
