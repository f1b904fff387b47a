"""Claim verdicts over seeds: each seed's margin, and what the seeds say together.

Every claim reduces, on one seed, to a signed *margin* in the units of its
metric: positive means the claim holds on that seed, zero or negative means it
does not ("close" claims hold at zero too). Seeds are paired: the same seed for
every optimizer involved. The verdict over seeds weighs how often the claim held
(`evidence.py`): `holds` when P(it holds on a seed) is above the claim's
`probability_above` (0.5 by default) at its `confidence` (0.95), `fails` when it is
below, `inconclusive` when the seeds cannot tell yet.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge import evidence
from pytest_optcheck.judge.evidence import INCONCLUSIVE
from pytest_optcheck.spec.claims import ClaimSpec, History, lower_is_better


@dataclass
class Verdict:
    """A claim judged over seeds: `holds`, `fails` or `inconclusive`."""

    claim_id: str
    verdict: str
    margins: dict[int, float | None]  # per seed; None where a run diverged
    holding: dict[int, bool]
    evidence: evidence.Evidence
    notes: list[str] = field(default_factory=list)
    budget: int | None = None  # the most seeds the claim could take (seeds on demand); None: not known
    # Why the claim is undecided whatever its seeds say (a tuned point on its grid's edge), and what they said.
    undecided_by: tuple[str, ...] = ()
    seeds_said: str = ""

    @property
    def seeds_holding(self) -> int:
        return sum(self.holding.values())

    @property
    def mean(self) -> float | None:
        finite = [m for m in self.margins.values() if m is not None]
        return statistics.fmean(finite) if finite else None

    @property
    def margin_sd(self) -> float | None:
        """The sample standard deviation of the finite margins."""
        finite = [m for m in self.margins.values() if m is not None]
        return statistics.stdev(finite) if len(finite) > 1 else (0.0 if finite else None)

    @property
    def median_interval(self) -> tuple[float, float, float] | None:
        return evidence.median_interval([m for m in self.margins.values() if m is not None], self.evidence.level)


def describe(verdict: Verdict, metric: str) -> str:
    """One line: the verdict, its evidence, and the margins."""
    e = verdict.evidence
    share = f"P(holds on a seed) = {e.holding}/{e.seeds}, {e.level:.0%} interval [{e.low:.2f}, {e.high:.2f}]"
    if verdict.undecided_by:
        text = (f"{evidence.INCONCLUSIVE}: {'; '.join(verdict.undecided_by)}; at these rates the seeds say it "
                f"{verdict.seeds_said}: {share}")
    elif verdict.verdict == evidence.HOLDS:
        text = f"{verdict.verdict}: {share}, above {e.threshold:g}"
    elif verdict.verdict == evidence.FAILS:
        text = f"{verdict.verdict}: {share}, below {e.threshold:g}"
    else:
        text = f"{verdict.verdict}: {share} contains {e.threshold:g}; " + seeds_wanted(e.seeds_needed, e.seeds)
    median = verdict.median_interval
    if median is not None:
        text += (f"; margin in {metric}: mean {_signed(verdict.mean)}, median interval [{median[0]:+.4f}, "
                 f"{median[1]:+.4f}] ({median[2]:.0%})")
    text += "; " + ", ".join(f"seed {s}: {_signed(m)}" for s, m in verdict.margins.items())
    return text + ("; " + "; ".join(verdict.notes) if verdict.notes else "")


def seeds_wanted(needed: int | None, seeds: int) -> str:
    """How many seeds an undecided claim would take at its current share."""
    if needed is None:
        return "at this share no number of seeds up to 1000 would decide it"
    return f"at this share it would take {needed} seeds ({needed - seeds} more)"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _goodness(metric: str, value: float) -> float:
    """Higher is better, whatever the metric."""
    return -value if lower_is_better(metric) else value


def _epochs_to_reach(values: Sequence[float], metric: str, target: float) -> int:
    for epoch, value in enumerate(values, start=1):
        if _goodness(metric, value) >= _goodness(metric, target):
            return epoch
    return len(values) + 1  # never reached: counted as one epoch past the end


def seed_margin(claim: ClaimSpec, histories: Mapping[str, History], epochs: int) -> float:
    """The claim's margin on one seed (`histories` maps optimizer -> that seed's history)."""

    def score(name: str) -> float:
        values = histories[name][claim.metric]
        if claim.kind == "faster":
            if claim.target is not None:
                return -_epochs_to_reach(values, claim.metric, claim.target)
            k = min(claim.first_epochs or 1, len(values))
            return _goodness(claim.metric, statistics.fmean(values[:k]))
        index = (claim.epoch or epochs) - 1
        return _goodness(claim.metric, values[min(index, len(values) - 1)])

    margin = min(score(b) - score(w) for b in claim.better for w in claim.worse)
    return margin + claim.within if claim.kind == "close" else margin - claim.by


def undecided_because(verdict: Verdict, reasons: Sequence[str]) -> Verdict:
    """The verdict made inconclusive for `reasons` (none: unchanged), keeping what its seeds said."""
    if not reasons:
        return verdict
    return dataclasses.replace(verdict, verdict=INCONCLUSIVE, undecided_by=tuple(reasons),
                               seeds_said=verdict.verdict,
                               notes=[*verdict.notes, *(f"undecided: {reason}" for reason in reasons)])


def check_readable(claim: ClaimSpec, epochs: int, profile: str | None = None) -> None:
    """Raise if the claim reads an epoch that a profile of `epochs` epochs does not train.

    Checked before anything trains for the claim, so that a claim that cannot be judged
    costs no run.
    """
    if claim.epoch is not None and claim.epoch > epochs:
        which = "the profile" if profile is None else f"profile {profile!r}"
        raise OptcheckError(
            f"claims[{claim.id}].epoch = {claim.epoch}, but {which} trains only {epochs} epochs: lower the "
            f"claim's epoch, or run a profile of at least {claim.epoch} epochs (--optcheck-profile)"
        )


def judge(claim: ClaimSpec, runs: Mapping[str, Mapping[int, Any]], seeds: Sequence[int], epochs: int) -> Verdict:
    """Judge a claim over `seeds`; `runs[optimizer][seed]` has `.history` and `.diverged_at`."""
    check_readable(claim, epochs)
    margins: dict[int, float | None] = {}
    holding: dict[int, bool] = {}
    notes: list[str] = []
    for seed in seeds:
        diverged = [n for n in claim.optimizers if runs[n][seed].diverged_at is not None]
        if diverged:
            # A diverged run loses every comparison it is part of.
            margins[seed] = None
            holding[seed] = not any(n in claim.better for n in diverged)
            notes.append(f"seed {seed}: {', '.join(diverged)} diverged")
            continue
        margin = seed_margin(claim, {n: runs[n][seed].history for n in claim.optimizers}, epochs)
        margins[seed] = margin
        holding[seed] = margin >= 0 if claim.kind == "close" else margin > 0
    weighed = evidence.weigh(list(holding.values()), claim.probability_above, claim.confidence)
    return Verdict(claim.id, weighed.verdict, margins, holding, weighed, notes)


def judge_on_demand(claim: ClaimSpec, run: Callable[[str, int], Any], first: Sequence[int], pool: Sequence[int],
                    group: int, epochs: int, adding: Callable[[Sequence[int]], None] | None = None) -> Verdict:
    """Judge on the `first` seeds, then add seeds of `pool` while the claim is undecided.

    Each look adds `group` seeds, or more where fewer could not decide the claim
    whatever they showed (`evidence.seeds_to_add`). `run(optimizer, seed)` gives a
    run (trained or cached). Looking after each addition and stopping once decided
    keeps the stated error rate: the verdict's interval is a confidence sequence
    (`evidence.py`). `adding(seeds)` hears of the seeds of each addition before
    they are asked for (the progress line counts them).
    """
    seeds = list(first)
    while True:
        runs = {name: {seed: run(name, seed) for seed in seeds} for name in claim.optimizers}
        verdict = judge(claim, runs, seeds, epochs)
        count = evidence.seeds_to_add(verdict.evidence.holding, len(seeds), group, len(pool),
                                      claim.probability_above, claim.confidence)
        if verdict.verdict != INCONCLUSIVE or count == 0:
            verdict.budget = len(pool)
            return verdict
        added = list(pool[len(seeds): len(seeds) + count])
        if adding is not None:
            adding(added)
        seeds += added
