"""Stored baseline files as typed records, parsed and validated in one place.

Two kinds of file live in `baselines/<suite>/<profile>/`: one per optimizer
(`OptimizerBaseline`: every seed's curves and the noise envelope) and
`claims.json` (`ClaimsBaseline`: every claim's verdict). Reading one checks all
of it; a damaged file raises one `BaselineError` naming the file, the key and
the fix, so a damaged file fails the items that use it and nothing else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge.evidence import VERDICTS
from pytest_optcheck.judge.noise import NoiseEnvelope
from pytest_optcheck.values import kind_problem, shown

FORMAT = 1


class BaselineError(OptcheckError):
    """A baseline file that cannot be used as it is."""


def fix_hint(path: Path) -> str:
    return f"restore it from git (git checkout -- {path}) or rewrite it with --optcheck-update"


@dataclass(frozen=True)
class SeedCurves:
    """One seed's run: per-epoch metrics (None where the run diverged), test metrics, seconds."""

    history: dict[str, tuple[float | None, ...]]
    test: dict[str, float | None] | None
    epoch_seconds: tuple[float, ...]
    diverged_at_epoch: int | None

    def same_curves(self, other: SeedCurves) -> bool:
        """Every per-epoch value and test metric equal to the last bit (timings aside)."""
        return self.history == other.history and (self.test or {}) == (other.test or {})

    def to_json(self) -> dict[str, Any]:
        return {"history": {m: list(v) for m, v in self.history.items()}, "test": self.test,
                "epoch_seconds": list(self.epoch_seconds), "diverged_at_epoch": self.diverged_at_epoch}


@dataclass(frozen=True)
class DataIdentity:
    """The data runs trained on: its source and the checksum of its arrays."""

    source: str
    checksum: str


@dataclass(frozen=True)
class OptimizerBaseline:
    """An optimizer's runs on a profile, stored (`path` set) or measured in this session (`path` None).

    The one form of an optimizer's results: the curve check, refreshes, the report,
    `optcheck diff` and the plots all take it.
    """

    path: Path | None
    suite: str
    profile: str
    optimizer: str
    label: str
    spec_hash: str
    epochs: int
    train_samples: int
    environment: dict[str, str]
    seeds: dict[int, SeedCurves]
    noise: NoiseEnvelope | None  # None in files written before the noise model existed
    dataset: DataIdentity | None  # None in files written before the data was recorded

    def same_curves(self, other: OptimizerBaseline) -> bool:
        """The same seeds, each with the same curves and test metrics to the last bit (timings aside).

        The one meaning of "identical" for two optimizers' runs (the curve check, the
        report's change column, `optcheck diff`).
        """
        return self.seeds.keys() == other.seeds.keys() and all(
            run.same_curves(other.seeds[seed]) for seed, run in self.seeds.items())

    def same_content(self, other: OptimizerBaseline) -> bool:
        """Everything a file holds equal to `other` (curves, noise envelope, spec, environment), timings aside."""
        return _without_timings(self.to_json()) == _without_timings(other.to_json())

    def to_json(self) -> dict[str, Any]:
        """The content of `<optimizer>.json`."""
        content: dict[str, Any] = {
            "format": FORMAT, "suite": self.suite, "profile": self.profile, "optimizer": self.optimizer,
            "label": self.label, "spec_hash": self.spec_hash, "epochs": self.epochs,
            "train_samples": self.train_samples, "environment": dict(self.environment),
            "seeds": {str(seed): run.to_json() for seed, run in sorted(self.seeds.items())},
        }
        if self.noise is not None:
            content["noise"] = self.noise.to_json()
        if self.dataset is not None:
            content["data"] = {"source": self.dataset.source, "checksum": self.dataset.checksum}
        return content


