"""What is training now, and about how long the session still needs.

The runner reports each run it trains (not the cached ones) and each epoch. A
`Progress` turns that into lines for the terminal: on a terminal one line that
rewrites itself every epoch; in a log (CI) one line per finished run, so the log
stays readable.

The time left is estimated per suite and profile, because their runs can differ
twentyfold in cost (a quadratic of 1,280 examples beside an MLP on 60,000 images):
the runs still planned for a profile times the mean time of its runs trained so
far (of the epochs done so far, for its first); a profile not started yet is
priced by its epochs at the mean time per epoch of everything trained so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunLabel:
    suite: str
    profile: str
    optimizer: str
    seed: int
    nudge: int | None = None

    def __str__(self) -> str:
        nudged = f", nudge {self.nudge}" if self.nudge is not None else ""
        return f"{self.suite}/{self.profile} {self.optimizer} seed {self.seed}{nudged}"


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


@dataclass
class _Planned:
    """The runs one suite and profile will train, and the seconds of those trained so far."""

    runs: int = 0
    epochs: int = 0
    finished: list[float] = field(default_factory=list)


class Progress:
    """Collects timings; `show(text, final)` puts a line on the terminal."""

    def __init__(self, show: Callable[[str, bool], None], *, clock=time.monotonic):
        self.show = show
        self.clock = clock
        self._groups: dict[str, _Planned] = {}
        self._finished_epochs = 0
        self.label: RunLabel | None = None
        self.epochs = 0
        self._started = 0.0
        self._epochs_run = 0

    def plan(self, suite: str, profile: str, runs: int, epochs: int) -> None:
        """`runs` more runs of `epochs` epochs will train on this suite and profile.

        Called before the session trains, and again when a claim adds seeds, so the
        total grows as soon as they are known, not run by run.
        """
        planned = self._groups.setdefault(f"{suite}/{profile}", _Planned())
        planned.runs += max(0, runs)
        planned.epochs = epochs

    @property
    def planned(self) -> int:
        return sum(g.runs for g in self._groups.values())

    @property
    def finished(self) -> int:
        return sum(len(g.finished) for g in self._groups.values())

    def run_started(self, label: RunLabel, epochs: int) -> None:
        self.label, self.epochs, self._started = label, epochs, self.clock()
        self._epochs_run = epochs  # until epochs report in: a run that says nothing counts as whole
        group = self._group_of(label)
        if group.runs <= len(group.finished):  # a run beyond the plan raises the plan
            group.runs = len(group.finished) + 1
        group.epochs = epochs

    def epoch_done(self, epoch: int) -> None:
        if self.label is None:
            return
        self._epochs_run = epoch
        elapsed = self.clock() - self._started
        left = elapsed / epoch * (self.epochs - epoch) + self._left(elapsed / epoch * self.epochs)
        self.show(f"optcheck: training {self.label}: epoch {epoch}/{self.epochs}; "
                  f"run {self.finished + 1} of ~{self.planned}, about {duration(left)} left", False)

    def run_finished(self) -> None:
        if self.label is None:
            return
        seconds = self.clock() - self._started
        label, self.label = self.label, None
        self._group_of(label).finished.append(seconds)
        self._finished_epochs += self._epochs_run  # a diverged run stops early: price what it trained
        self.show(f"optcheck: trained {label} ({self.epochs} epochs, {duration(seconds)}); "
                  f"{self.finished} of ~{self.planned} runs, about {duration(self._left(seconds))} left", True)

    def _group_of(self, label: RunLabel) -> _Planned:
        return self._groups.setdefault(f"{label.suite}/{label.profile}", _Planned())

    def _left(self, current_run: float) -> float:
        """Seconds for the planned runs not started yet; `current_run`: the estimate of the run now training."""
        done = [s for g in self._groups.values() for s in g.finished]
        per_epoch = (sum(done) / self._finished_epochs if done and self._finished_epochs
                     else current_run / max(self.epochs, 1))
        current = None if self.label is None else f"{self.label.suite}/{self.label.profile}"
        left = 0.0
        for key, group in self._groups.items():
            running = 1 if key == current else 0
            remaining = max(0, group.runs - len(group.finished) - running)
            if group.finished:
                per_run = sum(group.finished) / len(group.finished)
            elif running:
                per_run = current_run
            else:
                per_run = per_epoch * (group.epochs or self.epochs)
            left += remaining * per_run
        return left
