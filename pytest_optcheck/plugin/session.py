"""One `pytest --optcheck` session: the suites it read, and the owners of everything else it keeps.

The pytest hooks stay thin and hand everything here. Runs come from the runner, planned
together by the planner (planning.py); verdicts are judged once (verdicts.py); what items
find goes to the findings (findings.py), which a pytest-xdist worker sends to the
controller (transport.py), which alone writes baseline files (writes.py).
"""

from __future__ import annotations

import enum
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.records import (
    ClaimsBaseline,
    OptimizerBaseline,
    load_claims_baseline,
    load_optimizer_baseline,
)
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.environment import differences as environment_differences
from pytest_optcheck.environment import environment, keras_backend
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge.claims import Verdict
from pytest_optcheck.judge.noise import NoiseEnvelope, measure_envelope
from pytest_optcheck.plugin import transport
from pytest_optcheck.plugin.findings import NOT_COMPARED, BaselineWrite, Findings, ItemKey
from pytest_optcheck.plugin.planning import Planner
from pytest_optcheck.plugin.tuning import Tuning
from pytest_optcheck.plugin.verdicts import Verdicts
from pytest_optcheck.plugin.writes import read_quietly, write_updates
from pytest_optcheck.runs.progress import Progress
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.spec.suite import Profile, Suite, load_suite

if TYPE_CHECKING:
    from pytest_optcheck.runs.cluster import RemoteTrainer


class OptcheckEnvironmentWarning(UserWarning):
    """The baseline was produced in a different environment (versions, platform or CPU)."""


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


class OptcheckSession:
    """One session's state, each piece with one owner: the runner (runs), the planner (runs trained
    together), the verdicts, the tuning (chosen rates), the findings (what items found, and the
    writes they queued); the session itself keeps the suites and stored files it read once."""

    def __init__(self, options: Options, rootdir: Path):
        self.options = options
        self.rootdir = rootdir
        self.runner = Runner(options.cache_root, data_dir=options.data_dir, allow_download=options.allow_download,
                             share_engine=True,
                             at_once=options.runs_at_once)
        self.findings = Findings()
        self._suites: dict[Path, Suite] = {}
        self._stored_files: dict[Path, OptimizerBaseline | ClaimsBaseline | OptcheckError | None] = {}
        self.tuning = Tuning(self.runner, self.profile, self.baseline_root, options.update is not None)
        self.planner = Planner(self.runner, self.profile, self.baseline_root, self._has_envelope,
                               options.update is not None)
        self._verdicts = Verdicts(self.runner, self.planner, self.tuning, self.profile)
        self._selection_queued: set[Path] = set()

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
        self.planner.train_planned(suite)
        return dict(zip(profile.seeds, self.runner.run_many(suite, profile,
                                                            [(optimizer, seed, None) for seed in profile.seeds])))

    def show_progress(self, progress: Progress) -> None:
        """Tell `progress` of every run that trains, starting with how many of the planned runs will."""
        self.runner.progress = progress
        self.planner.count_all()

    def train_on(self, remote: RemoteTrainer) -> None:
        """Train every run not cached on a Ray cluster (--optcheck-ray)."""
        self.runner.remote = remote

    def _has_envelope(self, path: Path) -> bool:
        """Whether the stored baseline is readable and records a noise envelope."""
        stored = read_quietly(self.stored_optimizer, path)
        return stored is not None and stored.noise is not None

    def judged_suite(self, suite: Suite) -> Suite:
        """The suite as claims judge it: on a tuned profile, each optimizer at its chosen learning rate."""
        self._queue_selection(suite)
        return self.tuning.judged_suite(suite)

    def curve_suite(self, suite: Suite) -> Suite:
        """The suite as curves are checked: on a tuned profile, at the stored selection's rates."""
        self._queue_selection(suite)
        tuned = self.tuning.curve_suite(suite)
        if tuned is not suite:
            self.planner.add_tuned(suite, tuned)
        return tuned

    def _queue_selection(self, suite: Suite) -> None:
        """Under an update flag, selection.json is rewritten with this session's selection (once per suite)."""
        key = Path(suite.path).resolve()
        if self.options.update is None or not self.tuning.tuned(suite) or key in self._selection_queued:
            return
        self._selection_queued.add(key)
        self.findings.queue(BaselineWrite(str(self.tuning.selected(suite).path), self.tuning.record(suite)))

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
        return self._verdicts.verdict(suite, claim)

    def item_key(self, suite: Suite, name: str, profile: str | None = None) -> ItemKey:
        """The key of an optimizer's or a claim's findings on the session's profile (or `profile`)."""
        return ItemKey(suite.name, profile or self.profile(suite).name, name)

    def record_measured(self, suite: Suite, profile: Profile, optimizer: str,
                        measured: OptimizerBaseline | None = None) -> None:
        """Keep an optimizer's runs in baseline form for the report."""
        key = self.item_key(suite, optimizer, profile.name)
        if measured is None and key not in self.findings.measured:
            measured = baselines.optimizer_baseline(suite, profile, optimizer, self.runs(suite, optimizer),
                                                    data=self.runner.data_identity(suite))
        if measured is not None:
            self.findings.measure(key, measured)

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

    def note_environment(self, path: Path, recorded: dict, key: ItemKey) -> None:
        """Remember that a baseline comes from another environment; said once, grouped, at the end."""
        changed = environment_differences(recorded, environment())
        if changed:
            listed = "; ".join(f"{k}: {old} -> {new}" for k, (old, new) in changed.items())
            self.findings.other_environment(listed, str(path), key)

    def warn_environment(self) -> None:
        """One warning per way the environment differs: what differs, which files, and how their curves compared."""
        curves = self.findings.curves
        for listed, files in sorted(self.findings.environments.items()):
            statuses = Counter(curves[key].value if key in curves else NOT_COMPARED for key in files.values())
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
        """This worker's findings, for the pytest-xdist controller."""
        return transport.export(self.findings)

    def absorb(self, data: dict[str, Any]) -> None:
        """A pytest-xdist worker's findings, added to the controller's."""
        self.findings.merge(transport.absorb(data))

    def write_updates(self, changes: list[str]) -> None:
        """Write every queued baseline (the controller alone), saying in `changes` what each write did."""
        write_updates(self.findings.writes, changes)


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
