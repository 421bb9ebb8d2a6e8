"""One SGD training step (forward, loss, backward, step), brickwork vs PyTorch on the CPU.

Run: ``python benchmarks/train_step.py`` (``--only mlp256,lenet128`` to pick workloads).
Also reports the peak memory of one LeNet step (``ru_maxrss`` growth of a fresh process).
Targets (training issue): MLP b256 <= 1.0, MLP b32 <= 1.5, LeNet b128 <= 2.0, conv 64->64 <= 2.0;
(nn/optim issue) ``lbfgs``: one ``LBFGS.step`` (20 iterations, no line search) of a 784-10
logistic regression on a full batch of 2,000, <= 1.5; ``unet``: one Adam step of a small U-Net
(three levels of 32/64/128 channels, each two blocks of ReflectionPad2d(1), 3x3 conv,
InstanceNorm2d(affine) and ReLU, stride-2 convs down, bilinear ``interpolate`` up with the skips
concatenated, a 1x1 conv to 12 channels and PixelShuffle(2); L1 loss; batch 8, 3x64x64), <= 2.0;
(CPU speed issue) ``resnet18``: one SGD step (lr 0.1, momentum 0.9, cross-entropy) of ResNet-18
with the CIFAR stem (3x3 stride-1 conv, no max pool; BasicBlocks [2, 2, 2, 2] of 64/128/256/512
channels with batch norm and 1x1 stride-2 downsamples; average pool, linear to 10), batch 32,
3x32x32, <= 1.5; ``alexnet``: one SGD step of the d2l book's AlexNet (five convs, three max pools,
two 4096-wide linears with dropout 0.5, linear to 10), batch 16, 1x224x224, <= 1.5. Without
targets, one SGD step of each of the book's modern CNNs as it writes them: ``bn_lenet256``
(LeNet with batch norm and sigmoids, batch 256), ``nin16``, ``googlenet16`` and ``densenet16``
(batch 16, at the book's 224x224, 96x96 and 96x96). The networks are in ``models.py``, shared
with ``tests/test_models_reference.py``.
"""
from __future__ import annotations

import os
import resource
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import framework, main, time_call  # noqa: E402
from brickwork._cli_train import build_model  # noqa: E402  (the same networks)
import models  # noqa: E402
from models import alexnet, resnet18  # noqa: E402

WORKLOADS = ["mlp256", "mlp32", "lenet128", "conv64", "lenet128_peak_mem", "lbfgs", "unet",
             "resnet18", "alexnet", "bn_lenet256", "nin16", "googlenet16", "densenet16"]
TARGETS = {"mlp256": "<=1.0", "mlp32": "<=1.5", "lenet128": "<=1.3", "conv64": "<=1.2",
           "lbfgs": "<=1.5", "unet": "<=2.0", "resnet18": "<=1.5", "alexnet": "<=1.5"}


def _unet(lib):
    nn, F = lib.nn, lib.nn.functional

    def level(cin, cout):
        layers = []
        for c in (cin, cout):
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(c, cout, 3),
                       nn.InstanceNorm2d(cout, affine=True), nn.ReLU()]
        return nn.Sequential(*layers)

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1, self.down1 = level(3, 32), nn.Conv2d(32, 32, 3, stride=2, padding=1)
            self.enc2, self.down2 = level(32, 64), nn.Conv2d(64, 64, 3, stride=2, padding=1)
            self.bottom = level(64, 128)
            self.dec2, self.dec1 = level(128 + 64, 64), level(64 + 32, 32)
            self.head, self.shuffle = nn.Conv2d(32, 12, 1), nn.PixelShuffle(2)

        def forward(self, x):
            e1 = self.enc1(x)
            e2 = self.enc2(self.down1(e1))
            b = self.bottom(self.down2(e2))
            up = F.interpolate(b, scale_factor=2, mode="bilinear", align_corners=False)
            d2 = self.dec2(lib.cat([up, e2], 1))
            up = F.interpolate(d2, scale_factor=2, mode="bilinear", align_corners=False)
            d1 = self.dec1(lib.cat([up, e1], 1))
            return self.shuffle(self.head(d1))

    return UNet()