@dataclass(frozen=True)
class ClaimRecord:
    """One claim's entry in claims.json: its verdict and the evidence for it (judge/claims.py)."""

    quote: str
    spec_hash: str
    verdict: str
    margins: dict[int, float | None]
    holding: dict[int, bool]
    seeds_holding: int
    seeds: int
    mean_margin: float | None
    margin_sd: float | None  # stored under "spread" (file format 1)
    # The evidence (judge/evidence.py); None in files written before verdicts had intervals.
    probability: float | None
    interval: tuple[float, float] | None
    level: float | None
    probability_above: float | None
    seeds_needed: int | None
    seed_budget: int | None
    method: str | None
    margin_interval: tuple[float, float] | None
    margin_interval_coverage: float | None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "quote": self.quote, "spec_hash": self.spec_hash, "verdict": self.verdict,
            "margins": {str(s): m for s, m in self.margins.items()},
            "holding": {str(s): h for s, h in self.holding.items()},
            "seeds_holding": self.seeds_holding, "seeds": self.seeds, "mean_margin": self.mean_margin,
            "spread": self.margin_sd, "probability": self.probability,
            "interval": None if self.interval is None else list(self.interval), "level": self.level,
            "probability_above": self.probability_above, "seeds_needed": self.seeds_needed,
            "seed_budget": self.seed_budget, "method": self.method,
            "margin_interval": None if self.margin_interval is None else list(self.margin_interval),
            "margin_interval_coverage": self.margin_interval_coverage, "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ClaimsBaseline:
    path: Path | None
    suite: str
    profile: str
    environment: dict[str, str]
    claims: dict[str, ClaimRecord]

    def to_json(self) -> dict[str, Any]:
        """The content of claims.json."""
        return {"format": FORMAT, "suite": self.suite, "profile": self.profile,
                "environment": dict(self.environment),
                "claims": {claim_id: record.to_json() for claim_id, record in sorted(self.claims.items())}}


def _without_timings(data: dict[str, Any]) -> dict[str, Any]:
    seeds = {s: {k: v for k, v in run.items() if k != "epoch_seconds"} for s, run in data.get("seeds", {}).items()}
    return {**data, "seeds": seeds}


