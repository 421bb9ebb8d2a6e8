"""optim.swa_utils against PyTorch: AveragedModel (SWA, EMA by per-tensor and multi-tensor
functions, with and without buffers), update_bn, SWALR's lr sequence and state_dict."""
import numpy as np
import pytest

import brickwork

torch = pytest.importorskip("torch")


def _net(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.BatchNorm1d(6), lib.nn.ReLU(),
                             lib.nn.Linear(6, 2)).double()


def _copy_weights(src_torch, dst):
    dst.load_state_dict({k: brickwork.tensor(v.detach().numpy().copy())
                         for k, v in src_torch.state_dict().items()})


def _run(lib, tnet_init, kind, use_buffers):
    net = _net(lib)
    if lib is brickwork:
        _copy_weights(tnet_init, net)
    else:
        net.load_state_dict(tnet_init.state_dict())
    kw = {"use_buffers": use_buffers}
    if kind == "ema_multi":
        kw["multi_avg_fn"] = lib.optim.swa_utils.get_ema_multi_avg_fn(0.9)
    elif kind == "ema":
        kw["avg_fn"] = lib.optim.swa_utils.get_ema_avg_fn(0.8)
    elif kind == "swa_fn":
        kw["avg_fn"] = lib.optim.swa_utils.get_swa_avg_fn()
    avg = lib.optim.swa_utils.AveragedModel(net, **kw)
    opt = lib.optim.SGD(net.parameters(), lr=0.1)
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = lib.tensor(rng.standard_normal((8, 4)))
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.step()
        avg.update_parameters(net)
    loader = [lib.tensor(rng.standard_normal((8, 4))) for _ in range(3)]
    lib.optim.swa_utils.update_bn(loader, avg)
    return {k: v.detach().numpy().copy() for k, v in avg.state_dict().items()}


@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema", "swa_fn"])
@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_matches_torch(kind, use_buffers):
    tnet = _net(torch)
    want = _run(torch, tnet, kind, use_buffers)
    got = _run(brickwork, tnet, kind, use_buffers)
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 5])
def test_swalr_sequence_and_state_dict(strategy, anneal_epochs):
    def run(lib, restart_at=None):
        p = lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.5)
        sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=anneal_epochs,
                                          anneal_strategy=strategy)
        lrs = []
        for i in range(12):
            if i == restart_at:
                state = sched.state_dict()
                opt_state = opt.state_dict()
                opt = lib.optim.SGD([p], lr=0.5)
                opt.load_state_dict(opt_state)
                sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.05)
                sched.load_state_dict(state)
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        return lrs
    want = run(torch)
    np.testing.assert_allclose(run(brickwork), want, rtol=1e-15)
    np.testing.assert_allclose(run(brickwork, restart_at=4), want, rtol=1e-15)


def test_errors_as_torch():
    for lib in (brickwork, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        with pytest.raises(ValueError, match="anneal_strategy must be one of"):
            lib.optim.swa_utils.SWALR(opt, 0.1, anneal_strategy="exp")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
            lib.optim.swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)
        with pytest.raises(ValueError, match="Invalid decay value 1.5"):
            lib.optim.swa_utils.get_ema_multi_avg_fn(1.5)
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
            lib.optim.swa_utils.AveragedModel(lib.nn.Linear(1, 1), avg_fn=lambda *a: a[0],
                                              multi_avg_fn=lambda *a: None)


def test_running_mean_without_torch():
    net = brickwork.nn.Linear(3, 1)
    avg = brickwork.optim.swa_utils.AveragedModel(net)
    seen = []
    for i in range(4):
        with brickwork.no_grad():
            net.weight.fill_(float(i))
        seen.append(float(i))
        avg.update_parameters(net)
    np.testing.assert_allclose(avg.module.weight.detach().numpy(), np.mean(seen))
    assert int(avg.n_averaged) == 4
