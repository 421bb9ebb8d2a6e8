"""Train a 784-256-10 MLP on Fashion-MNIST with brickwork, written as PyTorch code.

    python examples/train_mlp.py            # the embedded slice (2,000 + 500 images), seconds
    python examples/train_mlp.py --full     # the full data set (60,000 + 10,000 images)

The full data set is read from ``--root``, ``$BRICKWORK_FASHION_MNIST`` or the Debian package
``dataset-fashion-mnist`` (see ``brickwork.datasets.FashionMNIST``). Only the imports differ
from the same script on PyTorch.
"""
from __future__ import annotations

import argparse
import time

import brickwork as torch
from brickwork import nn
from brickwork.datasets import FashionMNIST
from brickwork.utils.data import DataLoader


def evaluate(model: nn.Module, loader: DataLoader) -> float:
    """Accuracy of ``model`` over ``loader``."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for X, y in loader:
            correct += int((model(X).argmax(dim=1) == y).sum())
            total += len(y)
    return correct / total


def train(model: nn.Module, args: argparse.Namespace) -> float:
    """Train ``model`` as the flags say, printing progress; returns the test accuracy."""
    root = args.root if args.full else "embedded"
    train_set = FashionMNIST(root=root, train=True)
    test_set = FashionMNIST(root=root, train=False)
    print(f"data: {len(train_set)} training / {len(test_set)} test images from "
          f"{train_set.source}")
    g = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=g)
    test_loader = DataLoader(test_set, batch_size=512)
    loss_fn = nn.CrossEntropyLoss()
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        total_loss = correct = seen = 0
        for X, y in train_loader:
            optimizer.zero_grad()
            out = model(X)
            loss = loss_fn(out, y)
            loss.backward()
            optimizer.step()
            total_loss += float(loss) * len(y)
            correct += int((out.argmax(dim=1) == y).sum())
            seen += len(y)
        scheduler.step()
        print(f"epoch {epoch + 1:2d}: loss {total_loss / seen:.4f}, train acc "
              f"{correct / seen:.3f}, test acc {evaluate(model, test_loader):.3f} "
              f"({time.perf_counter() - start:.1f}s)")
    acc = evaluate(model, test_loader)
    print(f"final test accuracy: {acc:.4f} after {args.epochs} epochs, "
          f"{time.perf_counter() - start:.1f}s")
    return acc


def parse_args(default_epochs: int, default_lr: float, default_optimizer: str = "sgd",
               argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="use the full data set")
    parser.add_argument("--root", default=None, help="folder with the idx files (with --full)")
    parser.add_argument("--epochs", type=int, default=default_epochs)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=default_lr)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default=default_optimizer,
                        help="SGD with momentum 0.9, or Adam")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> float:
    args = parse_args(default_epochs=10, default_lr=0.05, argv=argv)
    torch.manual_seed(args.seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    print(model)
    return train(model, args)


if __name__ == "__main__":
    main()
