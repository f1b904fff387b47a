"""`optcheck sensitivity`: what a suite's checks can detect, measured by mutation testing.

Each optimizer is changed in small, documented ways, one at a time (`mutations`),
trained on the profile's seeds, and checked against the stored baselines exactly
as the `curve[...]` and `claim[...]` items would: a mutation is *caught* when an
item would fail. Benign perturbations (fresh one-ulp nudges of the initial
weights, oneDNN switched the other way) are checked the same way and must stay
*quiet*; an item failing on one of them is a *false alarm*.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.compare import check_curves
from pytest_optcheck.baselines.records import (
    OptimizerBaseline,
    load_claims_baseline,
    load_optimizer_baseline,
)
from pytest_optcheck.engine.optimizers import resolve_optimizer_class
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge.claims import judge_on_demand
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.spec.suite import OptimizerSpec, Profile, Suite

DEFAULT_NUDGES = (101, 102, 103)  # never used by an envelope (those use 1..noise_reruns)


@dataclass(frozen=True)
class Mutation:
    """One small change of an optimizer's arguments."""

    description: str  # e.g. "learning_rate 0.001 -> 0.0008 (x0.8)"
    kwargs: dict[str, Any]


@dataclass
class Trial:
    optimizer: str
    change: str
    benign: bool
    failing_items: list[str] = field(default_factory=list)  # e.g. "curve[adam]: loss +7.1"
    largest_shift: float = 0.0
    unjudged: list[str] = field(default_factory=list)  # claims needing seeds this trial did not train

    @property
    def outcome(self) -> str:
        if self.benign:
            return "FALSE ALARM" if self.failing_items else "quiet"
        return "caught" if self.failing_items else "missed"


def _scaled(value: float, factor: float) -> float:
    return float(f"{value * factor:.6g}")


def _closer_to_one(value: float, factor: float) -> float:
    """A decay rate with its horizon 1 / (1 - value) divided by `factor`: 0.9 -> 0.8 for factor 2."""
    return float(f"{1 - (1 - value) * factor:.6g}")


def mutations(spec: OptimizerSpec, optimizer_class: type) -> list[Mutation]:
    """The mutation set for one optimizer, from the arguments its class takes.

    learning_rate x0.8, x1.25 and x0.95 (the last is meant to be hard to see);
    momentum 0.9 -> 0.8 (or 0 -> 0.1); beta_1 0.9 -> 0.8; beta_2 0.999 -> 0.99;
    rho 0.99 -> 0.98; epsilon x100; initial_accumulator_value x2; and each of
    nesterov, amsgrad, centered flipped (nesterov only with momentum, where it acts).
    """
    try:
        parameters = inspect.signature(optimizer_class).parameters
    except (TypeError, ValueError):
        return []
    current = {name: p.default for name, p in parameters.items() if p.default is not inspect.Parameter.empty}
    current.update(spec.kwargs)
    found: list[Mutation] = []

    def add(name: str, new: Any, note: str = "") -> None:
        if name in current and isinstance(current[name], (int, float)) and new != current[name]:
            shown = f"{name} {current[name]} -> {new}" + (f" ({note})" if note else "")
            found.append(Mutation(shown, {**spec.kwargs, name: new}))

    lr = current.get("learning_rate")
    if isinstance(lr, (int, float)) and not isinstance(lr, bool):
        for factor in (0.8, 1.25, 0.95):
            add("learning_rate", _scaled(lr, factor), f"x{factor}")
    momentum = current.get("momentum")
    if isinstance(momentum, (int, float)) and not isinstance(momentum, bool):
        add("momentum", _closer_to_one(momentum, 2) if momentum > 0 else 0.1)
    for name, factor in (("beta_1", 2), ("beta_2", 10), ("rho", 2)):
        if isinstance(current.get(name), float):
            add(name, _closer_to_one(current[name], factor))
    if isinstance(current.get("epsilon"), float):
        add("epsilon", _scaled(current["epsilon"], 100), "x100")
    if isinstance(current.get("initial_accumulator_value"), float):
        add("initial_accumulator_value", _scaled(current["initial_accumulator_value"], 2), "x2")
    for flag in ("nesterov", "amsgrad", "centered"):
        if isinstance(current.get(flag), bool) and (flag != "nesterov" or (momentum or 0) > 0):
            found.append(Mutation(f"{flag} {current[flag]} -> {not current[flag]}",
                                  {**spec.kwargs, flag: not current[flag]}))
    return found


