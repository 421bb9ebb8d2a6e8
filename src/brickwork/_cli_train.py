"""``brickwork train``: train an MLP or LeNet on Fashion-MNIST, or a character-level
transformer language model on a text file (``--model charlm``), with checkpoints and curves.

Every epoch ends with a checkpoint (model, optimizer, RNG state, progress) written atomically
into ``--out``; Ctrl-C also saves one, mid-epoch, recording how many batches of the epoch were
done. ``--resume`` restores the newest valid checkpoint and continues so that the run ends with
the same parameters as one never interrupted: each epoch's shuffling comes from a generator
seeded by ``(seed, epoch)``, so a resumed epoch replays the same order and skips the batches
already done. A resumed run keeps the model, optimizer, batch size and seed it was started
with (checkpoints record them); ``--lr`` given on resume replaces the saved learning rate.

Everything that can be checked before training is checked before anything is written: option
values, the data's location, and that ``--out`` is a folder this process can write. Training
stops with an error naming the epoch and step when the loss stops being finite, keeping the
last good checkpoint (a checkpoint of non-finite parameters is never written).

``--model charlm`` reads ``--data`` as a UTF-8 text file (``embedded``: a short passage shipped
with brickwork), trains a 2-layer causal transformer to predict each next character (accuracy
is per character), and prints a few sampled continuations at the end; see ``_cli_charlm``.

``--nproc N`` trains the Fashion-MNIST models data-parallel on N processes under ``mpiexec``
(DistributedDataParallel, a DistributedSampler, ``--batch-size`` split evenly over the
processes), with the same progress bar and files as one process; see ``_cli_train_dist``.
"""
from __future__ import annotations

import argparse
import csv
import errno
import math
import os
import sys
import tempfile
import time

from .cli import UsageError, int_at_least

METRICS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds",
           "samples_per_s"]
# Options a resumed run takes from its checkpoint unless given (then they must agree).
_RUN_OPTIONS = {"model": "mlp", "optimizer": "sgd", "batch_size": 128, "seed": 0}
# Where a model's defaults differ from _RUN_OPTIONS: the transformer learns far faster with Adam.
_MODEL_DEFAULTS = {"charlm": {"optimizer": "adam", "batch_size": 64}}
_CKPT_PREFIX = "ckpt"
TTY_VAR = "BRICKWORK_TRAIN_TTY"  # set to 1 for the ranks of --nproc when stderr is a terminal


_positive_int = int_at_least(1, "a positive integer")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model on Fashion-MNIST (embedded slice by default) "
                                     "or a character language model on text (--model charlm)",
                       description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--model", choices=["mlp", "lenet", "charlm"], default=None,
                   help="default mlp; charlm: a tiny character-level transformer on --data text")
    p.add_argument("--epochs", type=_positive_int, default=5)
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help="default 128 (64 for charlm)")
    p.add_argument("--lr", type=_learning_rate, default=None,
                   help="learning rate (default 0.1 for sgd, 0.001 for adam, 0.01 for adam "
                        "on charlm)")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=None,
                   help="default sgd (adam for charlm)")
    p.add_argument("--device", type=_device_spec, default="auto", help="auto, cpu or cuda:N")
    p.add_argument("--data", default="embedded",
                   help="'embedded' (the slice shipped with brickwork), 'full' (find the full "
                        "set) or a folder holding the four idx files; for charlm, a UTF-8 "
                        "text file ('embedded': a short passage shipped with brickwork)")
    p.add_argument("--out", default=None, help="output folder (default runs/<model>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the newest checkpoint in --out")
    p.add_argument("--seed", type=int, default=None, help="default 0")
    p.add_argument("--nproc", type=_positive_int, default=1,
                   help="train mlp or lenet data-parallel on N processes under mpiexec "
                        "(--batch-size is the global batch, split evenly; default 1)")
    p.set_defaults(func=run)


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _device_spec(text: str) -> str:
    """``text`` if it names a device this machine can train on (``auto`` always can)."""
    if text == "auto":
        return text
    from . import cuda, device

    try:
        dev = device(text)
    except (RuntimeError, ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}") \
            from None
    if dev.type == "cpu" and dev.index in (None, 0):
        return text
    if dev.type != "cuda":
        raise argparse.ArgumentTypeError(f"cannot train on {text!r}: expected auto, cpu, cuda "
                                         "or cuda:N")
    n = cuda.device_count()
    if n == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: no CUDA device is usable here (brickwork.cuda.is_available() is False: "
            "it needs CuPy, pip install brickwork[cuda12] or brickwork[cuda13], and an NVIDIA "
            "GPU with its driver); use --device cpu")
    if dev.index is not None and dev.index >= n:
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has {n} CUDA device(s), "
                                         f"cuda:0 to cuda:{n - 1}")
    return text


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


