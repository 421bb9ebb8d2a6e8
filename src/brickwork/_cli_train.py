"""``brickwork train``: train an MLP or LeNet on Fashion-MNIST with checkpoints and curves.

Every epoch ends with a checkpoint (model, optimizer, RNG state, progress) written atomically
into ``--out``; Ctrl-C also saves one, mid-epoch, recording how many batches of the epoch were
done. ``--resume`` restores the newest valid checkpoint and continues so that the run ends with
the same parameters as one never interrupted: each epoch's shuffling comes from a generator
seeded by ``(seed, epoch)``, so a resumed epoch replays the same order and skips the batches
already done.
"""
from __future__ import annotations

import csv
import os
import sys
import time

METRICS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds",
           "samples_per_s"]


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model on Fashion-MNIST (embedded slice by default)",
                       description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["mlp", "lenet"], default="mlp")
    p.add_argument("--epochs", type=_positive_int, default=5)
    p.add_argument("--batch-size", type=_positive_int, default=128)
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 0.1 for sgd, 0.001 for adam)")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    p.add_argument("--data", default="embedded",
                   help="'embedded' (the slice shipped with brickwork), 'full' (find the full "
                        "set) or a folder holding the four idx files")
    p.add_argument("--out", default=None, help="output folder (default runs/<model>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the newest checkpoint in --out")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def build_model(name: str, nn=None):
    """The MLP (784-256-10) or LeNet of ``--model``, built from ``nn`` (brickwork's by default;
    the benchmarks pass ``torch.nn`` to build the same network in PyTorch)."""
    if nn is None:
        from . import nn

    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _device(spec: str):
    from . import cuda, device

    if spec == "auto":
        return device("cuda:0") if cuda.is_available() else device("cpu")
    return device(spec)


def _load_data(spec: str):
    from .datasets import FashionMNIST

    root = {"embedded": "embedded", "full": None}.get(spec, spec)
    train, test = FashionMNIST(root, train=True), FashionMNIST(root, train=False)
    return train, test


def _tensors(ds, dev):
    # Whole-array conversion: per-item __getitem__ would dominate an epoch on 2 cores.
    X = (ds.data.float() / 255.0).unsqueeze(1).to(dev)
    return X, ds.targets.to(dev)


