"""The state of one `pytest --optcheck` session: runs, verdicts, curve statuses, pending baseline writes.

The pytest hooks stay thin and hand everything here. Under pytest-xdist each
worker keeps its own session and sends what it found (curve statuses, measurements and baseline
updates) to the controller, which alone writes baseline files.
"""

from __future__ import annotations

import dataclasses
import enum
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_optcheck import atomic
from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.selection import SelectionBaseline, load_selection_baseline, parse_selection_baseline
from pytest_optcheck.baselines.records import (
    ClaimRecord,
    ClaimsBaseline,
    JudgedClaim,
    OptimizerBaseline,
    load_claims_baseline,
    load_optimizer_baseline,
    parse_claim_record,
    parse_claims_baseline,
    parse_optimizer_baseline,
)
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.environment import differences as environment_differences
from pytest_optcheck.environment import environment, keras_backend
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge import evidence
from pytest_optcheck.judge.claims import Verdict, check_readable, judge_on_demand, undecided_because
from pytest_optcheck.judge.selection import chosen_text, moves
from pytest_optcheck.judge.noise import NoiseEnvelope, measure_envelope
from pytest_optcheck.plugin.tuning import Tuning
from pytest_optcheck.runs.progress import Progress
from pytest_optcheck.runs.runner import Runner, Wanted
from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.spec.suite import Profile, Suite, load_suite


class OptcheckEnvironmentWarning(UserWarning):
    """The baseline was produced in a different environment (versions, platform or CPU)."""


@dataclass(frozen=True)
class Needs:
    """What the selected items will ask the runner for, known at collection (`SessionState.plan`)."""

    runs: dict[tuple[Path, str], Suite]  # (suite file, optimizer) -> suite: its runs on the profile's seeds
    noise: frozenset[tuple[Path, str]] = frozenset()  # of those, the ones a curve item measures the noise of
    claims: tuple[tuple[Suite, ClaimSpec], ...] = ()  # the claims judged


class UpdateMode(enum.Enum):
    """What --optcheck-update (FAILING) and --optcheck-update-all (ALL) rewrite."""

    FAILING = "failing"
    ALL = "all"


@dataclass
class Options:
    enabled: bool
    profile: str | None
    baselines: Path
    update: UpdateMode | None  # None: write no baseline
    data_dir: str | None
    allow_download: bool
    cache_root: Path | str | None  # a folder, or an object store's URL (s3://...)
    report: Path | None = None
    plots: Path | None = None
    runs_at_once: int | None = None  # None: the runner's default (runs_at_once)


@dataclass
class BaselineWrite:
    """A baseline write, done on the controller at the end of the session."""

    path: str
    content: OptimizerBaseline | ClaimRecord | SelectionBaseline  # a whole file, or one claim's record
    header: ClaimsBaseline | None = None  # for a claim: claims.json besides its records
    claim_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "content": self.content.to_json(), "claim_id": self.claim_id,
                "header": None if self.header is None else self.header.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BaselineWrite:
        """A write a worker queued, read on the controller."""
        path, header = data["path"], data["header"]
        if data["content"].get("kind") == "selection":
            return cls(path, parse_selection_baseline(None, data["content"], where=path))
        if header is None:
            return cls(path, parse_optimizer_baseline(None, data["content"], where=path))
        return cls(path, parse_claim_record(data["content"], path), parse_claims_baseline(None, header, where=path),
                   data["claim_id"])


