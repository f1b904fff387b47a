"""The wheel holds every module of the package: a subpackage left out would break only installed copies."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_contains_every_module_and_the_type_marker(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("pytest_optcheck-*.whl")
    packed = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("pytest_optcheck/")}
    source = {path.relative_to(ROOT).as_posix() for path in (ROOT / "pytest_optcheck").rglob("*.py")}
    assert len(source) > 40 and source <= packed, sorted(source - packed)
    assert "pytest_optcheck/py.typed" in packed
    entry_points = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "optcheck = pytest_optcheck.plugin.hooks" in text and "optcheck = pytest_optcheck.cli.main:main" in text
