"""Device tests: each runs on the simulated CUDA backend (always) and on a real GPU (marker
``cuda``, skipped without one). See ``tests/cuda/conftest.py``."""
