"""The claim verdict's statistics on simulated margins, no training: error rates with sequential looks, power."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_optcheck.judge import evidence

SIMULATIONS = 20_000


def sequential(rng, margins, *, first=3, group=3, most=30, threshold=0.5, level=evidence.LEVEL):
    """Run the seeds-on-demand rule on simulated per-seed margins (rows: simulations).

    Looks after `first` seeds, then adds seeds as the harness does (`evidence.seeds_to_add`:
    `group` at a time, more where fewer could not decide), stopping at the first
    decision or at `most`. Returns each simulation's verdict and seed count.
    """
    counts = np.cumsum(margins[:, :most] > 0, axis=1)
    table = {(k, n): evidence.decide(k, n, threshold, level) for n in range(1, most + 1) for k in range(n + 1)}
    step = {(k, n): evidence.seeds_to_add(k, n, group, most, threshold, level)
            for n in range(1, most + 1) for k in range(n + 1)}
    verdicts = np.full(len(margins), "inconclusive", dtype=object)
    used = np.full(len(margins), most)
    for i, row in enumerate(counts):
        n = first
        while True:
            holding = int(row[n - 1])
            if table[(holding, n)] != "inconclusive":
                verdicts[i], used[i] = table[(holding, n)], n
                break
            if step[(holding, n)] == 0:
                break
            n += step[(holding, n)]
    return verdicts, used


@pytest.mark.parametrize("noise", ["normal", "heavy", "skewed-median-zero"])
def test_with_no_true_effect_a_claim_is_decided_at_most_at_the_error_rate(noise):
    # Every look counts: after 3 seeds, then every 3 more (or more where 3 could not decide), up to 30.
    # A fixed-n test looked at that often would err far more often.
    rng = np.random.default_rng(1)
    shape = (SIMULATIONS, 30)
    margins = {"normal": lambda: rng.normal(0, 0.01, shape),
               "heavy": lambda: rng.standard_t(1, shape),  # Cauchy: no mean, no variance
               "skewed-median-zero": lambda: rng.exponential(1, shape) - np.log(2)}[noise]()
    verdicts, _ = sequential(rng, margins)
    assert (verdicts != "inconclusive").mean() <= 1 - evidence.LEVEL


def test_looking_after_every_single_seed_keeps_the_error_rate():
    rng = np.random.default_rng(2)
    verdicts, _ = sequential(rng, rng.normal(size=(SIMULATIONS, 30)), first=1, group=1)
    assert (verdicts != "inconclusive").mean() <= 1 - evidence.LEVEL


@pytest.mark.parametrize("p", [0.5, 0.6, 0.7])
def test_a_claim_at_or_below_its_threshold_never_holds_more_often_than_the_error_rate(p):
    rng = np.random.default_rng(3)
    margins = np.where(rng.random((SIMULATIONS, 30)) < p, 1.0, -1.0)
    verdicts, _ = sequential(rng, margins, threshold=0.7)
    assert (verdicts == "holds").mean() <= 1 - evidence.LEVEL


def test_a_clear_effect_is_decided_with_few_seeds():
    rng = np.random.default_rng(4)
    clear = rng.normal(0.02, 0.005, (SIMULATIONS, 30))  # a margin of 4 standard deviations
    verdicts, used = sequential(rng, clear)
    # 7 seeds needed, and looked at then: after 3 seeds of 3 the claim adds 4, since 6 could not decide it.
    assert (verdicts == "holds").mean() > 0.999 and np.median(used) == 7
    reversed_, used = sequential(rng, -clear)
    assert (reversed_ == "fails").all() and np.median(used) == 7 and used.max() <= 12


@pytest.mark.parametrize("group, budget", [(1, 30), (3, 12), (3, 30), (4, 12), (5, 9)])
def test_a_claim_adds_its_group_or_the_fewest_seeds_that_could_decide_it(group, budget):
    def could_decide(holding, seeds, added):
        return (evidence.decide(holding + added, seeds + added) != "inconclusive"
                or evidence.decide(holding, seeds + added) != "inconclusive")

    for seeds in range(1, budget + 1):
        for holding in range(seeds + 1):
            added = evidence.seeds_to_add(holding, seeds, group, budget)
            left = budget - seeds
            assert 0 <= added <= left and (added >= min(group, left))
            # No smaller count at or above the group could have decided it ...
            assert not any(could_decide(holding, seeds, k) for k in range(min(group, left), added))
            # ... and the count taken could, unless it is the rest of the budget.
            assert added == left or could_decide(holding, seeds, added)
    assert evidence.seeds_to_add(3, 3, 3, 12) == 4  # 6 of 6 decides nothing at 95%, 7 of 7 does
    assert evidence.seeds_to_add(3, 3, 3, 5) == 2  # no count within the budget decides: the budget's rest


def test_a_moderate_effect_is_decided_within_thirty_seeds_most_of_the_time():
    rng = np.random.default_rng(5)
    verdicts, used = sequential(rng, rng.normal(0.01, 0.01, (SIMULATIONS, 30)))  # P(A>B) = 0.84
    assert (verdicts == "holds").mean() >= 0.8 and (verdicts == "fails").mean() < 0.001


def test_the_interval_covers_the_true_probability_at_every_look_at_once():
    rng = np.random.default_rng(6)
    covered = 0
    for p in rng.random(2000):
        outcomes = rng.random(30) < p
        counts = np.cumsum(outcomes)
        covered += all(evidence.interval(int(k), n)[0] <= p <= evidence.interval(int(k), n)[1]
                       for n, k in enumerate(counts, start=1))
    assert covered / 2000 >= evidence.LEVEL


def test_three_seeds_can_decide_nothing_and_say_how_many_more_would():
    for holding in range(4):
        assert evidence.decide(holding, 3) == "inconclusive"
    assert evidence.weigh([True] * 3).seeds_needed == 7
    assert evidence.weigh([True, True, False]).seeds_needed == evidence.seeds_to_decide(2 / 3) > 30
    assert evidence.weigh([True, False]).seeds_needed is None  # a share of one half decides nothing


def test_the_interval_is_a_proper_interval_around_the_share():
    for n in (1, 3, 10, 30):
        for k in range(n + 1):
            low, high = evidence.interval(k, n)
            assert 0 <= low <= k / n <= high <= 1


def test_the_median_interval_is_distribution_free_and_says_its_coverage():
    assert evidence.median_interval([0.3, 0.1, 0.2]) == (0.1, 0.3, 0.75)
    low, high, coverage = evidence.median_interval([float(v) for v in range(10)])
    assert (low, high) == (1.0, 8.0) and coverage == pytest.approx(1 - 22 / 1024)
    assert evidence.median_interval([]) is None
