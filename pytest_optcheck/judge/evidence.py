"""How sure a claim's verdict is: an anytime-valid confidence sequence for P(the claim holds on a seed).

A claim reduces, on each seed, to a margin (`judge/claims.py`); the seeds are paired
(every optimizer of the claim trains on the same seed, data order and initial
weights), so each seed gives one independent yes or no: the claim held on it or
not. The quantity of interest is p = P(the claim holds on a seed), the
*probability of outperforming* of Bouthillier et al. (2021). A claim **holds**
when the evidence says p is above its threshold (0.5 unless the claim states
another), **fails** when it says p is below, and is **inconclusive** otherwise.

Why this method:

- **Distribution-free.** Only the signs of the margins count, so nothing is
  assumed about how margins are distributed over seeds (chaotic training gives
  skewed, heavy-tailed ones: a seed can jump to another trajectory). No
  distribution-free test can be sure of anything with 3 seeds: a coin gives 3 of 3
  one time in eight. That is what the harness says when a profile has 3 seeds.
- **Anytime-valid.** Seeds may be added in groups until a claim is decided
  (`seeds = { first = 3, max = 30 }`): looking after every group and stopping when
  decided does not raise the error rate, because the interval is a confidence
  *sequence*. For every candidate q the likelihood ratio of a Jeffreys mixture
  (Beta(1/2, 1/2) over p) against p = q is a nonnegative martingale with mean 1
  when p = q, so by Ville's inequality it ever exceeds 1/alpha with probability
  at most alpha. The sequence keeps the q whose ratio stays below 1/alpha; it
  covers the true p at every number of seeds at once with probability at least
  1 - alpha. A fixed-n interval (Clopper-Pearson, a bootstrap) would be narrower
  but its error rate grows with every look.

The cost of both properties: a claim that holds on every seed is decided after
7 seeds at 95% (10 at 99%); one that holds on 2 seeds in 3 needs about 94.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_optcheck.spec.claims import LEVEL
from pytest_optcheck.spec.expectations import Expectation

METHOD = "anytime-valid confidence sequence for P(claim holds on a seed): Jeffreys-mixture binomial martingale"
# A claim's verdict, as claims.json stores it and the summary says it: holds and fails are the
# words a suite's `expect` uses too; inconclusive is the verdict an `undecided` expectation expects.
HOLDS, FAILS, INCONCLUSIVE = Expectation.HOLDS.value, Expectation.FAILS.value, "inconclusive"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE)
_LOG_BETA_HALF = math.lgamma(0.5) * 2  # log B(1/2, 1/2) = log pi


def log_ratio(holding: int, seeds: int, q: float) -> float:
    """log of the mixture likelihood over the likelihood at p = q, after `holding` yes of `seeds`."""
    if seeds == 0:
        return 0.0
    no = seeds - holding
    if (q <= 0.0 and holding) or (q >= 1.0 and no):
        return math.inf
    mixture = math.lgamma(holding + 0.5) + math.lgamma(no + 0.5) - math.lgamma(seeds + 1.0) - _LOG_BETA_HALF
    at_q = (holding * math.log(q) if holding else 0.0) + (no * math.log1p(-q) if no else 0.0)
    return mixture - at_q


def interval(holding: int, seeds: int, level: float = LEVEL) -> tuple[float, float]:
    """The confidence sequence for p at this look: every q the evidence has not ruled out."""
    if seeds == 0:
        return (0.0, 1.0)
    limit = math.log(1.0 / (1.0 - level))
    centre = holding / seeds  # the ratio is smallest here and grows on both sides

    def edge(inside: float, outside: float) -> float:
        if log_ratio(holding, seeds, outside) < limit:
            return outside
        for _ in range(60):  # bisection to well below the printed precision
            middle = (inside + outside) / 2
            if log_ratio(holding, seeds, middle) < limit:
                inside = middle
            else:
                outside = middle
        return inside

    return (edge(centre, 0.0), edge(centre, 1.0))


def decide(holding: int, seeds: int, threshold: float = 0.5, level: float = LEVEL) -> str:
    """`holds` when the whole interval is above `threshold`, `fails` when below, else `inconclusive`.

    The interval excludes `threshold` exactly when the ratio there reaches 1/alpha,
    so no interval needs computing: which side of it the share lies on says the rest.
    """
    if seeds == 0 or log_ratio(holding, seeds, threshold) < math.log(1.0 / (1.0 - level)):
        return INCONCLUSIVE
    return HOLDS if holding / seeds > threshold else FAILS


def seeds_to_decide(share: float, threshold: float = 0.5, level: float = LEVEL, limit: int = 1000) -> int | None:
    """How many seeds a claim holding on `share` of them would take to be decided; None beyond `limit`."""
    for seeds in range(1, limit + 1):
        if decide(round(share * seeds), seeds, threshold, level) != INCONCLUSIVE:
            return seeds
    return None


def seeds_to_add(holding: int, seeds: int, group: int, budget: int, threshold: float = 0.5,
                 level: float = LEVEL) -> int:
    """How many seeds an undecided claim adds before it is looked at again (0: the budget is spent).

    At least `group`, and never so few that no outcome of the added seeds could decide
    it: a claim that held on 3 seeds of 3 cannot be decided on 6, whatever they show
    (it takes 7), so it adds 4, not 3, and a look that could not have stopped it is
    skipped. The interval is valid at every number of seeds at once, so choosing the
    looks this way keeps the error rate, and saves the runs of the skipped look. Where
    no number within the budget could decide it, the claim takes the rest of its
    budget, so that its evidence is reported on every seed it may have.
    """
    left = max(budget - seeds, 0)
    for added in range(min(group, left), left + 1):
        if added and (decide(holding + added, seeds + added, threshold, level) != INCONCLUSIVE
                      or decide(holding, seeds + added, threshold, level) != INCONCLUSIVE):
            return added
    return left


def seeds_certain(first: int, group: int, budget: int, threshold: float = 0.5, level: float = LEVEL) -> int:
    """The seeds a claim judged on demand takes whatever its runs show: no verdict is possible on fewer.

    3 seeds decide nothing at 95%, so a claim that starts on 3 always adds
    `seeds_to_add` of them (4 at least): its 7 seeds can train before it is first judged.
    """
    seeds = first
    while seeds < budget and all(decide(h, seeds, threshold, level) == INCONCLUSIVE for h in range(seeds + 1)):
        seeds += min(seeds_to_add(h, seeds, group, budget, threshold, level) for h in range(seeds + 1))
    return seeds


@dataclass(frozen=True)
class Evidence:
    """A claim's evidence over its seeds: the share that held, the interval for p and the verdict."""

    holding: int
    seeds: int
    threshold: float
    level: float
    low: float
    high: float
    verdict: str
    seeds_needed: int | None  # at the current share; None when it would take more than 1000 seeds

    @property
    def probability(self) -> float | None:
        return self.holding / self.seeds if self.seeds else None


