"""Sparse gradients end to end: ``nn.Embedding(sparse=True)`` / ``F.embedding(sparse=True)``
gradients, their accumulation, and the optimizers that take them (SGD, SparseAdam, Adagrad) or
refuse them (Adam, AdamW, RMSprop), compared with PyTorch."""
import pickle
import warnings

import numpy as np
import pytest

import brickwork as bw
from brickwork import nn, optim
from helpers import requires_torch, torch

W0 = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
BATCHES = [[[0, 2, 0], [4, 2, 1]], [[5, 5, 0]], [[3, 1, 2], [2, 2, 2]], [[0, 4]]]


@pytest.fixture(autouse=True)
def _quiet_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def embedding(lib, **kw):
    emb = lib.nn.Embedding(6, 3, sparse=True, **kw)
    with lib.no_grad():
        emb.weight.copy_(lib.tensor(W0))
    return emb


def loss(lib, emb, batch):
    x = lib.tensor(batch)
    w = lib.arange(float(np.prod(np.shape(batch)) * 3)).reshape(*np.shape(batch), 3) / 10
    return (emb(x) * w).pow(2).sum()


def sparse_grad_np(g):
    assert g.is_sparse
    return g.coalesce().to_dense().detach().cpu().numpy()


# -- the gradients ------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"max_norm": 1.0}])
def test_embedding_sparse_grad_matches_torch(kw):
    got = {}
    for lib in (bw, torch):
        emb = embedding(lib, **kw)
        loss(lib, emb, BATCHES[0]).backward()
        g = emb.weight.grad
        got[lib.__name__] = g
        assert g.is_sparse and not g.is_coalesced()
    b, t = got["brickwork"], got["torch"]
    assert b._nnz() == t._nnz() and tuple(b.shape) == tuple(t.shape)
    np.testing.assert_array_equal(b._indices().numpy(), t._indices().numpy())
    np.testing.assert_allclose(b._values().numpy(), t._values().numpy(), rtol=1e-6)
    assert repr(b).replace("brickwork.", "torch.") == repr(t)


@requires_torch
def test_sparse_grads_accumulate_as_torch():
    got = {}
    for lib in (bw, torch):
        emb = embedding(lib)
        loss(lib, emb, BATCHES[0]).backward()
        loss(lib, emb, BATCHES[1]).backward()  # a second backward concatenates the entries
        got[lib.__name__] = emb.weight.grad
    b, t = got["brickwork"], got["torch"]
    assert b._nnz() == t._nnz() == 9
    np.testing.assert_array_equal(b._indices().numpy(), t._indices().numpy())
    np.testing.assert_allclose(sparse_grad_np(b), sparse_grad_np(t), rtol=1e-6)


@requires_torch
@pytest.mark.parametrize("order", ["sparse_first", "dense_first", "one_backward", "grad"])
def test_sparse_and_dense_grads_mix_into_dense(order):
    got = {}
    for lib in (bw, torch):
        w = lib.tensor(W0, requires_grad=True)
        x = lib.tensor([1, 3, 1])

        def sparse_part():
            return (lib.nn.functional.embedding(x, w, sparse=True) ** 2).sum()

        def dense_part():
            return (w * lib.arange(18.0).reshape(6, 3)).sum()

        if order == "sparse_first":
            sparse_part().backward()
            dense_part().backward()  # sparse grad + dense grad: dense
        elif order == "dense_first":
            dense_part().backward()
            sparse_part().backward()
        elif order == "one_backward":  # both meet in the engine's buffer
            (sparse_part() + dense_part()).backward()
        else:
            w.grad = lib.autograd.grad(sparse_part() + dense_part(), w)[0]
        got[lib.__name__] = w.grad
    assert not got["brickwork"].is_sparse and not got["torch"].is_sparse
    np.testing.assert_allclose(got["brickwork"].numpy(), got["torch"].numpy(), rtol=1e-6)


def test_functional_and_alias_give_sparse_grads_without_torch():
    w = bw.tensor(W0, requires_grad=True)
    bw.embedding(w, bw.tensor([[1, 1], [4, 0]]), sparse=True).sum().backward()
    g = w.grad
    assert g.is_sparse and g._nnz() == 4
    want = np.zeros_like(W0)
    np.add.at(want, [1, 1, 4, 0], 1.0)
    np.testing.assert_array_equal(sparse_grad_np(g), want)
    assert type(bw.nn.functional.embedding(bw.tensor([0]), w, sparse=True).grad_fn).__name__ \
        == "EmbeddingBackward0"


def test_scale_grad_by_freq_with_sparse_is_refused_as_torch():
    emb = nn.Embedding(6, 3, sparse=True, scale_grad_by_freq=True)
    out = emb(bw.tensor([1, 1]))
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        out.sum().backward()


def test_zero_grad_keeps_or_drops_sparse_grads():
    emb = nn.Embedding(6, 3, sparse=True)
    opt = optim.SGD(emb.parameters(), lr=0.1)
    emb(bw.tensor([1, 2])).sum().backward()
    opt.zero_grad(set_to_none=False)
    g = emb.weight.grad
    assert g.is_sparse and g._nnz() == 0 and tuple(g.shape) == (6, 3)
    emb(bw.tensor([3])).sum().backward()
    assert emb.weight.grad._nnz() == 1
    opt.zero_grad()
    assert emb.weight.grad is None


