"""Baseline files: read, compare with tolerances, render, and describe changes.

Layout: `<root>/<suite>/<profile>/<optimizer>.json` (every seed's curves) and
`<root>/<suite>/<profile>/claims.json` (every claim's verdict). Keys are sorted
and indented so that a refresh reads as a git diff.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_optcheck.baselines.records import (
    FORMAT,
    OptimizerBaseline,
    load_claims_baseline,
)
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.environment import keras_backend
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge.claims import Verdict
from pytest_optcheck.judge.noise import NoiseEnvelope
from pytest_optcheck.metrics import ordered
from pytest_optcheck.runs.key import digest, spec_hash
from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.spec.suite import Profile, Suite, Tolerance, default_tolerances

CLAIMS_FILE = "claims.json"


def profile_dir(root: Path, suite: Suite, profile: Profile) -> Path:
    """`<root>/<suite>/<profile>`, and `<profile>@<backend>` off TensorFlow: backends draw different
    initial weights from the same seed, so each has baselines of its own."""
    return Path(root) / suite.name / folder_name(profile.name, keras_backend())


def folder_name(profile: str, backend: str) -> str:
    return profile if backend == "tensorflow" else f"{profile}@{backend}"


def optimizer_path(root: Path, suite: Suite, profile: Profile, optimizer: str) -> Path:
    return profile_dir(root, suite, profile) / f"{optimizer}.json"


def claims_path(root: Path, suite: Suite, profile: Profile) -> Path:
    return profile_dir(root, suite, profile) / CLAIMS_FILE


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def profile_seeds_hash(suite: Suite, optimizer: str, profile: Profile) -> str:
    """What produced an optimizer's baseline: its spec on this profile, and the seeds."""
    return digest({"spec": spec_hash(suite, optimizer, profile), "seeds": list(profile.seeds)})


def optimizer_baseline(suite: Suite, profile: Profile, optimizer: str, runs: Mapping[int, RunResult],
                       noise: NoiseEnvelope | None = None, data: Mapping[str, str] | None = None) -> dict:
    """The content of `<optimizer>.json` for these runs (one per seed of the profile) and their noise envelope.

    `data`: the identity of the data the runs trained on (source and checksum).
    """
    first = next(iter(runs.values()))
    content = {
        "format": FORMAT,
        "suite": suite.name,
        "profile": profile.name,
        "optimizer": optimizer,
        "label": suite.optimizer(optimizer).label,
        "spec_hash": profile_seeds_hash(suite, optimizer, profile),
        "epochs": profile.epochs,
        "train_samples": first.train_samples,
        "environment": first.environment,
        "seeds": {
            str(seed): {
                "history": run.to_json()["history"],
                "test": run.test,
                "epoch_seconds": [round(s, 3) for s in run.epoch_seconds],
                "diverged_at_epoch": run.diverged_at,
            }
            for seed, run in sorted(runs.items())
        },
    }
    if noise is not None:
        content["noise"] = noise.to_json()
    if data is not None:
        content["data"] = dict(data)
    return content


def data_mismatch(recorded: Mapping[str, Any], measured: Mapping[str, Any]) -> str | None:
    """How the data of a baseline and of the runs differ, or None (also for files from before data was recorded)."""
    old, new = recorded.get("data"), measured.get("data")
    if not old or not new or old.get("checksum") == new.get("checksum"):
        return None
    return (f"the baseline was recorded on other data: {old.get('source')} (checksum {old.get('checksum', '')[:12]}), "
            f"these runs trained on {new.get('source')} (checksum {new.get('checksum', '')[:12]})")


def claim_spec_hash(suite: Suite, claim: ClaimSpec, profile: Profile) -> str:
    return digest({
        "claim": claim.as_dict(),
        "optimizers": {n: profile_seeds_hash(suite, n, profile) for n in claim.optimizers},
    })


def claim_record(suite: Suite, claim: ClaimSpec, profile: Profile, verdict: Verdict) -> dict:
    """One claim's entry in claims.json."""
    return {"quote": claim.quote, "spec_hash": claim_spec_hash(suite, claim, profile), **verdict.as_dict()}


def claims_header(suite: Suite, profile: Profile, environment: dict) -> dict:
    """The fields of claims.json besides the claim records."""
    return {"format": FORMAT, "suite": suite.name, "profile": profile.name, "environment": environment}


@dataclass
class Difference:
    """One value outside tolerance."""

    seed: str
    metric: str
    epoch: int  # 0 for test metrics
    baseline: float | None
    measured: float | None
    tolerance: str

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.measured is None:
            return None
        return self.measured - self.baseline


@dataclass
class Comparison:
    differences: list[Difference]
    identical: bool  # every value equal to the last bit
    values: int  # how many values were compared


def curves_identical(old: dict, new: dict) -> bool:
    """The same seeds, and every per-epoch value and test metric equal to the last bit (timings aside).

    The one meaning of "identical" for two optimizer baselines (the curve check, the
    report's change column, `optcheck diff`).
    """
    old_seeds, new_seeds = old.get("seeds", {}), new.get("seeds", {})
    return set(old_seeds) == set(new_seeds) and all(
        run["history"] == old_seeds[seed]["history"] and (run.get("test") or {}) == (old_seeds[seed].get("test") or {})
        for seed, run in new_seeds.items())


