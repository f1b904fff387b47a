"""Choosing each optimizer's learning rate on a tuned profile, and saying whether a choice moved.

Each grid point (a multiplier of the optimizer's own rate) is trained on every
selection seed; its score is the mean of the choosing metric at the choosing epoch,
and the best score is the optimizer's tuned point. A run that diverged, or whose
value is not finite, counts as the worst value there is, so a point where any seed
blew up is never chosen over one where none did. Ties go to the smaller multiplier.

A best point on the grid's edge means the grid was too small (the better rate may
lie beyond it): the claims that read that optimizer wait for a wider grid.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pytest_optcheck.metrics import higher_is_better
from pytest_optcheck.spec.tuning import multiplier_text

# How far apart two points' mean scores must be, in standard errors of a difference of
# two means over the selection seeds, to call a moved choice more than the selection's noise.
NOISE_UNITS = 2.0


@dataclass(frozen=True)
class GridPoint:
    """One multiplier's value of the choosing metric on each selection seed (None: diverged)."""

    multiplier: float
    values: dict[int, float | None]

    def score(self, lower_is_better: bool) -> float:
        """The mean value, with higher better; minus infinity where any seed diverged."""
        if not self.values or any(v is None or not math.isfinite(v) for v in self.values.values()):
            return -math.inf
        mean = statistics.fmean(self.values.values())  # type: ignore[arg-type]
        return -mean if lower_is_better else mean

    @property
    def diverged_seeds(self) -> list[int]:
        return [seed for seed, v in self.values.items() if v is None or not math.isfinite(v)]


@dataclass(frozen=True)
class Selection:
    """An optimizer's grid on a tuned profile and the point it chose."""

    optimizer: str
    by: str
    epoch: int
    points: tuple[GridPoint, ...]  # in ascending multiplier
    chosen: float | None  # None: every point diverged

    @property
    def lower_is_better(self) -> bool:
        return not higher_is_better(self.by)

    @property
    def multipliers(self) -> tuple[float, ...]:
        return tuple(p.multiplier for p in self.points)

    @property
    def at_edge(self) -> bool:
        return self.chosen is not None and self.chosen in (self.multipliers[0], self.multipliers[-1])

    def point(self, multiplier: float) -> GridPoint | None:
        return next((p for p in self.points if p.multiplier == multiplier), None)

    def mean(self, multiplier: float) -> float | None:
        """The point's mean value of the metric (None where a seed diverged)."""
        point = self.point(multiplier)
        if point is None:
            return None
        score = point.score(self.lower_is_better)
        if not math.isfinite(score):
            return None
        return -score if self.lower_is_better else score

    def problem(self) -> str | None:
        """Why this optimizer's claims cannot be judged tuned, or None."""
        if self.chosen is None:
            return (f"{self.optimizer}: every grid point diverged on a selection seed "
                    f"({', '.join(multiplier_text(m) for m in self.multipliers)}): give it smaller multipliers")
        if self.at_edge:
            return (f"{self.optimizer}: best at {multiplier_text(self.chosen)}, the grid's edge: widen it "
                    f"(tune.learning_rate of the profile, or the optimizer's own tune = {{ learning_rate = [...] }})")
        return None

    def seed_noise(self) -> float | None:
        """The seed-to-seed standard deviation of the metric, pooled over the points where no seed diverged."""
        variances = [statistics.variance(p.values.values()) for p in self.points  # type: ignore[arg-type]
                     if len(p.values) > 1 and not p.diverged_seeds]
        return math.sqrt(statistics.fmean(variances)) if variances else None


def select(optimizer: str, by: str, epoch: int, values: Mapping[float, Mapping[int, float | None]]) -> Selection:
    """Choose the best multiplier: `values[multiplier][seed]` is the metric (None where the run diverged)."""
    points = tuple(GridPoint(float(m), dict(values[m])) for m in sorted(values))
    lower = not higher_is_better(by)
    best: GridPoint | None = None
    for point in points:  # ascending: a tie keeps the smaller multiplier
        if math.isfinite(point.score(lower)) and (best is None or point.score(lower) > best.score(lower)):
            best = point
    return Selection(optimizer, by, epoch, points, None if best is None else best.multiplier)


@dataclass(frozen=True)
class MovedPoint:
    """A tuned point that differs from the one a baseline recorded."""

    optimizer: str
    before: float | None
    now: float | None
    beyond_noise: bool | None  # None: the selection cannot tell (a point missing, diverged, or one seed)

    @property
    def judgement(self) -> str:
        """Whether the move is beyond the selection's noise, in words."""
        if self.beyond_noise is None:
            return "the selection cannot tell whether that is more than its noise"
        if self.beyond_noise:
            return "the two points differ beyond the selection's noise"
        return "within the selection's noise: the two points score alike"

    def describe(self) -> str:
        return f"{self.optimizer}: {point_text(self.before)} -> {point_text(self.now)} ({self.judgement})"


def point_text(multiplier: float | None) -> str:
    """A chosen point as users read it: x3, or none where every point diverged."""
    return "none" if multiplier is None else multiplier_text(multiplier)


def chosen_text(selections: Mapping[str, Selection]) -> str:
    """Every optimizer's chosen point: "sgd x30, adam x1"."""
    return ", ".join(f"{name} {point_text(s.chosen)}" for name, s in selections.items())


def moves(before: Mapping[str, Selection], now: Mapping[str, Selection]) -> list[MovedPoint]:
    """The moves from a recorded selection's choices (`before`, by optimizer) to this one's, for optimizers in both."""
    found = [moved(before[name].chosen, selection) for name, selection in now.items() if name in before]
    return [move for move in found if move is not None]


def moved(before: float | None, now: Selection) -> MovedPoint | None:
    """The move from a recorded choice to this selection's, or None where it chose the same point.

    The move is beyond the noise when the new point scores better than the old one on
    every selection seed and the mean difference is more than NOISE_UNITS standard
    errors of a difference of two means (the seed-to-seed deviation pooled over the grid).
    """
    if before == now.chosen:
        return None
    old = None if before is None else now.point(before)
    new = None if now.chosen is None else now.point(now.chosen)
    noise = now.seed_noise()
    if old is None or new is None or noise is None or old.diverged_seeds:
        return MovedPoint(now.optimizer, before, now.chosen, None)
    sign = -1.0 if now.lower_is_better else 1.0
    gains = [sign * (new.values[s] - old.values[s]) for s in new.values if s in old.values]  # type: ignore[operator]
    return MovedPoint(now.optimizer, before, now.chosen, beyond_noise(gains, noise))


def beyond_noise(gains: Sequence[float], noise: float) -> bool | None:
    """Whether per-seed gains of one point over another exceed the selection's noise (see `moved`)."""
    if len(gains) < 2:
        return None
    standard_error = noise * math.sqrt(2 / len(gains))
    return all(g > 0 for g in gains) and statistics.fmean(gains) > NOISE_UNITS * standard_error
