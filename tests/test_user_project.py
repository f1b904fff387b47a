"""A user's own project, from the outside: their optimizer package, imported from the project root."""

import pytest

from conftest import TINY_SUITE
from conftest import has_lines

HELPERS = "def scaled(step):\n    return step\n"
OPTIM = """\
import keras

from . import helpers


class Scaled(keras.optimizers.SGD):
    \"\"\"SGD whose learning rate passes through a helper; forwards **kwargs (clipnorm...) to Keras.\"\"\"

    def __init__(self, learning_rate=0.01, **kwargs):
        super().__init__(learning_rate=helpers.scaled(learning_rate), **kwargs)
"""


@pytest.fixture
def user_project(pytester, tiny_data, tensorflow_loaded):
    """No pythonpath setting, no conftest: only the package, a suite and the command line."""
    pytester.mkpydir("teamopt")
    pytester.path.joinpath("teamopt", "helpers.py").write_text(HELPERS)
    pytester.path.joinpath("teamopt", "optim.py").write_text(OPTIM)
    suite = TINY_SUITE.replace('class = "Adam"\nkwargs = { learning_rate = 0.01 }',
                               'class = "teamopt.optim:Scaled"\nkwargs = { learning_rate = 0.05, clipnorm = 1.0 }')
    pytester.makefile(".toml", **{"suites/tiny": suite})

    def run(*args):
        return pytester.runpytest("--optcheck", f"--optcheck-data-dir={tiny_data}", "-p", "no:randomly", "-rA",
                                  "--deselect=suites/tiny.toml::epoch_time[sgd]",
                                  "--deselect=suites/tiny.toml::epoch_time[adam]", *args)

    pytester.run_optcheck = run
    return pytester


@pytest.mark.trains
def test_an_edited_helper_is_caught_with_the_cache_on_and_compared_not_declared_stale(user_project):
    user_project.run_optcheck("--optcheck-update").assert_outcomes(passed=3)
    user_project.run_optcheck().assert_outcomes(passed=3)  # from the cache: identical

    user_project.path.joinpath("teamopt", "helpers.py").write_text("def scaled(step):\n    return 0.1 * step\n")
    result = user_project.run_optcheck()  # the cache stays on: the changed package retrains
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1
    has_lines(result, "curve[adam]: adam trains differently from its baseline")
    assert "different spec" not in result.stdout.str() and "spec changed" not in result.stdout.str()


def test_an_optimizer_that_cannot_be_imported_fails_only_its_own_items(user_project, tiny_data):
    text = user_project.path.joinpath("suites", "tiny.toml").read_text()
    user_project.path.joinpath("suites", "tiny.toml").write_text(text.replace("teamopt.optim:Scaled", "teamopt.gone:Scaled"))
    result = user_project.runpytest("--optcheck", "--optcheck-update", f"--optcheck-data-dir={tiny_data}",
                                    "-p", "no:randomly", "-rA")
    result.assert_outcomes(passed=2, failed=3)  # curve[sgd] and epoch_time[sgd] pass
    has_lines(result, "PASSED suites/tiny.toml::curve[sgd]")
    failed = "\n".join(line for line in result.outlines if line.startswith("FAILED"))
    for item in ("curve[adam]", "claim[adam-beats-sgd]", "epoch_time[adam]"):
        assert f"FAILED suites/tiny.toml::{item}" in failed
    assert "optimizers.adam.class: cannot import 'teamopt.gone'" in result.stdout.str()
    assert "Traceback" not in result.stdout.str()
    assert "curve[sgd]" not in failed and "epoch_time[sgd]" not in failed
