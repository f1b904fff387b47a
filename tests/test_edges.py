"""Edges a team meets on a bad day, each with what the harness now does (docs/reference/edges.md)."""

import json

from conftest import TINY_SUITE
from conftest import baseline, has_lines

ONE_OPTIMIZER = TINY_SUITE[: TINY_SUITE.index("[optimizers.adam]")].replace(
    "[profiles.other]\ntrain_samples = 100\nepochs = 1\nseeds = [3]\n", "")


def test_a_suite_with_one_optimizer_no_claims_and_one_seed(project):
    suite = ONE_OPTIMIZER.replace("seeds = [0, 1, 2]\nnoise_reruns = 2", "seeds = [0]\nnoise_reruns = 2")
    project.makefile(".toml", **{"suites/tiny": suite})
    project.run_optcheck("--optcheck-update", "--optcheck-report", "summary.md").assert_outcomes(passed=1)
    again = project.run_optcheck("--optcheck-report", "summary.md")
    again.assert_outcomes(passed=1)
    has_lines(again, "every curve is bit-identical to its baseline")
    report = (project.path / "summary.md").read_text()
    assert "No claim was judged." in report and "**Seeds:** 0" in report


def test_a_baseline_from_a_newer_harness_says_upgrade(project):
    project.run_optcheck("--optcheck-update")
    data = json.loads(baseline(project, "sgd").read_text())
    baseline(project, "sgd").write_text(json.dumps({**data, "format": 2}))
    result = project.run_optcheck("-k", "curve[sgd]")
    result.assert_outcomes(failed=1)
    has_lines(result, "sgd.json: written by a newer pytest-optcheck (file format 2; this version reads format 1). "
                      "Upgrade: pip install -U pytest-optcheck")


def test_a_renamed_suite_file_keeps_its_baselines_and_a_renamed_suite_lists_the_old_ones(project):
    project.run_optcheck("--optcheck-update")
    (project.path / "suites/tiny.toml").rename(project.path / "suites/renamed.toml")
    project.run_optcheck("-k", "not epoch_time").assert_outcomes(passed=3)  # baselines belong to the suite's name
    project.makefile(".toml", **{"suites/renamed": TINY_SUITE.replace('name = "tiny"', 'name = "tiny2"')})
    result = project.run_optcheck("--optcheck-update", "-k", "not epoch_time")
    result.assert_outcomes(passed=3)
    has_lines(result, "unused baselines", "baselines/tiny/ (no suite is named 'tiny')")


def test_versions_outside_the_declared_range_are_named():
    from pytest_optcheck.environment import environment, outside_declared_range

    found = outside_declared_range({**environment(), "tensorflow": "2.15.1"})
    assert found == ["tensorflow 2.15.1 (this pytest-optcheck declares >=2.16)"]
    assert outside_declared_range() == []
