"""The plugin must not import TensorFlow unless something trains: plain pytest stays fast."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    return set(done.stdout.split())


def test_importing_the_plugin_does_not_import_tensorflow():
    loaded = modules_after("import pytest_optcheck.plugin.hooks, pytest_optcheck.plugin.items, pytest_optcheck.cli.main")
    assert "pytest_optcheck.plugin.hooks" in loaded
    assert "tensorflow" not in loaded and "keras" not in loaded


def test_the_environment_names_tensorflow_without_importing_it():
    loaded = modules_after(
        "from pytest_optcheck.environment import environment\n"
        "assert environment()['tensorflow'] != 'not installed', environment()"
    )
    assert "tensorflow" not in loaded and "keras" not in loaded


def test_collecting_suites_without_the_flag_does_not_import_tensorflow():
    loaded = modules_after(
        "import pytest\n"
        "pytest.main(['suites', '-q', '-p', 'no:cacheprovider'])"
    )
    assert "pytest_optcheck.plugin.items" in loaded  # the suite file was collected
    assert "tensorflow" not in loaded and "keras" not in loaded


def test_a_fully_cached_session_does_not_import_tensorflow(tmp_path, tiny_data):
    from conftest import TINY_SUITE

    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "tiny.toml").write_text(TINY_SUITE)
    args = f"['--optcheck', '--optcheck-data-dir={tiny_data}', '-k', 'not epoch_time', '-p', 'no:randomly', '-q']"

    def session(extra: str) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-c", f"import pytest, sys; code = pytest.main({args} + {extra}); "
                                   "print(code, ' '.join(sys.modules))"],
            capture_output=True, text=True, cwd=tmp_path, check=True)
        code, *modules = done.stdout.strip().splitlines()[-1].split()
        assert code == "0", done.stdout
        return set(modules)

    assert "tensorflow" in session("['--optcheck-update']")  # trains, fills the run cache
    assert "tensorflow" not in session("[]")  # every run cached: no Keras, no TensorFlow
    # Epoch times cannot come from a cache: they are measured now. pytest-benchmark's own
    # --benchmark-skip leaves them out, and the session stays free of TensorFlow.
    benchmarks_skipped = f"['--optcheck', '--optcheck-data-dir={tiny_data}', '--benchmark-skip', '-p', 'no:randomly']"
    done = subprocess.run(
        [sys.executable, "-c", f"import pytest, sys; code = pytest.main({benchmarks_skipped}); "
                               "print(code, 'tensorflow' in sys.modules)"],
        capture_output=True, text=True, cwd=tmp_path, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stdout
