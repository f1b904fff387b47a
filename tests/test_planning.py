"""plugin/planning.py: the runs selected items will ask for, counted before training and trained together."""

from pathlib import Path

import pytest

from pytest_optcheck.plugin.planning import Needs, Planner
from pytest_optcheck.runs.progress import Progress
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.spec.suite import load_suite


@pytest.fixture
def planned(tiny_suite, tiny_data, tmp_path):
    """A planner over the tiny suite (sgd and adam on seeds 0-2, one claim) on the stand-in, no baselines stored."""
    suite = load_suite(tiny_suite)
    lines = []
    runner = Runner(tmp_path / "cache", data_dir=tiny_data, at_once=2)
    runner.progress = Progress(lambda text, final: lines.append(text) if final else None, at_once=2)

    def planner(updating: bool) -> Planner:
        return Planner(runner, lambda s: s.profile(None), lambda: tmp_path / "baselines", lambda path: False, updating)

    needs = Needs(runs={(Path(suite.path), name): suite for name in suite.optimizers},
                  noise=frozenset({(Path(suite.path), "sgd")}), claims=((suite, suite.claims[0]),))
    return suite, runner, planner, needs, lines


def test_every_run_a_check_will_ask_for_is_counted_before_anything_trains(planned):
    suite, runner, planner, needs, _ = planned
    checking = planner(updating=False)
    checking.plan(needs)
    checking.count_all()
    # sgd and adam on 3 seeds, and the claim's seeds certain to be asked for beyond those.
    assert runner.progress.planned >= 6


def test_a_refresh_plans_the_nudged_reruns_of_a_curve_without_a_stored_envelope(planned):
    _, runner, planner, needs, _ = planned
    checking, refreshing = planner(updating=False), planner(updating=True)
    checking.plan(needs)
    checking.count_all()
    before = runner.progress.planned
    refreshing.plan(needs)
    refreshing.count_all()
    assert runner.progress.planned - before == before + 3 * 2  # sgd's 2 nudged reruns on each of 3 seeds


def test_the_planned_runs_train_together_once_and_are_then_cached(planned):
    suite, runner, planner, needs, lines = planned
    checking = planner(updating=False)
    checking.plan(needs)
    checking.count_all()
    checking.train_planned(suite)
    trained = len(lines)
    assert trained == runner.progress.planned
    checking.train_planned(suite)  # planned runs train once
    assert len(lines) == trained
    assert not runner.will_train(suite, "sgd", 0, suite.profile(None))
