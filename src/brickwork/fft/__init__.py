"""Discrete Fourier transforms. See: torch.fft. (placeholder: filled in by issue 15's work)"""