def _data_root(spec: str) -> str:
    """The ``root`` for FashionMNIST that ``--data`` asks for, checked to hold all four files.

    Raises:
        UsageError: ``--data full`` and the full set is not installed (it never falls back to
            the embedded slice silently).
        RuntimeError: naming the file, when a folder given lacks one.
    """
    from .datasets import fashion_mnist as fm

    if spec == "embedded":
        return spec
    if spec != "full":
        for train in (True, False):
            fm._locate(spec, train)  # RuntimeError naming the missing files and the folder
        return spec
    env = os.environ.get(fm.ENV_VAR)
    try:
        found = [fm._locate(None, train)[0] for train in (True, False)]
    except RuntimeError as e:  # $BRICKWORK_FASHION_MNIST names a folder lacking files
        raise UsageError(f"--data full: {e}") from None
    if "embedded" in found:
        looked = (f"${fm.ENV_VAR} is not set" if not env else f"${fm.ENV_VAR}={env!r}")
        raise UsageError(
            f"--data full: the full Fashion-MNIST set was not found ({looked}, and "
            f"{fm.DEBIAN_DIR} does not hold the four idx files). Install it with "
            f"'apt-get install dataset-fashion-mnist', or put train-images-idx3-ubyte.gz, "
            f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
            f"t10k-labels-idx1-ubyte.gz in a folder and pass --data FOLDER (or set "
            f"${fm.ENV_VAR}); --data embedded trains on the 2,000-image slice shipped with "
            f"brickwork")
    return found[0]


def _load_data(root: str, quiet: bool = False):
    from .datasets import FashionMNIST

    train, test = FashionMNIST(root, train=True), FashionMNIST(root, train=False)
    where = ("the embedded slice shipped with brickwork (--data full for the whole set)"
             if train.source == "embedded" else train.source)
    if not quiet:
        print(f"data: Fashion-MNIST from {where}: {len(train)} training and {len(test)} "
              "test images", file=sys.stderr, flush=True)
    return train, test


def _tensors(ds, dev):
    # Whole-array conversion: per-item __getitem__ would dominate an epoch on 2 cores.
    X = (ds.data.float() / 255.0).unsqueeze(1).to(dev)
    return X, ds.targets.to(dev)


def _has_checkpoints(folder: str) -> bool:
    from .serialization.checkpoint import _NAME

    return any((m := _NAME.match(name)) and m["prefix"] == _CKPT_PREFIX
               for name in os.listdir(folder))


def _prepare_out(out: str, resume: bool) -> bool:
    """Check ``--out`` fits ``--resume`` and is a writable folder; True if it was created."""
    if os.path.lexists(out) and not os.path.isdir(out):
        raise NotADirectoryError(errno.ENOTDIR, "--out is not a folder", out)
    exists = os.path.isdir(out)
    if resume and not (exists and _has_checkpoints(out)):
        raise RuntimeError(f"--resume: {out!r} holds no checkpoint ({_CKPT_PREFIX}-*.bw) to "
                           "continue" + ("" if exists else " (no such folder)") +
                           "; drop --resume to start a new run there")
    if not resume and exists and _has_checkpoints(out):
        raise RuntimeError(f"{out} already holds checkpoints: pass --resume to continue them or "
                           f"choose another --out")
    os.makedirs(out, exist_ok=True)
    try:  # a real write: permission bits alone say nothing for root or read-only mounts
        fd, probe = tempfile.mkstemp(prefix=".brickwork-write-check-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        if not exists:
            _remove_if_empty(out)
        raise type(e)(e.errno, f"--out folder is not writable ({e.strerror})", out) from None
    return not exists


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)  # only succeeds on an empty folder: never removes results
    except OSError:
        pass


