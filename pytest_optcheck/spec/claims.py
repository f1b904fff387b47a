"""Claims as a suite states them: the kinds of claim, the validated ClaimSpec, reading one [[claims]] table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_optcheck.metrics import higher_is_better
from pytest_optcheck.spec.expectations import Expected, parse_claim_expectations

# The confidence level of a verdict unless a claim sets its own (judge/evidence.py uses it too).
LEVEL = 0.95


KINDS = ("ordering", "groups", "faster", "close")


# One optimizer's per-epoch metrics on one seed, e.g. {"loss": [...], "accuracy": [...]}.
History = Mapping[str, Sequence[float]]


@dataclass(frozen=True)
class ClaimSpec:
    """One claim of a suite; `better`/`worse` are lists even for a single optimizer."""

    id: str
    quote: str
    reading: str
    kind: str
    better: tuple[str, ...]
    worse: tuple[str, ...]
    metric: str = "loss"
    epoch: int | None = None  # 1-based; None means the final epoch
    first_epochs: int | None = None  # faster: mean over the first k epochs
    target: float | None = None  # faster: fewer epochs to reach this value
    within: float = 0.0  # close: how much worse `better` may be
    by: float = 0.0  # ordering, groups, faster: the smallest margin that matters
    probability_above: float = 0.5  # holds when P(it holds on a seed) is above this
    confidence: float = LEVEL
    # What the suite expects of it, by profile ("" for every profile): see spec/expectations.py.
    # Not part of the claim's identity: changing an expectation changes what passes, not what is measured.
    expectations: tuple[tuple[str, Expected], ...] = field(default=(), compare=False)

    @property
    def optimizers(self) -> tuple[str, ...]:
        return self.better + self.worse

    def as_dict(self) -> dict[str, Any]:
        """The claim as measured (its identity in baselines): everything but the expectations."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items() if k != "expectations"}


def lower_is_better(metric: str) -> bool:
    return not higher_is_better(metric)


def parse_claim(t, optimizer_names: set[str], metrics: Sequence[str], profiles: Sequence[str] = ()) -> ClaimSpec:
    """Validate one `[[claims]]` table (a suite `_Table`) into a ClaimSpec."""
    claim_id = t.get("id", str, check=lambda v: None if v and " " not in v else "must be a non-empty word")
    t.where = f"claims[{claim_id}]"
    kind = t.get("kind", str, check=lambda v: None if v in KINDS else f"unknown kind; use one of: {', '.join(KINDS)}")
    first, second = ("faster", "slower") if kind == "faster" else ("better", "worse")
    if kind == "close":
        first, second = "optimizer", "reference"

    def names(key: str) -> tuple[str, ...]:
        value = t.get(key, (str, list))
        value = [value] if isinstance(value, str) else value
        if not value:
            raise t.fail(key, "must name at least one optimizer")
        for name in value:
            if name not in optimizer_names:
                raise t.fail(key, f"unknown optimizer {name!r}; the suite has: {', '.join(sorted(optimizer_names))}")
        return tuple(value)

    better, worse = names(first), names(second)
    if set(better) & set(worse):
        raise t.fail(second, f"{sorted(set(better) & set(worse))[0]!r} is on both sides of the claim")
    metric = t.get("metric", str, "loss",
                   check=lambda v: None if v in metrics else f"unknown metric; use one of: {', '.join(metrics)}")
    positive_int = lambda v: None if v > 0 else "must be a positive epoch count"  # noqa: E731
    spec = ClaimSpec(
        id=claim_id,
        quote=t.get("quote", str),
        reading=t.get("reading", str, ""),
        kind=kind,
        better=better,
        worse=worse,
        metric=metric,
        epoch=t.get("epoch", int, None, check=positive_int) if kind in ("ordering", "groups") else None,
        first_epochs=t.get("first_epochs", int, None, check=positive_int) if kind == "faster" else None,
        target=t.get("target", float, None) if kind == "faster" else None,
        within=t.get("within", float, ..., check=lambda v: None if v >= 0 else "must be zero or more")
        if kind == "close" else 0.0,
        by=t.get("by", float, 0.0, check=lambda v: None if v >= 0 else "must be zero or more")
        if kind != "close" else 0.0,
        probability_above=t.get("probability_above", float, 0.5,
                                check=lambda v: None if 0 <= v < 1 else "must be at least 0 and below 1"),
        confidence=t.get("confidence", float, LEVEL,
                         check=lambda v: None if 0.5 <= v < 1 else "must be at least 0.5 and below 1"),
        expectations=parse_claim_expectations(t, profiles),
    )
    if kind == "faster" and (spec.first_epochs is None) == (spec.target is None):
        raise t.fail("first_epochs", "a 'faster' claim needs exactly one of first_epochs or target")
    t.reject_unknown()
    return spec
