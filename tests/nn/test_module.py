"""Module: registration, traversal, state_dict/load_state_dict, hooks, modes, movement, repr."""
import copy

import numpy as np
import pytest

import brickwork
from brickwork import nn
from helpers import requires_torch, torch


def mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 1))


def nested(lib):
    def block1():
        return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 4),
                                 lib.nn.ReLU())

    def block2():
        net = lib.nn.Sequential()
        for i in range(2):
            net.add_module(f"block {i}", block1())
        return net

    return lib.nn.Sequential(block2(), lib.nn.Linear(4, 1))


class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.register_buffer("running", brickwork.zeros(3))
        self.register_buffer("scratch", brickwork.ones(1), persistent=False)
        self.const = brickwork.rand(2, 2)  # a plain tensor attribute: not registered

    def forward(self, x):
        return self.fc(x) + self.running


def test_registration_routing():
    m = WithBuffer()
    assert list(m._modules) == ["fc"]
    assert list(m._buffers) == ["running", "scratch"]
    assert [n for n, _ in m.named_parameters()] == ["fc.weight", "fc.bias"]
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    assert list(m.state_dict()) == ["running", "fc.weight", "fc.bias"]  # own entries first
    assert "const" in m.__dict__ and "const" not in m.state_dict()
    m.running = brickwork.ones(3)  # assigning a tensor to a buffer name keeps it a buffer
    assert m._buffers["running"].numpy().tolist() == [1.0, 1.0, 1.0]
    del m.fc
    assert "fc" not in m._modules and not hasattr(m, "fc")


def test_direct_modules_dict_registration():
    class MySequential(nn.Module):
        def __init__(self, *args):
            super().__init__()
            for idx, module in enumerate(args):
                self._modules[str(idx)] = module

        def forward(self, x):
            for block in self._modules.values():
                x = block(x)
            return x

    net = MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    assert net(brickwork.rand(2, 20)).shape == (2, 10)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


@requires_torch
@pytest.mark.parametrize("build", [mlp, nested])
def test_names_and_repr_match_torch(build):
    b, t = build(brickwork), build(torch)
    assert repr(b) == repr(t)
    assert list(b.state_dict()) == list(t.state_dict())
    assert [n for n, _ in b.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in b.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in b.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in b.named_parameters(prefix="net", recurse=True)] == \
        [n for n, _ in t.named_parameters(prefix="net", recurse=True)]
    assert [tuple(p.shape) for p in b.parameters()] == [tuple(p.shape) for p in t.parameters()]


@requires_torch
def test_registration_errors_match_torch():
    cases = [
        lambda lib, m: setattr(m, "weight", lib.zeros(8, 4)),
        lambda lib, m: m.add_module("a.b", lib.nn.ReLU()),
        lambda lib, m: m.add_module("", lib.nn.ReLU()),
        lambda lib, m: m.add_module("weight", lib.nn.ReLU()),
        lambda lib, m: m.register_parameter("a.b", None),
        lambda lib, m: m.register_parameter("x", lib.zeros(2)),
        lambda lib, m: m.register_buffer("weight", lib.zeros(2)),
        lambda lib, m: m.register_buffer("b", 3),
        lambda lib, m: m.add_module("m", 3),
        lambda lib, m: m.get_submodule("nope"),
        lambda lib, m: m.get_parameter("nope"),
        lambda lib, m: m.train("yes"),
        lambda lib, m: m.nope,
    ]
    for case in cases:
        with pytest.raises(Exception) as te:
            case(torch, torch.nn.Linear(4, 8))
        with pytest.raises(Exception) as be:
            case(brickwork, nn.Linear(4, 8))
        assert type(be.value) is type(te.value)
        assert str(be.value).replace("brickwork", "torch") == str(te.value)


def test_shared_module_listed_once_state_dict_under_each_path():
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                        nn.Linear(8, 1))
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    assert "4.weight" in net.state_dict()
    assert len(list(net.named_parameters(remove_duplicate=False))) == 8
    assert len(list(net.modules())) == 7  # shared counted once


