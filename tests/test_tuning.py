"""Tuned profiles through pytester, on a small noisy quadratic (runs of a fraction of a second).

The story: two SGDs that differ only in their learning rate. At their own rates the
fast one beats the slow one on every seed; tuned, both grids reach the same best
absolute rate, so they train alike and "fast beats slow" no longer holds.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.spec.suite import load_suite
from conftest import has_lines

# Both grids cover the absolute rates 0.0005, 0.005, 0.05, 0.5 and 3 (fast's x0.01 is slow's
# x1). 0.05 is best on this problem; 0.5 blows the loss up and 3 diverges: the worst points.
STORY = """\
[suite]
name = "story"
default_profile = "plain"

[model]
factory = "pytest_optcheck.problems:noisy_quadratic_model"
kwargs = { dimension = 10, problem_seed = 0 }

[data]
source = "noisy_quadratic"
kwargs = { dimension = 10, train = 320, test = 100, noise_seed = 0 }

[training]
loss = "mse"
metrics = []
batch_size = 32

[profiles.plain]
epochs = 3
seeds = [0, 1, 2]
noise_reruns = 2

[profiles.tuned]
epochs = 3
seeds = [0, 1, 2]
noise_reruns = 2
tune = { learning_rate = [0.01, 0.1, 1, 10, 60], seeds = [100, 101], by = "loss" }

[optimizers.fast]
class = "SGD"
kwargs = { learning_rate = 0.05 }

[optimizers.slow]
class = "SGD"
kwargs = { learning_rate = 0.0005 }
tune = { learning_rate = [1, 10, 100, 1000, 6000] }

