from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_optcheck.baselines.store import verdict_record
from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.judge.claims import describe, judge
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.spec.suite import load_suite


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
    assert judge(claim(metric="accuracy"), runs, [0], 2).holding == {0: False}  # final: 0.1 < 0.7
    assert judge(claim(metric="accuracy", epoch=1), runs, [0], 2).holding == {0: True}  # epoch 1: 0.5 > 0.4


def test_groups_need_every_pair():
    runs = {"a": {0: run([0.2])}, "c": {0: run([0.5])}, "b": {0: run([0.4])}}
    verdict = judge(claim(kind="groups", better=("a", "c")), runs, [0], 1)
    assert not verdict.holding[0] and verdict.margins[0] == pytest.approx(-0.1)


def test_faster_by_mean_of_first_epochs_and_by_target():
    runs = {"a": {0: run([0.5, 0.4, 0.4])}, "b": {0: run([0.9, 0.5, 0.1])}}
    assert judge(claim(kind="faster", first_epochs=2), runs, [0], 3).margins[0] == pytest.approx(0.25)
    by_target = judge(claim(kind="faster", target=0.45), runs, [0], 3)
    assert by_target.margins[0] == 1 and by_target.holding[0]  # epoch 2 against epoch 3


def test_close_allows_a_small_deficit():
    runs = {"a": {0: run([0.505])}, "b": {0: run([0.5])}}
    assert judge(claim(kind="close", within=0.01), runs, [0], 1).holding[0]
    assert not judge(claim(kind="close", within=0.001), runs, [0], 1).holding[0]


def test_diverged_run_loses_its_comparisons():
    runs = {"a": {0: run([float("nan")], diverged_at=1)}, "b": {0: run([0.5])}}
    verdict = judge(claim(), runs, [0], 1)
    assert not verdict.holding[0] and verdict.margins[0] is None and "a diverged" in verdict.notes[0]
    assert judge(claim(better=("b",), worse=("a",)), runs, [0], 1).holding[0]


def test_the_smallest_margin_that_matters_is_taken_off_each_seed():
    runs = {"a": {0: run([0.50]), 1: run([0.45])}, "b": {0: run([0.505]), 1: run([0.5])}}
    verdict = judge(claim(by=0.01), runs, [0, 1], 1)
    assert verdict.margins == pytest.approx({0: -0.005, 1: 0.04}) and verdict.holding == {0: False, 1: True}


def seeds_of(loss_a, loss_b):
    return ({"a": {s: run([a]) for s, a in enumerate(loss_a)}, "b": {s: run([b]) for s, b in enumerate(loss_b)}},
            list(range(len(loss_a))))


def test_three_unanimous_seeds_are_not_enough_to_decide_seven_are():
    runs, seeds = seeds_of([0.4] * 3, [0.5] * 3)
    three = judge(claim(), runs, seeds, 1)
    assert three.verdict == "inconclusive" and three.evidence.seeds_needed == 7
    assert "would take 7 seeds (4 more)" in describe(three, "loss")
    runs, seeds = seeds_of([0.4] * 7, [0.5] * 7)
    seven = judge(claim(), runs, seeds, 1)
    assert seven.verdict == "holds" and seven.evidence.low > 0.5
    runs, seeds = seeds_of([0.5] * 7, [0.4] * 7)
    assert judge(claim(), runs, seeds, 1).verdict == "fails"


def test_a_claim_may_ask_for_more_than_more_often_than_not():
    runs, seeds = seeds_of([0.4] * 7, [0.5] * 7)
    assert judge(claim(probability_above=0.6), runs, seeds, 1).verdict == "inconclusive"  # [0.52, 1]
    assert judge(claim(confidence=0.99), runs, seeds, 1).verdict == "inconclusive"


def test_the_record_carries_estimate_interval_level_and_method():
    runs, seeds = seeds_of([0.4, 0.45, 0.6], [0.5] * 3)
    record = verdict_record(judge(claim(), runs, seeds, 1), "q", "hash")
    assert record.probability == pytest.approx(2 / 3) and record.level == 0.95
    assert record.interval[0] < 0.5 < record.interval[1] and "martingale" in record.method
    assert record.margin_interval == pytest.approx((-0.1, 0.1)) and record.margin_interval_coverage == 0.75


def test_an_unknown_claim_key_is_named_with_the_keys_a_claim_takes(tmp_path):
    text = (Path(__file__).parents[1] / "suites" / "article.toml").read_text().replace('id = "nadam-beats-adam"', 'id = "nadam-beats-adam"\nquorum = 0.6')
    (tmp_path / "old.toml").write_text(text)
    with pytest.raises(OptcheckError, match=r"claims\[nadam-beats-adam\]\.quorum: unknown key; expected one of: .*probability_above"):
        load_suite(tmp_path / "old.toml")
