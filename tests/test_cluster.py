"""Runs on a real local Ray cluster (`--optcheck-ray local`), through pytest in a subprocess.

Each test starts Ray (about 10 s) and trains a few tiny runs, each in a fresh worker
process; they check what cannot be checked without a cluster: the bits of a run trained
on Ray, a worker killed mid-run, and the one-line errors.
"""

import sys

import pytest

from conftest import TINY_SUITE
from conftest import has_lines

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'pytest-optcheck[ray]'")

ONE_OPTIMIZER = TINY_SUITE.split("[optimizers.adam]")[0]  # sgd alone, no claim

# An optimizer whose worker process is killed while it is built: the first time only
# (`once`: a marker file beside the module remembers), or every time (`always`).
KILLER = """\
import os
import signal
from pathlib import Path

import keras


class Once(keras.optimizers.SGD):
    def __init__(self, **kwargs):
        marker = Path(__file__).with_name("killed-once")
        if not marker.exists():
            marker.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        super().__init__(**kwargs)


class Always(keras.optimizers.SGD):
    def __init__(self, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def tiny_project(pytester, tiny_data):
    def run(suite, *args):
        pytester.makefile(".toml", **{"suites/tiny": suite})
        return pytester.runpytest_subprocess("--optcheck", f"--optcheck-data-dir={tiny_data}", "-p", "no:randomly",
                                             "-k", "curve", *args, timeout=600)

    pytester.run_tiny = run
    return pytester


@pytest.mark.trains
def test_runs_trained_on_ray_are_bit_identical_to_runs_trained_in_process(tiny_project):
    """Keras in a fresh Ray worker process trains the bits this process trains (one seed: a task costs seconds)."""
    one_seed = ONE_OPTIMIZER.replace("seeds = [0, 1, 2]", "seeds = [0]")
    written = tiny_project.run_tiny(one_seed, "--optcheck-update")  # in this process
    written.assert_outcomes(passed=1)
    on_ray = tiny_project.run_tiny(one_seed, "--optcheck-ray", "local", "--optcheck-no-cache")
    on_ray.assert_outcomes(passed=1)
    # As many Ray workers as the CPUs allow runs of this many threads (under pytest-xdist, 1 thread each).
    has_lines(on_ray, "of ~1 runs, ", " Ray worker", " at local", "curves: 1 identical",
              "every curve is bit-identical to its baseline",
              "runs: 1 trained on ", " Ray worker", " at local, each in a fresh worker process")


def test_a_killed_worker_is_retried_and_one_killed_every_time_fails_its_item_in_one_line(tiny_project):
    tiny_project.makepyfile(killer=KILLER)
    suite = ONE_OPTIMIZER.replace("seeds = [0, 1, 2]", "seeds = [0]").replace('[optimizers.sgd]\nclass = "SGD"', (
        '[optimizers.once]\nclass = "killer:Once"\nkwargs = { learning_rate = 0.001 }\n\n'
        '[optimizers.always]\nclass = "killer:Always"\nkwargs = { learning_rate = 0.001 }\n\n'
        '[optimizers.sgd]\nclass = "SGD"'))
    result = tiny_project.run_tiny(suite, "--optcheck-ray", "local")
    result.assert_outcomes(failed=3)  # no baselines: each fails, but for its own reason
    has_lines(result, "curve[once]: no baseline at")  # trained on its second attempt
    has_lines(result, "curve[always]: run always seed 0 failed on the Ray cluster local after 2 attempt(s): ")
    assert (tiny_project.path / "killed-once").exists()
    assert "Traceback" not in result.stdout.str()


def test_an_unreachable_cluster_is_one_line_naming_the_address(tiny_project):
    result = tiny_project.run_tiny(ONE_OPTIMIZER, "--optcheck-ray", "auto")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    has_lines(result, "ERROR: --optcheck-ray auto: cannot reach a Ray cluster there (",
              "start one with `ray start --head`")
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_without_ray_the_option_says_how_to_install_it(tiny_project, monkeypatch):
    tiny_project.makepyfile(sitecustomize="import sys\nsys.modules['ray'] = None\n")
    monkeypatch.setenv("PYTHONPATH", str(tiny_project.path))
    result = tiny_project.run_tiny(ONE_OPTIMIZER, "--optcheck-ray", "local")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    has_lines(result, "ERROR: --optcheck-ray needs Ray, which is not installed: pip install 'pytest-optcheck[ray]'")
    assert sys.modules.get("ray") is not None  # this process still has it
