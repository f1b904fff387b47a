"""Every command the harness prints is run here as printed, on both backends, and does what it says."""

import shlex

import pytest

from conftest import TINY_SUITE
from conftest import has_lines

ONE_OPTIMIZER = TINY_SUITE.split("[optimizers.adam]")[0]  # sgd alone, no claim


@pytest.mark.parametrize("backend, folder", [("tensorflow", "small"), ("jax", "small@jax")])
def test_the_printed_create_command_writes_the_baseline_of_the_backend_that_printed_it(pytester, tiny_data,
                                                                                       backend, folder):
    pytester.makefile(".toml", **{"suites/tiny": ONE_OPTIMIZER})
    first = pytester.runpytest_subprocess("--optcheck", "--optcheck-backend", backend, f"--optcheck-data-dir={tiny_data}",
                                          "-p", "no:randomly", "-k", "curve", timeout=600)
    first.assert_outcomes(failed=1)
    printed = next(line.split("Create it with: ", 1)[1] for line in first.outlines if "Create it with: " in line)
    words = shlex.split(printed)
    assert words[:2] == ["pytest", "--optcheck"] and words[words.index("--optcheck-backend") + 1] == backend
    created = pytester.runpytest_subprocess(*words[1:], "-p", "no:randomly", timeout=600)
    created.assert_outcomes(passed=1)
    assert (pytester.path / "baselines" / "tiny" / folder / "sgd.json").exists()
    # And the command a later failure prints (refresh) names the same backend.
    again = pytester.runpytest_subprocess("--optcheck", "--optcheck-backend", backend, f"--optcheck-data-dir={tiny_data}",
                                          "-p", "no:randomly", "-k", "curve", timeout=600)
    again.assert_outcomes(passed=1)
    has_lines(again, "curves: 1 identical")
