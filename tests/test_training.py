"""Real training: brickwork learns Fashion-MNIST, and follows PyTorch's loss curve step by step.
"""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.datasets import FashionMNIST
from brickwork.utils.data import DataLoader, TensorDataset
from helpers import requires_torch, torch


def _tensors(train: bool):
    ds = FashionMNIST("embedded", train=train)
    X = brickwork.from_numpy(np.asarray(ds.data).reshape(-1, 784).astype(np.float32) / 255)
    return X, ds.targets


def test_mlp_learns_fashion_mnist_slice():
    brickwork.manual_seed(0)
    X, y = _tensors(train=True)
    Xt, yt = _tensors(train=False)
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = brickwork.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True,
                        generator=brickwork.Generator().manual_seed(0))
    epoch_losses = []
    for _ in range(4):
        losses = []
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(float(loss))
        epoch_losses.append(np.mean(losses))
    assert epoch_losses[-1] < 0.6 * epoch_losses[0], epoch_losses
    with brickwork.no_grad():
        acc = float((model(Xt).argmax(dim=1) == yt).float().mean())
    assert acc > 0.65, f"test accuracy {acc:.3f} (chance is 0.10)"


def _copy_weights(b_model, t_model):
    for (bn, bp), (tn, tp) in zip(b_model.named_parameters(), t_model.named_parameters()):
        assert bn == tn and tuple(bp.shape) == tuple(tp.shape)
        bp.data = brickwork.tensor(tp.detach().numpy().copy())


def _curve(lib, model, opt, batches, loss_fn):
    losses = []
    for xb, yb in batches:
        opt.zero_grad()
        loss = loss_fn(model(lib.tensor(xb)), lib.tensor(yb))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _batches(n_steps, shape, seed=0):
    X, y = _tensors(train=True)
    X, y = np.asarray(X).reshape((-1,) + shape), np.asarray(y)
    idx = np.random.default_rng(seed).permutation(len(y))
    bs = 32
    return [(X[idx[i * bs:(i + 1) * bs]], y[idx[i * bs:(i + 1) * bs]]) for i in range(n_steps)]


@requires_torch
@pytest.mark.parametrize("opt_name,kw", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=1e-3))])
def test_mlp_follows_torch_loss_curve(opt_name, kw):
    def build(lib):
        lib.manual_seed(0)
        return lib.nn.Sequential(lib.nn.Linear(784, 32), lib.nn.ReLU(), lib.nn.Linear(32, 10))

    bm, tm = build(brickwork), build(torch)
    _copy_weights(bm, tm)
    batches = _batches(20, (784,))
    b = _curve(brickwork, bm, getattr(brickwork.optim, opt_name)(bm.parameters(), **kw),
               batches, brickwork.nn.CrossEntropyLoss())
    t = _curve(torch, tm, getattr(torch.optim, opt_name)(tm.parameters(), **kw), batches,
               torch.nn.CrossEntropyLoss())
    np.testing.assert_allclose(b, t, rtol=2e-4, atol=1e-5)
    assert b[-1] < b[0]


@requires_torch
def test_small_cnn_follows_torch_loss_curve():
    def build(lib):
        n = lib.nn
        lib.manual_seed(0)
        return n.Sequential(n.Conv2d(1, 4, 5, padding=2), n.ReLU(), n.MaxPool2d(2),
                            n.Conv2d(4, 8, 5), n.ReLU(), n.MaxPool2d(2), n.Flatten(),
                            n.Linear(8 * 5 * 5, 10))

    bm, tm = build(brickwork), build(torch)
    _copy_weights(bm, tm)
    batches = _batches(20, (1, 28, 28), seed=1)
    b = _curve(brickwork, bm, brickwork.optim.Adam(bm.parameters(), lr=2e-3), batches,
               brickwork.nn.CrossEntropyLoss())
    t = _curve(torch, tm, torch.optim.Adam(tm.parameters(), lr=2e-3), batches,
               torch.nn.CrossEntropyLoss())
    np.testing.assert_allclose(b, t, rtol=1e-3, atol=1e-4)
    assert b[-1] < b[0]
