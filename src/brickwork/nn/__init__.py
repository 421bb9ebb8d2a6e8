"""Neural-network building blocks: Module, Parameter, containers, layers, init, functional."""
from . import functional, init  # noqa: F401
from .modules import *  # noqa: F401,F403
