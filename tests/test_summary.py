"""The session's end: every item's outcome in the report, failures first; a short terminal summary by
default and the tables with -v; and what a mistake leaves behind (errors said once, no false claims)."""

import json

import pytest

from conftest import TINY_SUITE
from conftest import baseline, has_lines

TABLE_TITLES = ("Speed and quality, recomputed", "Against the baseline", "P(holds on a seed)")


def _shift_val_loss(project, name):
    """Every seed's val_loss moved the same way: a regression the curve check must call CHANGED."""
    data = json.loads(baseline(project, name).read_text())
    for run in data["seeds"].values():
        run["history"]["val_loss"][1] += 0.5
    baseline(project, name).write_text(json.dumps(data, indent=2, sort_keys=True))


def test_a_changed_curve_is_in_the_report_with_its_verdict_and_the_metrics_that_moved(project):
    project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)
    _shift_val_loss(project, "sgd")
    result = project.run_optcheck("--optcheck-report=summary.md")
    result.assert_outcomes(passed=2, failed=1)
    report = (project.path / "summary.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| curve[") or line.startswith("| claim[")]
    # Failures first, with the verdict and what moved; then the rest, in the suite's order.
    assert [row.split("|")[1].strip() for row in rows] == ["curve[sgd]", "curve[adam]", "claim[adam-beats-sgd]"]
    failed = [cell.strip() for cell in rows[0].split("|")[1:-1]]
    assert failed[1:3] == ["FAILED", "CHANGED"] and failed[3].startswith("val_loss ")
    assert [cell.strip() for cell in rows[1].split("|")[2:4]] == ["passed", "identical"]
    assert "holds (expected holds)" in rows[2]
    assert "**Outcomes:** 1 failed, 2 passed" in report
    assert report.index("## Items") < report.index("## Optimizers")
    # The terminal says the same in a line, and where the report went; the tables wait for -v.
    has_lines(result, "items: 1 failed, 2 passed", "FAILED curve[sgd]: CHANGED: val_loss ",
              "summary written to summary.md", "the report's tables: pytest -v, or --optcheck-summary=full")
    assert "every curve is bit-identical" not in result.stdout.str()


def test_the_summary_is_short_by_default_and_full_with_v_the_option_or_the_ini_key(project):
    project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)
    short = project.run_optcheck()
    short.assert_outcomes(passed=3)
    section = short.stdout.str().split(" optcheck ")[1].split("= ")[0]
    has_lines(short, "items: 3 passed", "curves: 2 identical", "every curve is bit-identical to its baseline",
              "claims: 1 passed")
    assert not any(title in section for title in TABLE_TITLES) and len(section.splitlines()) < 10, section
    for full in (project.run_optcheck("-v"), project.run_optcheck("--optcheck-summary=full")):
        full.assert_outcomes(passed=3)
        assert all(title in full.stdout.str() for title in TABLE_TITLES)
        assert "the report's tables: pytest -v" not in full.stdout.str()
    # The option beats -v, and the ini key sets the default.
    assert "Against the baseline" not in project.run_optcheck("-v", "--optcheck-summary=short").stdout.str()
    project.makeini("[pytest]\noptcheck_summary = full\n")
    assert "Against the baseline" in project.run_optcheck().stdout.str()


def test_a_bad_summary_setting_is_a_usage_error(project):
    project.makeini("[pytest]\noptcheck_summary = long\n")
    result = project.run_optcheck()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    has_lines(result, "optcheck_summary = 'long' (ini): give one of: short, full")


def test_a_misspelt_keras_class_is_one_clean_error_and_no_curve_is_called_identical(project):
    project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)
    project.makefile(".toml", **{"suites/tiny": TINY_SUITE.replace('class = "SGD"', 'class = "SGDD"')})
    result = project.run_optcheck("--optcheck-report=summary.md", benchmarks=True)
    result.assert_outcomes(passed=2, failed=3)  # curve[adam] and epoch_time[adam] pass
    text = result.stdout.str()
    said = "tiny.toml: optimizers.sgd.class: unknown optimizer class 'SGDD'; did you mean 'SGD'?"
    epoch_failure = text.split("_ epoch_time[sgd] _")[1].split("\n_")[0].split("= ")[0]
    assert epoch_failure.count(said) == 1, epoch_failure
    assert "During handling of the above exception" not in text
    assert "PytestBenchmarkWarning" not in text and "fixture was not used" not in text
    # curve[adam] is identical, but curve[sgd] never compared: not "every curve is bit-identical".
    has_lines(result, "curves: 1 identical, 1 not compared (failed before comparing: curve[sgd])")
    assert "every curve is bit-identical" not in text
    report = (project.path / "summary.md").read_text()
    assert "| epoch_time[sgd] " in report and said in report


def test_a_suite_that_does_not_load_leaves_its_baselines_alone(project):
    project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)
    project.makefile(".toml", **{"suites/tiny": TINY_SUITE.replace("epochs = 2", 'epochs = "x"')})
    result = project.run_optcheck()
    has_lines(result, "tiny.toml: profiles.small.epochs: expected a whole number",
              "suites/tiny.toml did not load (the error is above): unused baselines were not looked for")
    text = result.stdout.str()
    assert "unused baselines (" not in text and "no suite is named" not in text


def test_a_misspelt_class_in_the_users_own_module_names_the_nearest(tmp_path, monkeypatch):
    from pytest_optcheck.errors import OptcheckError
    from pytest_optcheck.imports import load_attribute

    (tmp_path / "teamopt_lion.py").write_text("import math\n\n\nclass MyLion:\n    pass\n\n\ndef helper():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(OptcheckError) as close:
        load_attribute("teamopt_lion:MyLoin", "suites/first.toml: optimizers.lion.class")
    assert str(close.value) == ("suites/first.toml: optimizers.lion.class: module 'teamopt_lion' has no attribute "
                                "'MyLoin'; did you mean 'MyLion'?")
    with pytest.raises(OptcheckError) as far:
        load_attribute("teamopt_lion:Adam", "suites/first.toml: optimizers.lion.class")
    assert str(far.value).endswith("has no attribute 'Adam'; it defines: MyLion, helper")  # not `math`, imported


ITEMS = [("curve[sgd]", "passed", "identical", ""),
         ("curve[adam]", "failed", "CHANGED", "val_accuracy shift +5.3, loss spread 31.0"),
         ("claim[adam-beats-sgd]", "passed", "holds (expected holds)", ""),
         ("epoch_time[sgd]", "error", "—", "fixture 'benchmark' not found")]


@pytest.mark.parametrize("fmt", ["md", "txt"])
def test_the_items_section_matches_golden(pair_suite, fmt):
    from baseline_data import report_input
    from test_report import check_golden

    from pytest_optcheck.render.report import ItemRow, render_markdown, render_terminal

    inp = report_input(pair_suite, items=[ItemRow(*row) for row in ITEMS])
    text = (render_markdown if fmt == "md" else render_terminal)(inp)
    check_golden(f"report-items.{fmt}", text)
    assert text.index("epoch_time[sgd]") < text.index("curve[adam]") < text.index("curve[sgd]")  # failures first


def test_under_xdist_the_summary_names_each_failure_without_the_workers_line(project):
    pytest.importorskip("xdist")
    result = project.run_optcheck("-n", "2", "-p", "no:cacheprovider", "-k", "curve and sgd")
    result.assert_outcomes(failed=1)
    has_lines(result, "items: 1 failed", "FAILED curve[sgd]: no baseline at baselines/tiny/small/sgd.json")
    assert "FAILED curve[sgd]: [gw" not in result.stdout.str()
