"""A training run's result and its JSON form (used by the cache, the CLI and baselines)."""

from __future__ import annotations

import math
import struct
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
    then the test scores; None where they are bit-identical. A value that is not finite matches any
    other that is not (the cache keeps both as null)."""
    found: list[tuple[int, int, str]] = []  # (epoch, the metric's place, what differs)
    metrics = list(dict.fromkeys([*run.history, *other.history]))
    for place, metric in enumerate(metrics):
        mine, theirs = run.history.get(metric, []), other.history.get(metric, [])
        epoch = next((e for e, (a, b) in enumerate(zip(mine, theirs), start=1) if not _same_bits(a, b)), None)
        if epoch is not None:
            found.append((epoch, place, f"{metric}, epoch {epoch}: {mine[epoch - 1]!r} vs {theirs[epoch - 1]!r}"))
        elif len(mine) != len(theirs):
            found.append((min(len(mine), len(theirs)) + 1, place, f"{metric}: {len(mine)} epochs vs {len(theirs)}"))
    if found:
        return min(found)[2]
    mine_test, their_test = run.test or {}, other.test or {}
    for metric in dict.fromkeys([*mine_test, *their_test]):
        a, b = mine_test.get(metric), their_test.get(metric)
        if (a is None) != (b is None) or (a is not None and not _same_bits(a, b)):
            return f"test {metric}: {a!r} vs {b!r}"
    return None


def _same_bits(a: float, b: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return not (math.isfinite(a) or math.isfinite(b))
    return struct.pack("<d", a) == struct.pack("<d", b)  # 0.0 and -0.0 differ


def _finite_or_none(value: float) -> float | None:
    # JSON has no NaN or infinity; a diverged epoch is written as null.
    return value if math.isfinite(value) else None