class Sensitivity:
    """Runs the trials of one suite and profile against its stored baselines."""

    def __init__(self, suite: Suite, profile: Profile, baseline_root: Path, runner: Runner):
        self.suite, self.profile, self.runner = suite, profile, runner
        self.baseline_root = baseline_root
        claims = load_claims_baseline(baselines.claims_path(baseline_root, suite, profile))
        self.stored_verdicts = {cid: r.verdict for cid, r in (claims.claims if claims else {}).items()}

    def recorded(self, optimizer: str) -> OptimizerBaseline:
        path = baselines.optimizer_path(self.baseline_root, self.suite, self.profile, optimizer)
        recorded = load_optimizer_baseline(path)
        if recorded is None:
            raise OptcheckError(f"{path}: no baseline; write the baselines first with "
                                f"pytest --optcheck --optcheck-profile {self.profile.name} --optcheck-update")
        return recorded

    def trial(self, optimizer: str, change: str, benign: bool, suite: Suite, runs: dict[int, RunResult],
              more: Callable[[int], RunResult] | None = None) -> Trial:
        """The items that would fail with `runs` in place of the optimizer's own.

        `more(seed)`: the changed optimizer's run on a seed beyond the profile's first
        ones, for claims that add seeds while undecided. Without it (a run in a child
        process) only the first seeds are known, and such claims are left unjudged.
        """
        trial = Trial(optimizer, change, benign)
        recorded = self.recorded(optimizer)
        measured = baselines.optimizer_baseline(suite, self.profile, optimizer, runs,
                                                data=self.runner.data_identity(suite))
        result = check_curves(recorded, measured, self.suite.optimizer(optimizer))
        if result.failed:
            trial.failing_items.append(f"curve[{optimizer}]: {', '.join(result.moved)}")
        pool = self.profile.seed_pool()
        for claim in self.suite.claims:
            if optimizer not in claim.optimizers or claim.id not in self.stored_verdicts:
                continue
            if more is None and len(pool) > len(runs):
                trial.unjudged.append(claim.id)
                continue

            def run(name: str, seed: int) -> RunResult:  # as the claim item would see it
                if name == optimizer:
                    return runs[seed] if seed in runs else more(seed)
                return self.runner.run(self.suite, name, seed, self.profile)

            verdict = judge_on_demand(claim, run, self.profile.seeds, pool, self.profile.seed_group,
                                      self.profile.epochs).verdict
            if verdict != self.stored_verdicts[claim.id]:
                trial.failing_items.append(f"claim[{claim.id}]: {self.stored_verdicts[claim.id]} -> {verdict}")
        return trial

    def plain_runs(self, optimizer: str, suite: Suite | None = None, nudge: int | None = None) -> dict[int, RunResult]:
        """The optimizer's runs on the profile's seeds, trained together (side by side where the backend allows)."""
        seeds = self.profile.seeds
        runs = self.runner.run_many(suite or self.suite, self.profile, [(optimizer, seed, nudge) for seed in seeds])
        return dict(zip(seeds, runs))

    def mutation_trials(self, optimizer: str) -> list[Trial]:
        spec = self.suite.optimizer(optimizer)
        trials = []
        for mutation in mutations(spec, resolve_optimizer_class(spec, self.suite.path)):
            mutated = dataclasses.replace(spec, kwargs=mutation.kwargs)
            suite = dataclasses.replace(self.suite, optimizers={**self.suite.optimizers, optimizer: mutated})
            trials.append(self.trial(
                optimizer, mutation.description, False, suite, self.plain_runs(optimizer, suite),
                more=lambda seed, suite=suite: self.runner.run(suite, optimizer, seed, self.profile)))
        return trials

    def nudge_trials(self, optimizer: str, nudges: tuple[int, ...]) -> list[Trial]:
        return [self.trial(optimizer, f"initial weights nudged one ulp (nudge seed {n})", True, self.suite,
                           self.plain_runs(optimizer, nudge=n),
                           more=lambda seed, n=n: self.runner.run(self.suite, optimizer, seed, self.profile, nudge=n))
                for n in nudges]

    def onednn_trials(self, optimizers: list[str], *, data_dir: str | None, cache_dir: Path | None) -> list[Trial]:
        """Every optimizer trained in a child process with oneDNN switched the other way."""
        flipped = "1" if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default") == "0" else "0"
        runs = train_elsewhere(self.suite, self.profile, optimizers, {"TF_ENABLE_ONEDNN_OPTS": flipped},
                               data_dir=data_dir, cache_dir=cache_dir)
        return [self.trial(name, f"TF_ENABLE_ONEDNN_OPTS={flipped}", True, self.suite, runs[name])
                for name in optimizers]


