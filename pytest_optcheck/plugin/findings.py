"""What a session's items found, kept by one owner: curve statuses, measured runs, judged claims,
claims whose record moved, baselines from other environments, suites that cannot train, and the
baseline writes queued for the end of the session.

Items record here through methods; the session's end reads (finish.py). Under pytest-xdist each
worker has its own, and the controller merges what its end reads (transport.py carries it
across); the suites that cannot train stay with the worker whose items said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pytest_optcheck.baselines.compare import CurveStatus
from pytest_optcheck.baselines.records import ClaimRecord, ClaimsBaseline, JudgedClaim, OptimizerBaseline
from pytest_optcheck.baselines.selection import SelectionBaseline
from pytest_optcheck.errors import OptcheckError


# A curve item that failed before comparing anything, as the summary and the environment warning count it.
NOT_COMPARED = "not compared"


@dataclass(frozen=True)
class ItemKey:
    """Whose finding: a suite, the profile it ran on, and an optimizer's or a claim's name."""

    suite: str
    profile: str
    name: str

    def __str__(self) -> str:
        return f"{self.suite}/{self.profile}/{self.name}"


@dataclass(frozen=True)
class ClaimChange:
    """A claim whose stored record differs from this run: how (the summary's words), and the claim as named there."""

    how: str
    claim: str  # its id, with "(holds -> fails)" where the verdict flipped


@dataclass
class BaselineWrite:
    """A baseline write, done on the controller at the end of the session."""

    path: str
    content: OptimizerBaseline | ClaimRecord | SelectionBaseline  # a whole file, or one claim's record
    header: ClaimsBaseline | None = None  # for a claim: claims.json besides its records
    claim_id: str = ""


@dataclass
class Findings:
    curves: dict[ItemKey, CurveStatus] = field(default_factory=dict)
    measured: dict[ItemKey, OptimizerBaseline] = field(default_factory=dict)  # in baseline form, for the report
    claims: dict[ItemKey, JudgedClaim] = field(default_factory=dict)
    claim_changes: dict[ItemKey, ClaimChange] = field(default_factory=dict)
    # How the environment differs ("tensorflow: 2.16.1 -> 2.21.0") -> {baseline path: the curve's key}.
    environments: dict[str, dict[str, ItemKey]] = field(default_factory=dict)
    # Suites whose runs cannot train (an unknown loss, say) -> the item that said why.
    setup_failures: dict[str, str] = field(default_factory=dict)
    writes: list[BaselineWrite] = field(default_factory=list)

    def curve(self, key: ItemKey, status: CurveStatus) -> None:
        """What a curve item found; a later finding (updated, say) replaces an earlier one."""
        self.curves[key] = status

    def measure(self, key: ItemKey, baseline: OptimizerBaseline) -> None:
        self.measured[key] = baseline

    def judged(self, key: ItemKey, claim: JudgedClaim) -> None:
        self.claims[key] = claim

    def claim_changed(self, key: ItemKey, change: ClaimChange) -> None:
        """The claim's stored record differs from this run's (the summary names it)."""
        self.claim_changes[key] = change

    def other_environment(self, listed: str, path: str, key: ItemKey) -> None:
        """A baseline from another environment, differing as `listed` says."""
        self.environments.setdefault(listed, {})[path] = key

    def cannot_train(self, suite_path: str, nodeid: str) -> None:
        """The suite's runs cannot train, as the item `nodeid` says: the first to say so is named."""
        self.setup_failures.setdefault(suite_path, nodeid)

    def refuse_if_cannot_train(self, item: str, suite_path: str) -> None:
        """Raise, for the item named `item`, if an earlier item found the suite's runs cannot train: said once."""
        first = self.setup_failures.get(suite_path)
        if first is not None:
            raise OptcheckError(f"{item}: cannot train, for the reason given by {first}")

    def queue(self, write: BaselineWrite) -> None:
        self.writes.append(write)

    def of(self, suite: str, profile: str) -> tuple[dict[str, OptimizerBaseline], dict[str, JudgedClaim]]:
        """One suite's measured optimizers and judged claims on a profile, by name."""
        def named(found: dict) -> dict:
            return {key.name: value for key, value in found.items() if (key.suite, key.profile) == (suite, profile)}

        return named(self.measured), named(self.claims)

    def merge(self, other: Findings) -> None:
        """Add what another process (a pytest-xdist worker) found."""
        self.curves.update(other.curves)
        self.measured.update(other.measured)
        self.claims.update(other.claims)
        self.claim_changes.update(other.claim_changes)
        for listed, files in other.environments.items():
            self.environments.setdefault(listed, {}).update(files)
        self.writes += other.writes
