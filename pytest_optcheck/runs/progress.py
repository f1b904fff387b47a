"""What is training now, and about how long the session still needs.

The runner reports each run it trains (not the cached ones) and each epoch. A
`Progress` turns that into lines for the terminal: on a terminal one line that
rewrites itself every epoch; in a log (CI) one line per finished run, so the log
stays readable. The estimate of the time left is the runs still planned times
the mean time of the runs trained so far (the epochs done so far, for the first).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


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


class Progress:
    """Collects timings; `show(text, final)` puts a line on the terminal."""

    def __init__(self, show: Callable[[str, bool], None], *, planned: int = 0, clock=time.monotonic):
        self.show = show
        self.planned = planned  # runs expected to train in this session (an estimate; may grow)
        self.clock = clock
        self.finished_seconds: list[float] = []
        self.label: RunLabel | None = None
        self.epochs = 0
        self._started = 0.0

    def expect(self, runs: int) -> None:
        """More runs will train than planned (a claim adds seeds): the total grows now, not run by run."""
        self.planned += max(0, runs)

    def run_started(self, label: RunLabel, epochs: int) -> None:
        self.label, self.epochs, self._started = label, epochs, self.clock()
        self.planned = max(self.planned, len(self.finished_seconds) + 1)

    def epoch_done(self, epoch: int) -> None:
        if self.label is None:
            return
        elapsed = self.clock() - self._started
        per_run = self._mean_run(elapsed / epoch * self.epochs)
        left_here = elapsed / epoch * (self.epochs - epoch)
        later = (self.planned - len(self.finished_seconds) - 1) * per_run
        self.show(f"optcheck: training {self.label}: epoch {epoch}/{self.epochs}; "
                  f"run {len(self.finished_seconds) + 1} of ~{self.planned}, about {duration(left_here + later)} left",
                  False)

    def run_finished(self) -> None:
        if self.label is None:
            return
        seconds = self.clock() - self._started
        self.finished_seconds.append(seconds)
        left = max(0, self.planned - len(self.finished_seconds)) * self._mean_run(seconds)
        self.show(f"optcheck: trained {self.label} ({self.epochs} epochs, {duration(seconds)}); "
                  f"{len(self.finished_seconds)} of ~{self.planned} runs, about {duration(left)} left", True)
        self.label = None

    def _mean_run(self, current_estimate: float) -> float:
        done = self.finished_seconds
        return sum(done) / len(done) if done else current_estimate
