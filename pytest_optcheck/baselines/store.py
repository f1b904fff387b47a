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
    ClaimRecord,
    ClaimsBaseline,
    DataIdentity,
    FileReader,
    OptimizerBaseline,
    SeedCurves,
    load_claims_baseline,
)
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.environment import keras_backend
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge.claims import Verdict
from pytest_optcheck.judge.evidence import METHOD
from pytest_optcheck.judge.noise import NoiseEnvelope
from pytest_optcheck.metrics import ordered
from pytest_optcheck.runs.key import digest, spec_hash
from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.spec.suite import Profile, Suite, Tolerance, default_tolerances

CLAIMS_FILE = "claims.json"
SELECTION_FILE = "selection.json"  # a tuned profile's learning rates (baselines/selection.py)


def profile_dir(root: Path, suite: Suite, profile: Profile) -> Path:
    """`<root>/<suite>/<profile>`, and `<profile>@<backend>` off TensorFlow: backends draw different
    initial weights from the same seed, so each has baselines of its own."""
    return Path(root) / suite.name / folder_name(profile.name, keras_backend())


def folder_name(profile: str, backend: str) -> str:
    return profile if backend == "tensorflow" else f"{profile}@{backend}"


def profile_and_backend(folder: str) -> tuple[str, str]:
    """What `folder_name` made the folder name of: "ci@jax" -> ("ci", "jax"), "ci" -> ("ci", "tensorflow")."""
    profile, _, backend = folder.partition("@")
    return profile, backend or "tensorflow"


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
                       noise: NoiseEnvelope | None = None, data: Mapping[str, str] | None = None) -> OptimizerBaseline:
    """These runs (one per seed of the profile) and their noise envelope, as `<optimizer>.json` will hold them.

    `data`: the identity of the data the runs trained on (source and checksum).
    """
    first = next(iter(runs.values()))
    return OptimizerBaseline(
        path=None,
        suite=suite.name,
        profile=profile.name,
        optimizer=optimizer,
        label=suite.optimizer(optimizer).label,
        spec_hash=profile_seeds_hash(suite, optimizer, profile),
        epochs=profile.epochs,
        train_samples=first.train_samples,
        environment=dict(first.environment),
        seeds={seed: SeedCurves(
            history={m: tuple(values) for m, values in run.to_json()["history"].items()},
            test=None if run.test is None else {k: v if math.isfinite(v) else None for k, v in run.test.items()},
            epoch_seconds=tuple(round(s, 3) for s in run.epoch_seconds),
            diverged_at_epoch=run.diverged_at,
        ) for seed, run in sorted(runs.items())},
        noise=noise,
        dataset=None if data is None else DataIdentity(source=data["source"], checksum=data["checksum"]),
    )


def data_mismatch(recorded: OptimizerBaseline, measured: OptimizerBaseline) -> str | None:
    """How the data of a baseline and of the runs differ, or None (also for files from before data was recorded)."""
    old, new = recorded.dataset, measured.dataset
    if old is None or new is None or old.checksum == new.checksum:
        return None
    return (f"the baseline was recorded on other data: {old.source} (checksum {old.checksum[:12]}), "
            f"these runs trained on {new.source} (checksum {new.checksum[:12]})")


def claim_spec_hash(suite: Suite, claim: ClaimSpec, profile: Profile) -> str:
    return digest({
        "claim": claim.as_dict(),
        "optimizers": {n: profile_seeds_hash(suite, n, profile) for n in claim.optimizers},
    })


def claim_record(suite: Suite, claim: ClaimSpec, profile: Profile, verdict: Verdict) -> ClaimRecord:
    """One claim's entry in claims.json: its verdict under its quote and the hash of what produced it."""
    return verdict_record(verdict, claim.quote, claim_spec_hash(suite, claim, profile))


def verdict_record(verdict: Verdict, quote: str, spec_hash: str) -> ClaimRecord:
    """A verdict as claims.json records it.

    A fresh record must equal the one a refresh writes and the next session reads back,
    field by field: each margin and statistic goes through the reader's own check
    (`FileReader.number`: a float, or None; a value that is not finite is refused as in a
    stored file), and the intervals' bounds and coverage, computed and always finite, are
    only cut to the digits the file keeps.
    """
    r = FileReader(None, f"claim {verdict.claim_id}")

    def number(value: float | None, key: str) -> float | None:
        return r.number(value, f"claim.{key}", nullable=True)

    e, median = verdict.evidence, verdict.median_interval
    return ClaimRecord(
        quote=quote,
        spec_hash=spec_hash,
        verdict=verdict.verdict,
        margins={seed: number(margin, f"margins.{seed}") for seed, margin in verdict.margins.items()},
        holding=dict(verdict.holding),
        seeds_holding=verdict.seeds_holding,
        seeds=len(verdict.margins),
        mean_margin=number(verdict.mean, "mean_margin"),
        margin_sd=number(verdict.margin_sd, "spread"),
        probability=number(e.probability, "probability"),
        interval=(_stored_digits(e.low), _stored_digits(e.high)),
        level=number(e.level, "level"),
        probability_above=number(e.threshold, "probability_above"),
        seeds_needed=e.seeds_needed,
        seed_budget=verdict.budget,
        method=METHOD,
        margin_interval=None if median is None else (number(median[0], "margin_interval[0]"),
                                                     number(median[1], "margin_interval[1]")),
        margin_interval_coverage=None if median is None else _stored_digits(median[2]),
        notes=tuple(verdict.notes),
    )


