"""The training stand-in gives back what the engine gives back, where the plugin's flows rely on it.

The tests of the plugin run on the stand-in (conftest.py); these check it against Keras
(marked `trains`) and check the properties those flows need: the shape of a run, its
determinism, what moves it, divergence, the halt and the progress callbacks.
"""

import dataclasses
import math

import pytest

from conftest import TINY_SUITE
from pytest_optcheck.engine.fashion_mnist import load_dataset
from pytest_optcheck.engine.standin import StandInEngine, step_size
from pytest_optcheck.engine.training import Engine, Halted, new_engine
from pytest_optcheck.environment import environment
from pytest_optcheck.spec.suite import load_suite, replace_profile


@pytest.fixture
def setup(tiny_data, tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SUITE.replace("learning_rate = 0.01", "learning_rate = 0.01, epsilon = 1e-7"))
    suite = load_suite(path)
    return suite, suite.profile("small"), load_dataset(tiny_data)


def diverging(suite, tmp_path):
    """The tiny suite with SGD at a learning rate that blows any run up in its first epoch."""
    path = tmp_path / "wild.toml"
    path.write_text(TINY_SUITE.replace("learning_rate = 0.001", "learning_rate = 1e30"))
    return load_suite(path)


def shape(run):
    """Everything about a run but its numbers."""
    return {
        "fields": {f.name for f in dataclasses.fields(run)},
        "history": {metric: len(values) for metric, values in run.history.items()},
        "types": {type(v) for values in run.history.values() for v in values} | {type(v) for v in run.test.values()},
        "test": sorted(run.test), "epoch_seconds": len(run.epoch_seconds),
        "scalars": (run.optimizer, run.seed, run.profile, run.epochs, run.train_samples, run.diverged_at, run.nudge),
        "environment": sorted(k for k in run.environment if k != "training"),
    }


@pytest.mark.trains
def test_a_stand_in_run_has_the_shape_of_a_keras_run(setup, tmp_path):
    suite, profile, dataset = setup
    real = Engine().train(suite, "adam", 1, profile, dataset, key="k", nudge=2)
    standing = StandInEngine().train(suite, "adam", 1, profile, dataset, key="k", nudge=2)
    assert shape(standing) == shape(real)


@pytest.mark.trains
def test_both_diverge_at_the_first_epoch_and_then_have_no_test_metrics(setup, tmp_path):
    suite, profile, dataset = setup
    wild = diverging(suite, tmp_path)
    for engine in (Engine(), StandInEngine()):
        run = engine.train(wild, "sgd", 0, profile, dataset)
        assert run.diverged_at == 1 and run.test is None and not math.isfinite(run.history["loss"][0]), engine


@pytest.mark.trains
@pytest.mark.parametrize("make", [Engine, StandInEngine])
def test_both_call_back_every_epoch_and_stop_at_an_epoch_end_when_halted(setup, make):
    suite, profile, dataset = setup
    engine, seen = make(), []
    engine.train(suite, "sgd", 0, profile, dataset, on_epoch=seen.append)
    assert seen == list(range(1, profile.epochs + 1))
    engine.halt_runs()
    with pytest.raises(Halted):
        engine.train(suite, "sgd", 0, profile, dataset)
    engine.halt_runs(False)
    assert not engine.halted


def test_the_same_run_twice_is_bit_identical_and_each_input_moves_it(setup, tmp_path):
    suite, profile, dataset = setup
    engine = StandInEngine()
    run = engine.train(suite, "adam", 0, profile, dataset)
    again = engine.train(suite, "adam", 0, profile, dataset)
    assert (again.history, again.test) == (run.history, run.test)  # every number but the seconds
    others = {
        "seed": engine.train(suite, "adam", 1, profile, dataset),
        "optimizer": engine.train(suite, "sgd", 0, profile, dataset),
        "nudge": engine.train(suite, "adam", 0, profile, dataset, nudge=1),
        "profile": engine.train(suite, "adam", 0, replace_profile(profile, epochs=3), dataset),
        "epsilon": engine.train(load_suite(_write(tmp_path, "eps", TINY_SUITE.replace(
            "learning_rate = 0.01", "learning_rate = 0.01, epsilon = 1e-5"))), "adam", 0, profile, dataset),
    }
    for what, other in others.items():
        assert other.history["loss"][:2] != run.history["loss"], what


def test_a_nudge_moves_a_run_less_than_another_seed(setup):
    suite, profile, dataset = setup
    engine = StandInEngine()
    run = engine.train(suite, "adam", 0, profile, dataset)
    nudged = engine.train(suite, "adam", 0, profile, dataset, nudge=1)
    other = engine.train(suite, "adam", 1, profile, dataset)

    def distance(a, b):
        return max(abs(x - y) for x, y in zip(a.history["loss"], b.history["loss"]))

    assert 0 < distance(run, nudged) < distance(run, other)


def test_a_larger_step_learns_faster_up_to_a_point_then_slower_then_diverges(setup, tmp_path):
    suite, profile, dataset = setup
    final = {}
    for rate in (0.0005, 0.005, 0.05, 0.5, 3.0):
        wild = load_suite(_write(tmp_path, f"r{rate}", TINY_SUITE.replace("learning_rate = 0.001",
                                                                          f"learning_rate = {rate}")))
        final[rate] = StandInEngine().train(wild, "sgd", 0, replace_profile(profile, epochs=5), dataset).history["loss"]
    assert final[0.0005][-1] > final[0.005][-1] > final[0.05][-1] < final[0.5][-1]
    assert not math.isfinite(final[3.0][-1])


def test_a_score_such_as_auc_rises_and_stays_at_most_one_as_accuracy_does(setup, tmp_path):
    _, profile, dataset = setup
    scored = load_suite(_write(tmp_path, "auc", TINY_SUITE.replace("[training]", '[training]\nmetrics = ["auc"]')))
    run = StandInEngine().train(scored, "adam", 0, replace_profile(profile, epochs=5), dataset)
    auc, loss = run.history["val_auc"], run.history["val_loss"]
    assert auc[-1] > auc[0] and max(auc) <= 1 and loss[-1] < loss[0]


def test_adaptive_classes_and_momentum_take_larger_steps_than_sgd_at_one_rate(setup):
    suite, _, _ = setup
    sgd = suite.optimizer("sgd")
    momentum = dataclasses.replace(sgd, kwargs={**sgd.kwargs, "momentum": 0.9})
    adam = dataclasses.replace(suite.optimizer("adam"), kwargs={"learning_rate": 0.001})
    assert step_size(sgd) < step_size(momentum) and step_size(sgd) < step_size(adam)


def test_its_runs_say_they_came_from_the_stand_in_and_the_switch_picks_it(monkeypatch):
    monkeypatch.setenv("OPTCHECK_STAND_IN", "1")
    assert environment()["training"] == "stand-in" and isinstance(new_engine(), StandInEngine)
    monkeypatch.delenv("OPTCHECK_STAND_IN")
    assert "training" not in environment() and isinstance(new_engine(), Engine)


def _write(folder, name, text):
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path
