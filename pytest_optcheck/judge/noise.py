"""The noise model: how far an optimizer's curves move under rounding alone, and a check against it.

**Measuring.** When a baseline is written, each seed is retrained a few times
with its initial weights nudged by one ulp (`engine/nudge.py`). The deviations from the
baseline run, per metric and epoch, pooled over seeds and nudges, give the noise
*scale* of that metric at that epoch: the 95% upper confidence bound of their
root mean square (with 8 deviations the bound is about 1.7 times the estimate,
so a handful of reruns does not understate the noise), and never below a
thousandth of the metric's value, below which no change is a change in training.

**Checking.** Each measured value becomes a z-score, its distance from the
baseline in units of that epoch's scale. Per metric, each seed's mean z over the
epochs is clipped to ±5, and the *shift* is their sum divided by sqrt(seeds).

- Rounding noise moves each seed its own way, so the shift stays near zero; a real
  change moves every seed the same way, and the shift grows with every seed.
- Each z has a standard deviation of at most 1, so each seed's mean has at most 1
  too (however the epochs are correlated), and the shift is at most a standard
  normal under noise: |shift| > 4 happens about once in 16,000 metrics.
- Chaotic training does not wander evenly: most nudges change nothing visible
  and a few jump to a neighbouring trajectory, so the nudges may not have shown a
  jump that a new CPU triggers. The clip is what makes one seed's jump, however
  large, unable to fail a check on its own when there are two seeds or more
  (5 / sqrt(2) < 4); with a single seed, a mean beyond ±4 fails.

A change need not move every seed the same way: a different learning rate or
beta can send one seed's loss up and another's down, or one epoch up and the next
down, each far beyond the noise, so that the means cancel. The *spread* catches
that: per seed the mean of the squared z over the epochs (each z² clipped to 25),
summed over the seeds, leaving out the largest, so that again one seed alone
never fails a check. Under noise each z has a variance of at most 1, so each
seed's mean square is at most a chi-square with one degree of freedom when its
epochs move together (the heaviest tail; independent epochs average out), and
the limit is the 99.994% quantile of that sum for standard normals (7.2 with two
seeds, 10.2 with three), the same error rate as the shift's 4. Rounding moves a
seed's curves within its noise (a mean square near 1 or below); a changed
optimizer moves them several scales on most seeds, whichever way.

An *excursion* fails on its own: one value more than 20 scales from its baseline
and farther than the baseline's seeds are from each other at that epoch. A jump
to a neighbouring trajectory stays within the spread of the seeds (another seed
is the largest rounding change there is); a broken epoch does not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

METHOD = "one-ulp nudges of the initial weights; scale = 95% upper bound of the RMS deviation, floor 0.1% of the value"
SHIFT_LIMIT = 4.0
SEED_CLIP = 5.0
EXCURSION_SCALES = 20.0
# The 99.994% quantile of the spread under standard normal seed means, by seed count
# (simulated with 4 million draws each; tests/test_noise.py checks the error rate).
SPREAD_LIMITS = {2: 7.2, 3: 10.2, 4: 12.9, 5: 15.2, 6: 17.6, 7: 19.6, 8: 21.6}


def spread_limit(seeds: int) -> float:
    """The spread beyond which seeds move more than noise does; infinite with one seed."""
    if seeds < 2:
        return math.inf
    return SPREAD_LIMITS.get(seeds, SPREAD_LIMITS[8] + 2.0 * (seeds - 8))


def spread_statistic(z_per_seed: Sequence[Sequence[float]]) -> float:
    """Per seed the mean of its squared z (each clipped to SEED_CLIP²), summed, leaving out the largest seed."""
    squares = sorted(statistics.fmean(min(v * v, SEED_CLIP ** 2) for v in zs) for zs in z_per_seed if zs)
    return sum(squares[:-1])


RELATIVE_FLOOR = 1e-3
ABSOLUTE_FLOOR = 1e-6

# One run's per-epoch metrics; None where the run diverged.
Curves = Mapping[str, Sequence[float | None]]


@dataclass(frozen=True)
class NoiseEnvelope:
    """Per metric, per epoch: the scale of rounding noise, measured with `nudges` on every baseline seed."""

    nudges: tuple[int, ...]
    scale: dict[str, tuple[float, ...]]
    samples: int  # deviations behind each epoch's scale (seeds x nudges)
    method: str = METHOD

    def to_json(self) -> dict:
        return {"nudges": list(self.nudges), "samples": self.samples, "method": self.method,
                "scale": {m: [float(f"{v:.6g}") for v in values] for m, values in sorted(self.scale.items())}}


def upper_rms_factor(samples: int, confidence: float = 0.95) -> float:
    """sigma_upper / rms for `samples` deviations: sqrt(n / chi2 quantile), Wilson-Hilferty approximation."""
    z = statistics.NormalDist().inv_cdf(1 - confidence)
    k = samples
    quantile = k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3
    return math.sqrt(k / quantile)


def measure_envelope(baseline: Mapping[int, Curves], nudged: Mapping[int, Sequence[Curves]],
                     metrics: Sequence[str], epochs: int, nudges: Sequence[int]) -> NoiseEnvelope:
    """The envelope from every seed's baseline curves and its nudged reruns (same seeds)."""
    scale: dict[str, tuple[float, ...]] = {}
    samples = sum(len(runs) for runs in nudged.values())
    factor = upper_rms_factor(max(samples, 1))
    for metric in metrics:
        per_epoch = []
        for epoch in range(epochs):
            deviations, values = [], []
            for seed, runs in nudged.items():
                base = _value(baseline[seed], metric, epoch)
                if base is None:
                    continue
                values.append(abs(base))
                deviations += [v - base for run in runs if (v := _value(run, metric, epoch)) is not None]
            rms = math.sqrt(statistics.fmean(d * d for d in deviations)) if deviations else 0.0
            floor = max(ABSOLUTE_FLOOR, RELATIVE_FLOOR * (statistics.fmean(values) if values else 0.0))
            per_epoch.append(max(rms * factor, floor))
        scale[metric] = tuple(per_epoch)
    return NoiseEnvelope(nudges=tuple(nudges), scale=scale, samples=samples)


