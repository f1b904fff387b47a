"""The curve check: an optimizer's measured runs against its stored baseline.

By the noise model when the baseline carries a noise envelope (the default), by
the suite's fixed `[tolerances]` when the suite states them or the baseline has no
envelope. The `curve[...]` items and `optcheck sensitivity` both decide here, so
what the sensitivity table reports is exactly what CI would do.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.records import OptimizerBaseline
from pytest_optcheck.judge import noise
from pytest_optcheck.spec.suite import OptimizerSpec


class CurveStatus(enum.Enum):
    """What a curve item found: the comparison's result, or why nothing was compared.

    The values are the words the terminal's "curves:" line counts.
    """

    IDENTICAL = "identical"
    WITHIN_NOISE = noise.WITHIN_NOISE
    WITHIN_TOLERANCE = "within tolerance"
    CHANGED = noise.CHANGED
    OUTSIDE_TOLERANCE = "outside tolerance"
    UPDATED = "updated"
    MISSING = "missing"
    SPEC_CHANGED = "spec changed"
    OTHER_DATA = "other data"
    DAMAGED = "damaged baseline"
    DIVERGED = "diverged"

    @property
    def failed(self) -> bool:
        """The curves were compared and moved beyond the noise or the tolerances."""
        return self in (CurveStatus.CHANGED, CurveStatus.OUTSIDE_TOLERANCE)

    @property
    def in_report(self) -> str:
        """How the report's Items table says it."""
        return _REPORT_WORDS.get(self, self.value)


_REPORT_WORDS = {CurveStatus.CHANGED: noise.CHANGED.upper(), CurveStatus.OUTSIDE_TOLERANCE: "OUTSIDE TOLERANCE",
                 CurveStatus.MISSING: "no baseline", CurveStatus.UPDATED: "baseline rewritten"}


@dataclass
class CurveResult:
    status: CurveStatus  # one of the comparison's: identical, within noise or tolerance, changed, outside tolerance
    detail: str = ""  # the table of what moved, for a failure
    moved: list[str] = field(default_factory=list)  # e.g. ["loss +6.1"] (noise) or ["val_loss"] (tolerance)

    @property
    def failed(self) -> bool:
        return self.status.failed


def uses_noise_model(recorded: OptimizerBaseline, spec: OptimizerSpec) -> bool:
    return recorded.noise is not None and not spec.explicit_tolerances


def check_curves(recorded: OptimizerBaseline, measured: OptimizerBaseline, spec: OptimizerSpec) -> CurveResult:
    """`measured`: the current runs (`baselines.optimizer_baseline`)."""
    if uses_noise_model(recorded, spec):
        return _against_noise(recorded, measured)
    comparison = baselines.compare_curves(recorded, measured, spec.tolerances)
    if not comparison.differences:
        return CurveResult(CurveStatus.IDENTICAL if comparison.identical else CurveStatus.WITHIN_TOLERANCE)
    moved = sorted({d.metric for d in comparison.differences})
    detail = (f"{len(comparison.differences)} of {comparison.values} values outside tolerance\n"
              f"{baselines.format_differences(comparison.differences)}")
    return CurveResult(CurveStatus.OUTSIDE_TOLERANCE, detail, moved)


def _against_noise(recorded: OptimizerBaseline, measured: OptimizerBaseline) -> CurveResult:
    assert recorded.noise is not None
    measured_curves = {seed: run.history for seed, run in measured.seeds.items()}
    stored_curves = {seed: run.history for seed, run in recorded.seeds.items()}
    comparison = noise.compare(stored_curves, measured_curves, recorded.noise)
    if comparison.identical:
        return CurveResult(CurveStatus.IDENTICAL)
    if comparison.passed:
        return CurveResult(CurveStatus.WITHIN_NOISE)
    moved = [_moved(m) for m in comparison.failing] or ["curves differ in length or divergence"]
    detail = (
        f"{noise.describe_failure(comparison)}\n"
        f"z: (measured - baseline) / the noise scale of that epoch, measured with {recorded.noise.samples} "
        f"nudged reruns. shift: each seed's mean z (clipped to ±{noise.SEED_CLIP:g}), summed over seeds / "
        f"sqrt(seeds); beyond ±{noise.SHIFT_LIMIT:g} the optimizer trains differently. spread: each seed's "
        f"mean squared z (each clipped to {noise.SEED_CLIP ** 2:g}), summed, leaving out the largest seed; beyond {noise.spread_limit(len(recorded.seeds)):g} "
        f"the seeds move more than noise does. excursion: one value beyond {noise.EXCURSION_SCALES:g} scales "
        f"and beyond the range of the baseline's seeds at that epoch."
    )
    return CurveResult(CurveStatus.CHANGED, detail, moved)


def _moved(m: noise.MetricShift) -> str:
    if abs(m.shift) > noise.SHIFT_LIMIT:
        return f"{m.metric} shift {m.shift:+.1f}"
    if m.spread_failed:
        return f"{m.metric} spread {m.spread:.1f}"
    return f"{m.metric} excursion"
