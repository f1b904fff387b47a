"""Statistics of an optimizer's runs over seeds: final values, early and whole-fit means,
epochs to a target, epoch times, and where the runs diverged.

Pure functions of an `OptimizerBaseline` (baselines/records.py), whether it was read
from a file or measured in this session.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pytest_optcheck.baselines.records import OptimizerBaseline, SeedCurves
from pytest_optcheck.metrics import ordered
from pytest_optcheck.render.words import DASH

EARLY_EPOCHS = 3  # the "speed" column of the qualitative summary reads the first epochs


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation; the sd of a single value is 0, not undefined."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def seed_runs(optimizer: OptimizerBaseline) -> list[SeedCurves]:
    """The runs of an optimizer, in seed order."""
    return [optimizer.seeds[s] for s in sorted(optimizer.seeds)]


def divergence(optimizer: OptimizerBaseline) -> str | None:
    """How the optimizer's runs diverged, or None when none did."""
    seeds = optimizer.seeds
    diverged = {s: run.diverged_at_epoch for s, run in seeds.items() if run.diverged_at_epoch is not None}
    if not diverged:
        return None
    if len(diverged) == len(seeds) and len(set(diverged.values())) == 1:
        return f"diverged at epoch {next(iter(diverged.values()))}"
    return "; ".join(f"seed {s} diverged at epoch {k}" for s, k in sorted(diverged.items()))


def recorded_metrics(optimizer: OptimizerBaseline) -> list[str]:
    """The per-epoch metrics an optimizer's runs recorded, training metrics first."""
    return ordered({m for run in seed_runs(optimizer) for m in run.history})


def final_values(optimizer: OptimizerBaseline, metric: str) -> list[float] | None:
    """Each seed's value at its final epoch; None when any of them is missing or not finite."""
    values = []
    for run in seed_runs(optimizer):
        curve = run.history.get(metric)
        if not curve or curve[-1] is None:
            return None
        values.append(curve[-1])
    return values or None


def test_values(optimizer: OptimizerBaseline, metric: str) -> list[float] | None:
    values = [(run.test or {}).get(metric) for run in seed_runs(optimizer)]
    return values if values and None not in values else None


def early_mean(optimizer: OptimizerBaseline, epochs: int = EARLY_EPOCHS) -> float | None:
    """Mean training loss over the first epochs (all of them if fewer), averaged over seeds."""
    per_seed = []
    for run in seed_runs(optimizer):
        head = run.history["loss"][:epochs]
        if not head or None in head:
            return None
        per_seed.append(statistics.fmean(head))
    return statistics.fmean(per_seed) if per_seed else None


def epochs_to_reach(optimizer: OptimizerBaseline, target: float) -> str:
    """Mean over seeds of the first epoch whose training loss is at or below `target`."""
    epochs = []
    for run in seed_runs(optimizer):
        reached = [i for i, v in enumerate(run.history["loss"], start=1) if v is not None and v <= target]
        if not reached:
            return "not reached"
        epochs.append(reached[0])
    return f"{round(statistics.fmean(epochs), 1):g}" if epochs else DASH  # e.g. "4.3", "2"


def median_epoch_seconds(optimizer: OptimizerBaseline) -> float | None:
    """Median epoch time without each run's first epoch, which also builds and traces the model."""
    seconds = [s for run in seed_runs(optimizer) for s in run.epoch_seconds[1:]]
    return statistics.median(seconds) if seconds else None


def fit_seconds(optimizer: OptimizerBaseline) -> float | None:
    """Mean over seeds of a whole fit (every epoch), comparable with a published fit time."""
    totals = [sum(run.epoch_seconds) for run in seed_runs(optimizer) if run.epoch_seconds]
    return statistics.fmean(totals) if totals else None
