"""The `optcheck` commands find a project's suites as pytest does: from its pytest settings, in the
current folder or above it. Nothing here trains: an unknown optimizer name stops a command after
its suite is chosen and loaded, and names that suite's optimizers."""

import pytest

from pytest_optcheck.cli.main import main
from pytest_optcheck.cli.project import find_project

from conftest import TINY_SUITE

PYPROJECT = '[project]\nname = "team"\n\n[tool.pytest.ini_options]\noptcheck_suites = ["experiments"]\n'


def run(capsys, *args):
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.fixture
def team(tmp_path, monkeypatch):
    """A project whose suites are in experiments/ (named in pyproject.toml), used from a subfolder."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "tiny.toml").write_text(TINY_SUITE)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    return tmp_path


def test_run_finds_the_suite_the_projects_pytest_settings_name(capsys, team):
    code, err = run(capsys, "run", "--optimizer", "lion")
    assert code == 2
    assert "no optimizer 'lion'; the suite has: sgd, adam" in err  # experiments/tiny.toml, found and loaded
    assert "suite file not found" not in err


def test_with_several_suites_it_says_which_it_found_and_how_to_choose(capsys, team):
    (team / "experiments" / "wide.toml").write_text(TINY_SUITE.replace('name = "tiny"', 'name = "wide"'))
    code, err = run(capsys, "run", "--optimizer", "lion")
    assert code == 2
    settings = team / "pyproject.toml"
    assert f"2 suites found, and no --suite chose one; found under optcheck_suites in {settings}: " in err
    assert "experiments/tiny.toml (suite tiny), " in err and "experiments/wide.toml (suite wide)" in err
    assert "choose one with --suite tiny (a suite's name) or --suite PATH" in err
    code, err = run(capsys, "run", "--suite", "wide", "--optimizer", "lion")
    assert code == 2 and "no optimizer 'lion'; the suite has: sgd, adam" in err
    code, err = run(capsys, "run", "--suite", "narrow")
    assert code == 2 and "--suite narrow: no suite file or suite of that name; found under" in err


def test_without_suites_it_says_where_it_looked_and_which_setting_names_them(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run(capsys, "run")
    assert code == 2
    assert "no suite files (*.toml) under suites (the default); give one with --suite PATH" in err
    assert 'optcheck_suites = ["path/to/suites"]' in err


@pytest.mark.parametrize("name, text", [
    ("pytest.ini", "[pytest]\noptcheck_suites = experiments\n"),
    ("tox.ini", "[tox]\nenvlist = py311\n\n[pytest]\noptcheck_suites =\n    experiments\n    more\n"),
    ("setup.cfg", "[metadata]\nname = team\n\n[tool:pytest]\noptcheck_suites = experiments\n"),
    ("pyproject.toml", '[tool.pytest]\noptcheck_suites = ["experiments"]\n'),  # pytest 9's own table
])
def test_every_file_pytest_reads_settings_from_is_read(tmp_path, monkeypatch, name, text):
    (tmp_path / name).write_text(text)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    project = find_project()
    assert project.root == tmp_path and project.config_file == tmp_path / name
    assert project.suite_locations()[0] == tmp_path / "experiments"


def test_the_nearest_file_with_a_pytest_section_wins_as_in_pytest(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "setup.cfg").write_text("[metadata]\nname = inner\n")  # no pytest section: not a match
    (inner / "tox.ini").write_text("[pytest]\noptcheck_suites = here\noptcheck_baselines = stored\n")
    monkeypatch.chdir(inner)
    project = find_project()
    assert project.config_file == inner / "tox.ini"
    assert project.suite_locations() == [inner / "here"]
    assert project.baselines().as_posix() == "stored"  # optcheck sensitivity's default, as typed from here
    monkeypatch.chdir(tmp_path)
    assert find_project().suite_locations() == [tmp_path / "experiments"]
