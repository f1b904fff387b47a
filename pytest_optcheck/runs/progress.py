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

import threading
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


@dataclass
class _Running:
    """A run training now: when it started, its epochs, how many it has trained."""

    epochs: int
    started: float
    epochs_run: int = 0
    last_epoch_end: float = 0.0

    def estimate(self) -> float | None:
        """Seconds the whole run will take, from its epochs so far; None before its first epoch."""
        return (self.last_epoch_end - self.started) / self.epochs_run * self.epochs if self.epochs_run else None


class Progress:
    """Collects timings; `show(text, final)` puts a line on the terminal.

    Runs may train side by side (`at_once` of them, from threads): each reports by its
    label, the lines name the one that spoke, and the time left counts that many runs
    going on at once.
    """

    def __init__(self, show: Callable[[str, bool], None], *, clock=time.monotonic, at_once: int = 1,
                 where: str = ""):
        """`where`: where runs train, when not in this process ("2 Ray workers"), said in each line."""
        self.show = show
        self.clock = clock
        self.at_once = max(1, at_once)
        self.where = f", {where}" if where else ""
        self._groups: dict[str, _Planned] = {}
        self._finished_epochs = 0
        self._running: dict[RunLabel, _Running] = {}
        self._lock = threading.Lock()

    def plan(self, suite: str, profile: str, runs: int, epochs: int) -> None:
        """`runs` more runs of `epochs` epochs will train on this suite and profile.

        Called before the session trains, and again when a claim adds seeds, so the
        total grows as soon as they are known, not run by run.
        """
        with self._lock:
            planned = self._groups.setdefault(f"{suite}/{profile}", _Planned())
            planned.runs += max(0, runs)
            planned.epochs = epochs

    @property
    def planned(self) -> int:
        return sum(g.runs for g in self._groups.values())

    @property
    def finished(self) -> int:
        return sum(len(g.finished) for g in self._groups.values())

    @property
    def running(self) -> list[RunLabel]:
        """The runs training now, in the order they started."""
        return list(self._running)

    def run_started(self, label: RunLabel, epochs: int) -> None:
        with self._lock:
            self._running[label] = _Running(epochs, self.clock())
            group = self._group_of(label)
            started = len(group.finished) + sum(self._group_of(other) is group for other in self._running)
            if group.runs < started:  # a run beyond the plan raises the plan
                group.runs = started
            group.epochs = epochs

    def epoch_done(self, label: RunLabel, epoch: int) -> None:
        with self._lock:
            run = self._running.get(label)
            if run is None:
                return
            now = self.clock()
            run.epochs_run, run.last_epoch_end = epoch, now
            left = self._left(now)
            first = self.finished + 1
            runs = f"run {first}" if len(self._running) == 1 else f"runs {first}-{first + len(self._running) - 1}"
            self.show(f"optcheck: training {label}: epoch {epoch}/{run.epochs}; "
                      f"{runs} of ~{self.planned}{self.where}, about {duration(left)} left", False)

    def run_finished(self, label: RunLabel) -> None:
        with self._lock:
            run = self._running.pop(label, None)
            if run is None:
                return
            now = self.clock()
            seconds = now - run.started
            # A run that says nothing of its epochs counts as whole; one that diverged, by what it trained.
            self._finished(label, run.epochs, run.epochs_run or run.epochs, seconds, now)

    def run_trained_elsewhere(self, label: RunLabel, epochs: int, seconds: float) -> None:
        """A run another machine trained (a Ray task) in `seconds`: counted and timed as it comes back."""
        with self._lock:
            group = self._group_of(label)
            group.epochs = epochs
            group.runs = max(group.runs, len(group.finished) + 1)  # it was never started here
            self._finished(label, epochs, epochs, seconds, self.clock())

    def _finished(self, label: RunLabel, epochs: int, epochs_run: int, seconds: float, now: float) -> None:
        """Count a finished run and say so in one line (the lock held)."""
        self._group_of(label).finished.append(seconds)
        self._finished_epochs += epochs_run
        self.show(f"optcheck: trained {label} ({epochs} epochs, {duration(seconds)}); "
                  f"{self.finished} of ~{self.planned} runs{self.where}, about {duration(self._left(now))} left", True)

    def run_stopped(self, label: RunLabel) -> None:
        """The run ended without a result (an error, an interruption): no line, no timing."""
        with self._lock:
            self._running.pop(label, None)

    def _group_of(self, label: RunLabel) -> _Planned:
        return self._groups.setdefault(f"{label.suite}/{label.profile}", _Planned())

    def _left(self, now: float) -> float:
        """Seconds until the planned runs are trained: those training now, then the rest `at_once` at a time."""
        estimates = {label: run.estimate() for label, run in self._running.items()}
        per_epoch = self._seconds_per_epoch(estimates)
        current = 0.0  # the runs training now end with the slowest of them
        for label, run in self._running.items():
            whole = estimates[label] if estimates[label] is not None else per_epoch * run.epochs
            current = max(current, whole - (now - run.started))
        waiting = 0.0
        for key, group in self._groups.items():
            running = [estimates[label] for label in self._running if f"{label.suite}/{label.profile}" == key]
            remaining = max(0, group.runs - len(group.finished) - len(running))
            if group.finished:
                per_run = sum(group.finished) / len(group.finished)
            elif any(e is not None for e in running):
                per_run = max(e for e in running if e is not None)
            else:
                per_run = per_epoch * group.epochs
            waiting += remaining * per_run
        # Runs timed side by side each took longer than one alone would, and that many go at once.
        side_by_side = self.at_once if self.finished or len(self._running) > 1 else 1
        return current + waiting / side_by_side

    def _seconds_per_epoch(self, estimates: dict[RunLabel, float | None]) -> float:
        """Seconds an epoch, from the runs finished (or else from those training now)."""
        done = [s for g in self._groups.values() for s in g.finished]
        if done and self._finished_epochs:
            return sum(done) / self._finished_epochs
        known = [(e, self._running[label].epochs) for label, e in estimates.items() if e is not None]
        return sum(e for e, _ in known) / sum(n for _, n in known) if known else 0.0
