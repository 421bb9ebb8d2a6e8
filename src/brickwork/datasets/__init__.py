"""Data sets: Fashion-MNIST from idx files, with a small embedded slice.

See ``fashion_mnist.py`` for where the data is looked for, and ``data/README.md`` for the
slice's provenance and the data's licence (MIT, Zalando SE).
"""
from .fashion_mnist import FashionMNIST, read_idx

__all__ = ["FashionMNIST", "read_idx"]