def weigh(holding: Sequence[bool], threshold: float = 0.5, level: float = LEVEL) -> Evidence:
    """The evidence of per-seed outcomes (True: the claim held on that seed)."""
    yes, n = sum(holding), len(holding)
    low, high = interval(yes, n, level)
    verdict = decide(yes, n, threshold, level)
    needed = n if verdict != INCONCLUSIVE else seeds_to_decide(yes / n if n else 0.5, threshold, level)
    return Evidence(yes, n, threshold, level, low, high, verdict, needed)


def median_interval(margins: Sequence[float], level: float = LEVEL) -> tuple[float, float, float] | None:
    """The widest order-statistic interval for the median margin, and its exact coverage (sign test).

    Distribution-free and for a fixed number of seeds (descriptive, not used for the
    verdict). With few seeds even [min, max] covers less than `level`: the coverage
    returned says how much (75% with 3 seeds).
    """
    values = sorted(margins)
    n = len(values)
    if n == 0:
        return None
    best = (values[0], values[-1], 1.0 - 2.0 * 0.5 ** n)
    for k in range(1, n // 2 + 1):  # [x_(k), x_(n-k+1)] (1-based) covers the median with this probability
        coverage = 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) * 0.5 ** n
        if coverage < level:
            break
        best = (values[k - 1], values[n - k], coverage)
    return best
