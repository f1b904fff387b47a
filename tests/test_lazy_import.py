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
    loaded = modules_after("import pytest_optcheck.plugin, pytest_optcheck.items, pytest_optcheck.cli")
    assert "pytest_optcheck.plugin" in loaded
    assert "tensorflow" not in loaded and "keras" not in loaded


def test_collecting_suites_without_the_flag_does_not_import_tensorflow():
    loaded = modules_after(
        "import pytest\n"
        "pytest.main(['suites', '-q', '-p', 'no:cacheprovider'])"
    )
    assert "pytest_optcheck.items" in loaded  # the suite file was collected
    assert "tensorflow" not in loaded and "keras" not in loaded
