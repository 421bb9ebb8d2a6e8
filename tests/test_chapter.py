"""The chapter's code cells (layers and blocks, parameter management, deferred initialization,
custom layers), run with only the imports changed, and checked against what the chapter shows
and against PyTorch given the same weights.

Each cell is written once as a function of ``(torch, nn, F)`` so it runs unchanged on both
libraries; ``copy_into`` gives the PyTorch model the brickwork model's weights.
"""
import contextlib
import io

import numpy as np
import pytest

import brickwork
from brickwork import nn as bnn
from brickwork.nn import functional as bF
from helpers import requires_torch, torch

LIBS = {"brickwork": (brickwork, bnn, bF)}
if torch is not None:
    LIBS["torch"] = (torch, torch.nn, torch.nn.functional)


def libs(name):
    return LIBS[name]


def copy_into(b_model, t_model):
    t_model.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                             for k, v in b_model.state_dict().items()})


def to_t(x):
    return torch.from_numpy(x.detach().numpy().copy())


def printed(fn, *args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fn(*args)
    return buf.getvalue()


def same_text(b_text, t_text):
    assert b_text.replace("brickwork", "torch") == t_text


# -- the chapter's classes, defined once against (torch, nn, F) -----------------------------
def chapter_classes(torch, nn, F):
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(20, 256)
            self.out = nn.Linear(256, 10)

        def forward(self, X):
            return self.out(F.relu(self.hidden(X)))

    class MySequential(nn.Module):
        def __init__(self, *args):
            super().__init__()
            for idx, module in enumerate(args):
                self._modules[str(idx)] = module

        def forward(self, X):
            for block in self._modules.values():
                X = block(X)
            return X

    class FixedHiddenMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.rand_weight = torch.rand((20, 20), requires_grad=False)
            self.linear = nn.Linear(20, 20)

        def forward(self, X):
            X = self.linear(X)
            X = F.relu(torch.mm(X, self.rand_weight) + 1)
            X = self.linear(X)
            while X.abs().sum() > 1:
                X /= 2
            return X.sum()

    class NestMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
            self.linear = nn.Linear(32, 16)

        def forward(self, X):
            return self.linear(self.net(X))

    class CenteredLayer(nn.Module):
        def __init__(self):
            super().__init__()

        def forward(self, X):
            return X - X.mean()

    class MyLinear(nn.Module):
        def __init__(self, in_units, units):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(in_units, units))
            self.bias = nn.Parameter(torch.randn(units,))

        def forward(self, X):
            linear = torch.matmul(X, self.weight.data) + self.bias.data
            return F.relu(linear)

    return dict(MLP=MLP, MySequential=MySequential, FixedHiddenMLP=FixedHiddenMLP,
                NestMLP=NestMLP, CenteredLayer=CenteredLayer, MyLinear=MyLinear)


B = chapter_classes(*LIBS["brickwork"])
T = chapter_classes(*LIBS["torch"]) if torch is not None else None


# -- layers and blocks -----------------------------------------------------------------------
def test_sequential_mlp_cell():
    torch_, nn, F = libs("brickwork")
    net = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    X = torch_.rand(2, 20)
    y = net(X)
    assert y.shape == (2, 10) and y.grad_fn.name() == "AddmmBackward0"
    assert "grad_fn=<AddmmBackward0>" in repr(y)


