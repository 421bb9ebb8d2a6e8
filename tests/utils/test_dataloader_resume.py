"""Resuming a DataLoader mid-epoch: the interrupted epoch's remaining batches, in order."""
import numpy as np
import pytest

import brickwork as bw
from brickwork.training import Checkpointer
from brickwork.utils.data import DataLoader, TensorDataset


def _data(n=50):
    return TensorDataset(bw.arange(n).float().unsqueeze(1), bw.arange(n))


def _ids(batches):
    return [b[1].tolist() for b in batches]


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("own_generator", [False, True])
def test_resumed_epoch_yields_the_rest_in_the_same_order(num_workers, own_generator):
    def loader():
        g = bw.Generator().manual_seed(7) if own_generator else None
        return DataLoader(_data(), batch_size=8, shuffle=True, generator=g,
                          num_workers=num_workers)

    bw.manual_seed(3)
    ref = loader()
    first = _ids(ref)
    second = _ids(ref)
    bw.manual_seed(3)
    a = loader()
    it = iter(a)
    head = [next(it)[1].tolist() for _ in range(3)]
    state, rng = a.state_dict(), bw.get_rng_state()
    del it, a
    bw.manual_seed(99)  # a fresh process would start elsewhere
    b = loader()
    if own_generator:
        b.generator.set_state(bw.Generator().manual_seed(12345).get_state())
    bw.set_rng_state(rng)
    b.load_state_dict(state)
    rest = _ids(b)
    assert head + rest == first
    assert state["batches_yielded"] == 3
    if not own_generator:  # the default generator's epoch-2 draw matches the first run's
        assert _ids(b) == second


def test_state_dict_validation():
    with pytest.raises(ValueError, match="batches_yielded"):
        DataLoader(_data(), batch_size=4).load_state_dict({"oops": 1})


def _train(ckpt_dir, stop_after=None, resume=False, total_epochs=3):
    """SGD on shuffled batches with checkpoints every 2 steps; optionally stop early."""
    bw.manual_seed(0)
    X = bw.randn(40, 3)
    y = (X.sum(1) > 0).long()
    net = bw.nn.Linear(3, 2)
    opt = bw.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(TensorDataset(X, y), batch_size=6, shuffle=True)
    ckpt = Checkpointer(ckpt_dir, keep_last=2, every=2)
    step, epoch = 0, 0
    if resume:
        info = ckpt.restore(net, opt, loader=loader)
        step, epoch = info["step"], info["epoch"]
    while epoch < total_epochs:
        for xb, yb in loader:
            opt.zero_grad()
            bw.nn.functional.cross_entropy(net(xb), yb).backward()
            opt.step()
            step += 1
            ckpt.step(step, net, opt, epoch=epoch, loader=loader)
            if step == stop_after:
                return None
        epoch += 1
    return net.weight.detach().numpy().copy(), net.bias.detach().numpy().copy()


def test_mid_epoch_kill_and_resume_is_bit_identical(tmp_path):
    full = _train(tmp_path / "full")
    assert _train(tmp_path / "split", stop_after=10) is None  # 7 batches an epoch: mid-epoch 2
    resumed = _train(tmp_path / "split", resume=True)
    np.testing.assert_array_equal(full[0], resumed[0])
    np.testing.assert_array_equal(full[1], resumed[1])