@requires_torch
def test_load_state_dict_roundtrip_and_identity():
    b = mlp(brickwork)
    other = mlp(brickwork)
    w = b[0].weight
    res = b.load_state_dict(other.state_dict())
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert b[0].weight is w
    np.testing.assert_array_equal(w.detach().numpy(), other[0].weight.detach().numpy())
    # torch reads a brickwork state dict (converted) and back
    t = mlp(torch)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in b.state_dict().items()})
    x = np.random.default_rng(0).random((3, 4), dtype=np.float32)
    np.testing.assert_allclose(b(brickwork.tensor(x)).detach().numpy(),
                               t(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@requires_torch
def test_load_state_dict_errors_list_everything_and_change_nothing():
    def bad_sd(lib):
        sd = lib.nn.Sequential(lib.nn.Linear(4, 9), lib.nn.ReLU()).state_dict()
        sd["5.weight"] = lib.zeros(1)
        return sd

    b, t = mlp(brickwork), mlp(torch)
    before = {k: v.numpy().copy() for k, v in b.state_dict().items()}
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict(bad_sd(torch))
    with pytest.raises(RuntimeError) as be:
        b.load_state_dict(bad_sd(brickwork))
    assert str(be.value).replace("brickwork", "torch") == str(te.value)
    assert "Missing key(s)" in str(be.value) and "size mismatch for 0.weight" in str(be.value)
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    # strict=False: missing/unexpected are reported, not raised
    sd = mlp(brickwork).state_dict()
    del sd["2.bias"]
    sd["extra"] = brickwork.zeros(1)
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["2.bias"] and res.unexpected_keys == ["extra"]
    tsd = mlp(torch).state_dict()
    del tsd["2.bias"]
    tsd["extra"] = torch.zeros(1)
    assert repr(res) == repr(t.load_state_dict(tsd, strict=False))


def test_load_state_dict_assign_and_type_errors():
    b = mlp(brickwork)
    sd = mlp(brickwork).state_dict()
    b.load_state_dict(sd, assign=True)
    assert isinstance(b[0].weight, nn.Parameter) and b[0].weight.requires_grad
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        b.load_state_dict([1, 2])


def test_state_dict_detached_sharing_storage_keep_vars():
    b = mlp(brickwork)
    sd = b.state_dict()
    assert type(sd["0.weight"]) is brickwork.Tensor and not sd["0.weight"].requires_grad
    sd["0.weight"][0, 0] = 123.0
    assert b[0].weight[0, 0].item() == 123.0
    assert b.state_dict(keep_vars=True)["0.weight"] is b[0].weight
    assert list(b.state_dict(prefix="m.")) == ["m.0.weight", "m.0.bias", "m.2.weight",
                                               "m.2.bias"]


def test_hooks_run_and_remove():
    layer = nn.Linear(2, 2)
    calls = []
    h1 = layer.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    h2 = layer.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
    out = layer(brickwork.ones(1, 2))
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(out.detach().numpy(), layer.bias.detach().numpy()[None] + 1)
    h1.remove()
    h2.remove()
    calls.clear()
    layer(brickwork.ones(1, 2))
    assert calls == []


def test_full_backward_hook_sees_gradients():
    layer = nn.Linear(3, 2)
    seen = {}

    def hook(module, grad_input, grad_output):
        seen["in"], seen["out"] = grad_input, grad_output

    layer.register_full_backward_hook(hook)
    x = brickwork.ones(4, 3, requires_grad=True)
    layer(x).sum().backward()
    assert seen["out"][0].shape == (4, 2)
    np.testing.assert_allclose(seen["in"][0].numpy(), x.grad.numpy())


def test_train_eval_apply_zero_grad_requires_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Sequential(nn.ReLU()))
    assert net.eval() is net and not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    order = []
    assert net.apply(lambda m: order.append(type(m).__name__)) is net
    assert order == ["Linear", "Dropout", "ReLU", "Sequential", "Sequential"]
    net(brickwork.ones(1, 2)).sum().backward()
    assert net[0].weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert not net[0].weight.grad.numpy().any()
    net.zero_grad()
    assert net[0].weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_double_float_keeps_identity_and_grads():
    net = mlp(brickwork)
    w = net[0].weight
    net(brickwork.ones(1, 4)).sum().backward()
    assert net.double() is net
    assert net[0].weight is w and w.dtype == brickwork.float64
    assert w.grad.dtype == brickwork.float64
    assert net(brickwork.ones(1, 4, dtype=brickwork.float64)).dtype == brickwork.float64
    net.to(brickwork.float32)
    assert w.dtype == brickwork.float32 and net.to("cpu") is net
    with pytest.raises(TypeError, match="floating point"):
        net.to(brickwork.int64)


def test_deepcopy_and_get_helpers():
    net = nested(brickwork)
    clone = copy.deepcopy(net)
    assert clone[1].weight is not net[1].weight
    x = brickwork.rand(2, 4)
    np.testing.assert_array_equal(clone(x).detach().numpy(), net(x).detach().numpy())
    assert net.get_submodule("0.block 1.2") is net[0][1][2]
    assert net.get_parameter("1.bias") is net[1].bias
    assert "weight" in dir(net[1]) and "block 0" in dir(net[0])


def test_module_stack_labels_errors():
    from brickwork.device import MODULE_STACK

    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(str(MODULE_STACK[-1]))
            return x

    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(Spy()))
    net(brickwork.ones(1, 2))
    assert seen == ["Sequential.1.0 (Spy)"]
    assert MODULE_STACK == []


def test_missing_forward():
    with pytest.raises(NotImplementedError, match=r"Module \[Module\] is missing the required"):
        nn.Module()(1)


def test_keys_for_none_parameters_and_buffers_are_unexpected():
    # PyTorch lists a checkpoint key aimed at a None parameter or buffer as unexpected.
    from tests.helpers import check_behaviour

    def fn(lib):
        m = lib.nn.Linear(2, 2, bias=False)
        m.register_buffer("extra", None)
        sd = dict(m.state_dict())
        sd["bias"] = lib.zeros(2)
        sd["extra"] = lib.zeros(1)
        result = m.load_state_dict(sd, strict=False)
        return sorted(result.unexpected_keys), sorted(result.missing_keys)
    check_behaviour(fn)
