"""Runs trained side by side in threads: the same numbers as alone, failures in order, a clean stop."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from pytest_optcheck.engine.fashion_mnist import load_dataset
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.engine.training import Engine, Halted
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.runs.progress import Progress
from pytest_optcheck.runs.runner import SIDE_BY_SIDE, Runner, runs_at_once
from pytest_optcheck.spec.suite import load_suite


@pytest.fixture
def suite(tiny_suite):
    return load_suite(tiny_suite)


@pytest.mark.trains
def test_a_run_trained_side_by_side_has_the_numbers_it_has_alone(suite, tiny_data, tmp_path):
    """Seeds, optimizers and a nudged rerun, two at a time, against each trained alone on a fresh build.

    Every run seeds the process, builds and shuffles while others train: without its seeding
    turn, a companion's seeding lands inside it and it trains on another seed's weights or order.
    """
    profile = suite.profile("small")
    wanted = [(name, seed, None) for name in ("adam", "sgd") for seed in (0, 1, 2, 3)] + [("adam", 1, 2)]
    lines = []
    runner = Runner(tmp_path / "cache", data_dir=tiny_data, at_once=2)
    runner.progress = Progress(lambda text, final: lines.append(text), at_once=2)
    together = runner.run_many(suite, profile, wanted)
    assert runner.at_once == 2 and any("; runs " in line for line in lines)  # "runs 3-4 of ~9": two at once

    dataset = load_dataset(tiny_data)
    for (name, seed, nudge), run in zip(wanted, together):
        alone = Engine(reference=True).train(suite, name, seed, profile, dataset, nudge=nudge)
        assert (run.optimizer, run.seed, run.nudge) == (name, seed, nudge)
        assert run.history == alone.history, f"{name} seed {seed} nudge {nudge}"
        assert run.test == alone.test


class FailingEngine(Engine):
    """A stand-in for training: a short sleep (so runs overlap), then a run, or an error for one seed."""

    def __init__(self, failing_seed: int):
        super().__init__()
        self.failing_seed = failing_seed
        self.calls: list[int] = []

    def train(self, suite, optimizer, seed, profile, dataset, *, key="", nudge=None, on_epoch=None):
        self.calls.append(seed)
        time.sleep(0.05)
        if seed == self.failing_seed:
            raise OptcheckError(f"seed {seed} cannot train")
        history = {m: [0.5] for m in suite.training.epoch_metrics}
        return RunResult(optimizer, seed, profile.name, 1, 10, history, [0.1], None, None, {}, key=key, nudge=nudge)


def test_a_failing_run_raises_in_order_once_the_others_are_trained_and_kept(suite, tiny_data, tmp_path, monkeypatch):
    engine = FailingEngine(1)
    calls = engine.calls
    monkeypatch.setattr("pytest_optcheck.engine.names.check_before_training", lambda suite, optimizer: None)
    runner = Runner(tmp_path / "cache", data_dir=tiny_data, at_once=2, engine=engine)
    profile = suite.profile("small")
    with pytest.raises(OptcheckError, match="seed 1 cannot train"):
        runner.run_many(suite, profile, [("sgd", seed, None) for seed in (0, 1, 2, 3)])
    assert sorted(calls) == [0, 1, 2, 3]  # the failing run trained once, its error raised in order
    assert all(runner.is_cached(suite, "sgd", seed, profile) for seed in (0, 2, 3))
    assert not runner.is_cached(suite, "sgd", 1, profile)
    # Nor will it train again, so a claim that asks for it later does not count it into the progress line.
    assert not runner.will_train(suite, "sgd", 1, profile) and runner.will_train(suite, "sgd", 4, profile)
    with pytest.raises(OptcheckError, match="seed 1 cannot train"):  # asked again: the same error, no training
        runner.run(suite, "sgd", 1, profile)
    assert len(calls) == 4


def test_a_halt_stops_a_run_at_the_end_of_its_epoch_and_caches_nothing(suite, tiny_data, tmp_path):
    runner = Runner(tmp_path / "cache", data_dir=tiny_data)
    profile = suite.profile("small")
    runner.engine.halt_runs()
    try:
        with pytest.raises(Halted, match="after epoch 1"):
            runner.run(suite, "sgd", 0, profile)
    finally:
        runner.engine.halt_runs(False)
    assert not runner.is_cached(suite, "sgd", 0, profile)
    assert len(runner.run(suite, "sgd", 0, profile).history["loss"]) == profile.epochs  # trains again afterwards


def test_ctrl_c_while_runs_train_side_by_side_halts_them(suite, tiny_data, tmp_path, monkeypatch):
    """The waiting thread is interrupted; the runs stop at their next epoch and nothing is cached."""
    started = threading.Event()

    class SlowEngine(Engine):
        def train(self, suite, optimizer, seed, profile, dataset, *, key="", nudge=None, on_epoch=None):
            started.set()
            for _ in range(200):  # an epoch every 10 ms, each ending where a halt is noticed
                time.sleep(0.01)
                if self.halted:
                    raise Halted("stopped")
            raise AssertionError("the run was never halted")

    monkeypatch.setattr("pytest_optcheck.engine.names.check_before_training", lambda suite, optimizer: None)
    engine = SlowEngine()
    runner = Runner(tmp_path / "cache", data_dir=tiny_data, at_once=2, engine=engine)
    profile = suite.profile("small")

    def interrupted(future, timeout=None):  # Ctrl-C lands while the caller waits for the first run
        started.wait(5)
        raise KeyboardInterrupt

    monkeypatch.setattr(Future, "exception", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run_many(suite, profile, [("sgd", seed, None) for seed in (0, 1, 2)])
    monkeypatch.undo()
    assert not engine.halted  # runs may train again
    assert not any(runner.is_cached(suite, "sgd", seed, profile) for seed in (0, 1, 2))


@pytest.mark.parametrize("backend, worker, asked, expected", [
    ("tensorflow", None, None, SIDE_BY_SIDE),
    ("tensorflow", None, 3, 3),
    ("tensorflow", "gw0", None, 1),
    ("tensorflow", "gw0", 2, 2),
    ("jax", None, None, 1),
    ("jax", None, 4, 1),
])
def test_how_many_runs_train_at_once(monkeypatch, backend, worker, asked, expected):
    monkeypatch.setenv("KERAS_BACKEND", backend)
    if worker:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    else:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert runs_at_once(asked) == expected
