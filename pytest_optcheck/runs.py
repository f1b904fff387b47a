"""A training run's result and its JSON form (used by the cache, the CLI and baselines)."""

from __future__ import annotations

import hashlib
import json
import math
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
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
    """An optimizer as the suite states it: its class path and arguments.

    This is what identifies a baseline. The implementation is not part of it: a
    changed optimizer is compared with its baseline, never declared a new experiment.
    """
    return {"class": spec.class_path, "kwargs": spec.kwargs}


def user_code_digest(class_path: str) -> str:
    """A digest of every file of the user's own code a custom optimizer can run.

    The modules of the class and of its base classes, and every Python file of the
    top-level package they belong to, wherever that code is not an installed
    distribution (those are covered by their versions in the environment). A helper
    function edited in the same package changes the digest, so the run cache never
    serves a run of code that has changed since.
    """
    import importlib
    import inspect

    module_name, _, attr = class_path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        return ""  # resolve_optimizer_class reports the error before anything trains
    files: set[Path] = set()
    for klass in inspect.getmro(cls) if inspect.isclass(cls) else ():
        module = sys.modules.get(klass.__module__)
        path = getattr(module, "__file__", None)
        if path is None or _installed(Path(path)):
            continue
        files.add(Path(path).resolve())
        top = sys.modules.get(klass.__module__.split(".")[0])
        top_file = getattr(top, "__file__", None)
        if top_file and Path(top_file).name == "__init__.py":
            files.update(p.resolve() for p in Path(top_file).parent.rglob("*.py"))
    hasher = hashlib.sha256()
    for path in sorted(files):
        hasher.update(str(path.name).encode() + b"\0")
        try:
            hasher.update(path.read_bytes())
        except OSError:
            hasher.update(b"unreadable")
    return hasher.hexdigest()


def _installed(path: Path) -> bool:
    parts = set(path.resolve().parts)
    return "site-packages" in parts or "dist-packages" in parts or path.resolve().is_relative_to(
        Path(sysconfig.get_paths()["stdlib"]).resolve())


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
    spec = suite.optimizer(optimizer)
    identity = {
        "spec": spec_identity(suite, optimizer, profile),
        "seed": seed,
        "data": data_checksum,
        "environment": environment,
        "format": FORMAT,
    }
    if spec.is_custom:
        identity["user_code"] = user_code_digest(spec.class_path)
    if nudge is not None:  # plain runs keep the keys they always had
        identity["nudge"] = nudge
    return digest(identity)
