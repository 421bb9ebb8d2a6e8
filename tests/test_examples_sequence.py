"""The book's recurrent and attention sections (examples/sequence/) run briefly on brickwork,
with the book's shape checks, and the very same code (only the imports swapped) on PyTorch,
whose result shapes must match."""
import math
import os
import sys
import types

import pytest

from helpers import torch

HERE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "sequence")
sys.path.insert(0, os.path.abspath(HERE))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, os.pardir, os.pardir)))

import _d2l  # noqa: E402
from examples.sequence import SECTIONS  # noqa: E402

NAMES = [f[:-3] for f, _ in SECTIONS]
# Language-model and translation sections train for one or two short epochs here; the others
# take no arguments.
KWARGS = {"s01_rnn_concise": {"epochs": 2}, "s02_lstm": {"epochs": 1}, "s03_gru": {"epochs": 1},
          "s04_deep_rnn": {"epochs": 1}, "s10_seq2seq": {"epochs": 2},
          "s11_bahdanau": {"epochs": 2}, "s12_transformer_mt": {"epochs": 2}}
# Sections whose returned losses must fall over their (few) epochs.
LEARNS = ("s01_rnn_concise", "s10_seq2seq", "s11_bahdanau", "s12_transformer_mt")
SWAP = [("import brickwork as torch\n", "import torch\n"),
        ("from brickwork import nn\n", "from torch import nn\n"),
        ("from brickwork.nn import functional as F\n", "from torch.nn import functional as F\n")]


def source(name):
    with open(os.path.join(HERE, name + ".py"), encoding="utf-8") as f:
        return f.read()


def load_all(lib):
    """Load every section's module for ``lib``, with the sections importing one another.

    For "torch" the import lines are swapped and nothing else; the modules are registered in
    sys.modules only while loading (later sections import earlier ones by plain name)."""
    saved = {n: sys.modules.pop(n) for n in NAMES if n in sys.modules}
    modules = {}
    try:
        for name in NAMES:
            text = source(name)
            if lib == "torch":
                for old, new in SWAP:
                    assert old in text, f"{name}: import line {old!r} not found"
                    text = text.replace(old, new)
            module = types.ModuleType(name)
            module.__file__ = os.path.join(HERE, name + ".py")
            sys.modules[name] = module
            exec(compile(text, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our code
            modules[name] = module
    finally:
        for name in NAMES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
    return modules


@pytest.fixture(scope="module")
def brickwork_modules():
    return load_all("brickwork")


@pytest.fixture(scope="module")
def torch_modules():
    if torch is None:
        pytest.skip("PyTorch is not installed")
    return load_all("torch")


def test_examples_use_brickwork_only(brickwork_modules):
    for name, module in brickwork_modules.items():
        assert module.torch.__name__ == "brickwork", name
        text = source(name)
        assert "import torch" not in text and "from d2l import" not in text, name


RESULTS = {}


def run(module, name, capsys):
    """``main()``'s result (shapes checked, losses), run once per library and section."""
    key = (module.torch.__name__, name)
    if key not in RESULTS:
        RESULTS[key] = module.main(**KWARGS.get(name, {}))
        capsys.readouterr()  # the sections print like the book's cells; keep the test log short
    return dict(RESULTS[key])


@pytest.mark.parametrize("name", NAMES)
def test_section_runs_on_brickwork(name, brickwork_modules, capsys):
    result = run(brickwork_modules[name], name, capsys)
    losses = result.pop("losses", None)
    if losses is not None:
        # An untrained model predicts near-uniformly: the first loss is about log(vocab size),
        # the character corpus's for the language models, the French vocabulary's for the
        # translation sections (which return its size).
        vocab = result.get("tgt_vocab", len(set(_d2l.CORPUS)))
        assert all(math.isfinite(v) for v in losses)
        assert abs(losses[0] - math.log(vocab)) < 0.5, (losses, vocab)
    if name in LEARNS:
        assert losses[-1] < losses[0], losses  # training lowers the loss
    assert result, "main() returns the shapes it checked"


@pytest.mark.parametrize("name", NAMES)
def test_same_code_same_shapes_on_torch(name, brickwork_modules, torch_modules, capsys):
    b = run(brickwork_modules[name], name, capsys)
    t = run(torch_modules[name], name, capsys)
    b.pop("losses", None)
    t.pop("losses", None)
    assert b == t


@pytest.mark.parametrize("name", ["s10_seq2seq", "s11_bahdanau", "s12_transformer_mt"])
def test_translation_on_the_gpu_path(name, brickwork_modules, capsys):
    """The book's trainer moves the model and batches to a GPU when there is one (num_gpus=1)
    and predict_step to ``d2l.try_gpu()``: on the simulated CUDA backend the translation
    sections run there, with the CPU run's shapes and losses."""
    import simcuda

    cpu = run(brickwork_modules[name], name, capsys)  # outside the simulated backend
    with simcuda.installed():
        assert brickwork_modules[name].d2l.try_gpu().type == "cuda"
        gpu = brickwork_modules[name].main(**KWARGS[name])
    capsys.readouterr()
    assert gpu.pop("losses") == pytest.approx(cpu.pop("losses"), rel=1e-4)
    assert gpu == cpu