class FileReader:
    """Checks values of one file, naming the dotted key of anything wrong."""

    def __init__(self, path: Path | None, where: str = ""):
        self.path = path
        self.where = where  # names what is read when it is not a file (a worker's results, say)

    def fail(self, key: str, problem: str) -> BaselineError:
        if self.path is None:
            return BaselineError(f"{self.where}: {key}: {problem}")
        return BaselineError(f"{self.path}: {key}: {problem}; {fix_hint(self.path)}")

    def get(self, table: dict, key: str, where: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        name = f"{where}.{key}" if where else key
        if key not in table:
            if optional:
                return None
            raise self.fail(name, "missing")
        value = table[key]
        if value is None and optional:
            return None
        problem = kind_problem(value, kind)
        if problem:
            raise self.fail(name, problem)
        return value

    def number(self, value: Any, key: str, *, nullable: bool = False) -> float | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            wanted = "a number or null" if nullable else "a number"
            raise self.fail(key, f"expected {wanted}, found {shown(value)}")
        return float(value)

    def seed(self, key: str, where: str) -> int:
        if not key.lstrip("-").isdigit():
            raise self.fail(f"{where}.{key}", "a seed must be a whole number")
        return int(key)


def read_file(path: Path) -> dict[str, Any] | None:
    """The JSON content of a baseline file, None if it does not exist, a `BaselineError` if unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: baseline is not valid JSON ({exc}); {fix_hint(path)}") from None
    if not isinstance(data, dict):
        raise BaselineError(f"{path}: expected a JSON table at the top; {fix_hint(path)}")
    found = data.get("format")
    if isinstance(found, int) and not isinstance(found, bool) and found > FORMAT:
        raise BaselineError(f"{path}: written by a newer pytest-optcheck (file format {found}; this version reads "
                            f"format {FORMAT}). Upgrade: pip install -U pytest-optcheck; or {fix_hint(path)}")
    if found != FORMAT:
        raise BaselineError(f"{path}: format {found!r}, expected {FORMAT}; {fix_hint(path)}")
    return data


def load_optimizer_baseline(path: Path) -> OptimizerBaseline | None:
    """The optimizer baseline at `path`, None if there is none; every value checked."""
    data = read_file(path)
    return None if data is None else parse_optimizer_baseline(path, data)


def parse_optimizer_baseline(path: Path | None, data: dict[str, Any], *, where: str = "") -> OptimizerBaseline:
    """`data` (a file's content) as a record; `where` names it in errors when there is no `path`."""
    r = FileReader(path, where)
    epochs = r.get(data, "epochs", "", int)
    seeds_table = r.get(data, "seeds", "", dict)
    if not seeds_table:
        raise r.fail("seeds", "no seeds")
    seeds = {r.seed(key, "seeds"): _seed_curves(r, run, f"seeds.{key}", epochs) for key, run in seeds_table.items()}
    noise_table = r.get(data, "noise", "", dict, optional=True)
    data_table = r.get(data, "data", "", dict, optional=True)  # absent in files from before it was recorded
    dataset = None if data_table is None else DataIdentity(source=r.get(data_table, "source", "data", str),
                                                           checksum=r.get(data_table, "checksum", "data", str))
    return OptimizerBaseline(
        path=path,
        suite=r.get(data, "suite", "", str),
        profile=r.get(data, "profile", "", str),
        optimizer=r.get(data, "optimizer", "", str),
        label=r.get(data, "label", "", str),
        spec_hash=r.get(data, "spec_hash", "", str),
        epochs=epochs,
        train_samples=r.get(data, "train_samples", "", int),
        environment=_strings(r, r.get(data, "environment", "", dict), "environment"),
        seeds=dict(sorted(seeds.items())),
        noise=None if noise_table is None else _noise(r, noise_table, epochs),
        dataset=dataset,
    )


def _seed_curves(r: FileReader, run: Any, where: str, epochs: int) -> SeedCurves:
    if not isinstance(run, dict):
        raise r.fail(where, f"expected a table, found {shown(run)}")
    history_table = r.get(run, "history", where, dict)
    history = {}
    r.get(history_table, "loss", f"{where}.history", list)  # every run records its loss
    for metric in history_table:
        values = r.get(history_table, metric, f"{where}.history", list)
        if len(values) > epochs:
            raise r.fail(f"{where}.history.{metric}", f"{len(values)} values for {epochs} epochs")
        history[metric] = tuple(r.number(v, f"{where}.history.{metric}[{i}]", nullable=True)
                                for i, v in enumerate(values))
    if len({len(v) for v in history.values()}) > 1:
        raise r.fail(f"{where}.history", "the metrics have different numbers of epochs")
    test_table = r.get(run, "test", where, dict, optional=True)
    test = None if test_table is None else {  # None: not finite (a test loss can overflow while training's did not)
        k: r.number(v, f"{where}.test.{k}", nullable=True) for k, v in test_table.items()}
    seconds = r.get(run, "epoch_seconds", where, list, optional=True) or []
    diverged = r.get(run, "diverged_at_epoch", where, int, optional=True)
    return SeedCurves(history, test, tuple(r.number(s, f"{where}.epoch_seconds[{i}]") for i, s in enumerate(seconds)),
                      diverged)


def _noise(r: FileReader, table: dict, epochs: int) -> NoiseEnvelope:
    nudges = r.get(table, "nudges", "noise", list)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in nudges):
        raise r.fail("noise.nudges", "expected a list of whole numbers")
    scale_table = r.get(table, "scale", "noise", dict)
    scale = {}
    for metric, values in scale_table.items():
        if not isinstance(values, list) or len(values) != epochs:
            raise r.fail(f"noise.scale.{metric}", f"expected a list of {epochs} numbers")
        numbers = [r.number(v, f"noise.scale.{metric}[{i}]") for i, v in enumerate(values)]
        if any(v <= 0 for v in numbers):
            raise r.fail(f"noise.scale.{metric}", "every scale must be above zero")
        scale[metric] = tuple(numbers)
    return NoiseEnvelope(nudges=tuple(nudges), scale=scale,
                         samples=r.get(table, "samples", "noise", int),
                         method=r.get(table, "method", "noise", str))


def _strings(r: FileReader, table: dict, where: str) -> dict[str, str]:
    for key, value in table.items():
        if not isinstance(value, str):
            raise r.fail(f"{where}.{key}", f"expected a string, found {shown(value)}")
    return dict(table)


def load_claims_baseline(path: Path) -> ClaimsBaseline | None:
    """claims.json at `path`, None if there is none; every record checked."""
    data = read_file(path)
    return None if data is None else parse_claims_baseline(path, data)


def parse_claims_baseline(path: Path | None, data: dict[str, Any], *, where: str = "") -> ClaimsBaseline:
    """`data` (the content of a claims.json) as a record; `where` names it in errors when there is no `path`."""
    r = FileReader(path, where)
    claims_table = r.get(data, "claims", "", dict)
    return ClaimsBaseline(
        path=path,
        suite=r.get(data, "suite", "", str),
        profile=r.get(data, "profile", "", str),
        environment=_strings(r, r.get(data, "environment", "", dict), "environment"),
        claims={claim_id: _claim(r, record, f"claims.{claim_id}") for claim_id, record in claims_table.items()},
    )


def parse_claim_record(data: dict[str, Any], where: str) -> ClaimRecord:
    """One claim's entry (as `ClaimRecord.to_json` gives it) as a record again; `where` names it in errors."""
    return _claim(FileReader(None, where), data, "claim")


def _claim(r: FileReader, record: Any, where: str) -> ClaimRecord:
    if not isinstance(record, dict):
        raise r.fail(where, f"expected a table, found {shown(record)}")
    verdict = r.get(record, "verdict", where, str)
    if verdict not in VERDICTS:
        raise r.fail(f"{where}.verdict", f"{verdict!r} is not a verdict; expected one of: {', '.join(VERDICTS)}")
    margins_table = r.get(record, "margins", where, dict)
    margins = {r.seed(k, f"{where}.margins"): r.number(v, f"{where}.margins.{k}", nullable=True)
               for k, v in margins_table.items()}
    holding_table = r.get(record, "holding", where, dict, optional=True) or {}
    holding = {}
    for k, v in holding_table.items():
        if not isinstance(v, bool):
            raise r.fail(f"{where}.holding.{k}", f"expected true or false, found {shown(v)}")
        holding[r.seed(k, f"{where}.holding")] = v
    notes = r.get(record, "notes", where, list, optional=True) or []
    if not all(isinstance(n, str) for n in notes):
        raise r.fail(f"{where}.notes", "expected a list of strings")

    def number(key: str) -> float | None:
        return r.number(record.get(key), f"{where}.{key}", nullable=True)

    return ClaimRecord(
        quote=r.get(record, "quote", where, str),
        spec_hash=r.get(record, "spec_hash", where, str),
        verdict=verdict,
        margins=margins,
        holding=holding,
        seeds_holding=r.get(record, "seeds_holding", where, int),
        seeds=r.get(record, "seeds", where, int),
        mean_margin=number("mean_margin"),
        margin_sd=number("spread"),
        probability=number("probability"),
        interval=_pair(r, record, "interval", where),
        level=number("level"),
        probability_above=number("probability_above"),
        seeds_needed=r.get(record, "seeds_needed", where, int, optional=True),
        seed_budget=r.get(record, "seed_budget", where, int, optional=True),
        method=r.get(record, "method", where, str, optional=True),
        margin_interval=_pair(r, record, "margin_interval", where),
        margin_interval_coverage=number("margin_interval_coverage"),
        notes=tuple(notes),
    )


def _pair(r: FileReader, record: dict, key: str, where: str) -> tuple[float, float] | None:
    value = r.get(record, key, where, list, optional=True)
    if value is None:
        return None
    if len(value) != 2:
        raise r.fail(f"{where}.{key}", f"expected [low, high], found {shown(value)}")
    low, high = (r.number(v, f"{where}.{key}[{i}]") for i, v in enumerate(value))
    if low > high:
        raise r.fail(f"{where}.{key}", f"low {low} is above high {high}")
    return (low, high)


@dataclass(frozen=True)
class JudgedClaim:
    """A claim judged in this session: its record, what the suite expected of it, and the item's outcome."""

    record: ClaimRecord
    expect: str  # holds, fails or undecided
    because: str  # why the suite expects that, "" when it says nothing
    outcome: str  # the item's outcome (judge/outcome.py)

    def to_json(self) -> dict[str, Any]:
        return {"record": self.record.to_json(), "expect": self.expect, "because": self.because,
                "outcome": self.outcome}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> JudgedClaim:
        return cls(parse_claim_record(data["record"], where), data["expect"], data["because"], data["outcome"])
