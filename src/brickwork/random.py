"""Random number generation: one default generator per device, seeded by ``manual_seed``.

Draws come from NumPy's PCG64 (CuPy's generator on a GPU), so values differ from PyTorch's even
with the same seed; what is guaranteed is that the same seed gives the same values here.
"""
from __future__ import annotations

import numpy as np


class Generator:
    """A source of random numbers. See: torch.Generator.

    Example:
        >>> g = Generator().manual_seed(0)
        >>> brickwork.rand(2, generator=g)
    """

    def __init__(self, device="cpu") -> None:
        from .device import device as _device

        self.device = _device(device)
        self._seed = 67280421310721  # PyTorch's default seed, for familiarity
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed & 0xFFFFFFFFFFFFFFFF))
        return self

    def seed(self) -> int:
        seed = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 tensor (restorable with ``set_state``)."""
        import json

        from .factories import tensor

        state = json.dumps({"seed": self._seed, "bit_generator": _jsonable(
            self._rng.bit_generator.state)}).encode()
        return tensor(list(state), dtype=_uint8())

    def set_state(self, new_state) -> "Generator":
        import json

        raw = bytes(new_state.tolist()) if hasattr(new_state, "tolist") else bytes(new_state)
        try:
            state = json.loads(raw.decode())
            self._seed = state["seed"]
            self._rng.bit_generator.state = state["bit_generator"]
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"Generator.set_state: not a brickwork generator state ({e})") \
                from None
        return self

    @property
    def numpy(self) -> np.random.Generator:
        """The NumPy generator behind this one."""
        return self._rng


def _uint8():
    from . import dtypes

    return dtypes.uint8


def _jsonable(state):
    if isinstance(state, dict):
        return {k: _jsonable(v) for k, v in state.items()}
    if isinstance(state, np.integer):
        return int(state)
    return state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed every default generator (CPU and CUDA) so draws repeat. See: torch.manual_seed."""
    default_generator.manual_seed(seed)
    from . import cuda

    cuda.manual_seed_all(seed)
    return default_generator


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    """The default CPU generator's state. See: torch.get_rng_state."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


def rng_for(generator=None) -> np.random.Generator:
    """The NumPy generator to draw from for ``generator`` (or the default one)."""
    return (generator or default_generator)._rng
