"""Placeholder: AdaptiveLogSoftmaxWithLoss and LinearCrossEntropyLoss."""
__all__: list = []
