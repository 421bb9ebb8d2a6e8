"""brickwork.futures: then/wait/value/done, errors, work-backed futures, collect_all."""
import pytest

from brickwork.futures import Future, collect_all, wait_all


def test_then_chains_values_and_errors():
    f = Future()
    g = f.then(lambda x: x.value() * 2)
    assert not g.done()
    f.set_result(3)
    assert g.done() and g.wait() == 6
    bad = Future()
    h = bad.then(lambda x: x.value())
    bad.set_exception(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        h.wait()


def test_completed_once_and_callbacks_after_completion():
    f = Future()
    f.set_result(1)
    with pytest.raises(RuntimeError, match="only be marked completed once"):
        f.set_result(2)
    seen = []
    f.add_done_callback(lambda x: seen.append(x.value()))
    assert seen == [1]
    with pytest.raises(TypeError):
        Future().set_exception("not an exception")


def test_work_backed_future_settles_on_wait_and_runs_chains_once():
    calls = []
    work = Future._from_work(lambda: calls.append(1) or [5], lambda: True)
    child = work.then(lambda x: x.value()[0] + 1)
    assert child.done()  # the poll says the work finished: settling runs the chain
    assert child.wait() == 6 and work.wait() == [5] and calls == [1]
    failing = Future._from_work(lambda: 1 / 0, lambda: False)
    assert not failing.done()
    with pytest.raises(ZeroDivisionError):
        failing.then(lambda x: x.value()).wait()


def test_collect_all_and_wait_all():
    a, b = Future(), Future()
    both = collect_all([a, b])
    assert not both.done()
    a.set_result("x")
    b.set_result("y")
    assert both.done() and both.wait() == [a, b]
    assert wait_all([a, b]) == ["x", "y"]


def test_matches_torch_on_then_and_collect_all():
    torch = pytest.importorskip("torch")
    for lib in (torch.futures, __import__("brickwork").futures):
        f = lib.Future()
        g = f.then(lambda x: x.value() + 1)
        f.set_result(41)
        assert g.wait() == 42
        assert [x.wait() for x in lib.collect_all([f, g]).wait()] == [41, 42]
