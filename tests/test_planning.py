"""plugin/planning.py: the runs selected items will ask for, counted before training and trained together."""

from pathlib import Path

import pytest

from conftest import TINY_SUITE

from pytest_optcheck.judge import evidence
from pytest_optcheck.plugin.planning import Needs, Planner
from pytest_optcheck.runs.progress import Progress
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.spec.suite import load_suite


@pytest.fixture
def tiny(tiny_suite, tiny_data, tmp_path):
    """`plan(at_once, updating, has_envelope)`: a planner over the tiny suite (sgd and adam on seeds 0-2,
    one claim at 95% that may add seeds up to 9) on the stand-in with no baselines stored, its needs planned
    and counted; the planner, its runner, and the lines of the runs it trained."""
    tiny_suite.write_text(TINY_SUITE.replace("seeds = [0, 1, 2]", "seeds = { first = 3, max = 9, group = 3 }")
                          .replace("confidence = 0.5\n", ""))  # at 95%, 3 seeds decide nothing
    suite = load_suite(tiny_suite)
    needs = Needs(runs={(Path(suite.path), name): suite for name in suite.optimizers},
                  noise=frozenset({(Path(suite.path), "sgd")}), claims=((suite, suite.claims[0]),))

    def plan(at_once: int = 2, updating: bool = False, has_envelope: bool = False):
        lines = []
        runner = Runner(tmp_path / f"cache-{at_once}", data_dir=tiny_data, at_once=at_once)
        runner.progress = Progress(lambda text, final: lines.append(text) if final else None, at_once=at_once)
        planner = Planner(runner, lambda s: s.profile(None), lambda: tmp_path / "baselines",
                          lambda path: has_envelope, updating)
        planner.plan(needs)
        planner.count_all()
        return planner, runner, lines

    return suite, plan


def test_every_run_a_check_will_ask_for_is_counted_before_anything_trains(tiny):
    suite, plan = tiny
    _, runner, lines = plan()
    # sgd and adam on 3 seeds, and both on the claim's seeds certain to be asked for beyond those.
    profile, claim = suite.profile(None), suite.claims[0]
    certain = evidence.seeds_certain(3, profile.seed_group, len(profile.seed_pool()), claim.probability_above,
                                     claim.confidence)
    assert certain > 3 and runner.progress.planned == 2 * 3 + 2 * (certain - 3)
    assert lines == []


def test_a_refresh_plans_the_nudged_reruns_of_a_curve_without_a_stored_envelope(tiny):
    _, plan = tiny
    checking = plan()[1].progress.planned
    assert plan(updating=True)[1].progress.planned == checking + 3 * 2  # sgd's 2 nudged reruns on 3 seeds
    assert plan(updating=True, has_envelope=True)[1].progress.planned == checking  # the stored one is kept


def test_one_run_at_a_time_plans_no_claim_seeds_and_trains_nothing_ahead(tiny):
    suite, plan = tiny
    planner, runner, lines = plan(at_once=1)
    assert runner.progress.planned == 2 * 3  # a claim's seeds are counted as it asks for them
    planner.train_planned(suite)
    assert lines == []  # each item trains its own runs as it asks


def test_the_planned_runs_train_together_once_and_are_then_cached(tiny):
    suite, plan = tiny
    planner, runner, lines = plan()
    planner.train_planned(suite)
    trained = len(lines)
    assert trained == runner.progress.planned
    planner.train_planned(suite)  # planned runs train once
    assert len(lines) == trained
    assert not runner.will_train(suite, "sgd", 0, suite.profile(None))


def test_tuned_runs_are_planned_and_counted_once(tiny):
    suite, plan = tiny
    planner, runner, _ = plan(at_once=1)
    before = runner.progress.planned
    planner.add_tuned(suite, suite)
    planner.add_tuned(suite, suite)
    assert runner.progress.planned == before + 2 * 3