def train_elsewhere(suite: Suite, profile: Profile, optimizers: list[str], env: dict[str, str], *,
                    data_dir: str | None, cache_dir: Path | None) -> dict[str, dict[int, RunResult]]:
    """Train in a child process whose environment differs (TensorFlow reads it only at start)."""
    with tempfile.TemporaryDirectory(prefix="optcheck-") as folder:
        target = Path(folder) / "runs.json"
        command = [sys.executable, "-m", "pytest_optcheck.cli.main", "run", "--suite", str(suite.path),
                   "--profile", profile.name, "--json", str(target)]
        command += [arg for name in optimizers for arg in ("--optimizer", name)]
        command += ["--no-cache"] if cache_dir is None else ["--cache-dir", str(cache_dir)]
        command += ["--data-dir", data_dir] if data_dir else []
        done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
        if done.returncode != 0:
            raise OptcheckError(f"training with {env} failed:\n{done.stderr.strip()[-2000:]}")
        payload = json.loads(target.read_text())
    payload = payload if isinstance(payload, list) else [payload]
    runs: dict[str, dict[int, RunResult]] = {}
    for item in payload:
        result = RunResult.from_json(item)
        runs.setdefault(result.optimizer, {})[result.seed] = result
    return runs


def render(trials: list[Trial], suite: Suite, profile: Profile) -> str:
    """Markdown: one row per trial, then the detection and false-alarm rates."""
    from tabulate import tabulate

    rows = [[suite.optimizer(t.optimizer).label, t.change, "benign" if t.benign else "mutation", t.outcome,
             "; ".join(t.failing_items) or "—"] for t in trials]
    table = tabulate(rows, headers=["optimizer", "change", "kind", "outcome", "failing items"], tablefmt="github")
    mutants = [t for t in trials if not t.benign]
    benign = [t for t in trials if t.benign]
    caught = sum(bool(t.failing_items) for t in mutants)
    alarms = sum(bool(t.failing_items) for t in benign)
    rate = f" ({100 * caught / len(mutants):.0f}%)" if mutants else ""
    lines = [
        f"### optcheck sensitivity: suite {suite.name}, profile {profile.name} "
        f"(seeds {', '.join(map(str, profile.seeds))}, {profile.epochs} epochs)",
        "",
        table,
        "",
        f"**Mutations caught: {caught} of {len(mutants)}{rate}. "
        f"False alarms: {alarms} of {len(benign)} benign perturbations.**",
        "",
    ]
    unjudged = sorted({(t.change, c) for t in trials for c in t.unjudged})
    if unjudged:
        changes = sorted({change for change, _ in unjudged})
        lines += [f"Claims that add seeds while undecided were not judged for: {', '.join(changes)} "
                  "(those runs cover only the profile's first seeds); their curves were.", ""]
    return "\n".join(lines)
