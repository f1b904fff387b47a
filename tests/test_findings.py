"""plugin/findings.py: what items found, merged from workers, read per suite and profile."""

from pytest_optcheck.baselines.compare import CurveStatus
from pytest_optcheck.plugin.findings import Findings, ItemKey


def test_a_later_curve_finding_replaces_an_earlier_one_and_merging_adds_a_workers():
    mine, theirs = Findings(), Findings()
    mine.curve(ItemKey("s", "ci", "sgd"), CurveStatus.CHANGED)
    mine.curve(ItemKey("s", "ci", "sgd"), CurveStatus.UPDATED)
    theirs.curve(ItemKey("s", "ci", "adam"), CurveStatus.IDENTICAL)
    theirs.other_environment("keras: 3.6 -> 3.13", "adam.json", ItemKey("s", "ci", "adam"))
    mine.other_environment("keras: 3.6 -> 3.13", "sgd.json", ItemKey("s", "ci", "sgd"))
    mine.merge(theirs)
    assert mine.curves == {ItemKey("s", "ci", "sgd"): CurveStatus.UPDATED, ItemKey("s", "ci", "adam"): CurveStatus.IDENTICAL}
    assert set(mine.environments["keras: 3.6 -> 3.13"]) == {"sgd.json", "adam.json"}


def test_the_first_item_to_say_a_suite_cannot_train_is_the_one_named():
    found = Findings()
    found.cannot_train("suites/a.toml", "suites/a.toml::curve[sgd]")
    found.cannot_train("suites/a.toml", "suites/a.toml::epoch_time[sgd]")
    assert found.setup_failures == {"suites/a.toml": "suites/a.toml::curve[sgd]"}


def test_a_suite_and_profiles_findings_are_read_by_name_and_no_other_profiles():
    found = Findings()
    for profile in ("ci", "smoke"):
        found.measure(ItemKey("s", profile, "sgd"), profile)  # any record will do here
    found.measure(ItemKey("other", "ci", "sgd"), "other")
    measured, judged = found.of("s", "ci")
    assert measured == {"sgd": "ci"} and judged == {}


def test_statuses_that_fail_and_their_report_words():
    assert {s for s in CurveStatus if s.failed} == {CurveStatus.CHANGED, CurveStatus.OUTSIDE_TOLERANCE}
    assert CurveStatus.MISSING.in_report == "no baseline" and CurveStatus.IDENTICAL.in_report == "identical"
