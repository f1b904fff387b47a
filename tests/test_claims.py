from types import SimpleNamespace

import pytest

from pytest_optcheck.claims import ClaimSpec, judge, verdict_over_seeds


def run(loss, diverged_at=None):
    return SimpleNamespace(history={"loss": loss, "accuracy": [1 - v for v in loss]}, diverged_at=diverged_at)


def claim(**fields):
    base = dict(id="c", quote="q", reading="", kind="ordering", better=("a",), worse=("b",))
    return ClaimSpec(**{**base, **fields})


def test_ordering_margin_is_signed_in_metric_units():
    runs = {"a": {0: run([0.9, 0.5]), 1: run([0.9, 0.7])}, "b": {0: run([0.8, 0.6]), 1: run([0.8, 0.6])}}
    verdict = judge(claim(), runs, [0, 1], epochs=2)
    assert verdict.margins == pytest.approx({0: 0.1, 1: -0.1})
    assert verdict.verdict == "inconclusive" and verdict.seeds_holding == 1
    assert verdict.mean == pytest.approx(0.0)


def test_accuracy_higher_is_better_and_epoch_can_be_chosen():
    runs = {"a": {0: run([0.5, 0.9])}, "b": {0: run([0.6, 0.3])}}
    assert judge(claim(metric="accuracy"), runs, [0], 2).verdict == "fails"  # final: 0.1 < 0.7
    assert judge(claim(metric="accuracy", epoch=1), runs, [0], 2).verdict == "holds"  # epoch 1: 0.5 > 0.4


def test_groups_need_every_pair():
    runs = {"a": {0: run([0.2])}, "c": {0: run([0.5])}, "b": {0: run([0.4])}}
    verdict = judge(claim(kind="groups", better=("a", "c")), runs, [0], 1)
    assert verdict.verdict == "fails" and verdict.margins[0] == pytest.approx(-0.1)


def test_faster_by_mean_of_first_epochs_and_by_target():
    runs = {"a": {0: run([0.5, 0.4, 0.4])}, "b": {0: run([0.9, 0.5, 0.1])}}
    assert judge(claim(kind="faster", first_epochs=2), runs, [0], 3).margins[0] == pytest.approx(0.25)
    by_target = judge(claim(kind="faster", target=0.45), runs, [0], 3)
    assert by_target.margins[0] == 1 and by_target.verdict == "holds"  # epoch 2 against epoch 3


def test_close_allows_a_small_deficit():
    runs = {"a": {0: run([0.505])}, "b": {0: run([0.5])}}
    assert judge(claim(kind="close", within=0.01), runs, [0], 1).verdict == "holds"
    assert judge(claim(kind="close", within=0.001), runs, [0], 1).verdict == "fails"


def test_diverged_run_loses_its_comparisons():
    runs = {"a": {0: run([float("nan")], diverged_at=1)}, "b": {0: run([0.5])}}
    verdict = judge(claim(), runs, [0], 1)
    assert verdict.verdict == "fails" and verdict.margins[0] is None and "a diverged" in verdict.notes[0]
    assert judge(claim(better=("b",), worse=("a",)), runs, [0], 1).verdict == "holds"


@pytest.mark.parametrize("holding, quorum, expected", [
    ([True, True, True], 1.0, "holds"),
    ([False, False, False], 1.0, "fails"),
    ([True, True, False], 1.0, "inconclusive"),
    ([True, True, False], 0.6, "holds"),
    ([True, False, False], 0.6, "fails"),
    ([True, False], 0.6, "inconclusive"),
])
def test_quorum(holding, quorum, expected):
    assert verdict_over_seeds(holding, quorum) == expected