# -- optimizers ---------------------------------------------------------------------------------
OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, maximize=True)),
    ("SparseAdam", dict()),
    ("SparseAdam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
    ("SparseAdam", dict(lr=0.05, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
]


def trajectory(lib, name, kw, steps=None):
    emb = embedding(lib)
    opt = getattr(lib.optim, name)(emb.parameters(), **kw)
    out = []
    for batch in (steps or BATCHES):
        opt.zero_grad()
        loss(lib, emb, batch).backward()
        opt.step()
        out.append(emb.weight.detach().numpy().copy())
    return out, opt, emb


@requires_torch
@pytest.mark.parametrize("name,kw", OPTIMIZERS)
def test_trajectories_match_torch(name, kw):
    b, bopt, _ = trajectory(bw, name, kw)
    t, topt, _ = trajectory(torch, name, kw)
    for i, (x, y) in enumerate(zip(b, t)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=f"step {i}")
    bsd, tsd = bopt.state_dict(), topt.state_dict()
    assert bsd["param_groups"][0].keys() == tsd["param_groups"][0].keys()
    assert bsd["state"].keys() == tsd["state"].keys()
    for k in tsd["state"]:
        assert bsd["state"][k].keys() == tsd["state"][k].keys()


def test_sparse_adam_numpy_expectation():
    # One step of lazy Adam by hand: only the looked-up rows move.
    emb = nn.Embedding(4, 2, sparse=True)
    w0 = emb.weight.detach().numpy().copy()
    opt = optim.SparseAdam(emb.parameters(), lr=0.1)
    emb(bw.tensor([1, 1, 3])).sum().backward()
    opt.step()
    g = np.zeros((4, 2), np.float32)
    g[1], g[3] = 2.0, 1.0
    m, v = 0.1 * g, 0.001 * g * g
    step = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9)
    want = w0 - step * m / (np.sqrt(v) + 1e-8)
    got = emb.weight.detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_array_equal(got[[0, 2]], w0[[0, 2]])
    assert opt.state[emb.weight]["step"] == 1


@requires_torch
def test_sparse_adam_state_dict_interchanges_with_torch():
    _, topt, temb = trajectory(torch, "SparseAdam", dict(lr=0.05), BATCHES[:2])
    tsd = topt.state_dict()
    bemb = embedding(bw)
    with bw.no_grad():
        bemb.weight.copy_(bw.tensor(temb.weight.detach().numpy()))
    bopt = optim.SparseAdam(bemb.parameters(), lr=0.05)
    bopt.load_state_dict({
        "state": {k: {n: (bw.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v)
                      for n, v in st.items()} for k, st in tsd["state"].items()},
        "param_groups": tsd["param_groups"]})
    for batch in BATCHES[2:]:
        for lib, emb, opt in ((bw, bemb, bopt), (torch, temb, topt)):
            opt.zero_grad()
            loss(lib, emb, batch).backward()
            opt.step()
    np.testing.assert_allclose(bemb.weight.detach().numpy(), temb.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert bopt.state[bemb.weight]["step"] == topt.state[temb.weight]["step"] == 4
    back = pickle.loads(pickle.dumps(bopt.state_dict()))
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)


@requires_torch
@pytest.mark.parametrize("name,kw", [
    ("Adam", {}), ("AdamW", {}), ("RMSprop", {}),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1)),
])
def test_refusals_match_torch(name, kw):
    msgs = []
    for lib in (torch, bw):
        emb = embedding(lib)
        opt = getattr(lib.optim, name)(emb.parameters(), **kw)
        loss(lib, emb, BATCHES[0]).backward()
        with pytest.raises(RuntimeError) as e:
            opt.step()
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


@requires_torch
def test_sparse_adam_refusals_match_torch():
    for lib in (torch, bw):
        lin = lib.nn.Linear(2, 2)
        opt = lib.optim.SparseAdam(lin.parameters())
        lin(lib.ones(1, 2)).sum().backward()
        with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
            opt.step()
        for kw, msg in ((dict(lr=0.0), "Invalid learning rate: 0.0"),
                        (dict(eps=0.0), "Invalid epsilon value: 0.0"),
                        (dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0")):
            with pytest.raises(ValueError, match=msg):
                lib.optim.SparseAdam(lin.parameters(), **kw)
    s = bw.sparse_coo_tensor([[0]], [1.0], (2,), requires_grad=True)
    with pytest.raises(ValueError, match=r"Sparse params at indices \[\[0, 0\]\]"):
        optim.SparseAdam([s])
    assert optim.SparseAdam([bw.zeros(2, requires_grad=True)]).defaults == {
        "lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "maximize": False}


def test_sgd_and_sparse_adam_on_simcuda(sim_cuda):
    for name, kw in (("SGD", dict(lr=0.1, momentum=0.9)), ("SparseAdam", {})):
        cpu, _, _ = trajectory(bw, name, kw)
        emb = embedding(bw).to("cuda:1")
        opt = getattr(optim, name)(emb.parameters(), **kw)
        for batch in BATCHES:
            opt.zero_grad()
            x = bw.tensor(batch, device="cuda:1")
            w = (bw.arange(float(np.prod(np.shape(batch)) * 3)).reshape(*np.shape(batch), 3)
                 / 10).to("cuda:1")
            (emb(x) * w).pow(2).sum().backward()
            assert emb.weight.grad.is_sparse and emb.weight.grad.device == emb.weight.device
            opt.step()
        np.testing.assert_allclose(emb.weight.detach().cpu().numpy(), cpu[-1], rtol=1e-5,
                                   atol=1e-6)