def _unet_step(lib):
    lib.manual_seed(0)
    model = _unet(lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    x, y = lib.randn(8, 3, 64, 64), lib.randn(8, 3, 128, 128)

    def step():
        opt.zero_grad()
        lib.nn.functional.l1_loss(model(x), y).backward()
        opt.step()
    return step


def _sgd_step(lib, model, x_shape):
    """One cross-entropy SGD(lr=0.1, momentum=0.9) step of ``model`` (in train mode: batch norm
    on batch statistics, dropout on) on a fixed random batch of shape ``x_shape``."""
    model.train()
    X, y = lib.randn(*x_shape), lib.randint(0, 10, (x_shape[0],))
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step():
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    return step


def _resnet18_step(lib):
    lib.manual_seed(0)
    return _sgd_step(lib, resnet18(lib), (32, 3, 32, 32))


def _alexnet_step(lib):
    lib.manual_seed(0)
    return _sgd_step(lib, alexnet(lib), (16, 1, 224, 224))


# The book's modern CNNs (models.py): workload -> (builder, input shape with the batch).
BOOK_CNNS = {"bn_lenet256": ("bn_lenet", (256, 1, 28, 28)), "nin16": ("nin", (16, 1, 224, 224)),
             "googlenet16": ("googlenet", (16, 1, 96, 96)),
             "densenet16": ("densenet", (16, 1, 96, 96))}


def _lbfgs_step(lib):
    """One full ``LBFGS.step`` (up to 20 iterations) from the same starting weights each time
    (after the first, a reused optimizer has converged and evaluates the loss once)."""
    lib.manual_seed(0)
    X, y = lib.randn(2000, 784), lib.randint(0, 10, (2000,))
    model = lib.nn.Linear(784, 10)
    start = [p.detach().clone() for p in model.parameters()]
    opt = None

    def closure():
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        return loss

    def step():
        nonlocal opt
        with lib.no_grad():
            for p, p0 in zip(model.parameters(), start):
                p.copy_(p0)
        opt = lib.optim.LBFGS(model.parameters())
        opt.step(closure)
    return step


def _mlp(lib):
    return build_model("mlp", lib.nn)


def _lenet(lib):
    return build_model("lenet", lib.nn)


def _train_step(lib, net, batch):
    lib.manual_seed(0)
    X = lib.rand(batch, 1, 28, 28)
    y = lib.randint(0, 10, (batch,))
    opt = lib.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        opt.step()
    return step


def _conv_step(lib):
    conv = lib.nn.Conv2d(64, 64, 3, padding=1)
    X = lib.rand(16, 64, 56, 56, requires_grad=True)

    def step():
        conv.zero_grad()
        X.grad = None
        conv(X).sum().backward()
    return step


def run_worker(fw_name: str, names, extra) -> dict:
    lib = framework(fw_name)
    out = {}
    if fw_name == "torch":
        # Match NumPy's BLAS, which uses every core; PyTorch's default is the same.
        lib.set_num_threads(os.cpu_count() or 1)
    if "lenet128_peak_mem" in names:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        _train_step(lib, _lenet(lib), 128)()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["lenet128_peak_mem"] = (after - before) * 1024.0  # bytes (shown as "seconds")
    if "mlp256" in names:
        out["mlp256"] = time_call(_train_step(lib, _mlp(lib), 256), min_time=1.0)
    if "mlp32" in names:
        out["mlp32"] = time_call(_train_step(lib, _mlp(lib), 32), min_time=1.0)
    if "lenet128" in names:
        out["lenet128"] = time_call(_train_step(lib, _lenet(lib), 128), min_time=2.0, repeat=3)
    if "conv64" in names:
        out["conv64"] = time_call(_conv_step(lib), min_time=2.0, repeat=3)
    if "lbfgs" in names:
        out["lbfgs"] = time_call(_lbfgs_step(lib), min_time=2.0, repeat=3)
    if "unet" in names:
        out["unet"] = time_call(_unet_step(lib), min_time=3.0, repeat=3)
    if "resnet18" in names:
        out["resnet18"] = time_call(_resnet18_step(lib), min_time=3.0, repeat=3)
    if "alexnet" in names:
        out["alexnet"] = time_call(_alexnet_step(lib), min_time=3.0, repeat=3)
    for name, (builder, shape) in BOOK_CNNS.items():
        if name in names:
            lib.manual_seed(0)
            step = _sgd_step(lib, getattr(models, builder)(lib), shape)
            out[name] = time_call(step, min_time=3.0, repeat=3)
    return out


if __name__ == "__main__":
    main(__file__, WORKLOADS, run_worker, TARGETS, __doc__)
