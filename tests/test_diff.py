"""`optcheck diff`: two hand-made baseline sets, and the output names every difference."""

from __future__ import annotations

import json

import pytest
from baseline_data import ENVIRONMENT, adam_file, claim_record, run, sgd_file, write_baselines

from pytest_optcheck.render.diff import render_diff
from pytest_optcheck.render.folder import load_baseline_dir

UPGRADED = {**ENVIRONMENT, "tensorflow": "2.22.0"}


@pytest.fixture
def two_sets(tmp_path):
    """Old and new baselines: Adam's final seed-0 val_accuracy moved, the claim flipped, TensorFlow upgraded."""
    old = write_baselines(tmp_path / "old")
    adam = adam_file(environment=UPGRADED)
    adam["seeds"]["0"]["history"]["val_accuracy"][-1] = 0.625  # was 0.875
    new = write_baselines(tmp_path / "new", optimizers={"sgd": sgd_file(environment=UPGRADED), "adam": adam},
                          claims={"adam-beats-sgd": claim_record("fails", (-0.125, 0.25))})
    return old, new


@pytest.mark.parametrize("fmt", ["md", "term"])
def test_diff_names_each_difference(capsys, two_sets, fmt):
    old, new = two_sets
    code, out, err = run(capsys, "diff", old, new, "--format", fmt)
    assert code == 0, err
    adam_val = next(line for line in out.splitlines() if "Adam" in line and "val_accuracy" in line)
    assert "0.8125" in adam_val and "0.6875" in adam_val and "-0.125" in adam_val  # old, new, change
    assert "(seed 0, epoch 3)" in adam_val  # where the largest per-epoch change is
    sgd_val = next(line for line in out.splitlines() if "SGD" in line and "val_accuracy" in line)
    assert "none (bit-identical)" in sgd_val
    claim = next(line for line in out.splitlines() if "adam-beats-sgd" in line)
    assert "inconclusive" in claim and "fails" in claim and claim.index("inconclusive") < claim.index("fails")
    tensorflow = next(line for line in out.splitlines() if "tensorflow" in line and "2.21.0" in line)
    assert "2.22.0" in tensorflow and "changed" in tensorflow
    keras = next(line for line in out.splitlines() if "keras" in line and "3.15.1" in line)
    assert "changed" not in keras  # only keys that differ are marked
    assert "Changed: tensorflow." in out


def test_same_sets_say_nothing_changed(capsys, tmp_path):
    folder = write_baselines(tmp_path)
    code, out, err = run(capsys, "diff", folder, folder, "--format", "term")
    assert code == 0
    assert "No verdict changed (1 claim on both sides)." in out
    assert "Warning" not in out and err == ""
    assert "The environments are the same." in out
    assert "Bit-identical curves (2 of 2): SGD, Adam." in out or "Bit-identical curves (2 of 2): Adam, SGD." in out
    assert "None: the same optimizers, claims, seeds and settings." in out


def test_one_sided_optimizers_and_claims_are_listed(tmp_path):
    old = load_baseline_dir(write_baselines(tmp_path / "a"), find_suite=False)
    new = load_baseline_dir(write_baselines(tmp_path / "b", optimizers={"sgd": sgd_file()},
                                            claims={"sgd-is-slow": claim_record()}), find_suite=False)
    text = render_diff(old, new, old_name="A", new_name="B")
    assert "Optimizers only in A: adam." in text
    assert "Claims only in A: adam-beats-sgd." in text
    assert "Claims only in B: sgd-is-slow." in text


def test_settings_changes_are_listed(tmp_path):
    changed = adam_file()
    changed["spec_hash"] = "another"
    changed["epochs"] = 5
    del changed["seeds"]["1"]
    old = load_baseline_dir(write_baselines(tmp_path / "a"), find_suite=False)
    new = load_baseline_dir(write_baselines(tmp_path / "b", optimizers={"sgd": sgd_file(), "adam": changed}),
                            find_suite=False)
    text = render_diff(old, new, fmt="term")
    assert "Adam: seeds 0, 1 -> 0." in text
    assert "Adam: epochs 3 -> 5." in text
    assert "Adam: the settings differ (spec_hash changed" in text