class OptcheckSession:
    def __init__(self, options: Options, rootdir: Path):
        self.options = options
        self.rootdir = rootdir
        self.runner = Runner(options.cache_root, data_dir=options.data_dir, allow_download=options.allow_download,
                             share_engine=True,
                             at_once=options.runs_at_once)
        self.curve_status: dict[str, str] = {}  # "suite/profile/optimizer" -> identical, missing, updated...
        self.updates: list[BaselineWrite] = []
        # What was measured, in baseline form, keyed "suite/profile/name": for the report.
        self.measured: dict[str, OptimizerBaseline] = {}
        self.claim_records: dict[str, JudgedClaim] = {}
        # Claims whose stored record differs from this run: "suite/profile/claim" -> (how, "id (before -> now)").
        self.claim_changes: dict[str, tuple[str, str]] = {}
        self.changes: list[str] = []  # filled on the controller after writing
        self.summary: list[str] = []  # the terminal section, filled at the end of the session
        self._verdicts: dict[tuple[Path, str, str], Verdict] = {}
        # How the environment differs ("tensorflow: 2.16.1 -> 2.21.0") -> {baseline path: curve key}.
        self.environment_notes: dict[str, dict[str, str]] = {}
        self._suites: dict[Path, Suite] = {}
        self._stored_files: dict[Path, OptimizerBaseline | ClaimsBaseline | OptcheckError | None] = {}
        # Suites whose runs cannot train (an unknown loss, say) -> the item that said why.
        self.setup_failures: dict[str, str] = {}
        # The runs the selected items will ask for first, per suite file, until they are trained together.
        self._planned: dict[Path, tuple[Suite, list[Wanted]]] = {}
        self.tuning = Tuning(self.runner, self.profile, self.baseline_root, options.update is not None)
        self._selection_queued: set[Path] = set()
        self._tuned_planned: set[Path] = set()  # tuned suites whose judging runs are planned

    # Suites, profiles and runs ---------------------------------------------

    def suite(self, path: Path) -> Suite:
        """The suite file, parsed once per session: collection, hooks and fixtures share it."""
        key = Path(path).resolve()
        if key not in self._suites:
            self._suites[key] = load_suite(path)
        return self._suites[key]

    def profile(self, suite: Suite) -> Profile:
        return suite.profile(self.options.profile)

    def runs(self, suite: Suite, optimizer: str) -> dict[int, RunResult]:
        """The optimizer's run on every seed of the session's profile."""
        profile = self.profile(suite)
        self._train_planned(suite)
        return dict(zip(profile.seeds, self.runner.run_many(suite, profile,
                                                            [(optimizer, seed, None) for seed in profile.seeds])))

    def plan(self, needs: Needs) -> None:
        """Note the runs the selected items need, so that they can train together.

        The first item that asks for runs of a suite trains all of its planned runs side by
        side (as many at a time as the runner trains at once), instead of three at a time per
        optimizer. Nudged reruns are planned where a curve item will surely measure the
        noise: where an update refreshes a baseline that has no envelope (missing, damaged,
        or older than envelopes). An update keeps a stored envelope where the curves come
        out bit-identical, so there the reruns train only if they differ, when asked for.
        A claim's seeds are planned as far as it takes them whatever its runs show
        (`evidence.seeds_certain`: 7 where it starts on 3); seeds it adds beyond those are
        planned when it adds them.
        """
        try:
            for (path, name), suite in needs.runs.items():
                profile = self.profile(suite)
                if profile.tune is not None:
                    continue  # the rates are known once the selection has trained: runs train as asked
                stored = baselines.optimizer_path(self.baseline_root(), suite, profile, name)
                measures_noise = (self.options.update is not None and (path, name) in needs.noise
                                  and not self._has_envelope(stored))
                nudges = range(1, profile.noise_reruns + 1) if measures_noise else ()
                self._add_planned(suite, [(name, seed, nudge) for seed in profile.seeds for nudge in (None, *nudges)])
            if self.runner.at_once < 2 and self.runner.remote is None:
                return  # one at a time, a claim's seeds train as it asks for them, and are counted then
            for suite, claim in needs.claims:
                profile = self.profile(suite)
                if profile.tune is not None:
                    continue
                try:
                    check_readable(claim, profile.epochs, profile.name)
                except OptcheckError:
                    continue  # its item says why; none of its seeds is worth training
                pool = profile.seed_pool()
                certain = evidence.seeds_certain(len(profile.seeds), profile.seed_group, len(pool),
                                                 claim.probability_above, claim.confidence)
                self._add_planned(suite, [(name, seed, None) for seed in pool[len(profile.seeds):certain]
                                          for name in claim.optimizers])
        except OptcheckError:
            return  # an unknown profile, say: the items report it

    def _has_envelope(self, path: Path) -> bool:
        """Whether the stored baseline is readable and records a noise envelope."""
        stored = read_quietly(self.stored_optimizer, path)
        return stored is not None and stored.noise is not None

    def _add_planned(self, suite: Suite, runs: list[Wanted]) -> None:
        planned = self._planned.setdefault(Path(suite.path), (suite, []))[1]
        planned += [run for run in dict.fromkeys(runs) if run not in planned]

    def plan_runs(self, progress: Progress) -> None:
        """Tell `progress` how many of the planned runs will train (neither cached nor failed), per suite."""
        try:
            for suite, wanted in self._planned.values():
                self._plan(progress, suite, self.profile(suite), wanted)
        except OptcheckError:
            return  # no data yet, say: the items report it

    def _plan(self, progress: Progress, suite: Suite, profile: Profile, runs: list[Wanted]) -> None:
        """Count the runs (optimizer, seed, nudge) that will train (neither cached nor failed) into the estimate."""
        to_train = sum(self.runner.will_train(suite, name, seed, profile, nudge) for name, seed, nudge in runs)
        progress.plan(suite.name, profile.name, to_train, profile.epochs)

    def _train_planned(self, suite: Suite) -> None:
        """Train the suite's planned runs side by side, once; a run that fails is left for its item to raise."""
        planned = self._planned.pop(Path(suite.path), None)
        if planned is None or (self.runner.at_once < 2 and self.runner.remote is None):
            return
        try:
            self.runner.run_many(planned[0], self.profile(suite), planned[1])
        except Exception:  # noqa: BLE001 - the runner keeps it: the item that asks for that run reports it
            pass

    def judged_suite(self, suite: Suite) -> Suite:
        """The suite as claims judge it: on a tuned profile, each optimizer at its chosen learning rate."""
        self._queue_selection(suite)
        return self.tuning.judged_suite(suite)

    def curve_suite(self, suite: Suite) -> Suite:
        """The suite as curves are checked: on a tuned profile, at the stored selection's rates."""
        self._queue_selection(suite)
        tuned = self.tuning.curve_suite(suite)
        key = Path(suite.path).resolve()
        if tuned is not suite and key not in self._tuned_planned:
            # Known only now that the rates are: every optimizer's runs on the profile's seeds, together.
            self._tuned_planned.add(key)
            profile = self.profile(suite)
            runs = [(name, seed, None) for name in tuned.optimizers for seed in profile.seeds]
            self._add_planned(tuned, runs)
            if self.runner.progress is not None:  # the estimate grows by them as soon as they are known
                self._plan(self.runner.progress, tuned, profile, runs)
        return tuned

    def _queue_selection(self, suite: Suite) -> None:
        """Under an update flag, selection.json is rewritten with this session's selection (once per suite)."""
        key = Path(suite.path).resolve()
        if self.options.update is None or not self.tuning.tuned(suite) or key in self._selection_queued:
            return
        self._selection_queued.add(key)
        self.updates.append(BaselineWrite(str(self.tuning.selected(suite).path), self.tuning.record(suite)))

    def envelope(self, suite: Suite, optimizer: str) -> NoiseEnvelope:
        """The optimizer's noise envelope on the session's profile: trains the nudged reruns (or takes them cached)."""
        profile = self.profile(suite)
        nudges = tuple(range(1, profile.noise_reruns + 1))
        baseline = self.runs(suite, optimizer)
        runs = iter(self.runner.run_many(suite, profile, [(optimizer, seed, n) for seed in profile.seeds
                                                          for n in nudges]))
        nudged = {seed: [next(runs).history for _ in nudges] for seed in profile.seeds}
        return measure_envelope({seed: run.history for seed, run in baseline.items()}, nudged,
                                suite.training.epoch_metrics, profile.epochs, nudges)

    def verdict(self, suite: Suite, claim: ClaimSpec) -> Verdict:
        """The claim judged on the profile's seeds and, while it is undecided, on more (within the budget)."""
        profile = self.profile(suite)
        memo = (suite.path, profile.name, claim.id)

        def together(seeds) -> None:  # the claim's optimizers on these seeds, trained side by side
            self.runner.run_many(suite, profile, [(name, seed, None) for name in claim.optimizers for seed in seeds])

        def adding(seeds) -> None:  # the progress line's total grows by the runs these seeds will train
            progress = self.runner.progress
            if progress is not None:
                self._plan(progress, suite, profile, [(name, seed, None) for name in claim.optimizers
                                                      for seed in seeds])
            together(seeds)

        if memo not in self._verdicts:
            check_readable(claim, profile.epochs, profile.name)  # before its runs train
            self._train_planned(suite)
            together(profile.seeds)
            verdict = judge_on_demand(
                claim, lambda name, seed: self.runner.run(suite, name, seed, profile), profile.seeds,
                profile.seed_pool(), profile.seed_group, profile.epochs, adding)
            # A best point on a grid's edge: the optimizer may do better beyond it, so the claim waits.
            self._verdicts[memo] = undecided_because(verdict, self.tuning.problems(suite, claim.optimizers))
        return self._verdicts[memo]

    def record_measured(self, suite: Suite, profile: Profile, optimizer: str,
                        measured: OptimizerBaseline | None = None) -> None:
        """Keep an optimizer's runs in baseline form for the report."""
        key = f"{suite.name}/{profile.name}/{optimizer}"
        if measured is None and key not in self.measured:
            measured = baselines.optimizer_baseline(suite, profile, optimizer, self.runs(suite, optimizer),
                                                    data=self.runner.data_identity(suite))
        if measured is not None:
            self.measured[key] = measured

    # Baselines --------------------------------------------------------------

    def stored_optimizer(self, path: Path) -> OptimizerBaseline | None:
        """The optimizer baseline at `path` as the session found it: read and checked once."""
        return self._stored(path, load_optimizer_baseline)

    def stored_claims(self, path: Path) -> ClaimsBaseline | None:
        """claims.json at `path` as the session found it: read and checked once, whatever the number of claims."""
        return self._stored(path, load_claims_baseline)

    def _stored(self, path: Path, load):
        key = Path(path).resolve()
        if key not in self._stored_files:
            try:
                self._stored_files[key] = load(path)
            except OptcheckError as exc:  # a damaged file: every item that reads it says so
                self._stored_files[key] = exc
        found = self._stored_files[key]
        if isinstance(found, OptcheckError):
            raise found
        return found

    def baseline_root(self) -> Path:
        """The baseline folder, relative to the current directory when inside it.

        Every baseline path derives from it, so messages show paths as users type them.
        """
        root = self.options.baselines
        root = root if root.is_absolute() else self.rootdir / root
        try:
            return root.relative_to(Path.cwd())
        except ValueError:
            return root

    def note_environment(self, path: Path, recorded: dict, key: str) -> None:
        """Remember that a baseline comes from another environment; said once, grouped, at the end."""
        changed = environment_differences(recorded, environment())
        if changed:
            listed = "; ".join(f"{k}: {old} -> {new}" for k, (old, new) in changed.items())
            self.environment_notes.setdefault(listed, {})[str(path)] = key

    def warn_environment(self) -> None:
        """One warning per way the environment differs: what differs, which files, and how their curves compared."""
        for listed, files in sorted(self.environment_notes.items()):
            statuses = Counter(self.curve_status.get(key, "not compared") for key in files.values())
            compared = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
            shown = sorted(files)
            named = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
            warnings.warn(OptcheckEnvironmentWarning(
                f"{len(shown)} baseline{'s were' if len(shown) > 1 else ' was'} produced in another environment "
                f"({listed}): {named}; curves: {compared}. Curves are compared within the noise measured "
                "with them; refresh on this machine with --optcheck-update-all to compare bit for bit."))

    def cluster_lines(self) -> list[str]:
        """Where the session's runs trained, when a Ray cluster trained them."""
        remote = self.runner.remote
        if remote is None:
            return []
        lines = [f"runs: {self.runner.trained_on_cluster} trained on {remote.cluster.describe()}, "
                 "each in a fresh worker process; the others came from the cache"]
        driver = environment()
        changed = environment_differences(driver, remote.environment)
        if changed:
            listed = "; ".join(f"{k}: {old} here, {new} there" for k, (old, new) in changed.items())
            lines.append(f"  the cluster trains in another environment than this machine ({listed}): runs are "
                         "cached under the cluster's, and baselines written here compare within noise there")
        for node in remote.cluster.excluded:
            differs = "; ".join(f"{k}: {new}" for k, (_, new) in
                                environment_differences(remote.environment, node.environment).items())
            lines.append(f"  Ray node {node.address} trained nothing: its environment differs from the first "
                         f"node's ({differs})")
        return lines

    def refresh_command(self, nodeid: str) -> str:
        """The command that rewrites this item's baseline, with every option that decides what it
        trains and where it writes: run as printed, it trains what this session trained."""
        import shlex

        words = ["pytest", "--optcheck"]
        if self.options.profile:
            words += ["--optcheck-profile", self.options.profile]
        # Always named: a suite's or ini file's backend could otherwise differ from this session's.
        words += ["--optcheck-backend", keras_backend()]
        if self.options.data_dir:
            words += ["--optcheck-data-dir", str(self.options.data_dir)]
        if self.options.baselines != Path(DEFAULT_BASELINES):
            words += ["--optcheck-baselines", str(self.options.baselines)]
        return " ".join(shlex.quote(w) for w in words) + f' --optcheck-update "{nodeid}"'

    # Results from workers ---------------------------------------------------

    def export(self) -> dict[str, Any]:
        return {
            "curve_status": self.curve_status,
            "updates": [u.to_json() for u in self.updates],
            "measured": {key: m.to_json() for key, m in self.measured.items()},
            "claim_records": {key: c.to_json() for key, c in self.claim_records.items()},
            "claim_changes": self.claim_changes,
            "environment_notes": self.environment_notes,
        }

    def absorb(self, data: dict[str, Any]) -> None:
        self.curve_status.update(data.get("curve_status", {}))
        self.updates += [BaselineWrite.from_json(u) for u in data.get("updates", [])]
        self.measured.update({key: parse_optimizer_baseline(None, m, where=key)
                              for key, m in data.get("measured", {}).items()})
        self.claim_records.update({key: JudgedClaim.from_json(c, key)
                                   for key, c in data.get("claim_records", {}).items()})
        self.claim_changes.update({k: tuple(v) for k, v in data.get("claim_changes", {}).items()})
        for listed, files in data.get("environment_notes", {}).items():
            self.environment_notes.setdefault(listed, {}).update(files)

    def write_updates(self) -> None:
        """Write every pending baseline update; only the controller calls this.

        A file whose curves, envelope and verdicts are unchanged is left as it is (timings
        differ on every run), so a refresh shows in `git diff` only where something changed.
        """
        claim_files: dict[str, tuple[ClaimsBaseline, dict[str, ClaimRecord]]] = {}
        for update in sorted(self.updates, key=lambda u: (u.path, u.claim_id)):
            path = Path(update.path)
            if isinstance(update.content, SelectionBaseline):
                self._write_selection(path, update.content)
            elif isinstance(update.content, OptimizerBaseline):
                old = read_quietly(load_optimizer_baseline, path)
                if old is not None and old.same_content(update.content):
                    self.changes.append(f"{path}: unchanged (curves and noise envelope bit-identical), not rewritten")
                    continue
                atomic.write_text(path, baselines.dumps(update.content.to_json()))
                self.changes.append(f"{path}: {baselines.largest_change(old, update.content)}")
            else:
                assert update.header is not None
                header, records = claim_files.setdefault(update.path, (update.header, {}))
                records[update.claim_id] = update.content
        for name, (header, records) in claim_files.items():
            # A claims file holds every claim of a profile: two refreshes at once in one
            # checkout each merge into it, so the read-merge-write is done under a lock.
            with atomic.exclusive_lock(_lock_path(Path(name))):
                self._merge_claims(Path(name), header, records)

    def _write_selection(self, path: Path, content: SelectionBaseline) -> None:
        old = read_quietly(load_selection_baseline, path)
        if old is not None and old.same_content(content):
            self.changes.append(f"{path}: unchanged (every grid point bit-identical), not rewritten")
            return
        atomic.write_text(path, baselines.dumps(content.to_json()))
        if old is None:
            self.changes.append(f"{path}: new selection: {chosen_text(content.selections)}")
            return
        found = [move.describe() for move in moves(old.chosen_points(), content.selections)]
        self.changes.append(f"{path}: " + ("; ".join(found) if found else "grid values changed, no chosen point moved"))

    def _merge_claims(self, path: Path, header: ClaimsBaseline, records: dict[str, ClaimRecord]) -> None:
        old = read_quietly(load_claims_baseline, path)
        if old is None and path.exists():
            self.changes.append(f"{path}: was unreadable; rewritten with the selected claims only")
        merged = dict(old.claims) if old else {}
        for claim_id, record in records.items():
            before = merged[claim_id].verdict if claim_id in merged else None
            if before != record.verdict:
                self.changes.append(f"{path}: claim {claim_id!r} verdict {before or 'none'} -> {record.verdict}")
            merged[claim_id] = record
        content = dataclasses.replace(header, claims=merged).to_json()
        if old is not None and baselines.dumps(old.to_json()) == baselines.dumps(content):
            self.changes.append(f"{path}: unchanged, not rewritten")
            return
        atomic.write_text(path, baselines.dumps(content))
        self.changes.append(f"{path}: {len(records)} claim record(s) written")