def _stored_digits(value: float) -> float:
    """Four significant digits: what claims.json keeps of the probability interval and the coverage."""
    return float(f"{value:.4g}")


def claims_header(suite: Suite, profile: Profile, environment: dict) -> ClaimsBaseline:
    """claims.json without its claim records: whose file it is, and where it was written."""
    return ClaimsBaseline(path=None, suite=suite.name, profile=profile.name, environment=dict(environment), claims={})


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


def compare_curves(baseline: OptimizerBaseline, measured: OptimizerBaseline,
                   tolerances: Mapping[str, Tolerance]) -> Comparison:
    """Compare two optimizers' runs value by value with fixed tolerances."""
    differences: list[Difference] = []
    count = 0
    for seed in sorted(baseline.seeds.keys() | measured.seeds.keys()):
        old = baseline.seeds.get(seed)
        new = measured.seeds.get(seed)
        for metric in ordered({*(old.history if old else {}), *(new.history if new else {})}):
            old_values = old.history.get(metric, ()) if old else ()
            new_values = new.history.get(metric, ()) if new else ()
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
                    differences.append(Difference(str(seed), metric, epoch, a, b, shown))
    return Comparison(differences, baseline.same_curves(measured), count)


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
    """The largest per-epoch move of a curve between two sets of runs."""

    size: float  # |after - before|; infinite where one side is finite and the other not
    seed: int
    metric: str
    epoch: int
    before: float | None  # None: not finite
    after: float | None

    @property
    def shift(self) -> str:
        """'-0.0123', or which way finiteness switched."""
        if math.isinf(self.size):
            return "finite -> not finite" if self.after is None else "not finite -> finite"
        return f"{self.after - self.before:+.3g}"

    def describe(self) -> str:
        """'-0.0123 (seed 1, epoch 3)': where the move is, for `optcheck diff`'s table."""
        return f"{self.shift} (seed {self.seed}, epoch {self.epoch})"


def largest_move(old: Mapping[int, SeedCurves], new: Mapping[int, SeedCurves], metrics: Iterable[str]) -> Move | None:
    """The biggest move of any of `metrics` at any epoch of a seed both have; None where there is nothing to compare.

    A curve that turned non-finite (or finite) outweighs any numeric move. The one
    measure of "how much moved" that refreshes (`largest_change`) and `optcheck diff`
    (render/diff.py, `largest_move_text`) print.
    """
    best = None
    for seed in sorted(old.keys() & new.keys()):
        for metric in metrics:
            before = old[seed].history.get(metric, ())
            after = new[seed].history.get(metric, ())
            for epoch, (a, b) in enumerate(zip(before, after), start=1):
                if a is None and b is None:
                    continue
                size = math.inf if (a is None) != (b is None) else abs(b - a)
                if best is None or size > best.size:
                    best = Move(size, seed, metric, epoch, a, b)
    return best


def largest_change(old: OptimizerBaseline | None, new: OptimizerBaseline) -> str:
    """A one-line description of how much an optimizer's curves moved in a refresh (its `largest_move`)."""
    if old is None:
        return "new baseline"
    prefix = "noise envelope added; " if old.noise is None and new.noise is not None else ""
    if old.dataset is None and new.dataset is not None:
        prefix += "data source and checksum recorded; "
    # Seeds a profile gained or lost are named; the seeds both hold still report how far they moved.
    for keys, verb in ((new.seeds.keys() - old.seeds.keys(), "added"), (old.seeds.keys() - new.seeds.keys(), "dropped")):
        if keys:
            prefix += f"seed{'s' if len(keys) > 1 else ''} {ranges_text(sorted(keys))} {verb}; "
    if not old.seeds.keys() & new.seeds.keys():
        return prefix.removesuffix("; ")
    metrics = ordered({m for run in new.seeds.values() for m in run.history})
    move = largest_move(old.seeds, new.seeds, metrics)
    if move is None:
        return prefix + "no comparable values"
    if move.size == 0.0:
        return prefix + "curves unchanged (bit-identical)"
    return (prefix + f"largest change: {move.metric} seed {move.seed} epoch {move.epoch}: "
            f"{_value_text(move.before)} -> {_value_text(move.after)}"
            + ("" if math.isinf(move.size) else f" ({move.shift})"))


def ranges_text(values: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5, 9": seeds as a reader counts them."""
    parts, start = [], None
    for i, v in enumerate(values):
        start = v if start is None else start
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(v) if v == start else f"{start}-{v}")
            start = None
    return ", ".join(parts)


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
            if profile_and_backend(profile_dir_.name)[0] not in suite.profiles:
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
                elif path.name != SELECTION_FILE and path.stem not in suite.optimizers:
                    unused.append(str(path))
    return unused