def _value(curves: Curves, metric: str, epoch: int) -> float | None:
    """The value at `epoch` (0-based); None past the end or where the run diverged."""
    values = curves.get(metric) or ()
    value = values[epoch] if epoch < len(values) else None
    return value if value is not None and math.isfinite(value) else None


@dataclass
class MetricShift:
    """One metric of one optimizer, measured against its baseline in units of the noise."""

    metric: str
    z: dict[int, list[float]]  # per seed, per epoch
    shift: float  # mean z per seed, summed over seeds / sqrt(seeds)
    spread: float  # mean squared z per seed, summed, leaving out the largest (`spread_statistic`)
    worst: tuple[float, int, int]  # (z, seed, epoch) of the largest |z|
    deltas: dict[int, list[float]] = field(default_factory=dict)
    excursions: list[tuple[int, int, float]] = field(default_factory=list)  # (seed, epoch, z)

    @property
    def seed_means(self) -> dict[int, float]:
        return {seed: statistics.fmean(zs) for seed, zs in self.z.items() if zs}

    @property
    def failed(self) -> bool:
        return abs(self.shift) > SHIFT_LIMIT or self.spread_failed or bool(self.excursions)

    @property
    def spread_failed(self) -> bool:
        return self.spread > spread_limit(len(self.z))


@dataclass
class NoiseComparison:
    metrics: list[MetricShift]
    identical: bool
    missing: list[str]  # seeds or epochs present on one side only, or diverged on one side

    @property
    def failing(self) -> list[MetricShift]:
        return [m for m in self.metrics if m.failed]

    @property
    def passed(self) -> bool:
        return not self.failing and not self.missing


