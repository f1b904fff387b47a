"""Tuned profiles: a grid of learning-rate multipliers, the seeds that choose, and the metric.

    [profiles.tuned]
    tune = { learning_rate = [0.1, 0.3, 1, 3, 10], seeds = [100, 101], by = "val_loss" }

    [optimizers.sgd]
    tune = { learning_rate = [1, 3, 10, 30, 100] }   # this optimizer's own grid
    # tune = false                                    # or: stays at its own rate, untuned

On a tuned profile each optimizer trains every multiplier of its own `learning_rate` on
the selection seeds; the best mean of `by` at `epoch` chooses its rate, and claims and
curves are judged there, on the profile's own seeds. Multipliers, not absolute rates:
SGD's and Adam's best rates lie orders of magnitude apart, and one absolute grid would
favour whichever optimizer it happens to centre.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from pytest_optcheck.errors import OptcheckError

# The fewest multipliers a grid may have: with fewer, no best point can lie inside it.
GRID_POINTS = 3


@dataclass(frozen=True)
class Tune:
    """A profile's tuning: the grid (multipliers of each optimizer's own rate), the seeds that
    choose a point (never judging seeds), and the metric and epoch that choose."""

    multipliers: tuple[float, ...]
    seeds: tuple[int, ...]
    by: str = "val_loss"
    epoch: int | None = None  # None: the profile's last

    def grid_for(self, own: tuple[float, ...] | None) -> tuple[float, ...]:
        """An optimizer's grid: its own where it gives one, else the profile's."""
        return own if own is not None else self.multipliers


def multiplier_text(multiplier: float) -> str:
    """How a grid point is named to users: x0.3, x1, x10."""
    return f"x{multiplier:g}"


def scaled_rate(rate: float, multiplier: float) -> float:
    """The learning rate at a grid point, rounded to 12 significant digits so that
    0.001 x 3 is stored and keyed as 0.003, not 0.0030000000000000001."""
    return float(f"{rate * multiplier:.12g}")


def parse_grid(t: Any, key: str = "learning_rate") -> tuple[float, ...]:
    """A list of multipliers: positive numbers, no duplicates, at least GRID_POINTS; kept sorted."""
    values = t.get(key, list)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values):
        raise t.fail(key, "must be a list of positive numbers: multipliers of the optimizer's own "
                          "learning_rate, e.g. [0.1, 0.3, 1, 3, 10]")
    if len(set(values)) != len(values):
        raise t.fail(key, "has duplicates")
    if len(values) < GRID_POINTS:
        raise t.fail(key, f"lists {len(values)} multiplier(s); give at least {GRID_POINTS}, so that the best "
                          "can lie inside the grid rather than on its edge")
    return tuple(sorted(float(v) for v in values))


def parse_profile_tune(p: Any, profile: str, metrics: tuple[str, ...], epochs: int,
                       judging: tuple[int, ...]) -> Tune | None:
    """`tune = { learning_rate = [...], seeds = [...], by = "val_loss", epoch = N }` in a profile."""
    if "tune" not in p.data:
        return None
    t = p.table("tune")
    multipliers = parse_grid(t)
    seeds = t.get("seeds", list, check=seed_list_problem)
    overlap = sorted(set(seeds) & set(judging))
    if overlap:
        raise t.fail("seeds", f"seed {overlap[0]} also judges claims and curves on profile {profile!r} "
                              f"(its seeds, with those a claim may add, run {min(judging)}-{max(judging)}): a point "
                              f"chosen on a judging seed is judged on its own luck; choose selection seeds from "
                              f"{max(judging) + 1} up")
    by = t.get("by", str, "val_loss", check=lambda v: None if v in metrics else
               f"unknown metric; the suite records: {', '.join(metrics)}")
    epoch = t.get("epoch", int, None, check=lambda v: None if 1 <= v <= epochs else
                  f"must be between 1 and the profile's {epochs} epochs")
    t.reject_unknown()
    return Tune(multipliers, tuple(seeds), by, epoch)


def parse_optimizer_tune(o: Any) -> tuple[bool, tuple[float, ...] | None]:
    """An optimizer's `tune`: false (never tuned), or a table with its own `learning_rate` grid.

    Returns (tuned, own grid or None for the profile's).
    """
    if "tune" not in o.data:
        return True, None
    raw = o.get("tune", (bool, dict))
    if raw is False:
        return False, None
    if raw is True:
        raise o.fail("tune", "true is the default; give a table with its own grid, "
                             "tune = { learning_rate = [1, 3, 10] }, or false to leave it untuned")
    t = o.table("tune")
    grid = parse_grid(t)
    t.reject_unknown()
    return True, grid


def seed_list_problem(value: list) -> str | None:
    """What is wrong with a list of seeds (a profile's, or a tuned profile's selection seeds), or None."""
    if not value:
        return "must not be empty"
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        return "must be a list of non-negative integers"
    if len(set(value)) != len(value):
        return "has duplicates"
    return None


def check_tunable(path: Any, name: str, kwargs: dict[str, Any], profile: str) -> None:
    """A tuned optimizer must state a numeric learning_rate: the grid multiplies it."""
    rate = kwargs.get("learning_rate")
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0:
        raise OptcheckError(
            f"{path}: optimizers.{name}: profile {profile!r} tunes learning rates, but {name}'s kwargs give "
            f"no positive number for learning_rate (found {rate!r}): state its rate in kwargs, which the grid "
            f"multiplies, or set tune = false in [optimizers.{name}] to leave it untuned")


def at_multipliers(optimizers: dict[str, Any], chosen: dict[str, float]) -> dict[str, Any]:
    """The optimizers with each named one's learning rate multiplied by its chosen point."""
    result = dict(optimizers)
    for name, multiplier in chosen.items():
        spec = optimizers[name]
        kwargs = {**spec.kwargs, "learning_rate": scaled_rate(spec.kwargs["learning_rate"], multiplier)}
        label = spec.label if multiplier == 1 else f"{spec.label} ({multiplier_text(multiplier)})"
        result[name] = dataclasses.replace(spec, kwargs=kwargs, label=label)
    return result
