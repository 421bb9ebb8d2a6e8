"""Sparse COO tensors. See: torch.sparse. (placeholder: filled in by issue 15's work)"""
