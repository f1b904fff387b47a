"""The generated documentation pages are current, and the README's links resolve."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def generator(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["gen_reference", "gen_results"])
def test_generated_pages_are_current(name):
    module = generator(name)
    for relative, make in module.PAGES.items():
        page = ROOT / "docs" / relative
        assert page.read_text(encoding="utf-8") == make(), f"docs/{relative} is stale: run python docs/{name}.py"


def test_every_link_in_the_readme_resolves():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert links
    for link in links:
        if "://" not in link:
            assert (ROOT / link).exists(), f"README links to {link}, which does not exist"
    assert len(text.splitlines()) <= 250


def test_every_option_and_suite_key_is_in_the_reference():
    options = (ROOT / "docs/reference/options.md").read_text(encoding="utf-8")
    for option in ("--optcheck-profile", "--optcheck-update-all", "optcheck_suites"):
        assert f"`{option}" in options
    keys = (ROOT / "docs/reference/suite-file.md").read_text(encoding="utf-8")
    source = "".join((ROOT / "pytest_optcheck/spec" / name).read_text() for name in ("suite.py", "claims.py", "tuning.py"))
    read = set(re.findall(r'\.get\("([a-z_]+)"', source)) - {"claims"}
    missing = sorted(k for k in read if f"`{k}`" not in keys)
    assert not missing, f"suite keys read by the loader but not in docs/reference/suite-file.md: {missing}"
