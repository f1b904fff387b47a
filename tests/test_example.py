"""The example project under examples/inhouse, run as its users run it: their optimizer, CNN and loader."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "inhouse"


@pytest.mark.trains
def test_the_example_project_passes_against_its_own_baselines_and_reports(tmp_path):
    # A fresh run cache: everything trains, as in the project's CI. Nothing is written into the example.
    report = tmp_path / "summary.md"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--optcheck", "-p", "no:randomly", "-p", "no:cacheprovider",
         "--optcheck-no-cache", "-k", "not epoch_time", f"--optcheck-report={report}", "-rA"],
        cwd=EXAMPLE, capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-2000:]
    for item in ("curve[sgd]", "curve[adam]", "curve[sign]", "claim[sign-beats-sgd]", "claim[sign-close-to-adam]"):
        assert f"PASSED suites/inhouse.toml::{item}" in out
    assert "curves: 3 identical" in out or "within noise" in out
    text = report.read_text()
    assert "| sign-beats-sgd " in text and "7 (decided)" in text and "SignMomentum" in text
