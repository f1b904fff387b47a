"""A training run's result and its JSON form (used by the cache, the CLI and baselines)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from .suite import EPOCH_METRICS, OptimizerSpec, Profile, Suite

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
            "history": {m: [_finite_or_none(v) for v in self.history[m]] for m in EPOCH_METRICS},
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
            history={m: [math.nan if v is None else float(v) for v in data["history"][m]] for m in EPOCH_METRICS},
            epoch_seconds=[float(s) for s in data["epoch_seconds"]],
            test=data["test"],
            diverged_at=data["diverged_at_epoch"],
            environment=data["environment"],
            key=data.get("key", ""),
            nudge=data.get("nudge"),
        )


def _finite_or_none(value: float) -> float | None:
    # JSON has no NaN or infinity; a diverged epoch is written as null.
    return value if math.isfinite(value) else None


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def optimizer_identity(spec: OptimizerSpec) -> dict[str, Any]:
    """What of an optimizer changes its results: its class, arguments and, if custom, source."""
    identity: dict[str, Any] = {"class": spec.class_path, "kwargs": spec.kwargs}
    if spec.is_custom:
        identity["source_sha256"] = custom_source_digest(spec.class_path)
    return identity


def custom_source_digest(class_path: str) -> str:
    import importlib
    import inspect

    module_name, _, attr = class_path.partition(":")
    try:
        source = inspect.getsource(getattr(importlib.import_module(module_name), attr))
    except (ImportError, AttributeError, OSError, TypeError):
        source = ""  # unreadable source: key on the name alone; resolve_optimizer_class reports errors
    return hashlib.sha256(source.encode()).hexdigest()


def spec_identity(suite: Suite, optimizer: str, profile: Profile) -> dict[str, Any]:
    """Everything from the suite that changes one optimizer's runs on a profile (not the seed)."""
    return {
        "optimizer": optimizer_identity(suite.optimizer(optimizer)),
        "model": suite.model.__dict__,
        "training": suite.training.__dict__,
        "train_samples": profile.train_samples,
        "epochs": profile.epochs,
    }


def spec_hash(suite: Suite, optimizer: str, profile: Profile) -> str:
    return digest(spec_identity(suite, optimizer, profile))


def run_key(suite: Suite, optimizer: str, seed: int, profile: Profile, data_checksum: str,
            environment: dict[str, str], nudge: int | None = None) -> str:
    """The cache key: change anything that can change the result and the run trains again."""
    identity = {
        "spec": spec_identity(suite, optimizer, profile),
        "seed": seed,
        "data": data_checksum,
        "environment": environment,
        "format": FORMAT,
    }
    if nudge is not None:  # plain runs keep the keys they always had
        identity["nudge"] = nudge
    return digest(identity)