def _saved_config(ckpt) -> tuple[str | None, dict]:
    """``(path, options)`` recorded in the newest checkpoint whose header reads (its tensors
    are not read: the model has to be built before the checkpoint can be loaded into it)."""
    from .serialization._source import Source
    from .serialization.checkpoint import _UNREADABLE
    from .serialization.safetensors_format import load_structure

    for path in reversed(ckpt.checkpoints()):
        try:
            src = Source(path)
            try:
                state = load_structure(src)
            finally:
                src.close()
        except _UNREADABLE:
            continue  # restore() skips it too, with a warning
        extra = state.get("extra") if isinstance(state, dict) else None
        config = extra.get("config") if isinstance(extra, dict) else None
        return path, config if isinstance(config, dict) else {}
    return None, {}


def _resolve_options(args, ckpt) -> dict:
    """The run's model, optimizer, batch size and seed: given, saved (on resume) or default."""
    path, saved = _saved_config(ckpt) if args.resume else (None, {})
    options = {}
    for name, default in _RUN_OPTIONS.items():
        given, was = getattr(args, name), saved.get(name)
        if given is not None and was is not None and given != was:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} {given} does not match the run being resumed: {path} "
                             f"was trained with {flag} {was} (leave {flag} out to keep it)")
        if name != "model":
            default = _MODEL_DEFAULTS.get(options["model"], {}).get(name, default)
        options[name] = given if given is not None else was if was is not None else default
    return options


def run(args) -> int:
    """Train as ``args`` say; see ``brickwork train --help``."""
    if args.resume and args.out is None:
        raise UsageError("--resume needs --out: the folder of the run to continue")
    if args.nproc > 1:
        from . import _cli_train_dist

        return _cli_train_dist.run(args)
    if _model_of(args) == "charlm":
        from . import _cli_charlm

        _cli_charlm.load_text(args.data)  # a missing or empty file fails before --out is made
        data_root = args.data
    else:
        data_root = _data_root(args.data)
    out = args.out or os.path.join("runs", f"{args.model or _RUN_OPTIONS['model']}-"
                                           f"{time.strftime('%Y%m%d-%H%M%S')}")
    created = _prepare_out(out, args.resume)
    try:
        return _train(args, out, data_root)
    except BaseException:
        if created:
            _remove_if_empty(out)  # a run that wrote nothing leaves nothing behind
        raise


def _model_of(args) -> str:
    """The model ``args`` train: ``--model``, else the resumed run's, else the default."""
    if args.model is None and args.resume and args.out and os.path.isdir(args.out):
        from .serialization.checkpoint import Checkpointer

        ckpt = Checkpointer(args.out, keep_last=3, keep_best=True, mode="max",
                            prefix=_CKPT_PREFIX)
        return _saved_config(ckpt)[1].get("model") or _RUN_OPTIONS["model"]
    return args.model or _RUN_OPTIONS["model"]


