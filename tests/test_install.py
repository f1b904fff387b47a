"""The tutorial's finished project, examples/first, is what the tutorial writes: dev/wheel-check runs it
from the installed wheel, so a drift between the two would prove nothing about the tutorial."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST = ROOT / "examples" / "first"


def tutorial_blocks(language: str) -> list[str]:
    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_the_example_project_is_the_one_the_tutorial_writes():
    suite, settings = tutorial_blocks("toml")[:2]
    assert (FIRST / "suites" / "first.toml").read_text(encoding="utf-8") == suite
    assert (FIRST / "pyproject.toml").read_text(encoding="utf-8") == settings
    stored = sorted(p.name for p in (FIRST / "baselines" / "first" / "small").iterdir())
    assert stored == ["adam.json", "claims.json", "sgd.json"]  # step 3's, before the tutorial's own optimizer


def test_the_install_steps_build_and_install_the_wheel():
    commands = "\n".join(tutorial_blocks("sh")[:1])
    assert "pip wheel --no-deps -w dist " in commands and "pip install dist/pytest_optcheck-*.whl" in commands
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = "\n".join(re.findall(r"```sh\n(.*?)```", readme, re.S))  # the commands a reader copies
    assert "pip install dist/pytest_optcheck-*.whl" in shown and "pip install pytest-optcheck" not in shown