def compare(baseline: Mapping[int, Curves], measured: Mapping[int, Curves], envelope: NoiseEnvelope) -> NoiseComparison:
    """Measured curves against baseline curves, in units of the envelope."""
    identical = set(baseline) == set(measured) and all(
        list(baseline[s][m]) == list(measured[s][m]) for s in baseline for m in envelope.scale)
    missing = [f"seed {s}: in the baseline, not measured" for s in sorted(set(baseline) - set(measured))]
    missing += [f"seed {s}: measured, not in the baseline" for s in sorted(set(measured) - set(baseline))]
    seeds = sorted(set(baseline) & set(measured))
    shifts = []
    for metric, scales in envelope.scale.items():
        z: dict[int, list[float]] = {}
        deltas: dict[int, list[float]] = {}
        seed_range = _seed_range(baseline, metric)
        excursions = []
        for seed in seeds:
            old, new = list(baseline[seed][metric]), list(measured[seed][metric])
            if len(old) != len(new):
                missing.append(f"seed {seed} {metric}: {len(new)} epochs measured, {len(old)} in the baseline")
            z[seed], deltas[seed] = [], []
            for epoch, (a, b) in enumerate(zip(old, new), start=1):
                if a is None and b is None:
                    continue  # diverged on both sides: the same failure
                if a is None or b is None:
                    missing.append(f"seed {seed} {metric} epoch {epoch}: "
                                   f"{'diverged' if b is None else 'finite'} now, "
                                   f"{'diverged' if a is None else 'finite'} in the baseline")
                    continue
                value = (b - a) / scales[min(epoch, len(scales)) - 1]
                z[seed].append(value)
                deltas[seed].append(b - a)
                if abs(value) > EXCURSION_SCALES and abs(b - a) > seed_range.get(epoch, 0.0):
                    excursions.append((seed, epoch, value))
        means = [max(-SEED_CLIP, min(SEED_CLIP, statistics.fmean(v))) for v in z.values() if v]
        shift = sum(means) / math.sqrt(len(means)) if means else 0.0
        spread = spread_statistic(list(z.values()))
        worst = max(((v, s, e) for s, vs in z.items() for e, v in enumerate(vs, start=1)),
                    key=lambda t: abs(t[0]), default=(0.0, 0, 0))
        shifts.append(MetricShift(metric, z, shift, spread, worst, deltas, excursions))
    return NoiseComparison(shifts, identical and not missing, sorted(set(missing)))


# A metric's verdict in the noise table, and the curve statuses of the same names (baselines/compare.py).
CHANGED, WITHIN_NOISE = "changed", "within noise"


def _verdict(m: MetricShift) -> str:
    reasons = (["shift"] if abs(m.shift) > SHIFT_LIMIT else []) + (["spread"] if m.spread_failed else []) + (
        ["excursion"] if m.excursions else [])
    return f"{CHANGED.upper()} ({', '.join(reasons)})" if reasons else WITHIN_NOISE


def _seed_range(baseline: Mapping[int, Curves], metric: str) -> dict[int, float]:
    """Per epoch (1-based): max - min of the baseline's seeds; 0 with a single seed."""
    ranges: dict[int, float] = {}
    columns = [list(curves[metric]) for curves in baseline.values()]
    for epoch in range(1, max((len(c) for c in columns), default=0) + 1):
        values = [c[epoch - 1] for c in columns if epoch <= len(c) and c[epoch - 1] is not None]
        ranges[epoch] = max(values) - min(values) if values else 0.0
    return ranges


def describe_failure(comparison: NoiseComparison) -> str:
    """What moved, by how much in units of the noise, on which seeds and epochs."""
    from tabulate import tabulate

    rows = []
    for m in comparison.metrics:
        seeds = ", ".join(f"{s}: {v:+.1f}" for s, v in m.seed_means.items())
        z, seed, epoch = m.worst
        delta = m.deltas.get(seed, [0.0] * epoch)[epoch - 1] if epoch else 0.0
        rows.append([m.metric, f"{m.shift:+.1f}", f"{m.spread:.1f}", seeds,
                     f"{z:+.1f} (seed {seed}, epoch {epoch}, {delta:+.4g})", _verdict(m)])
    table = tabulate(rows, headers=["metric", "shift", "spread", "mean z per seed", "largest z (where, difference)",
                                    "verdict"], disable_numparse=True)
    lines = [table]
    lines += [f"  {problem}" for problem in comparison.missing]
    return "\n".join(lines)
