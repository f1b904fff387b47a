"""The learning-rate selection of a session's tuned profiles: trained once, stored on refresh.

On a tuned profile (`tune = {...}` in the suite) every tuned optimizer trains each grid
point on the selection seeds; the best chooses its rate (judge/selection.py). Claims
are then judged with each optimizer at this session's choice; curves are compared like
with like, at the point the stored selection chose, unless a refresh rewrites both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_optcheck.baselines.selection import SelectionBaseline, load_selection_baseline
from pytest_optcheck.baselines.store import SELECTION_FILE, profile_dir
from pytest_optcheck.environment import environment
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge.selection import MovedPoint, Selection, chosen_text, moves, select
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.spec.suite import Profile, Suite


@dataclass(frozen=True)
class Selected:
    """A suite's selection on the session's profile, beside what the baselines recorded."""

    selections: dict[str, Selection]
    stored: SelectionBaseline | None
    path: Path
    damaged: str = ""  # why the stored file could not be read (a refresh rewrites it)

    def chosen(self) -> dict[str, float]:
        return {name: s.chosen for name, s in self.selections.items() if s.chosen is not None}

    def moves(self) -> list[MovedPoint]:
        """Each optimizer whose chosen point differs from the stored selection's."""
        return [] if self.stored is None else moves(self.stored.selections, self.selections)


class Tuning:
    """Owns the selections of one session: at most one per suite file, trained when first needed."""

    def __init__(self, runner: Runner, profile_of: Callable[[Suite], Profile], baseline_root: Callable[[], Path],
                 updating: bool):
        self._runner = runner
        self._profile_of = profile_of
        self._baseline_root = baseline_root
        self._updating = updating
        self._selected: dict[Path, Selected] = {}

    def tuned(self, suite: Suite) -> bool:
        return self._profile_of(suite).tune is not None

    def selected(self, suite: Suite) -> Selected:
        """Train (or take cached) every grid point on the selection seeds, once per suite."""
        key = Path(suite.path).resolve()
        if key not in self._selected:
            profile = self._profile_of(suite)
            path = profile_dir(self._baseline_root(), suite, profile) / SELECTION_FILE
            stored, damaged = None, ""
            try:
                stored = load_selection_baseline(path)
            except OptcheckError as exc:  # said in the summary; curves then use this session's points
                damaged = str(exc)
            self._selected[key] = Selected(self._select(suite, profile), stored, path, damaged)
        return self._selected[key]

    def _select(self, suite: Suite, profile: Profile) -> dict[str, Selection]:
        tune = profile.tune
        assert tune is not None
        epoch = tune.epoch or profile.epochs
        grids = suite.tuned_optimizers(profile)
        values: dict[str, dict[float, dict[int, float | None]]] = {name: {} for name in grids}
        # Each multiplier as a suite: every optimizer whose grid has it, at that multiple of its rate.
        points = [(suite.at_multipliers({name: m for name in names}), m, names)
                  for m in sorted({m for grid in grids.values() for m in grid})
                  for names in [[name for name, grid in grids.items() if m in grid]]]
        if self._runner.progress is not None:  # the whole grid counts into the estimate at once
            self._runner.progress.plan(suite.name, profile.name, sum(
                self._runner.will_train(at, name, seed, profile)
                for at, _, names in points for name in names for seed in tune.seeds), profile.epochs)
        # The whole grid at once: side by side here, or every point a Ray task of its own.
        runs = iter(self._runner.run_asked(profile, [(at, name, seed, None) for at, _, names in points
                                                     for name in names for seed in tune.seeds]))
        for _, multiplier, names in points:
            for name in names:
                values[name][multiplier] = {seed: _value(next(runs), tune.by, epoch) for seed in tune.seeds}
        return {name: select(name, tune.by, epoch, values[name]) for name in grids}

    def has_selected(self, suite: Suite) -> bool:
        """Whether this session has trained the suite's selection (a tuned profile whose items ran)."""
        return Path(suite.path).resolve() in self._selected

    def judged_suite(self, suite: Suite) -> Suite:
        """The suite as claims judge it: each tuned optimizer at this session's chosen point."""
        if not self.tuned(suite):
            return suite
        return suite.at_multipliers(self.selected(suite).chosen())

    def curve_suite(self, suite: Suite) -> Suite:
        """The suite as curves are checked: at the stored selection's points, so that a curve is compared
        with a baseline trained at the same rate; at this session's where none is stored or a refresh
        rewrites the baselines."""
        if not self.tuned(suite):
            return suite
        selected = self.selected(suite)
        chosen = selected.chosen()
        if selected.stored is not None and not self._updating:
            for name in chosen:
                stored = selected.stored.chosen(name)
                if stored is not None and stored in selected.selections[name].multipliers:
                    chosen[name] = stored
        return suite.at_multipliers(chosen)

    def problems(self, suite: Suite, optimizers: tuple[str, ...]) -> list[str]:
        """Why claims reading these optimizers cannot be judged tuned: a best point on the grid's edge."""
        if not self.tuned(suite):
            return []
        selections = self.selected(suite).selections
        return [problem for name in optimizers if name in selections
                for problem in [selections[name].problem()] if problem is not None]

    def record(self, suite: Suite) -> SelectionBaseline:
        """The selection as selection.json stores it."""
        profile = self._profile_of(suite)
        assert profile.tune is not None
        selections = self.selected(suite).selections
        return SelectionBaseline(suite.name, profile.name, profile.tune.seeds,
                                 {name: float(suite.optimizer(name).kwargs["learning_rate"]) for name in selections},
                                 selections, environment())

    def summary_lines(self) -> list[str]:
        """Each tuned suite's chosen points, edges, and moves since the stored selection."""
        lines = []
        for selected in self._selected.values():
            lines.append(f"tuned learning rates ({selected.path.parent}): {chosen_text(selected.selections)}")
            if selected.damaged:
                lines.append(f"  the stored selection is damaged, so curves used these points: {selected.damaged}")
            lines += [f"  {problem}" for s in selected.selections.values() for problem in [s.problem()] if problem]
            moves = selected.moves()
            if moves:
                lines.append(f"  moved since {selected.path}: " + "; ".join(m.describe() for m in moves))
        return lines


def _value(run, metric: str, epoch: int) -> float | None:
    """The choosing metric of a run at the choosing epoch; None where the run diverged."""
    if run.diverged:
        return None
    values = run.history.get(metric)
    if values is None or len(values) < epoch:
        raise OptcheckError(f"tune.by = {metric!r}: the run of {run.optimizer} recorded no such value at epoch "
                            f"{epoch}; choose one of: {', '.join(run.history)}")
    value = values[epoch - 1]
    return value if value is not None and math.isfinite(value) else None
