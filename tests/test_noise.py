"""The noise model's decision rule on simulated curves: its false-alarm and detection rates, no training."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_optcheck.judge import noise

METRICS = ("loss",)
SIMULATIONS = 2000


def simulate(rng, seeds, epochs, sigma, *, branch=1.0):
    """One run's deviation from its baseline run: a random walk in units of `sigma` per epoch.

    With `branch` < 1 the run follows its baseline to the last bit unless it branches
    (probability `branch`), as chaotic training does: most nudges change nothing
    visible, some move the trajectory to a neighbouring one.
    """
    steps = rng.normal(0, 1, (seeds, epochs)).cumsum(axis=1) / np.sqrt(np.arange(1, epochs + 1))
    branched = rng.random(seeds) < branch
    return steps * sigma * branched[:, None]


def curves(values):
    return {seed: {"loss": list(row)} for seed, row in enumerate(values)}


def envelope_for(rng, base, sigma, reruns, branch=1.0):
    seeds, epochs = base.shape
    nudged = {s: [] for s in range(seeds)}
    for _ in range(reruns):
        for s, row in enumerate(base + simulate(rng, seeds, epochs, sigma, branch=branch)):
            nudged[s].append({"loss": list(row)})
    return noise.measure_envelope(curves(base), nudged, METRICS, epochs, list(range(reruns)))


def alarm_rate(*, seeds, epochs, reruns, shift=0.0, branch=1.0, seed=0):
    """Share of simulated checks that fail, when every seed moves by `shift` noise units (0: noise only)."""
    rng = np.random.default_rng(seed)
    sigma = np.linspace(0.01, 0.03, epochs)
    failures = 0
    for _ in range(SIMULATIONS):
        base = 1.0 / np.arange(1, epochs + 1) + rng.normal(0, 0.1, (seeds, 1))
        envelope = envelope_for(rng, base, sigma, reruns, branch)
        measured = base + simulate(rng, seeds, epochs, sigma, branch=branch) + shift * sigma
        failures += not noise.compare(curves(base), curves(measured), envelope).passed
    return failures / SIMULATIONS


@pytest.mark.parametrize("seeds, epochs, reruns", [(2, 3, 4), (3, 20, 2), (3, 5, 4)])
def test_rounding_noise_alone_rarely_fails(seeds, epochs, reruns):
    # The limit (|shift| > 4 with an upper-bound scale) is meant for well under 1% per metric.
    assert alarm_rate(seeds=seeds, epochs=epochs, reruns=reruns) <= 0.005


@pytest.mark.parametrize("branch, rate", [(0.1, 0.03), (0.25, 0.03), (0.5, 0.01)])
def test_branching_noise_rarely_fails_even_when_the_nudges_missed_it(branch, rate):
    # With branch 0.1 the 8 nudged runs show no jump at all 43% of the time; the check
    # then fails only when both seeds jump far (the clip bounds what one seed adds).
    # Measured here: 2.6% at branch 0.25 with 2 seeds (the spread of mean squares, not of means).
    assert alarm_rate(seeds=2, epochs=3, reruns=4, branch=branch) <= rate


@pytest.mark.parametrize("seeds, epochs, reruns, caught", [(2, 3, 4, 7.0), (3, 20, 2, 6.0), (3, 5, 4, 5.0)])
def test_a_shift_on_every_seed_is_caught(seeds, epochs, reruns, caught):
    # In units of the true noise; the scale is an upper bound (x1.7 with 8 deviations), hence 5-6, not 4.
    assert alarm_rate(seeds=seeds, epochs=epochs, reruns=reruns, shift=caught) >= 0.9
    assert alarm_rate(seeds=seeds, epochs=epochs, reruns=reruns, shift=caught / 3) <= 0.2


def test_the_same_excursion_on_one_seed_only_is_not_a_regression():
    base = np.array([[1.0, 0.8, 0.6], [1.1, 0.9, 0.7]])
    envelope = noise.NoiseEnvelope((1,), {"loss": (0.01, 0.01, 0.01)}, samples=8)
    measured = base.copy()
    measured[0, 2] += 0.05  # 5 noise units, one seed, one epoch
    result = noise.compare(curves(base), curves(measured), envelope)
    assert result.passed and not result.identical
    measured[1] += 0.03  # now every seed moves the same way, by 3 units at every epoch
    measured[0] += 0.03
    assert not noise.compare(curves(base), curves(measured), envelope).passed


def test_a_jump_of_one_seed_within_the_seeds_spread_is_not_a_regression():
    # 0.09 is 9 scales, as when the nudges never showed the jump a new CPU makes.
    base = np.array([[1.0, 0.8, 0.6], [1.1, 0.9, 0.7]])
    envelope = noise.NoiseEnvelope((1,), {"loss": (0.01, 0.01, 0.01)}, samples=8)
    measured = base.copy()
    measured[1, 1:] += 0.09
    assert noise.compare(curves(base), curves(measured), envelope).passed


def test_an_excursion_beyond_the_noise_and_the_seeds_spread_fails_alone():
    base = np.array([[1.0, 0.8, 0.6], [1.1, 0.9, 0.7]])
    envelope = noise.NoiseEnvelope((1,), {"loss": (0.01, 0.01, 0.01)}, samples=8)
    measured = base.copy()
    measured[1, 1] += 0.5
    failing = noise.compare(curves(base), curves(measured), envelope).failing
    assert [m.metric for m in failing] == ["loss"] and failing[0].excursions == [(1, 2, pytest.approx(50.0))]


def test_identical_curves_are_identical():
    base = np.array([[1.0, 0.8], [1.1, 0.9]])
    envelope = noise.NoiseEnvelope((1,), {"loss": (0.01, 0.01)}, samples=8)
    result = noise.compare(curves(base), curves(base.copy()), envelope)
    assert result.identical and result.passed


def test_a_divergence_on_one_side_is_named():
    base = {0: {"loss": [1.0, 0.8]}}
    envelope = noise.NoiseEnvelope((1,), {"loss": (0.01, 0.01)}, samples=4)
    result = noise.compare(base, {0: {"loss": [1.0, None]}}, envelope)
    assert not result.passed and result.missing == ["seed 0 loss epoch 2: diverged now, finite in the baseline"]


def test_the_scale_is_an_upper_bound_and_never_below_the_floor():
    base = {0: {"loss": [2.0, 1.0]}}
    nudged = {0: [{"loss": [2.0, 1.0 + d]} for d in (0.01, -0.01, 0.01, -0.01)]}
    envelope = noise.measure_envelope(base, nudged, METRICS, 2, [1, 2, 3, 4])
    assert envelope.scale["loss"][0] == pytest.approx(2.0 * noise.RELATIVE_FLOOR)
    assert envelope.scale["loss"][1] == pytest.approx(0.01 * noise.upper_rms_factor(4))
    assert envelope.samples == 4


def test_upper_rms_factor_matches_the_chi_square_bound():
    # sqrt(n / chi2_0.05(n)) from tables: n=8: chi2 = 2.733 -> 1.711; n=30: 18.493 -> 1.274.
    assert noise.upper_rms_factor(8) == pytest.approx(math.sqrt(8 / 2.733), rel=0.03)
    assert noise.upper_rms_factor(30) == pytest.approx(math.sqrt(30 / 18.493), rel=0.01)


def test_diverged_nudged_runs_leave_the_scale_finite():
    base = {0: {"loss": [2.0, 1.0]}}
    nudged = {0: [{"loss": [2.0, math.nan]}, {"loss": [2.01, 1.01]}]}
    envelope = noise.measure_envelope(base, nudged, METRICS, 2, [1, 2])
    assert all(math.isfinite(v) and v > 0 for v in envelope.scale["loss"])


@pytest.mark.parametrize("epochs", ["together", "independent"])
@pytest.mark.parametrize("seeds", [2, 3, 5])
def test_the_spread_limit_holds_its_error_rate_under_unit_noise(seeds, epochs):
    # The limit is the 99.994% quantile: with 200,000 draws about 12 exceed it. Epochs that move
    # together (one z per seed, repeated) give the heaviest tail; independent ones average out.
    rng = np.random.default_rng(seeds)
    if epochs == "together":
        z = np.repeat(rng.normal(size=(200_000, seeds, 1)), 3, axis=2)
    else:
        z = rng.normal(size=(200_000, seeds, 3))
    squares = np.sort(np.minimum(z * z, noise.SEED_CLIP ** 2).mean(axis=2), axis=1)
    spread = squares[:, :-1].sum(axis=1)
    assert (spread > noise.spread_limit(seeds)).mean() <= 2e-4
    # The vectorised statistic above is the one compare() uses.
    for row in z[:50]:
        assert noise.spread_statistic(row.tolist()) == pytest.approx(np.sort(
            np.minimum(row * row, noise.SEED_CLIP ** 2).mean(axis=1))[:-1].sum())


def test_seeds_that_swing_far_both_ways_within_their_epochs_are_a_change():
    # A changed beta or learning rate can move a seed's loss up at one epoch and down at
    # the next: every seed mean stays near zero, but every seed is far outside the noise.
    base = np.array([[1.0, 0.8, 0.6], [1.1, 0.9, 0.7], [1.05, 0.85, 0.65]])
    envelope = noise.NoiseEnvelope((1,), {"loss": (0.01, 0.01, 0.01)}, samples=8)
    swing = np.array([[0.06, -0.06, 0.0], [-0.05, 0.05, 0.02], [0.05, -0.04, -0.03]])
    result = noise.compare(curves(base), curves(base + swing), envelope)
    assert abs(result.metrics[0].shift) < 1 and result.metrics[0].spread_failed
    within = np.array([[0.01, -0.01, 0.0], [-0.01, 0.005, 0.01], [0.01, -0.01, -0.01]])
    assert noise.compare(curves(base), curves(base + within), envelope).passed


def test_seeds_moving_far_in_opposite_directions_are_a_change_one_seed_alone_is_not():
    base = np.array([[1.0, 0.8, 0.6], [1.1, 0.9, 0.7], [1.05, 0.85, 0.65]])
    envelope = noise.NoiseEnvelope((1,), {"loss": (0.01, 0.01, 0.01)}, samples=8)
    measured = base + np.array([[0.04], [-0.04], [0.0]])  # 4 units up, 4 down, one unmoved
    result = noise.compare(curves(base), curves(measured), envelope)
    assert abs(result.metrics[0].shift) < noise.SHIFT_LIMIT and not result.passed  # spread 16 + 0 > 10.2
    alone = base + np.array([[0.05], [0.0], [0.0]])
    assert noise.compare(curves(base), curves(alone), envelope).passed


def test_a_single_seed_has_no_spread_test():
    assert noise.spread_limit(1) == math.inf
