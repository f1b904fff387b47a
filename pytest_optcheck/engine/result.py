"""A training run's result and its JSON form (used by the cache, the CLI and baselines)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

FORMAT = 1


@dataclass
class RunResult:
    """One (optimizer, seed, profile) run: per-epoch metrics, test metrics, timings."""

    optimizer: str
    seed: int
    profile: str
    epochs: int
    train_samples: int
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    test: dict[str, float] | None
    diverged_at: int | None
    environment: dict[str, str]
    key: str = ""
    nudge: int | None = None  # the nudge seed of a noise-model run (see nudge.py), None for a plain run
    cached: bool = field(default=False, compare=False)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "optimizer": self.optimizer,
            "seed": self.seed,
            "profile": self.profile,
            "epochs": self.epochs,
            "train_samples": self.train_samples,
            "history": {m: [_finite_or_none(v) for v in values] for m, values in self.history.items()},
            "epoch_seconds": self.epoch_seconds,
            "test": self.test,
            "diverged": self.diverged,
            "diverged_at_epoch": self.diverged_at,
            "environment": self.environment,
            "key": self.key,
            "nudge": self.nudge,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported run format {data.get('format')!r}")
        return cls(
            optimizer=data["optimizer"],
            seed=data["seed"],
            profile=data["profile"],
            epochs=data["epochs"],
            train_samples=data["train_samples"],
            history={m: [math.nan if v is None else float(v) for v in values] for m, values in data["history"].items()},
            epoch_seconds=[float(s) for s in data["epoch_seconds"]],
            test=data["test"],
            diverged_at=data["diverged_at_epoch"],
            environment=data["environment"],
            key=data.get("key", ""),
            nudge=data.get("nudge"),
        )


def first_difference(run: RunResult, other: RunResult) -> str | None:
    """Where two runs' numbers first differ, the earliest epoch first ("val_loss, epoch 3: 0.41 vs 0.42"),
    or None where every per-epoch and test number is bit-identical (a NaN equals a NaN)."""

    def same(a: float | None, b: float | None) -> bool:
        return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))

    metrics = list(dict.fromkeys([*run.history, *other.history]))
    for metric in metrics:
        if len(run.history.get(metric, [])) != len(other.history.get(metric, [])):
            return f"{metric}: {len(run.history.get(metric, []))} epochs vs {len(other.history.get(metric, []))}"
    for epoch in range(max((len(values) for values in run.history.values()), default=0)):
        for metric in metrics:
            a, b = run.history[metric][epoch], other.history[metric][epoch]
            if not same(a, b):
                return f"{metric}, epoch {epoch + 1}: {a!r} vs {b!r}"
    mine, theirs = run.test or {}, other.test or {}
    for metric in dict.fromkeys([*mine, *theirs]):
        if not same(mine.get(metric), theirs.get(metric)):
            return f"test {metric}: {mine.get(metric)!r} vs {theirs.get(metric)!r}"
    return None


def _finite_or_none(value: float) -> float | None:
    # JSON has no NaN or infinity; a diverged epoch is written as null.
    return value if math.isfinite(value) else None
