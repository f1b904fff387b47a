"""epoch_time items when pytest-benchmark is not loaded: skipped with the reason, never an error.

The inner runs below only skip, so they never import TensorFlow (see test_plugin.py
on why an inner run must not be the first to import it).
"""

from conftest import TINY_SUITE


def test_without_the_benchmark_plugin_epoch_time_items_skip_saying_why(pytester, tiny_data):
    pytester.makefile(".toml", **{"suites/tiny": TINY_SUITE})
    result = pytester.runpytest("--optcheck", f"--optcheck-data-dir={tiny_data}", "-p", "no:benchmark",
                                "-k", "epoch_time", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["SKIPPED * the pytest-benchmark plugin is not loaded in this session "
                                 "(-p no:benchmark); run without -p no:benchmark to time epochs"])
    assert "fixture 'benchmark' not found" not in result.stdout.str()


def test_without_the_flag_the_flag_is_named_first(pytester):
    pytester.makefile(".toml", **{"suites/tiny": TINY_SUITE})
    result = pytester.runpytest("-p", "no:benchmark", "-k", "epoch_time", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["SKIPPED * pass --optcheck to run them"])