@requires_torch
@pytest.mark.parametrize("name", ["MLP", "MySequential", "NestMLP"])
def test_custom_blocks_match_torch(name):
    if name == "MySequential":
        b = B[name](bnn.Linear(20, 256), bnn.ReLU(), bnn.Linear(256, 10))
        t = T[name](torch.nn.Linear(20, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    else:
        b, t = B[name](), T[name]()
    copy_into(b, t)
    X = brickwork.rand(2, 20)
    yb, yt = b(X), t(to_t(X))
    np.testing.assert_allclose(yb.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert yb.grad_fn.name() == type(yt.grad_fn).__name__
    same_text(repr(b), repr(t))


@requires_torch
def test_fixed_hidden_mlp_and_chimera_match_torch():
    b, t = B["FixedHiddenMLP"](), T["FixedHiddenMLP"]()
    copy_into(b, t)
    t.rand_weight = to_t(b.rand_weight)
    assert "rand_weight" not in b.state_dict()
    X = brickwork.rand(2, 20)
    yb, yt = b(X), t(to_t(X))
    assert yb.shape == () and yb.grad_fn.name() == "SumBackward0"
    np.testing.assert_allclose(yb.item(), yt.item(), rtol=1e-5)
    assert abs(yb.item()) <= 1  # the while loop ran to completion

    cb = bnn.Sequential(B["NestMLP"](), bnn.Linear(16, 20), B["FixedHiddenMLP"]())
    ct = torch.nn.Sequential(T["NestMLP"](), torch.nn.Linear(16, 20), T["FixedHiddenMLP"]())
    copy_into(cb, ct)
    ct[2].rand_weight = to_t(cb[2].rand_weight)
    np.testing.assert_allclose(cb(X).item(), ct(to_t(X)).item(), rtol=1e-4)
    same_text(repr(cb), repr(ct))
    assert [n for n, _ in cb.named_parameters()] == [n for n, _ in ct.named_parameters()]


# -- parameter management --------------------------------------------------------------------
def access_cells(torch, nn, net):
    print(net[2].state_dict())
    print(type(net[2].bias))
    print(net[2].bias)
    print(net[2].bias.data)
    print(net[2].weight.grad == None)  # noqa: E711 (the chapter's spelling)
    print(*[(name, param.shape) for name, param in net[0].named_parameters()])
    print(*[(name, param.shape) for name, param in net.named_parameters()])
    print(net.state_dict()['2.bias'].data)


@requires_torch
def test_parameter_access_cells_print_like_torch():
    b = bnn.Sequential(bnn.Linear(4, 8), bnn.ReLU(), bnn.Linear(8, 1))
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    copy_into(b, t)
    X = brickwork.rand(size=(2, 4))
    np.testing.assert_allclose(b(X).detach().numpy(), t(to_t(X)).detach().numpy(), rtol=1e-5)
    same_text(printed(access_cells, brickwork, bnn, b), printed(access_cells, torch, torch.nn, t))


def block_factories(nn):
    def block1():
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

    def block2():
        net = nn.Sequential()
        for i in range(4):
            net.add_module(f'block {i}', block1())
        return net

    return nn.Sequential(block2(), nn.Linear(4, 1))


@requires_torch
def test_nested_blocks_print_and_values_like_torch():
    rb, rt = block_factories(bnn), block_factories(torch.nn)
    copy_into(rb, rt)
    X = brickwork.rand(size=(2, 4))
    np.testing.assert_allclose(rb(X).detach().numpy(), rt(to_t(X)).detach().numpy(), rtol=1e-5)
    same_text(printed(print, rb), printed(print, rt))
    assert "(block 3): Sequential(" in printed(print, rb)
    same_text(repr(rb[0][1][0].bias.data), repr(rt[0][1][0].bias.data))
    assert "0.block 1.2.bias" in rb.state_dict()


def init_cells(nn, net):
    def init_normal(m):
        if type(m) == nn.Linear:  # noqa: E721 (the chapter's spelling)
            nn.init.normal_(m.weight, mean=0, std=0.01)
            nn.init.zeros_(m.bias)

    def init_constant(m):
        if type(m) == nn.Linear:  # noqa: E721
            nn.init.constant_(m.weight, 1)
            nn.init.zeros_(m.bias)

    def init_xavier(m):
        if type(m) == nn.Linear:  # noqa: E721
            nn.init.xavier_uniform_(m.weight)

    def init_42(m):
        if type(m) == nn.Linear:  # noqa: E721
            nn.init.constant_(m.weight, 42)

    out = {}
    net.apply(init_normal)
    out["normal"] = (net[0].weight.data[0], net[0].bias.data[0])
    out["normal_w"] = net[0].weight.data.numpy().copy()
    net.apply(init_constant)
    out["constant"] = repr((net[0].weight.data[0], net[0].bias.data[0]))
    net[0].apply(init_xavier)
    net[2].apply(init_42)
    out["xavier"] = net[0].weight.data[0]
    out["42"] = net[2].weight.data
    return out


@requires_torch
def test_builtin_init_cells():
    net = bnn.Sequential(bnn.Linear(4, 8), bnn.ReLU(), bnn.Linear(8, 1))
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    out, tout = init_cells(bnn, net), init_cells(torch.nn, tnet)
    w, b0 = out["normal"]
    assert w.shape == (4,) and b0.shape == () and b0.item() == 0.0
    assert np.abs(out["normal_w"]).max() < 0.06  # N(0, 0.01)
    same_text(out["constant"], tout["constant"])
    bound = np.sqrt(6 / (4 + 8))
    assert np.abs(out["xavier"].numpy()).max() <= bound
    same_text(repr(out["42"]), repr(tout["42"]))


def my_init_cell(nn, net):
    def my_init(m):
        if type(m) == nn.Linear:  # noqa: E721
            print("Init", *[(name, param.shape)
                            for name, param in m.named_parameters()][0])
            nn.init.uniform_(m.weight, -10, 10)
            m.weight.data *= m.weight.data.abs() >= 5

    net.apply(my_init)
    return net[0].weight[:2]


@requires_torch
def test_custom_init_and_direct_edits():
    net = bnn.Sequential(bnn.Linear(4, 8), bnn.ReLU(), bnn.Linear(8, 1))
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    same_text(printed(my_init_cell, bnn, net), printed(my_init_cell, torch.nn, tnet))
    top = my_init_cell(bnn, net)
    assert top.shape == (2, 4) and top.grad_fn.name() == "SliceBackward0"
    w = net[0].weight.detach().numpy().copy()
    assert ((w == 0) | (np.abs(w) >= 5)).all()
    net[0].weight.data[:] += 1
    net[0].weight.data[0, 0] = 42
    row = net[0].weight.data[0]
    assert row[0].item() == 42 and np.allclose(row.numpy()[1:], w[0, 1:] + 1)


def tied_cell(torch, nn, X, copy_from=None):
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                        nn.Linear(8, 1))
    if copy_from is not None:
        copy_into(copy_from, net)
    net(X)
    print(net[2].weight.data[0] == net[4].weight.data[0])
    net[2].weight.data[0, 0] = 100
    print(net[2].weight.data[0] == net[4].weight.data[0])
    return net


@requires_torch
def test_tied_parameters_cell():
    X = brickwork.rand(size=(2, 4))
    holder = {}
    text_b = printed(lambda: holder.setdefault("b", tied_cell(brickwork, bnn, X)))
    b = holder["b"]
    text_t = printed(lambda: holder.setdefault("t", tied_cell(torch, torch.nn, to_t(X), b)))
    t = holder["t"]
    same_text(text_b, text_t)
    assert b[2].weight is b[4].weight and b[2].weight.data[0, 0].item() == 100
    assert len(list(b.parameters())) == 6
    b(X).sum().backward()
    t(to_t(X)).sum().backward()
    np.testing.assert_allclose(b[2].weight.grad.numpy(), t[2].weight.grad.numpy(), rtol=1e-4,
                               atol=1e-5)  # the sum of both uses' gradients


# -- deferred initialization -----------------------------------------------------------------
def test_lazy_cells():
    net = bnn.Sequential(bnn.LazyLinear(256), bnn.ReLU(), bnn.LazyLinear(10))
    assert repr(net[0].weight) == "<UninitializedParameter>"
    X = brickwork.rand(2, 20)
    net(X)
    assert net[0].weight.shape == (256, 20)
    assert type(net[0]) is bnn.Linear


# -- custom layers ---------------------------------------------------------------------------
@requires_torch
def test_centered_layer_cells():
    layer = B["CenteredLayer"]()
    out = layer(brickwork.FloatTensor([1, 2, 3, 4, 5]))
    same_text(repr(out), repr(T["CenteredLayer"]()(torch.FloatTensor([1, 2, 3, 4, 5]))))
    net = bnn.Sequential(bnn.Linear(8, 128), B["CenteredLayer"]())
    Y = net(brickwork.rand(4, 8))
    m = Y.mean()
    assert abs(m.item()) < 1e-6 and m.grad_fn.name() == "MeanBackward0"


@requires_torch
def test_my_linear_cells():
    linear = B["MyLinear"](5, 3)
    tl = T["MyLinear"](5, 3)
    copy_into(linear, tl)
    same_text(repr(linear.weight), repr(tl.weight))
    x = brickwork.rand(2, 5)
    y = linear(x)
    np.testing.assert_allclose(y.numpy(), tl(to_t(x)).numpy(), rtol=1e-5, atol=1e-6)
    assert y.grad_fn is None  # the chapter's MyLinear uses .data: no graph
    net = bnn.Sequential(B["MyLinear"](64, 8), B["MyLinear"](8, 1))
    assert net(brickwork.rand(2, 64)).shape == (2, 1)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                      "1.bias"]


@requires_torch
def test_clone_load_state_dict_cell():
    net = B["MLP"]()
    X = brickwork.randn(size=(2, 20))
    Y = net(X)
    clone = B["MLP"]()
    clone.load_state_dict(net.state_dict())
    same_text(repr(clone.eval()), repr(T["MLP"]().eval()))
    assert (clone(X) == Y).numpy().all()
