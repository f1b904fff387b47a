"""`optcheck sensitivity`: the mutation set, and a whole run on the tiny suite."""

from __future__ import annotations

import re

import keras

from pytest_optcheck.cli.main import main
from pytest_optcheck.cli.sensitivity import Trial, mutations
from pytest_optcheck.spec.suite import OptimizerSpec



def spec(class_path: str, **kwargs) -> OptimizerSpec:
    return OptimizerSpec(name="x", label="X", class_path=class_path, kwargs=kwargs, tolerances={})


def described(class_path: str, **kwargs) -> list[str]:
    return [m.description for m in mutations(spec(class_path, **kwargs), getattr(keras.optimizers, class_path))]


def test_sgd_with_momentum_gets_momentum_and_nesterov_mutations():
    found = described("SGD", learning_rate=0.001, momentum=0.9)
    assert found == ["learning_rate 0.001 -> 0.0008 (x0.8)", "learning_rate 0.001 -> 0.00125 (x1.25)",
                     "learning_rate 0.001 -> 0.00095 (x0.95)", "momentum 0.9 -> 0.8", "nesterov False -> True"]


def test_plain_sgd_gets_no_nesterov_flip_which_would_change_nothing():
    assert "nesterov False -> True" not in described("SGD", learning_rate=0.001)
    assert "momentum 0.0 -> 0.1" in described("SGD", learning_rate=0.001)


def test_adam_mutations_cover_its_arguments_with_defaults_taken_from_the_class():
    found = described("Adam", learning_rate=0.001)
    assert {"beta_1 0.9 -> 0.8", "beta_2 0.999 -> 0.99", "epsilon 1e-07 -> 1e-05 (x100)",
            "amsgrad False -> True"} <= set(found)


def test_a_mutation_keeps_the_other_arguments():
    found = mutations(spec("Adam", learning_rate=0.01, beta_1=0.95), keras.optimizers.Adam)
    beta = next(m for m in found if m.description.startswith("beta_1"))
    assert beta.kwargs == {"learning_rate": 0.01, "beta_1": 0.9}


def test_outcomes_name_caught_missed_quiet_and_false_alarm():
    assert Trial("a", "x", benign=False, failing_items=["curve[a]"]).outcome == "caught"
    assert Trial("a", "x", benign=False).outcome == "missed"
    assert Trial("a", "x", benign=True).outcome == "quiet"
    assert Trial("a", "x", benign=True, failing_items=["curve[a]"]).outcome == "FALSE ALARM"


def test_sensitivity_of_the_tiny_suite(project, tiny_data, capsys):  # noqa: F811
    project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)
    suite = project.path / "suites" / "tiny.toml"
    code = main(["sensitivity", "--suite", str(suite), "--baselines", str(project.path / "baselines"),
                 "--data-dir", str(tiny_data), "--no-cache", "--optimizer", "adam", "--nudges", "7",
                 "--output", str(project.path / "sensitivity.md")])
    out = capsys.readouterr().out
    assert code == 0
    assert "### optcheck sensitivity: suite tiny, profile small (seeds 0, 1, 2, 2 epochs)" in out
    # Adam's learning rate is 0.01 here: x1.25 is a large change on 200 images, and it shows.
    assert re.search(r"learning_rate 0.01 -> 0.0125 \(x1.25\) +\| mutation +\| caught +\| curve\[adam\]: ", out)
    assert re.search(r"initial weights nudged one ulp \(nudge seed 7\) +\| benign +\| quiet ", out)
    assert "TF_ENABLE_ONEDNN_OPTS=" in out
    assert "Mutations caught:" in out and "benign perturbations." in out
    assert (project.path / "sensitivity.md").read_text() in out


def test_sensitivity_without_baselines_says_how_to_write_them(tmp_path, tiny_suite, tiny_data, capsys):
    code = main(["sensitivity", "--suite", str(tiny_suite), "--baselines", str(tmp_path / "none"),
                 "--data-dir", str(tiny_data), "--no-cache"])
    assert code == 2
    err = capsys.readouterr().err
    assert "adam.json: no baseline" in err or "sgd.json: no baseline" in err
    assert "--optcheck-update" in err