def _lock_path(path: Path) -> Path:
    """A lock file for `path` outside the baseline folder (nothing to commit or clean up)."""
    import hashlib
    import tempfile

    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"optcheck-claims-{digest}.lock"


def read_quietly(load, path: Path):
    """`load(path)`, or None where the file is damaged: one being replaced by an update, or one whose
    items already say so (the report then shows "no baseline")."""
    try:
        return load(path)
    except OptcheckError:
        return None


# The baseline folder unless --optcheck-baselines or the ini key says otherwise.
DEFAULT_BASELINES = "baselines"

SKIP_REASON = "optcheck items train models: pass --optcheck to run them"

# The markers every generated item carries (`pytest -m optcheck_claim` runs the claims alone).
MARKERS = {
    "optcheck": "an item generated from an optcheck suite file",
    "optcheck_curve": "an optcheck item comparing one optimizer's curves with its baseline",
    "optcheck_claim": "an optcheck item asserting one claim of a suite",
    "optcheck_benchmark": "an optcheck item timing one training epoch with pytest-benchmark",
}

# Where the plugin keeps the session's state: `config.stash[session_key]`.
session_key = pytest.StashKey[OptcheckSession]()


def optcheck_session(config: pytest.Config) -> OptcheckSession | None:
    """The session's state, or None when the plugin did not configure (e.g. -p no:optcheck)."""
    return config.stash.get(session_key, None)


def suite_locations(config: pytest.Config) -> list[Path]:
    configured = config.getini("optcheck_suites")
    return [Path(p).resolve() for p in configured] or [project_root(config) / "suites"]


def project_root(config: pytest.Config) -> Path:
    """The folder the default suites/ and baselines/ are in: the ini file's, else where pytest started.

    Not pytest's rootdir alone: without an ini file that is the common folder of the
    arguments (suites/ itself for `pytest suites/x.toml::curve[sgd]`), so a printed refresh
    command would look for suites and write baselines in another place than the run that printed it.
    """
    return config.rootpath if config.inipath is not None else config.invocation_params.dir


def suite_files(config: pytest.Config) -> list[Path]:
    files = []
    for location in suite_locations(config):
        files += sorted(location.rglob("*.toml")) if location.is_dir() else [location] if location.is_file() else []
    return files
