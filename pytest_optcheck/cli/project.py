"""The project's settings as pytest finds them, for the `optcheck` commands: which suites, which baselines.

pytest reads its configuration from the first file, in the current folder or above it,
that holds a pytest section; the plugin's ini keys are read from there. This module
reads the same files the same way (without importing pytest, which the command never
needs), so that `optcheck run` in a project trains the suites `pytest --optcheck` checks.
"""

from __future__ import annotations

import configparser
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_optcheck.errors import OptcheckError

# pytest's own order: in each folder, the first of these that holds a pytest section wins.
CONFIG_FILES = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


@dataclass(frozen=True)
class Project:
    root: Path  # the configuration file's folder, else the current folder
    config_file: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # its pytest section

    def paths(self, key: str, default: str) -> list[Path]:
        """An ini key of type "paths": relative to the configuration file's folder, as pytest reads it."""
        value = self.settings.get(key)
        if value is None or value == "":
            return [self.root / default]
        values = shlex.split(value) if isinstance(value, str) else [str(v) for v in value]
        return [self.root / v for v in values]

    def where(self, key: str) -> str:
        """Where a key's value comes from, for messages."""
        if key in self.settings and self.config_file is not None:
            return f"{key} in {self.config_file}"
        return "the default" if self.config_file is None else f"the default ({key} is not set in {self.config_file})"

    def suite_locations(self) -> list[Path]:
        return self.paths("optcheck_suites", "suites")

    def suite_files(self) -> list[Path]:
        files: list[Path] = []
        for location in self.suite_locations():
            files += sorted(location.rglob("*.toml")) if location.is_dir() else [location] if location.is_file() else []
        return files

    def baselines(self) -> Path:
        return _shown(self.paths("optcheck_baselines", "baselines")[0])


def find_project(start: Path | None = None) -> Project:
    """The project around `start` (the current folder): its pytest configuration, as pytest would find it."""
    start = (start or Path.cwd()).resolve()
    first_pyproject = None
    for folder in (start, *start.parents):
        for name in CONFIG_FILES:
            path = folder / name
            if not path.is_file():
                continue
            first_pyproject = first_pyproject or (path if name == "pyproject.toml" else None)
            settings = _pytest_section(path)
            if settings is not None:
                return Project(folder, path, settings)
    if first_pyproject is not None:  # pytest's rootdir then, with no settings
        return Project(first_pyproject.parent, first_pyproject)
    return Project(start)


def _pytest_section(path: Path) -> dict[str, Any] | None:
    """The file's pytest settings, or None when it has no pytest section (pytest then looks further)."""
    try:
        if path.suffix == ".toml":
            document = tomllib.loads(path.read_text(encoding="utf-8"))
            if path.name != "pyproject.toml":
                return document.get("pytest", {})  # pytest.toml counts even when empty
            tool = document.get("tool", {}).get("pytest", {})
            native = {k: v for k, v in tool.items() if k != "ini_options"}  # [tool.pytest], pytest 9's own
            return native or tool.get("ini_options")
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, configparser.Error) as exc:
        raise OptcheckError(f"{path}: cannot read the project's pytest settings: {exc}") from None
    section = "tool:pytest" if path.name == "setup.cfg" else "pytest"
    if parser.has_section(section):
        return dict(parser[section])
    return {} if path.name in ("pytest.ini", ".pytest.ini") else None


def choose_suite(project: Project, given: str | None) -> Path:
    """The suite file a command works on: `given` (a file, or the name of one of the project's suites),
    else the project's only suite. Where that is not one file, say what was found and how to choose."""
    from pytest_optcheck.spec.suite import load_suite

    if given is not None and (given.endswith(".toml") or "/" in given or Path(given).is_file()):
        return Path(given)
    files = project.suite_files()
    found = {path: _name(path, load_suite) for path in files}
    if given is not None:
        chosen = [path for path, name in found.items() if given in (name, path.stem)]
        if len(chosen) == 1:
            return chosen[0]
        raise OptcheckError(f"--suite {given}: no suite file or suite of that name; {_found(project, found)}")
    if len(files) == 1:
        return files[0]
    if not files:
        where = ", ".join(str(_shown(p)) for p in project.suite_locations())
        raise OptcheckError(f"no suite files (*.toml) under {where} ({project.where('optcheck_suites')}); "
                            "give one with --suite PATH, or name their folder in the project's pytest settings: "
                            "optcheck_suites = [\"path/to/suites\"]")
    raise OptcheckError(f"{len(files)} suites found, and no --suite chose one; {_found(project, found)}")


def _name(path: Path, load_suite) -> str | None:
    try:
        return load_suite(path).name
    except OptcheckError:
        return None  # a broken suite can still be chosen by its file, and then says what is wrong


def _found(project: Project, found: dict[Path, str | None]) -> str:
    listed = ", ".join(f"{_shown(path)} (suite {name})" if name else f"{_shown(path)} (does not load)"
                       for path, name in found.items())
    example = next((name for name in found.values() if name), None)
    how = f"--suite {example}" if example else "--suite PATH"
    return (f"found under {project.where('optcheck_suites')}: {listed or 'none'}; "
            f"choose one with {how} (a suite's name) or --suite PATH")


def _shown(path: Path) -> Path:
    """The path as typed from the current folder, where it is inside it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
