"""Tests that need an NVIDIA GPU with CuPy (pytest marker ``cuda``)."""
