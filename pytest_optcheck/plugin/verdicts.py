"""A claim's verdict in a session: judged once per (suite, profile, claim), on as many seeds as it takes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from pytest_optcheck.judge.claims import Verdict, check_readable, judge_on_demand, undecided_because
from pytest_optcheck.plugin.planning import Planner
from pytest_optcheck.plugin.tuning import Tuning
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.spec.suite import Profile, Suite


class Verdicts:
    """The session's verdicts, each judged the first time an item asks for it."""

    def __init__(self, runner: Runner, planner: Planner, tuning: Tuning, profile_of: Callable[[Suite], Profile]):
        self._runner = runner
        self._planner = planner
        self._tuning = tuning
        self._profile_of = profile_of
        self._judged: dict[tuple[Path, str, str], Verdict] = {}

    def verdict(self, suite: Suite, claim: ClaimSpec) -> Verdict:
        """The claim judged on the profile's seeds and, while it is undecided, on more (within the budget)."""
        profile = self._profile_of(suite)
        memo = (suite.path, profile.name, claim.id)
        if memo not in self._judged:
            self._judged[memo] = self._judge(suite, profile, claim)
        return self._judged[memo]

    def _judge(self, suite: Suite, profile: Profile, claim: ClaimSpec) -> Verdict:
        runner, planner = self._runner, self._planner

        def together(seeds: Iterable[int]) -> None:  # the claim's optimizers on these seeds, trained side by side
            runner.run_many(suite, profile, [(name, seed, None) for name in claim.optimizers for seed in seeds])

        def adding(seeds: Iterable[int]) -> None:  # the progress line's total grows by the runs these seeds train
            seeds = list(seeds)
            planner.count(suite, profile, [(name, seed, None) for name in claim.optimizers for seed in seeds])
            together(seeds)

        check_readable(claim, profile.epochs, profile.name)  # before its runs train
        planner.train_planned(suite)
        together(profile.seeds)
        verdict = judge_on_demand(claim, lambda name, seed: runner.run(suite, name, seed, profile), profile.seeds,
                                  profile.seed_pool(), profile.seed_group, profile.epochs, adding)
        # A best point on a grid's edge: the optimizer may do better beyond it, so the claim waits.
        return undecided_because(verdict, self._tuning.problems(suite, claim.optimizers))
