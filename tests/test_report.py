"""The report from fixed hand-made data (golden files), and `optcheck report` on baseline folders.

The golden files are tests/golden/report.md and tests/golden/report.txt. After an
intended change to the report, rewrite them with

    OPTCHECK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_report.py

and read the diff of the golden files before keeping it.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from pytest_optcheck.render.folder import load_baseline_dir
from pytest_optcheck.render.report import render_markdown, render_terminal
from pytest_optcheck.spec.suite import load_suite

from baseline_data import GOLDEN, ROOT, SMOKE, adam_file, claim_record, report_input, run, sgd_file, write_baselines


def check_golden(name: str, text: str, folder: Path = GOLDEN) -> None:
    """The text must equal the golden file. OPTCHECK_UPDATE_GOLDEN=1 rewrites a file that differs,
    and still fails that once, so that a rewrite is never mistaken for a pass."""
    path = folder / name
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old == text:
        return
    if os.environ.get("OPTCHECK_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        pytest.fail(f"{path} rewritten: read its diff, then run again without OPTCHECK_UPDATE_GOLDEN", pytrace=False)
    assert old is not None, f"{path} is missing; write it with OPTCHECK_UPDATE_GOLDEN=1"
    assert text == old


def test_a_golden_check_fails_on_a_difference_even_while_rewriting(tmp_path, monkeypatch):
    (tmp_path / "g.txt").write_text("old", encoding="utf-8")
    monkeypatch.delenv("OPTCHECK_UPDATE_GOLDEN", raising=False)
    with pytest.raises(AssertionError):
        check_golden("g.txt", "new", tmp_path)
    monkeypatch.setenv("OPTCHECK_UPDATE_GOLDEN", "1")
    with pytest.raises(pytest.fail.Exception, match="rewritten"):
        check_golden("g.txt", "new", tmp_path)
    assert (tmp_path / "g.txt").read_text(encoding="utf-8") == "new"
    check_golden("g.txt", "new", tmp_path)  # the same text passes, and writes nothing


def test_markdown_matches_golden(pair_suite):
    check_golden("report.md", render_markdown(report_input(pair_suite)))


def test_terminal_matches_golden(pair_suite):
    check_golden("report.txt", render_terminal(report_input(pair_suite)))


def test_report_facts(pair_suite):
    text = render_markdown(report_input(pair_suite))
    assert "| SGD " in text and "| identical " in text  # SGD equals its baseline bit for bit
    assert "val acc +0.0625" in text  # Adam's second seed moved from 0.75 to 0.875
    assert "0.8125 ± 0.0884" in text  # Adam's final train accuracy (0.875, 0.75): mean ± sample std
    assert "| 2.5 " in text  # Adam reaches loss 0.5 at epochs 2 and 3
    assert "not reached" in text  # SGD never does
    assert "0.929" in text and "126.8" in text  # the published figures beside the measured ones
    assert "| adam-beats-sgd " in text and "+0.9375" in text and "2/2" in text
    assert "Python 3.11.7, TensorFlow 2.21.0, Keras 3.15.1, NumPy 2.4.6" in text


def test_median_epoch_seconds_leaves_out_the_first_epoch(pair_suite):
    text = render_terminal(report_input(pair_suite))
    sgd_row = next(line for line in text.splitlines() if line.startswith("SGD") and "±" in line)
    assert sgd_row.rstrip().endswith("0.375")  # median of 0.25, 0.5, 0.25, 0.75; the 1.5 s first epochs are out


def test_diverged_optimizer_is_shown_as_such(pair_suite):
    diverged = adam_file()
    for seed_run in diverged["seeds"].values():
        seed_run["history"] = {m: v[:1] + [None, None] for m, v in seed_run["history"].items()}
        seed_run["test"] = None
        seed_run["diverged_at_epoch"] = 2
    inp = report_input(pair_suite, optimizers={"sgd": sgd_file(), "adam": diverged})
    for text in (render_markdown(inp), render_terminal(inp)):
        assert "diverged at epoch 2" in text
        assert "diverged; the baseline did not" in text
        adam_rows = [line for line in text.splitlines() if "Adam" in line and "±" not in line]
        assert adam_rows and all("nan" not in row.lower() for row in adam_rows)


def test_one_diverged_seed_is_named(pair_suite):
    partial = adam_file()
    partial["seeds"]["1"]["diverged_at_epoch"] = 3
    partial["seeds"]["1"]["history"]["loss"][-1] = None
    text = render_markdown(report_input(pair_suite, optimizers={"sgd": sgd_file(), "adam": partial}))
    assert "seed 1 diverged at epoch 3" in text


def test_missing_baseline_says_so(pair_suite):
    inp = report_input(pair_suite, baseline_optimizers={"sgd": sgd_file()}, baseline_claims={})
    text = render_markdown(inp)
    adam_row = next(line for line in text.splitlines() if line.startswith("| Adam ") and "±" not in line)
    assert "no baseline" in adam_row
    claim_row = next(line for line in text.splitlines() if line.startswith("| adam-beats-sgd"))
    assert "no baseline" in claim_row


def test_changed_verdict_is_marked(pair_suite):
    inp = report_input(pair_suite, baseline_claims={"adam-beats-sgd": claim_record("fails", (-0.25, -0.5))})
    assert "fails (changed)" in render_markdown(inp)


def test_stored_baselines_have_no_baseline_columns(pair_suite):
    inp = report_input(pair_suite, baseline_optimizers=None, baseline_claims=None)
    text = render_markdown(inp)
    assert "change vs baseline" not in text and "baseline verdict" not in text
    assert "no baseline to compare with" in text


def test_without_suite_the_files_are_enough(pair_suite):
    text = render_markdown(report_input(None))
    assert "| SGD " in text and "| Adam " in text and "adam-beats-sgd" in text
    assert "epochs to target loss" in text and "0.929" not in text


def test_qualitative_summary_ranks_and_quotes(pair_suite):
    text = render_terminal(report_input(pair_suite))
    adam = next(line for line in text.splitlines() if line.startswith("Adam") and "Fast" in line)
    assert "Good" in adam and "Acceptable" in adam  # measured Good beside the source's "Acceptable"
    sgd = next(line for line in text.splitlines() if line.startswith("SGD") and "Medium" in line)
    assert "—" in sgd  # the source says nothing about this one
    assert "the best third is Fast / Good" in text


def test_pipes_in_a_quote_do_not_break_the_table(pair_suite):
    record = claim_record()
    record["quote"] = "A | B"
    text = render_markdown(report_input(pair_suite, claims={"adam-beats-sgd": record}))
    assert "A \\| B" in text


# `optcheck report` --------------------------------------------------------------


def test_report_command_on_a_written_folder(capsys, tmp_path):
    folder = write_baselines(tmp_path)
    code, out, err = run(capsys, "report", folder)
    assert code == 0, err
    assert out.startswith("# optcheck report: suite pair, profile small")
    assert "| SGD " in out and "| Adam " in out and "adam-beats-sgd" in out
    assert "epochs to target loss" in out  # no suite file anywhere: what the files hold


def test_report_command_finds_the_suite_beside_the_baselines(capsys, tmp_path, pair_suite):
    folder = write_baselines(tmp_path)  # tmp_path/suites/pair.toml is the pair_suite file
    code, out, _ = run(capsys, "report", folder, "--format", "term")
    assert code == 0
    assert "epochs to loss ≤ 0.5" in out and "126.8" in out
    assert "|" not in out  # plain text, not Markdown


def test_report_command_writes_output(capsys, tmp_path, pair_suite):
    folder = write_baselines(tmp_path)
    target = tmp_path / "out" / "report.md"
    code, out, _ = run(capsys, "report", folder, "--suite", pair_suite.path, "--output", target)
    assert code == 0 and out == f"wrote {target}\n"
    assert "adam-beats-sgd" in target.read_text()


def test_report_command_on_the_smoke_baselines(capsys):
    code, out, err = run(capsys, "report", SMOKE, "--suite", ROOT / "suites" / "article.toml")
    assert code == 0, err
    suite = load_suite(ROOT / "suites" / "article.toml")
    for path in SMOKE.glob("*.json"):
        data = json.loads(path.read_text())
        if path.name == "claims.json":
            for claim_id in data["claims"]:
                assert f"| {claim_id} " in out
        else:
            assert f"| {data['label']} " in out
    for spec in suite.optimizers.values():
        assert f"| {spec.label} " in out


def test_a_stored_folder_is_expected_on_the_backend_its_runs_recorded(tmp_path):
    """nadam-beats-adam is expected undecided on article, but to hold on article@jax: the report of a
    stored folder reads the backend from the files, whatever the folder is called."""
    import shutil

    from pytest_optcheck.render.report import expectation_of

    suite = ROOT / "suites" / "article.toml"
    for folder, expected in (("article", "undecided"), ("article@jax", "holds")):
        renamed = tmp_path / "article" / f"copied-{folder.replace('@', '-')}"
        shutil.copytree(ROOT / "baselines" / "article" / folder, renamed)
        report = load_baseline_dir(renamed, suite, generated="")
        assert expectation_of(report, "nadam-beats-adam")[0] == expected
        assert expectation_of(report, "momentum-beats-sgd")[0] == "holds"


@pytest.mark.parametrize("fmt", ["md", "term"])
def test_report_command_does_not_import_tensorflow(fmt):
    script = (
        "import sys\n"
        "from pytest_optcheck.cli.main import main\n"
        f"code = main(['report', {str(SMOKE)!r}, '--format', {fmt!r}])\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_missing_folder_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "report", tmp_path / "nowhere")
    assert code == 2
    assert "optcheck: error:" in err and "nowhere: no such folder" in err and "baselines/<suite>/<profile>" in err


def test_empty_folder_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "report", tmp_path)
    assert code == 2 and "no baseline files (*.json)" in err and "--optcheck-update-all" in err


def test_damaged_json_names_the_file(capsys, tmp_path):
    folder = write_baselines(tmp_path)
    (folder / "adam.json").write_text("{ not json")
    code, _, err = run(capsys, "report", folder)
    assert code == 2 and "adam.json: baseline is not valid JSON" in err


def test_file_without_runs_names_the_file(capsys, tmp_path):
    folder = write_baselines(tmp_path)
    (folder / "adam.json").write_text(json.dumps({"format": 1, "seeds": {}}))
    code, _, err = run(capsys, "report", folder)
    assert code == 2 and "adam.json: epochs: missing" in err and "git checkout --" in err


def test_suite_of_another_name_is_refused(capsys, tmp_path):
    folder = write_baselines(tmp_path)
    code, _, err = run(capsys, "report", folder, "--suite", ROOT / "suites" / "article.toml")
    assert code == 2 and "named 'article'" in err and "belong to suite 'pair'" in err


def test_load_baseline_dir_orders_by_suite_and_reads_seeds(tmp_path, pair_suite):
    folder = write_baselines(tmp_path, optimizers={"adam": adam_file(), "sgd": sgd_file()})
    inp = load_baseline_dir(folder, pair_suite.path, generated="today")
    assert list(inp.optimizers) == ["sgd", "adam"]
    assert inp.seeds == [0, 1] and inp.generated == "today"
    assert inp.baseline_optimizers is None and inp.claims["adam-beats-sgd"].verdict == "inconclusive"


def test_input_data_is_not_changed(pair_suite):
    inp = report_input(pair_suite)
    before = copy.deepcopy(inp.optimizers)
    render_markdown(inp)
    render_terminal(inp)
    assert inp.optimizers == before


def test_the_seed_line_names_the_seeds_claims_added_and_no_column_is_empty():
    article = render_markdown(load_baseline_dir(ROOT / "baselines/article/article", ROOT / "suites/article.toml"))
    assert "**Seeds:** 50, 51, 52 (curves); claims judged on up to 12 seeds, adding 53-61" in article
    assert "published train acc" in article and "published speed" in article
    quadratic = render_markdown(load_baseline_dir(ROOT / "baselines/article-quadratic/article",
                                                  ROOT / "suites/article-quadratic.toml"))
    assert "published" not in quadratic.lower().replace("`published`", "")
    assert "| expected " in quadratic and "| holds " in quadratic


def test_the_machine_line_names_the_thread_count_runs_trained_with():
    from baseline_data import ENVIRONMENT

    from pytest_optcheck.render.report import machine_text

    counted = {**ENVIRONMENT, "threads": "2"}
    inp = report_input(None, machine="", optimizers={"sgd": sgd_file(environment=counted),
                                                     "adam": adam_file(environment=counted)})
    assert machine_text(inp) == "Linux-x86_64 (Test CPU, 2 threads)"
    older = report_input(None, machine="")  # records from before the count was recorded
    assert machine_text(older) == "Linux-x86_64 (Test CPU)"
