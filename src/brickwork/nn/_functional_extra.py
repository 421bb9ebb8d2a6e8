"""Placeholder: more nn.functional (linear_cross_entropy, grouped_mm, conv_tbc)."""
__all__: list = []