[[claims]]
id = "fast-beats-slow"
quote = "The fast SGD ends better than the slow one."
kind = "ordering"
better = "fast"
worse = "slow"
metric = "loss"
confidence = 0.5
"""


@pytest.fixture
def story(pytester, tensorflow_loaded):
    pytester.makefile(".toml", **{"suites/story": STORY})

    def run(*args):
        return pytester.runpytest("--optcheck", "-p", "no:randomly", "-rA", "-k", "not epoch_time", *args)

    pytester.run_story = run
    return pytester


def test_fast_beats_slow_at_their_own_rates_but_not_once_each_is_tuned(story):
    plain = story.run_story("--optcheck-update")
    plain.assert_outcomes(passed=3)
    has_lines(plain, "PASSED suites/story.toml::claim[fast-beats-slow]")

    tuned = story.run_story("--optcheck-profile", "tuned", "--optcheck-update")
    tuned.assert_outcomes(passed=2, failed=1)
    has_lines(tuned, "claim[fast-beats-slow]: the claim does not hold", "tuned learning rates",
              "fast x1, slow x100")
    selection = json.loads((story.path / "baselines/story/tuned/selection.json").read_text())
    fast = selection["optimizers"]["fast"]
    assert fast["chosen"] == 1 and fast["learning_rate"] == 0.05
    assert selection["optimizers"]["slow"]["chosen"] == 100
    # The diverged point (x60 of 0.05: 3) is stored as null on each seed, and was not chosen.
    assert fast["grid"][-1] == {"multiplier": 60.0, "values": {"100": None, "101": None}}
    # Curves were written at the chosen rates: the tuned slow SGD trains at x100, 0.05, like fast.
    assert json.loads((story.path / "baselines/story/tuned/slow.json").read_text())["label"] == "slow (x100)"
    has_lines(tuned, "selection.json: new selection: fast x1, slow x100")

    # Against the stored selection, a plain run passes its curves (the claim still does not hold).
    again = story.run_story("--optcheck-profile", "tuned")
    again.assert_outcomes(passed=2, failed=1)
    has_lines(again, "curves: 2 identical")

    # A damaged selection is said, with the fix, and curves are then checked at this session's points.
    stored = story.path / "baselines/story/tuned/selection.json"
    stored.write_text("{ half a file")
    damaged = story.run_story("--optcheck-profile", "tuned", "-k", "curve")
    damaged.assert_outcomes(passed=2)
    has_lines(damaged, "the stored selection is damaged, so curves used these points: ",
              "selection.json: baseline is not valid JSON", "--optcheck-update")


def test_a_best_point_on_the_grid_edge_leaves_the_claims_undecided_naming_the_fix(story):
    narrow = STORY.replace("tune = { learning_rate = [1, 10, 100, 1000, 6000] }", "tune = { learning_rate = [1, 3, 10] }")
    story.makefile(".toml", **{"suites/story": narrow})
    result = story.run_story("--optcheck-profile", "tuned", "-k", "claim")
    result.assert_outcomes(failed=1)
    has_lines(result, "claim[fast-beats-slow]: undecided on tuned profile 'tuned'",
              "slow: best at x10, the grid's edge: widen it", "Ways out: widen that optimizer's grid")


def test_a_moved_tuned_point_is_named_by_the_refresh_and_the_curve_is_compared_at_the_stored_point(story):
    written = story.run_story("--optcheck-profile", "tuned", "--optcheck-update-all", "--optcheck-report", "summary.md")
    has_lines(written, "summary written to summary.md")
    summary = (story.path / "summary.md").read_text()
    assert "## Learning rates tuned on profile tuned" in summary and "| fast " in summary and "**" in summary
    path = story.path / "baselines/story/tuned/selection.json"
    assert json.loads(path.read_text())["optimizers"]["fast"]["chosen"] == 1
    shutil.copytree(path.parent, story.path / "before")
    # The fast SGD's stated rate halves: its grid now reaches 0.05 at x2, which the refresh names.
    story.makefile(".toml", **{"suites/story": STORY.replace(
        "kwargs = { learning_rate = 0.05 }\n", "kwargs = { learning_rate = 0.025 }\ntune = { learning_rate = [0.1, 0.5, 1, 2, 20] }\n")})
    checked = story.run_story("--optcheck-profile", "tuned", "-k", "curve")
    has_lines(checked, "tuned learning rates", "moved since", "fast: x1 -> x2")
    refreshed = story.run_story("--optcheck-profile", "tuned", "--optcheck-update")
    has_lines(refreshed, "baselines written:", "selection.json: fast: x1 -> x2")
    assert json.loads(path.read_text())["optimizers"]["fast"]["chosen"] == 2
    # optcheck diff of the folder before and after names the move too.
    diff = subprocess.run([sys.executable, "-m", "pytest_optcheck.cli", "diff", "before", str(path.parent)],
                          cwd=story.path, capture_output=True, text=True)
    assert "Tuned learning rates" in diff.stdout and "| fast " in diff.stdout and "x2" in diff.stdout, diff.stdout + diff.stderr


@pytest.mark.parametrize("profile, fix, message", [
    ('tune = { learning_rate = [0.1, 1, 10], seeds = [2, 100] }', None,
     "tune.seeds: seed 2 also judges claims and curves on profile 'tuned'"),
    ('tune = { learning_rate = [1, 10], seeds = [100] }', None, "tune.learning_rate: lists 2 multiplier(s); give at least 3"),
    ('tune = { learning_rate = [1, 3, 10], seeds = [100], by = "val_acc" }', None,
     "tune.by: unknown metric; the suite records: loss, val_loss"),
    ('tune = { learning_rate = [1, 3, 10], seeds = [100], epoch = 9 }', None,
     "tune.epoch: must be between 1 and the profile's 3 epochs"),
    ('tune = { learning_rate = [1, 3, 10], seeds = [100] }', ("kwargs = { learning_rate = 0.0005 }", "kwargs = {}"),
     "optimizers.slow: profile 'tuned' tunes learning rates, but slow's kwargs give no positive number"),
])
def test_a_bad_tuning_key_is_one_line_naming_file_key_and_fix(tmp_path, profile, fix, message):
    text = STORY.replace('tune = { learning_rate = [0.01, 0.1, 1, 10, 60], seeds = [100, 101], by = "loss" }', profile)
    if fix:
        text = text.replace(*fix)
    path = tmp_path / "story.toml"
    path.write_text(text)
    with pytest.raises(OptcheckError) as raised:
        load_suite(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_optimizer_can_stay_untuned(tmp_path):
    path = tmp_path / "story.toml"
    path.write_text(STORY.replace("tune = { learning_rate = [1, 10, 100, 1000, 6000] }", "tune = false"))
    suite = load_suite(path)
    assert list(suite.tuned_optimizers(suite.profile("tuned"))) == ["fast"]
    assert suite.tuned_optimizers(suite.profile("plain")) == {}


def test_optcheck_sensitivity_refuses_a_tuned_profile_naming_the_fix():
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "pytest_optcheck.cli", "sensitivity", "--suite", "article",
                             "--profile", "tuned"], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "optcheck sensitivity --profile tuned: a tuned profile's baselines were trained at the rates" in result.stderr
    assert "Traceback" not in result.stderr