def test_a_run_that_diverged_since_is_named(tmp_path):
    broken = adam_file()
    broken["seeds"]["1"]["history"]["loss"][1:] = [None, None]
    broken["seeds"]["1"]["diverged_at_epoch"] = 2
    old = load_baseline_dir(write_baselines(tmp_path / "a"), find_suite=False)
    new = load_baseline_dir(write_baselines(tmp_path / "b", optimizers={"sgd": sgd_file(), "adam": broken}),
                            find_suite=False)
    text = render_diff(old, new, fmt="term")
    assert "Verdicts changed" not in text
    row = next(line for line in text.splitlines() if line.startswith("Adam") and " loss " in line)
    assert "finite -> not finite (seed 1, epoch 2)" in row


def test_missing_folder_is_a_clear_error(capsys, tmp_path):
    folder = write_baselines(tmp_path)
    code, _, err = run(capsys, "diff", folder, tmp_path / "nowhere")
    assert code == 2 and "nowhere: no such folder" in err


def renamed(folder, key, value):
    """Every file of a baseline folder rewritten as if `key` (suite or profile) were `value`."""
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        data[key] = value
        path.write_text(json.dumps(data))
    return folder


def test_different_suites_are_compared_with_a_warning(capsys, tmp_path):
    old = write_baselines(tmp_path / "a")
    new = renamed(write_baselines(tmp_path / "b", suite_name="other"), "suite", "other")
    for fmt in ("md", "term"):
        code, out, err = run(capsys, "diff", old, new, "--format", fmt)
        assert code == 0
        assert "Warning" in out and "baselines of different suites (pair and other)" in out
        assert err.startswith("optcheck: warning: the two sides are baselines of different suites (pair and other)")


def test_different_profiles_are_compared_with_a_warning(capsys, tmp_path):
    old = write_baselines(tmp_path / "a")
    new = renamed(write_baselines(tmp_path / "b", profile="big"), "profile", "big")
    code, out, err = run(capsys, "diff", old, new, "--format", "term", "--output", tmp_path / "diff.txt")
    assert code == 0 and "different profiles (small and big) of suite pair" in err
    assert "different profiles (small and big)" in (tmp_path / "diff.txt").read_text()


def test_claims_on_one_side_only_are_counted_per_side(tmp_path):
    many = {f"claim-{i}": claim_record() for i in range(11)}
    old = load_baseline_dir(write_baselines(tmp_path / "a", claims=many), find_suite=False)
    new = load_baseline_dir(write_baselines(tmp_path / "b", claims={}), find_suite=False)
    text = render_diff(old, new, old_name="A", new_name="B", fmt="term")
    assert "No claim is on both sides to compare (A: 11 claims, B: none)." in text
    assert "0 claims on both sides" not in text


def test_a_flipped_verdict_is_counted_in_the_singular(two_sets):
    old, new = (load_baseline_dir(folder, find_suite=False) for folder in two_sets)
    text = render_diff(old, new, fmt="term")
    assert "Verdicts changed (old -> new): 1 of 1 claim on both sides." in text


def test_a_thread_count_only_the_newer_side_records_is_not_called_a_change(capsys, tmp_path):
    """Baselines written before runs recorded their thread count meet ones that do."""
    old = write_baselines(tmp_path / "old")
    counted = {**ENVIRONMENT, "threads": "2"}
    new = write_baselines(tmp_path / "new", optimizers={"sgd": sgd_file(environment=counted),
                                                        "adam": adam_file(environment=counted)})
    code, out, err = run(capsys, "diff", old, new, "--format", "term")
    assert code == 0, err
    threads = next(line for line in out.splitlines() if line.lstrip().startswith("threads"))
    assert "not recorded" in threads and "changed" not in threads
    assert "The environments are the same." in out
    halved = write_baselines(tmp_path / "halved", optimizers={"sgd": sgd_file(environment={**counted, "threads": "1"}),
                                                              "adam": adam_file(environment={**counted, "threads": "1"})})
    code, out, err = run(capsys, "diff", new, halved, "--format", "term")
    assert "Changed: threads." in out
