"""Train a LeNet-style CNN on Fashion-MNIST with brickwork, written as PyTorch code.

    python examples/train_cnn.py            # the embedded slice (2,000 + 500 images)
    python examples/train_cnn.py --full     # the full data set (60,000 + 10,000 images)

The network is d2l's LeNet (conv 6@5x5 padding 2, pool, conv 16@5x5, pool, three linear
layers) with the modern choices of ReLU and max pooling, which train faster than the original
sigmoid and average pooling.
"""
from __future__ import annotations

import os
import sys

import brickwork as torch
from brickwork import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_mlp import parse_args, train  # noqa: E402  (shared training loop)


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def main(argv=None) -> float:
    args = parse_args(default_epochs=10, default_lr=2e-3, default_optimizer="adam", argv=argv)
    torch.manual_seed(args.seed)
    model = lenet()
    print(model)
    return train(model, args)


if __name__ == "__main__":
    main()