def _train(args, out: str, data_root: str, ranks=None) -> int:
    """Train one process, or (``ranks``: a ``_cli_train_dist.Ranks``) this rank of N."""
    import brickwork as bw
    from .serialization.checkpoint import Checkpointer
    from .utils.data import DataLoader, TensorDataset

    say = ranks is None or ranks.rank == 0  # the process that prints and writes files
    ckpt = Checkpointer(out, keep_last=3, keep_best=True, mode="max", prefix=_CKPT_PREFIX)
    opts = _resolve_options(args, ckpt)
    if ranks is None:
        dev = _device(args.device)
    else:
        from . import _cli_train_dist

        batch = _cli_train_dist.check_batch(opts["batch_size"], ranks.size)
        dev = _device(_cli_train_dist.rank_device(args.device, ranks.rank, ranks.size))
    bw.manual_seed(opts["seed"])
    charlm = opts["model"] == "charlm"
    if charlm:
        from . import _cli_charlm

        text, where = _cli_charlm.load_text(data_root)
        vocab = _cli_charlm.vocabulary(text)
        _, saved = _saved_config(ckpt) if args.resume else (None, {})
        if saved.get("vocab", vocab) != vocab:
            raise UsageError(f"--data {data_root}: its characters differ from those of the run "
                             f"being resumed (vocabulary {saved['vocab']!r}); resume with the "
                             "same text")
        net = _cli_charlm.build_model(len(vocab)).to(dev)
    else:
        net = build_model(opts["model"]).to(dev)
    # DDP averages the gradients over the ranks; the plain net is evaluated and checked.
    model = net if ranks is None else ranks.wrap(net, dev)
    lr = args.lr if args.lr is not None else (0.1 if opts["optimizer"] == "sgd" else
                                              1e-2 if charlm else 1e-3)
    opt = (bw.optim.SGD(net.parameters(), lr=lr, momentum=0.9) if opts["optimizer"] == "sgd"
           else bw.optim.Adam(net.parameters(), lr=lr))
    if charlm:
        loss_fn = _cli_charlm.loss_fn
        Xtr, ytr, Xte, yte = _cli_charlm.windows(text, vocab, dev)
        print(f"data: {len(text)} characters ({len(vocab)} distinct) from {where}: "
              f"{Xtr.shape[0]} training and {Xte.shape[0]} test windows of "
              f"{_cli_charlm.BLOCK}", file=sys.stderr, flush=True)
    else:
        loss_fn = bw.nn.CrossEntropyLoss()
        train_ds, test_ds = _load_data(data_root, quiet=not say)
        Xtr, ytr = _tensors(train_ds, dev)
        Xte, yte = _tensors(test_ds, dev)
    start_epoch, skip, last_good = 1, 0, None
    if args.resume:
        info = ckpt.restore(model, opt)
        if info is None:
            raise RuntimeError(f"--resume: no checkpoint in {out!r} loads (each was skipped: see "
                               "the warnings above)")
        last_good = info["path"]
        data = info.get("extra") or {}
        start_epoch, skip = data.get("epoch", 1), data.get("batches_done", 0)
        if skip == 0:
            start_epoch += 1
        if args.lr is not None:
            saved_lr = opt.param_groups[0]["lr"]
            for group in opt.param_groups:
                group["lr"] = args.lr  # the saved optimizer state brought back the old rate
            if saved_lr != args.lr and say:
                print(f"--lr {args.lr} replaces the learning rate {saved_lr} saved in "
                      f"{info['path']}", file=sys.stderr)
        if say:
            print(f"resuming from {info['path']} (epoch {start_epoch}, batch {skip})")
        if start_epoch > args.epochs and say:
            print(f"nothing to train: {info['path']} has finished epoch {start_epoch - 1} and "
                  f"--epochs is {args.epochs}", file=sys.stderr)
    config = dict(opts, vocab=vocab) if charlm else dict(opts)
    metrics_path = os.path.join(out, "metrics.csv")
    rows = _read_metrics(metrics_path) if args.resume and say else []
    rows = [r for r in rows if int(r["epoch"]) < start_epoch]
    g = bw.Generator()
    train_set, sampler = TensorDataset(Xtr, ytr), None
    if ranks is None:
        loader = DataLoader(train_set, batch_size=opts["batch_size"], shuffle=True,
                            generator=g)
    else:
        # Every rank draws the same permutation of (seed, epoch) and takes its shard of it.
        sampler = ranks.sampler(train_set, seed=opts["seed"] * 100003)
        loader = DataLoader(train_set, batch_size=batch, sampler=sampler, generator=g)
    step = (start_epoch - 1) * len(loader) + skip
    for epoch in range(start_epoch, args.epochs + 1):
        g.manual_seed(opts["seed"] * 100003 + epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        t0 = time.perf_counter()
        tot_loss, correct, seen = 0.0, 0, 0
        bar = _Progress(len(loader), f"epoch {epoch}/{args.epochs}", enabled=say)
        batches_done = skip if epoch == start_epoch else 0
        try:
            for i, (X, y) in enumerate(loader):
                if i < batches_done:
                    continue  # replayed order: these batches were trained before the restart
                opt.zero_grad()
                logits = model(X)
                loss = loss_fn(logits, y)
                value = loss.item()
                n = y.numel()  # predictions made: one per image, one per character for charlm
                right = int((logits.argmax(-1) == y).sum().item())
                if ranks is not None:
                    # The whole global batch's figures, so every rank decides alike below.
                    total, right, n = ranks.sum([value * n, right, n])
                    value, right, n = total / n, int(right), int(n)
                if not math.isfinite(value):
                    bar.close()
                    raise _diverged(f"the loss became {value}", epoch, step + 1, i, len(loader),
                                    opt, last_good)
                loss.backward()
                opt.step()
                step += 1
                batches_done = i + 1
                tot_loss += value * n
                correct += right
                seen += n
                bar.update(tot_loss / seen, correct / seen, seen / (time.perf_counter() - t0))
            bar.close()
            if not _all_finite(net):  # the last step of the epoch can overflow the weights
                raise _diverged("the parameters became non-finite", epoch, step,
                                len(loader) - 1, len(loader), opt, last_good)
            seconds = time.perf_counter() - t0
            if not say:  # rank 0 evaluates, prints and writes; the others save with it
                last_good = ckpt.save(step, model, opt, epoch=epoch, extra={
                    "epoch": epoch, "batches_done": 0, "config": config})
                continue
            test_loss, test_acc = evaluate(net, loss_fn, Xte, yte)
            row = {"epoch": epoch, "train_loss": tot_loss / max(seen, 1),
                   "train_acc": correct / max(seen, 1), "test_loss": test_loss,
                   "test_acc": test_acc, "seconds": seconds,
                   "samples_per_s": seen / seconds if seconds else 0.0}
            rows.append(row)
            print(f"epoch {epoch}: train loss {row['train_loss']:.4f} acc "
                  f"{row['train_acc']:.3f} | test loss {test_loss:.4f} acc {test_acc:.3f} | "
                  f"{row['samples_per_s']:.0f} samples/s", flush=True)
            last_good = ckpt.save(step, model, opt, epoch=epoch, metric=test_acc,
                                  extra={"epoch": epoch, "batches_done": 0, "config": config})
            _write_metrics(metrics_path, rows)
        except KeyboardInterrupt:
            # Anywhere in the epoch, evaluation and saving included: record how far training
            # got (a finished epoch counts as done) so --resume continues from exactly there.
            bar.close()
            if not _all_finite(net):
                raise
            if ranks is not None:
                # The ranks stop at different points, some inside a collective: no common
                # point to save at. The last epoch's checkpoint is the one to resume.
                if say:
                    print(f"\ninterrupted: continue from {last_good or 'the start'} with "
                          f"--resume --out {out}", flush=True)
                return 130
            finished = batches_done >= len(loader)
            path = ckpt.save(step, net, opt, epoch=epoch,
                             extra={"epoch": epoch, "batches_done": 0 if finished
                                    else batches_done, "config": config})
            _write_metrics(metrics_path, rows)
            print(f"\ninterrupted: saved {path}; continue with --resume --out {out}", flush=True)
            return 130
    if charlm:
        _cli_charlm.print_samples(net, vocab, opts["seed"])
    if not say:
        return 0
    plot = _plot(rows, os.path.join(out, "curves.png"))
    print(f"wrote {out}: checkpoints, metrics.csv" + (", curves.png" if plot else
                                                     " (curves.png skipped: " + _NO_MPL + ")"))
    return 0


def _all_finite(net) -> bool:
    import brickwork as bw

    with bw.no_grad():
        return all(bool(bw.isfinite(p).all()) for p in net.parameters())


def _diverged(what: str, epoch: int, step: int, batch: int, batches: int, opt,
              last_good: str | None) -> RuntimeError:
    kept = (f"the last good checkpoint is {last_good}" if last_good
            else "no checkpoint was written")
    return RuntimeError(f"training diverged: {what} in epoch {epoch}, step {step} (batch "
                        f"{batch + 1} of {batches}) with learning rate "
                        f"{opt.param_groups[0]['lr']}; {kept}; try a smaller --lr")


def evaluate(net, loss_fn, X, y, batch_size: int = 1000):
    import brickwork as bw

    net.eval()
    total, correct = 0.0, 0
    with bw.no_grad():
        for i in range(0, X.shape[0], batch_size):
            logits = net(X[i:i + batch_size])
            yb = y[i:i + batch_size]
            total += loss_fn(logits, yb).item() * yb.numel()
            correct += int((logits.argmax(-1) == yb).sum().item())
    n = max(y.numel(), 1)
    return total / n, correct / n


class _Progress:
    """tqdm on a terminal when it is installed; otherwise nothing until the epoch line."""

    def __init__(self, total: int, desc: str, enabled: bool = True) -> None:
        self.bar = None
        # Under --nproc, stderr is mpiexec's pipe: the launching command says if it is a tty.
        if enabled and (sys.stderr.isatty() or os.environ.get(TTY_VAR) == "1"):
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
