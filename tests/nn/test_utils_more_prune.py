"""torch.nn.utils.prune compared with PyTorch (masks, layout, outputs, gradients, removal,
errors), plus NumPy-only checks of the random methods."""
import numpy as np
import pytest

import brickwork
import brickwork.nn as nn
from tests.helpers import assert_close, requires_torch, torch
from tests.nn.test_utils_more import _compare_forward_backward, _pair, _round_trip, _same_layout


# -- prune -------------------------------------------------------------------------------------
def _distinct_linear(lib, out_f=4, in_f=6, seed=0):
    """A Linear whose weight entries have distinct magnitudes (so rankings have no ties)."""
    m = lib.nn.Linear(in_f, out_f)
    vals = np.random.default_rng(seed).permutation(out_f * in_f).astype(np.float32) + 1
    signs = np.where(np.random.default_rng(seed + 1).random(out_f * in_f) > 0.5, 1, -1)
    with lib.no_grad():
        m.weight.copy_(lib.tensor((vals * signs / 10).reshape(out_f, in_f).astype(np.float32)))
        m.bias.copy_(lib.tensor(np.linspace(-1, 1, out_f).astype(np.float32)))
    return m


def _prune(lib):
    import torch.nn.utils.prune as tprune

    import brickwork.nn.utils.prune as bprune
    return tprune if lib is torch else bprune


@requires_torch
@pytest.mark.parametrize("how", ["l1", "l1_count", "ln", "ln_inf", "chain", "identity",
                                 "custom", "scores"])
def test_prune_matches_torch(how):
    def apply(lib, m):
        pr = _prune(lib)
        if how == "l1":
            pr.l1_unstructured(m, "weight", amount=0.3)
        elif how == "l1_count":
            pr.l1_unstructured(m, "bias", amount=2)
        elif how == "ln":
            pr.ln_structured(m, "weight", amount=0.5, n=2, dim=0)
        elif how == "ln_inf":
            pr.ln_structured(m, "weight", amount=2, n=float("inf"), dim=-1)
        elif how == "chain":  # a PruningContainer: structured, then unstructured on what's left
            pr.ln_structured(m, "weight", amount=1, n=1, dim=0)
            pr.l1_unstructured(m, "weight", amount=0.25)
            pr.ln_structured(m, "weight", amount=2, n=2, dim=1)
        elif how == "identity":
            pr.identity(m, "weight")
        elif how == "custom":
            pr.custom_from_mask(m, "weight", mask=lib.tensor(np.arange(24).reshape(4, 6) % 3 > 0))
        elif how == "scores":
            scores = lib.tensor(np.arange(24.0, dtype=np.float32).reshape(4, 6)[::-1].copy())
            pr.l1_unstructured(m, "weight", amount=5, importance_scores=scores)
        return m
    b, t = _pair(_distinct_linear, apply)
    _same_layout(b, t)
    assert_close(b.weight_mask if hasattr(t, "weight_mask") else b.bias_mask,
                 t.weight_mask if hasattr(t, "weight_mask") else t.bias_mask)
    _compare_forward_backward(b, t, (3, 6))
    _round_trip(b, t)
    assert _prune(brickwork).is_pruned(b)
    name = "bias" if how == "l1_count" else "weight"
    _prune(brickwork).remove(b, name)
    _prune(torch).remove(t, name)
    _same_layout(b, t)
    assert not _prune(brickwork).is_pruned(b)
    assert isinstance(getattr(b, name), nn.Parameter)
    assert_close(getattr(b, name), getattr(t, name))


@requires_torch
def test_prune_global_unstructured():
    def apply(lib, m):
        pr = _prune(lib)
        pr.l1_unstructured(m[0], "weight", amount=3)
        pr.global_unstructured([(m[0], "weight"), (m[1], "weight"), (m[1], "bias")],
                               pruning_method=pr.L1Unstructured, amount=0.4)
        return m
    b, t = _pair(lambda lib: lib.nn.Sequential(_distinct_linear(lib, 4, 6, 0),
                                               _distinct_linear(lib, 2, 4, 5)), apply)
    _same_layout(b, t)
    for k in ("0.weight_mask", "1.weight_mask", "1.bias_mask"):
        assert_close(b.state_dict()[k], t.state_dict()[k], what=k)
    _compare_forward_backward(b, t, (3, 6))


@requires_torch
def test_prune_errors():
    for fn in [lambda lib: _prune(lib).l1_unstructured(lib.nn.Linear(2, 2), "weight", amount=5),
               lambda lib: _prune(lib).l1_unstructured(lib.nn.Linear(2, 2), "weight", amount=1.5),
               lambda lib: _prune(lib).l1_unstructured(lib.nn.Linear(2, 2), "weight", amount="a"),
               lambda lib: _prune(lib).ln_structured(lib.nn.Linear(2, 2), "bias", 1, 2, 0),
               lambda lib: _prune(lib).ln_structured(lib.nn.Linear(2, 2), "weight", 1, 2, 3),
               lambda lib: _prune(lib).remove(lib.nn.Linear(2, 2), "weight"),
               lambda lib: _prune(lib).global_unstructured(
                   [(lib.nn.Linear(2, 2), "weight")], _prune(lib).LnStructured, amount=1, n=2)]:
        with pytest.raises(Exception) as t_exc:
            fn(torch)
        with pytest.raises(Exception) as b_exc:
            fn(brickwork)
        assert type(b_exc.value).__name__ == type(t_exc.value).__name__
        if "Linear" not in str(t_exc.value):  # module reprs differ only in the class path
            assert str(b_exc.value) == str(t_exc.value).replace("torch.", "brickwork.")
    m = nn.Linear(2, 2)
    w = m.weight
    with pytest.raises(ValueError):
        _prune(brickwork).l1_unstructured(m, "weight", amount=9)
    # the failed prune is undone (the weight re-registered last, as in PyTorch)
    assert m.weight is w and list(m.state_dict()) == ["bias", "weight"]


def test_prune_random_numpy():
    import brickwork.nn.utils.prune as prune

    brickwork.manual_seed(0)
    m = prune.random_unstructured(nn.Linear(5, 4), "weight", amount=0.35)
    mask = m.weight_mask.numpy()
    assert mask.dtype == np.float32 and int((mask == 0).sum()) == 7
    np.testing.assert_array_equal(m.weight.detach().numpy(),
                                  m.weight_orig.detach().numpy() * mask)
    m = prune.random_structured(nn.Conv2d(2, 6, 3), "weight", amount=2, dim=0)
    per_channel = m.weight_mask.numpy().reshape(6, -1)
    assert sorted(per_channel.min(1) == per_channel.max(1)) == [True] * 6
    assert int((per_channel.max(1) == 0).sum()) == 2
    out = m(brickwork.ones(1, 2, 3, 3))
    zeroed = np.where(per_channel.max(1) == 0)[0]
    np.testing.assert_allclose(out.detach().numpy()[0, zeroed, 0, 0],
                               m.bias.detach().numpy()[zeroed], rtol=1e-6)
    out.sum().backward()
    np.testing.assert_array_equal(m.weight_orig.grad.numpy().reshape(6, -1)[zeroed], 0)
    # the pre-hook recomputes the weight from a changed original
    with brickwork.no_grad():
        m.weight_orig.fill_(1.0)
    m(brickwork.ones(1, 2, 3, 3))
    np.testing.assert_array_equal(m.weight.detach().numpy(), m.weight_mask.numpy())
