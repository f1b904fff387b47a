"""`epoch_time[<optimizer>]` items: one training epoch timed by pytest-benchmark.

They are ordinary test functions that ask for pytest-benchmark's `benchmark`
fixture, so its options apply as usual (`--benchmark-autosave`,
`--benchmark-compare`, `--benchmark-compare-fail=mean:10%`, `--benchmark-json`,
`--benchmark-min-rounds`, `--benchmark-skip`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from pytest_optcheck.errors import OptcheckError, SuiteSetupError
from pytest_optcheck.plugin.session import optcheck_session
from pytest_optcheck.spec.suite import Suite

DISABLED_REASON = (
    "epoch time is not measured: pytest-benchmark is disabled in this session "
    "(it turns itself off under pytest-xdist and with --benchmark-disable); run without -n to time epochs"
)
UNUSED_FIXTURE = "Benchmark fixture was not used at all"  # pytest-benchmark's warning, matched at its start
NOT_LOADED_REASON = (
    "epoch time is not measured: the pytest-benchmark plugin is not loaded in this session "
    "(-p no:benchmark); run without -p no:benchmark to time epochs"
)


def epoch_time_items(parent: pytest.Collector, suite: Suite):
    # Without the plugin there is no `benchmark` fixture to ask for: such an item
    # would error at setup, so it asks for none and skips saying why.
    timed = parent.config.pluginmanager.hasplugin("benchmark")
    for name in suite.optimizers:
        test = _epoch_time_test(name, suite.path) if timed else _untimed_epoch_time
        yield EpochTimeItem.from_parent(parent, name=f"epoch_time[{name}]", callobj=test)


class EpochTimeItem(pytest.Function):
    """A test function generated for a suite: reported under its suite file and its own name
    (as a plain Function it would be placed by the code of the function that builds it)."""

    def reportinfo(self):
        return self.path, 0, self.name  # a line number: pytest places skips (--benchmark-skip) with it


def _epoch_time_test(optimizer: str, suite_path: Path):
    # `benchmark` and `request` are fixtures; the optimizer and the suite are bound here,
    # not requested. Asking for `benchmark` by name is also how pytest-benchmark's
    # --benchmark-skip and --benchmark-only recognize the item.
    def epoch_time(benchmark, request):
        measure_epoch_time(benchmark, request, optimizer, suite_path)

    return epoch_time


def _untimed_epoch_time(request):
    _skip_without_optcheck(request.config)
    pytest.skip(NOT_LOADED_REASON)


def _skip_without_optcheck(config: pytest.Config) -> None:
    from pytest_optcheck.plugin.session import SKIP_REASON

    if not config.getoption("optcheck"):
        pytest.skip(SKIP_REASON)


def measure_epoch_time(benchmark: Any, request: pytest.FixtureRequest, optimizer: str, suite_path: Path) -> None:
    from pytest_optcheck.engine.runtime import native_log

    state = optcheck_session(request.config)
    try:
        # TensorFlow's C++ lines go where the runner sends them, not to the terminal.
        with native_log(None if state is None else state.runner.native_log):
            _measure(benchmark, request, optimizer, suite_path)
        return
    except OptcheckError as exc:  # a suite or data problem: its message, once, not a traceback
        failure = exc
    if isinstance(failure, SuiteSetupError) and state is not None:
        state.findings.cannot_train(str(suite_path), request.node.nodeid)
    # Nothing was timed, and pytest-benchmark would add that its fixture went unused. The
    # filter lasts as long as this item's own warning filters, which pytest restores after it.
    warnings.filterwarnings("ignore", message=UNUSED_FIXTURE)
    # Raised outside the `except` block: inside it, pytest would print the error twice,
    # joined by "During handling of the above exception, another exception occurred".
    pytest.fail(str(failure), pytrace=False)


def _measure(benchmark: Any, request: pytest.FixtureRequest, optimizer: str, suite_path: Path) -> None:
    config = request.config
    _skip_without_optcheck(config)
    if getattr(benchmark, "disabled", False):  # under xdist, or --benchmark-disable
        pytest.skip(DISABLED_REASON)
    state = optcheck_session(config)
    state.findings.refuse_if_cannot_train(f"epoch_time[{optimizer}]", str(suite_path))
    suite = state.suite(suite_path)
    profile = state.profile(suite)
    seed = profile.seeds[0]

    from pytest_optcheck.engine.names import check_before_training

    check_before_training(suite, optimizer)  # one clear line, not Keras's traceback from inside compile

    from pytest_optcheck.engine.training import (
        compiled_model,
        epoch_steps,
        fit_arguments,
        training_arrays,
    )
    from pytest_optcheck.environment import environment

    x, y = training_arrays(state.runner.dataset_for(suite), profile)
    arguments = fit_arguments(suite.training)
    model = compiled_model(suite, optimizer, seed)
    model.fit(x, y, epochs=1, **arguments)  # warm-up: traces the step functions; not counted

    rounds = max(1, int(config.getoption("benchmark_min_rounds")))  # pytest-benchmark's own option
    benchmark.group = f"{suite.name}/{profile.name} epoch time"
    benchmark.pedantic(model.fit, args=(x, y), kwargs={"epochs": 1, **arguments}, rounds=rounds, iterations=1)

    train_images, steps = epoch_steps(len(x), suite.training)
    mean = benchmark.stats.stats.mean
    benchmark.extra_info.update({
        "suite": suite.name,
        "profile": profile.name,
        "optimizer": optimizer,
        "seed": seed,
        "steps_per_epoch": steps,
        "train_images": train_images,
        "samples_per_second": round(train_images / mean, 1) if mean else None,
        "environment": environment(),
    })