def compare_curves(baseline: dict, measured: dict, tolerances: Mapping[str, Tolerance]) -> Comparison:
    """Compare two optimizer baselines value by value with fixed tolerances (`measured` built from the runs)."""
    differences: list[Difference] = []
    count = 0
    for seed in sorted(set(baseline["seeds"]) | set(measured["seeds"]), key=int):
        old = baseline["seeds"].get(seed)
        new = measured["seeds"].get(seed)
        for metric in ordered({*(old or {}).get("history", {}), *(new or {}).get("history", {})}):
            old_values = old["history"].get(metric, []) if old else []
            new_values = new["history"].get(metric, []) if new else []
            for epoch in range(1, max(len(old_values), len(new_values)) + 1):
                a = old_values[epoch - 1] if epoch <= len(old_values) else None
                b = new_values[epoch - 1] if epoch <= len(new_values) else None
                count += 1
                in_both = epoch <= min(len(old_values), len(new_values))
                if in_both and a is None and b is None:
                    continue  # non-finite on both sides: the same divergence
                tolerance = tolerances.get(metric) or default_tolerances((metric,))[metric]
                if a is None or b is None or not tolerance.allows(a, b):
                    shown = tolerance.describe(a) if a is not None else "-"
                    differences.append(Difference(seed, metric, epoch, a, b, shown))
    return Comparison(differences, curves_identical(baseline, measured), count)


def format_differences(differences: list[Difference], limit: int = 20) -> str:
    from tabulate import tabulate

    def show(value: float | None) -> str:
        return "missing" if value is None else f"{value:.6g}"

    rows = [
        [d.seed, d.metric, d.epoch, show(d.baseline), show(d.measured),
         "" if d.delta is None else f"{d.delta:+.4g}", d.tolerance]
        for d in differences[:limit]
    ]
    table = tabulate(rows, headers=["seed", "metric", "epoch", "baseline", "measured", "difference", "tolerance"])
    if len(differences) > limit:
        table += f"\n... and {len(differences) - limit} more"
    return table


@dataclass(frozen=True)
class Move:
    """The largest per-epoch move of a curve between two sets of runs (seed id -> run dicts)."""

    size: float  # |after - before|; infinite where one side is finite and the other not
    seed: str
    metric: str
    epoch: int
    before: float | None  # None: not finite
    after: float | None

    def describe(self) -> str:
        """'-0.0123 (seed 1, epoch 3)', or which way finiteness switched."""
        if math.isinf(self.size):
            shown = "finite -> not finite" if self.after is None else "not finite -> finite"
        else:
            shown = f"{self.after - self.before:+.3g}"
        return f"{shown} (seed {self.seed}, epoch {self.epoch})"


def largest_move(old: Mapping[str, dict], new: Mapping[str, dict], metrics: Iterable[str]) -> Move | None:
    """The biggest move of any of `metrics` at any epoch of a seed both have; None where there is nothing to compare.

    A curve that turned non-finite (or finite) outweighs any numeric move. The one
    measure of "how much moved" that refreshes (`largest_change`) and `optcheck diff` print.
    """
    best = None
    for seed in sorted(set(old) & set(new), key=int):
        for metric in metrics:
            before = old[seed]["history"].get(metric, [])
            after = new[seed]["history"].get(metric, [])
            for epoch, (a, b) in enumerate(zip(before, after), start=1):
                if a is None and b is None:
                    continue
                size = math.inf if (a is None) != (b is None) else abs(b - a)
                if best is None or size > best.size:
                    best = Move(size, seed, metric, epoch, a, b)
    return best


def largest_change(old: OptimizerBaseline | None, new: dict) -> str:
    """A one-line description of how much an optimizer's curves moved in a refresh."""
    if old is None:
        return "new baseline"
    prefix = "noise envelope added; " if old.noise is None and "noise" in new else ""
    if "data" not in old.data and "data" in new:
        prefix += "data source and checksum recorded; "
    added = sorted(set(new["seeds"]) - set(old.data.get("seeds", {})), key=int)
    if added:
        return f"seed {added[0]} added"
    metrics = ordered({m for run in new["seeds"].values() for m in run["history"]})
    move = largest_move(old.data.get("seeds", {}), new["seeds"], metrics)
    if move is None:
        return prefix + "no comparable values"
    if move.size == 0.0:
        return prefix + "curves unchanged (bit-identical)"
    return (prefix + f"largest change: {move.metric} seed {move.seed} epoch {move.epoch}: "
            f"{_value_text(move.before)} -> {_value_text(move.after)}"
            + ("" if math.isinf(move.size) else f" ({move.after - move.before:+.3g})"))


def _value_text(value: float | None) -> str:
    return "not finite" if value is None else f"{value:.6g}"


def unused_baselines(root: Path, suites: Iterable[Suite]) -> list[str]:
    """Baseline files (and claim entries) whose optimizer, claim or profile the suites no longer have."""
    unused = []
    suites = list(suites)
    named = {suite.name for suite in suites}
    if Path(root).is_dir():  # a folder of a suite that is gone (renamed, say) is unused as a whole
        unused += [f"{folder}/ (no suite is named {folder.name!r})" for folder in sorted(Path(root).iterdir())
                   if folder.is_dir() and folder.name not in named and any(folder.glob("*/*.json"))]
    for suite in suites:
        suite_dir = Path(root) / suite.name
        if not suite_dir.is_dir():
            continue
        for profile_dir_ in sorted(p for p in suite_dir.iterdir() if p.is_dir()):
            if profile_dir_.name.split("@", 1)[0] not in suite.profiles:
                unused.append(f"{profile_dir_}/ (no profile {profile_dir_.name!r} in {suite.path})")
                continue
            for path in sorted(profile_dir_.glob("*.json")):
                if path.name == CLAIMS_FILE:
                    try:
                        stored = load_claims_baseline(path)
                    except OptcheckError:
                        continue
                    ids = {c.id for c in suite.claims}
                    unused += [f"{path} claim {cid!r}" for cid in (stored.claims if stored else {}) if cid not in ids]
                elif path.stem not in suite.optimizers:
                    unused.append(str(path))
    return unused
