"""Planning a session's runs: what the selected items will ask for, trained together.

The first item that asks for runs of a suite trains all of that suite's planned runs side by
side (as many at a time as the runner trains at once), instead of three at a time per
optimizer, and the progress line's estimate counts every run planned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge import evidence
from pytest_optcheck.judge.claims import check_readable
from pytest_optcheck.runs.progress import Progress
from pytest_optcheck.runs.runner import Runner, Wanted
from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.spec.suite import Profile, Suite


@dataclass(frozen=True)
class Needs:
    """What the selected items will ask the runner for, known at collection (`Planner.plan`)."""

    runs: dict[tuple[Path, str], Suite]  # (suite file, optimizer) -> suite: its runs on the profile's seeds
    noise: frozenset[tuple[Path, str]] = frozenset()  # of those, the ones a curve item measures the noise of
    claims: tuple[tuple[Suite, ClaimSpec], ...] = ()  # the claims judged


class Planner:
    """The runs planned per suite file, until they are trained together.

    `profile_of`: the session's profile of a suite; `baseline_root`: the baseline folder;
    `has_envelope(path)`: whether a stored baseline records a noise envelope; `updating`:
    an update flag is given (refreshes measure the noise where no envelope is stored).
    """

    def __init__(self, runner: Runner, profile_of: Callable[[Suite], Profile], baseline_root: Callable[[], Path],
                 has_envelope: Callable[[Path], bool], updating: bool):
        self.runner = runner
        self._profile_of = profile_of
        self._baseline_root = baseline_root
        self._has_envelope = has_envelope
        self._updating = updating
        self._planned: dict[Path, tuple[Suite, list[Wanted]]] = {}
        self._tuned: set[Path] = set()  # suite files whose runs at their tuned rates are planned

    @property
    def _together(self) -> bool:
        """Whether planned runs train together: side by side, or as Ray tasks."""
        return self.runner.at_once > 1 or self.runner.remote is not None

    def plan(self, needs: Needs) -> None:
        """Note the runs the selected items need, so that they can train together.

        Nudged reruns are planned where a curve item will surely measure the noise: where an
        update refreshes a baseline that has no envelope (missing, damaged, or older than
        envelopes). An update keeps a stored envelope where the curves come out bit-identical,
        so there the reruns train only if they differ, when asked for. A claim's seeds are
        planned as far as it takes them whatever its runs show (`evidence.seeds_certain`: 7
        where it starts on 3); seeds it adds beyond those are planned when it adds them.
        """
        try:
            for (path, name), suite in needs.runs.items():
                profile = self._profile_of(suite)
                if profile.tune is not None:
                    continue  # the rates are known once the selection has trained: runs train as asked
                stored = baselines.optimizer_path(self._baseline_root(), suite, profile, name)
                measures_noise = self._updating and (path, name) in needs.noise and not self._has_envelope(stored)
                nudges = range(1, profile.noise_reruns + 1) if measures_noise else ()
                self.add(suite, [(name, seed, nudge) for seed in profile.seeds for nudge in (None, *nudges)])
            if not self._together:
                return  # one at a time, a claim's seeds train as it asks for them, and are counted then
            for suite, claim in needs.claims:
                profile = self._profile_of(suite)
                if profile.tune is not None:
                    continue
                try:
                    check_readable(claim, profile.epochs, profile.name)
                except OptcheckError:
                    continue  # its item says why; none of its seeds is worth training
                pool = profile.seed_pool()
                certain = evidence.seeds_certain(len(profile.seeds), profile.seed_group, len(pool),
                                                 claim.probability_above, claim.confidence)
                self.add(suite, [(name, seed, None) for seed in pool[len(profile.seeds):certain]
                                 for name in claim.optimizers])
        except OptcheckError:
            return  # an unknown profile, say: the items report it

    def add(self, suite: Suite, runs: list[Wanted]) -> None:
        """Plan these runs (optimizer, seed, nudge) of the suite, once each."""
        planned = self._planned.setdefault(Path(suite.path), (suite, []))[1]
        planned += [run for run in dict.fromkeys(runs) if run not in planned]

    def add_tuned(self, suite: Suite, tuned: Suite) -> None:
        """Plan, once, every optimizer's runs on the profile's seeds at the tuned rates (`tuned`), and count
        them: they are known only once the selection has trained."""
        key = Path(suite.path).resolve()
        if key in self._tuned:
            return
        self._tuned.add(key)
        profile = self._profile_of(suite)
        runs = [(name, seed, None) for name in tuned.optimizers for seed in profile.seeds]
        self.add(tuned, runs)
        self.count(tuned, profile, runs)

    def count_all(self) -> None:
        """Tell the runner's progress how many of the planned runs will train, per suite."""
        try:
            for suite, wanted in self._planned.values():
                self.count(suite, self._profile_of(suite), wanted)
        except OptcheckError:
            return  # no data yet, say: the items report it

    def count(self, suite: Suite, profile: Profile, runs: list[Wanted]) -> None:
        """Add the runs (optimizer, seed, nudge) that will train (neither cached nor failed) to the progress estimate."""
        progress: Progress | None = self.runner.progress
        if progress is None:
            return
        to_train = sum(self.runner.will_train(suite, name, seed, profile, nudge) for name, seed, nudge in runs)
        progress.plan(suite.name, profile.name, to_train, profile.epochs)

    def train_planned(self, suite: Suite) -> None:
        """Train the suite's planned runs together, once; a run that fails is left for its item to raise."""
        planned = self._planned.pop(Path(suite.path), None)
        if planned is None or not self._together:
            return
        try:
            self.runner.run_many(planned[0], self._profile_of(suite), planned[1])
        except Exception:  # noqa: BLE001 - the runner keeps it: the item that asks for that run reports it
            pass
