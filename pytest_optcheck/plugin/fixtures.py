"""Fixtures for tests of your own around runs: suites, data and runs through the session's cache.

Each hands off to the session's state; nothing here imports TensorFlow until a run trains.
With several suite files, name the suite: `optcheck_run("adam", suite="article")`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.plugin.session import session_key, suite_files


@pytest.fixture(scope="session")
def optcheck_suites(pytestconfig: pytest.Config) -> dict:
    """Every suite found in the configured suite locations, by suite name."""
    state = pytestconfig.stash[session_key]
    try:
        return {s.name: s for s in (state.suite(p) for p in suite_files(pytestconfig))}
    except OptcheckError as exc:
        pytest.fail(str(exc), pytrace=False)


def _pick(suites: dict, suite=None):
    """`suite`: a Suite, a suite name, or None when exactly one suite is configured."""
    if suite is not None and not isinstance(suite, str):
        return suite
    if suite is None:
        if len(suites) == 1:
            return next(iter(suites.values()))
        names = sorted(suites)
        pytest.fail(f"{len(suites)} suites are configured ({', '.join(names) or 'none'})"
                    + (f": name one, e.g. suite=\"{names[0]}\"" if names else ""), pytrace=False)
    if suite not in suites:
        pytest.fail(f"no suite named {suite!r}; the configured suites are: {', '.join(sorted(suites))}",
                    pytrace=False)
    return suites[suite]


@pytest.fixture(scope="session")
def optcheck_suite(optcheck_suites: dict):
    """The suite, when exactly one is configured (otherwise use `optcheck_suites`)."""
    return _pick(optcheck_suites)


@pytest.fixture(scope="session")
def optcheck_data(pytestconfig: pytest.Config, optcheck_suites: dict) -> Callable:
    """`optcheck_data(suite=None)` -> the suite's data as its `[data]` table names it, verified."""
    state = pytestconfig.stash[session_key]

    def data(suite=None):
        try:
            return state.runner.dataset_for(_pick(optcheck_suites, suite))
        except OptcheckError as exc:
            pytest.fail(str(exc), pytrace=False)

    return data


@pytest.fixture(scope="session")
def optcheck_dataset(optcheck_suites: dict, optcheck_data: Callable):
    """The data of the configured suite(s): `x_train`, `y_train`, `x_test`, `y_test`, `checksum`.

    With several suites on different data, use `optcheck_data("suite name")`.
    """
    sources = {(s.data.source, str(s.data.dir), repr(s.data.kwargs)) for s in optcheck_suites.values()}
    if len(sources) > 1:
        pytest.fail(f"the suites {', '.join(sorted(optcheck_suites))} train on different data: "
                    "use optcheck_data(\"suite name\")", pytrace=False)
    return optcheck_data(next(iter(optcheck_suites.values())) if optcheck_suites else None)


@pytest.fixture(scope="session")
def optcheck_run(pytestconfig: pytest.Config, optcheck_suites: dict) -> Callable:
    """`optcheck_run(optimizer, seed=None, profile=None, suite=None)` -> RunResult, through the run cache."""
    state = pytestconfig.stash[session_key]

    def run(optimizer: str, seed: int | None = None, profile: str | None = None, suite=None):
        chosen_suite = _pick(optcheck_suites, suite)
        try:
            chosen = chosen_suite.profile(profile or state.options.profile)
            return state.runner.run(chosen_suite, optimizer, chosen.seeds[0] if seed is None else seed, chosen)
        except OptcheckError as exc:
            pytest.fail(str(exc), pytrace=False)

    return run