def run(args) -> int:
    import brickwork as bw
    from .serialization.checkpoint import Checkpointer
    from .utils.data import DataLoader, TensorDataset

    out = args.out or os.path.join("runs", f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out, exist_ok=True)
    dev = _device(args.device)
    bw.manual_seed(args.seed)
    net = build_model(args.model).to(dev)
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 1e-3)
    opt = (bw.optim.SGD(net.parameters(), lr=lr, momentum=0.9) if args.optimizer == "sgd"
           else bw.optim.Adam(net.parameters(), lr=lr))
    loss_fn = bw.nn.CrossEntropyLoss()
    train_ds, test_ds = _load_data(args.data)
    Xtr, ytr = _tensors(train_ds, dev)
    Xte, yte = _tensors(test_ds, dev)
    ckpt = Checkpointer(out, keep_last=3, keep_best=True, mode="max")
    start_epoch, skip = 1, 0
    if args.resume:
        info = ckpt.restore(net, opt)
        if info is None:
            print(f"no checkpoint in {out}: starting from scratch", file=sys.stderr)
        else:
            data = info.get("extra") or {}
            start_epoch, skip = data.get("epoch", 1), data.get("batches_done", 0)
            if skip == 0:
                start_epoch += 1
            print(f"resuming from {info['path']} (epoch {start_epoch}, batch {skip})")
    elif ckpt.checkpoints():
        raise RuntimeError(f"{out} already holds checkpoints: pass --resume to continue them or "
                           f"choose another --out")
    metrics_path = os.path.join(out, "metrics.csv")
    rows = _read_metrics(metrics_path) if args.resume else []
    rows = [r for r in rows if int(r["epoch"]) < start_epoch]
    g = bw.Generator()
    loader = DataLoader(TensorDataset(Xtr, ytr), batch_size=args.batch_size, shuffle=True,
                        generator=g)
    step = (start_epoch - 1) * len(loader) + skip
    for epoch in range(start_epoch, args.epochs + 1):
        g.manual_seed(args.seed * 100003 + epoch)
        net.train()
        t0 = time.perf_counter()
        tot_loss, correct, seen = 0.0, 0, 0
        bar = _Progress(len(loader), f"epoch {epoch}/{args.epochs}")
        batches_done = skip if epoch == start_epoch else 0
        try:
            for i, (X, y) in enumerate(loader):
                if i < batches_done:
                    continue  # replayed order: these batches were trained before the restart
                opt.zero_grad()
                logits = net(X)
                loss = loss_fn(logits, y)
                loss.backward()
                opt.step()
                step += 1
                batches_done = i + 1
                n = y.shape[0]
                tot_loss += loss.item() * n
                correct += int((logits.argmax(1) == y).sum().item())
                seen += n
                bar.update(tot_loss / seen, correct / seen, seen / (time.perf_counter() - t0))
            bar.close()
            seconds = time.perf_counter() - t0
            test_loss, test_acc = evaluate(net, loss_fn, Xte, yte)
            row = {"epoch": epoch, "train_loss": tot_loss / max(seen, 1),
                   "train_acc": correct / max(seen, 1), "test_loss": test_loss,
                   "test_acc": test_acc, "seconds": seconds,
                   "samples_per_s": seen / seconds if seconds else 0.0}
            rows.append(row)
            print(f"epoch {epoch}: train loss {row['train_loss']:.4f} acc "
                  f"{row['train_acc']:.3f} | test loss {test_loss:.4f} acc {test_acc:.3f} | "
                  f"{row['samples_per_s']:.0f} samples/s", flush=True)
            ckpt.save(step, net, opt, epoch=epoch, metric=test_acc,
                      extra={"epoch": epoch, "batches_done": 0})
            _write_metrics(metrics_path, rows)
        except KeyboardInterrupt:
            # Anywhere in the epoch, evaluation and saving included: record how far training
            # got (a finished epoch counts as done) so --resume continues from exactly there.
            bar.close()
            finished = batches_done >= len(loader)
            path = ckpt.save(step, net, opt, epoch=epoch,
                             extra={"epoch": epoch, "batches_done": 0 if finished
                                    else batches_done})
            _write_metrics(metrics_path, rows)
            print(f"\ninterrupted: saved {path}; continue with --resume --out {out}", flush=True)
            return 130
    plot = _plot(rows, os.path.join(out, "curves.png"))
    print(f"wrote {out}: checkpoints, metrics.csv" + (", curves.png" if plot else
                                                     " (curves.png skipped: " + _NO_MPL + ")"))
    return 0


def evaluate(net, loss_fn, X, y, batch_size: int = 1000):
    import brickwork as bw

    net.eval()
    total, correct = 0.0, 0
    with bw.no_grad():
        for i in range(0, X.shape[0], batch_size):
            logits = net(X[i:i + batch_size])
            yb = y[i:i + batch_size]
            total += loss_fn(logits, yb).item() * yb.shape[0]
            correct += int((logits.argmax(1) == yb).sum().item())
    n = max(X.shape[0], 1)
    return total / n, correct / n


class _Progress:
    """tqdm on a terminal when it is installed; otherwise nothing until the epoch line."""

    def __init__(self, total: int, desc: str) -> None:
        self.bar = None
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=desc, leave=False, unit="batch")
            except ImportError:
                pass

    def update(self, loss: float, acc: float, rate: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.3f}", samples_s=f"{rate:.0f}")
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


_NO_MPL = "matplotlib is not installed; pip install brickwork[plot]"


def _read_metrics(path: str) -> list:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def _write_metrics(path: str, rows: list) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=METRICS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (int(r[k]) if k == "epoch" else f"{r[k]:.6g}") for k in METRICS})
    os.replace(tmp, path)


def _plot(rows: list, path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = [int(r["epoch"]) for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [r["train_loss"] for r in rows], "o-", label="train")
    ax1.plot(epochs, [r["test_loss"] for r in rows], "s-", label="test")
    ax1.set(xlabel="epoch", ylabel="loss", title="loss")
    ax2.plot(epochs, [r["train_acc"] for r in rows], "o-", label="train")
    ax2.plot(epochs, [r["test_acc"] for r in rows], "s-", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
