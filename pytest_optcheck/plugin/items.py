"""The pytest items of a suite file: `curve[<optimizer>]` and `claim[<id>]`.

Items read their state from the `OptcheckSession` in `config.stash`. Without
`--optcheck` they are collected (cheaply: no TensorFlow) and skipped.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_optcheck.baselines import records
from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.compare import CurveStatus, check_curves
from pytest_optcheck.baselines.records import JudgedClaim
from pytest_optcheck.engine.dataset import DataError
from pytest_optcheck.environment import environment, keras_backend
from pytest_optcheck.errors import OptcheckError, SuiteSetupError
from pytest_optcheck.judge.claims import Verdict, describe, seeds_wanted
from pytest_optcheck.judge.evidence import INCONCLUSIVE
from pytest_optcheck.judge.outcome import Outcome, claim_outcome
from pytest_optcheck.plugin.findings import BaselineWrite, ClaimChange
from pytest_optcheck.plugin.session import (
    SKIP_REASON,
    OptcheckSession,
    UpdateMode,
    optcheck_session,
)
from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.spec.expectations import Expectation, Expected
from pytest_optcheck.spec.suite import Profile, Suite, load_suite


class SuiteFile(pytest.File):
    """A suite TOML file: one curve item per optimizer, one claim item per claim."""

    def collect(self):
        state = optcheck_session(self.config)
        try:
            suite = state.suite(self.path) if state is not None else load_suite(self.path)
        except OptcheckError as exc:
            raise SuiteLoadError(str(exc)) from None
        self.suite = suite
        for name in suite.optimizers:
            yield _marked(CurveItem.from_parent(self, name=f"curve[{name}]", optimizer=name), "optcheck_curve")
        for claim in suite.claims:
            yield _marked(ClaimItem.from_parent(self, name=f"claim[{claim.id}]", claim=claim), "optcheck_claim")
        from pytest_optcheck.plugin.benchmarks import epoch_time_items

        for item in epoch_time_items(self, suite):
            yield _marked(item, "optcheck_benchmark")

    def repr_failure(self, excinfo, style=None):
        if excinfo.errisinstance(SuiteLoadError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


def _marked(item: pytest.Item, kind: str) -> pytest.Item:
    item.add_marker("optcheck")
    item.add_marker(kind)
    return item


class SuiteLoadError(Exception):
    """A suite file that does not load: reported as one collection error, without a traceback."""


class OptcheckItem(pytest.Item):
    parent: SuiteFile

    @property
    def suite(self) -> Suite:
        return self.parent.suite

    @property
    def session_state(self) -> OptcheckSession:
        state = optcheck_session(self.config)
        assert state is not None
        return state

    def setup(self) -> None:
        if not self.config.getoption("optcheck"):
            pytest.skip(SKIP_REASON)

    def runtest(self) -> None:
        if self.config.getoption("optcheck"):  # the suite's runs cannot train: said once, by the first item
            self.session_state.findings.refuse_if_cannot_train(self.name, str(self.suite.path))
        try:
            self.check()
        except DataError as exc:
            # Every other item would fail the same way: say it once and stop.
            self.session.shouldstop = f"{exc.subject} is missing or damaged (see the first failure)"
            raise
        except SuiteSetupError:
            self.session_state.findings.cannot_train(str(self.suite.path), self.nodeid)
            raise

    def check(self) -> None:
        raise NotImplementedError

    @property
    def optimizers(self) -> tuple[str, ...]:
        """The optimizers whose runs this item needs."""
        return ()

    def repr_failure(self, excinfo, style=None):
        if excinfo.errisinstance((AssertionError, OptcheckError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, self.name


class CurveItem(OptcheckItem):
    """Every epoch's metrics on every seed, against the optimizer's baseline."""

    def __init__(self, *, optimizer: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.optimizer = optimizer

    def status(self, status: CurveStatus) -> None:
        """Record what the comparison found; a later call (updated, say) replaces an earlier one."""
        state = self.session_state
        state.findings.curve(state.item_key(self.suite, self.optimizer), status)

    @property
    def trained(self) -> Suite:
        """The suite as this item trains it: on a tuned profile, the optimizer at the stored selection's rate."""
        return self.session_state.curve_suite(self.suite)

    def check(self) -> None:
        state = self.session_state
        suite = self.trained
        profile = state.profile(suite)
        path = baselines.optimizer_path(state.baseline_root(), suite, profile, self.optimizer)
        runs = state.runs(suite, self.optimizer)
        measured = baselines.optimizer_baseline(suite, profile, self.optimizer, runs,
                                                data=state.runner.data_identity(suite))
        state.record_measured(suite, profile, self.optimizer, measured)
        diverged = {seed: run.diverged_at for seed, run in runs.items() if run.diverged}

        try:
            recorded = state.stored_optimizer(path)
        except OptcheckError as exc:
            recorded, failure = None, self._damaged(exc)
        else:
            failure = self._problem(path, recorded, measured)
        update = state.options.update
        # A baseline without a noise envelope is refreshed by --optcheck-update too, to record one.
        stale = recorded is not None and recorded.noise is None and not self.spec.explicit_tolerances
        if update is UpdateMode.ALL or (update and (failure or stale)):
            self._update(path, recorded, measured)
            if diverged:
                raise AssertionError(f"{self.name}: baseline updated, but the run diverged at epoch "
                                     f"{_diverged_text(diverged)}")
            return
        if failure:
            raise AssertionError(failure)
        if diverged:
            self.status(CurveStatus.DIVERGED)
            raise AssertionError(f"{self.name}: diverged at epoch {_diverged_text(diverged)}")

    @property
    def spec(self):
        return self.suite.optimizer(self.optimizer)

    @property
    def optimizers(self) -> tuple[str, ...]:
        return (self.optimizer,)

    def _update(self, path: Path, recorded: records.OptimizerBaseline | None,
                measured: records.OptimizerBaseline) -> None:
        """Queue the new baseline, with its noise envelope; unchanged curves keep the stored file."""
        state = self.session_state
        if recorded is not None and recorded.noise is not None:
            kept = dataclasses.replace(measured, noise=recorded.noise)
            # A file written before baselines recorded their data gets that record, not a new envelope.
            same_data = kept if recorded.dataset is not None else dataclasses.replace(kept, dataset=None)
            if recorded.same_content(same_data):
                # The same curves need no new envelope: nothing retrains, and the file stays as it is.
                state.findings.queue(BaselineWrite(str(path), kept))
                self.status(CurveStatus.IDENTICAL)
                return
        envelope = None if self.spec.explicit_tolerances else state.envelope(self.trained, self.optimizer)
        state.findings.queue(BaselineWrite(str(path), dataclasses.replace(measured, noise=envelope)))
        self.status(CurveStatus.UPDATED)

    def _damaged(self, exc: OptcheckError) -> str:
        self.status(CurveStatus.DAMAGED)
        return f"{self.name}: {exc}\nOr rewrite it from a fresh run: {self.session_state.refresh_command(self.nodeid)}"

    def _problem(self, path: Path, recorded: records.OptimizerBaseline | None,
                 measured: records.OptimizerBaseline) -> str | None:
        """Why the curves fail against the baseline, or None if they pass."""
        state = self.session_state
        spec = self.trained.optimizer(self.optimizer)  # its label names a tuned rate
        refresh = state.refresh_command(self.nodeid)
        if recorded is None:
            self.status(CurveStatus.MISSING)
            return f"{self.name}: no baseline at {path}\nCreate it with: {refresh}"
        if recorded.spec_hash != measured.spec_hash:
            self.status(CurveStatus.SPEC_CHANGED)
            return (
                f"{self.name}: {path} was produced by a different spec (optimizer arguments, model, training, "
                f"profile size or seeds changed since it was written).\nRefresh it with: {refresh}"
            )
        mismatch = baselines.data_mismatch(recorded, measured)
        if mismatch:
            self.status(CurveStatus.OTHER_DATA)
            return (f"{self.name}: {path}: {mismatch}; curves on different data cannot be compared.\n"
                    f"Train on the baseline's data, or if the data changed on purpose, refresh with: {refresh}")
        state.note_environment(path, recorded.environment, state.item_key(self.suite, self.optimizer, recorded.profile))
        result = check_curves(recorded, measured, spec)
        self.status(result.status)
        if not result.failed:
            return None
        if result.status is CurveStatus.CHANGED:
            headline = (f"{self.name}: {spec.label} trains differently from its baseline {path} "
                        f"(profile {recorded.profile}); in units of the noise: {', '.join(result.moved)}")
        else:
            headline = (f"{self.name}: values outside the fixed tolerances against {path} "
                        f"({spec.label}, profile {recorded.profile})")
        return f"{headline}\n{result.detail}\nIf the change is expected, refresh with: {refresh}"


class ClaimItem(OptcheckItem):
    """A claim of the suite, asserted as the suite expects it on this profile (see judge/outcome.py).

    The outcome comes from this run's verdict against the suite's `expect`; the stored
    verdict is a record, named in the message where it differs, and no update flag
    changes whether the item passes.
    """

    def __init__(self, *, claim: ClaimSpec, **kwargs: Any):
        super().__init__(**kwargs)
        self.claim = claim

    @property
    def optimizers(self) -> tuple[str, ...]:
        return self.claim.optimizers

    def _recorded(self, path: Path) -> records.ClaimRecord | None:
        stored = self.session_state.stored_claims(path)
        return None if stored is None else stored.claims.get(self.claim.id)

    def check(self) -> None:
        state = self.session_state
        suite = state.judged_suite(self.suite)  # on a tuned profile, each optimizer at its chosen rate
        profile = state.profile(suite)
        path = baselines.claims_path(state.baseline_root(), suite, profile)
        expected = suite.expectation(self.claim, profile, keras_backend())
        verdict = state.verdict(suite, self.claim)
        record = baselines.claim_record(suite, self.claim, profile, verdict)
        outcome = claim_outcome(expected.expectation, verdict.verdict)
        key = state.item_key(self.suite, self.claim.id)
        state.findings.judged(key, JudgedClaim(record, expected.value, expected.because, outcome.value))
        for name in self.claim.optimizers:  # the report shows the optimizers a claim compares
            state.record_measured(suite, profile, name)
        summary = describe(verdict, self.claim.metric)
        try:
            recorded = self._recorded(path)
        except OptcheckError as exc:
            recorded, damaged = None, f"{self.name}: {exc}\nOr rewrite it from fresh runs: {state.refresh_command(self.nodeid)}"
        else:
            damaged = None
        change = self._change(path, recorded, record)
        if change is not None:
            state.findings.claim_changed(key, ClaimChange(
                change.kind.value, self.claim.id + (f" ({change.verdicts})" if change.verdicts else "")))

        update = state.options.update
        rewritten = update is UpdateMode.ALL or (update is not None and (damaged or change is not None))
        if rewritten:
            header = baselines.claims_header(suite, profile, environment())
            state.findings.queue(BaselineWrite(str(path), record, header, self.claim.id))
        elif damaged:
            raise AssertionError(damaged)

        note = "" if change is None else f"\n  baseline: {change.text}" + ("; rewritten now" if rewritten else "")
        self._assert(outcome, expected, verdict, summary, profile, note)

    def _assert(self, outcome: Outcome, expected: Expected, verdict: Verdict, summary: str, profile: Profile,
                note: str) -> None:
        claim = self.claim
        said = f"\n  quote: \"{claim.quote}\"" + (f"\n  reading: {claim.reading}" if claim.reading else "")
        if outcome is Outcome.PASSED:
            return
        if outcome in (Outcome.XFAILED, Outcome.XPASSED):
            expected_text = f"expected undecided on profile {profile.name} ({expected.because})"
            reason = f"{expected_text}: {summary}"
            if outcome is Outcome.XPASSED:
                reason = (f"{expected_text}, but decided: {summary}; if it stays decided, drop the expectation "
                          f"({expected.stated_in}), or set \"{profile.name}@{keras_backend()}\" = "
                          f"\"{verdict.verdict}\" in the claim's expect table for this backend alone")
            self.add_marker(pytest.mark.xfail(strict=False, reason=reason))
            if outcome is Outcome.XFAILED:
                raise ClaimUndecided(reason)
            return
        if verdict.undecided_by:
            raise AssertionError(
                f"{self.name}: undecided on tuned profile {profile.name!r} (expected: {expected.value}): a tuned "
                f"point it reads is not settled\n  now: {summary}{said}{note}\nWays out: widen that optimizer's "
                f"grid, or say the claim is undecided here: expect = {{ {profile.name} = \"undecided\" }} with "
                f"because = \"...\" in its [[claims]] entry.")
        if verdict.verdict == INCONCLUSIVE:
            raise AssertionError(
                f"{self.name}: undecided after {len(verdict.margins)} seeds, the budget of profile "
                f"{profile.name!r} (expected: {expected.value})\n  now: {summary}{said}{note}\n"
                f"{self._ways_out(profile, verdict)}")
        if expected.expectation is Expectation.FAILS:
            raise AssertionError(
                f"{self.name}: the claim holds on this run's seeds, but the suite expects it to fail "
                f"({expected.stated_in}: {expected.because})\n  now: {summary}{said}{note}\n"
                f"If it now holds for good, remove that expectation.")
        raise AssertionError(f"{self.name}: the claim does not hold (expected: holds)\n  now: {summary}{said}{note}")

    def _ways_out(self, profile: Profile, verdict: Verdict) -> str:
        wanted = seeds_wanted(verdict.evidence.seeds_needed, verdict.evidence.seeds)
        return (f"Ways out: {wanted}; raise seeds.max of [profiles.{profile.name}] in {self.suite.path}, "
                f"run a bigger profile (--optcheck-profile NAME), or say the claim is undecided here: "
                f"expect = {{ {profile.name} = \"undecided\" }} with because = \"...\" in its [[claims]] entry.")

    def _change(self, path: Path, recorded: records.ClaimRecord | None,
                record: records.ClaimRecord) -> BaselineChange | None:
        """How this run's verdict differs from the stored one, or None if it is the same."""
        if recorded is None:
            return BaselineChange(ChangeKind.UNRECORDED, f"no recorded verdict in {path}")
        if recorded.spec_hash != record.spec_hash:
            return BaselineChange(ChangeKind.SPEC_CHANGED,
                                  f"the claim or its optimizers' spec changed since {path} was written")
        if recorded.verdict != record.verdict:
            return BaselineChange(ChangeKind.FLIPPED,
                                  f"verdict changed from {recorded.verdict} ({recorded.seeds_holding}/"
                                  f"{recorded.seeds} seeds held) to {record.verdict} since {path} was written",
                                  f"{recorded.verdict} -> {record.verdict}")
        return None


class ChangeKind(enum.Enum):
    """How a claim's stored record differs from this run."""

    FLIPPED = "changed verdict since the baseline"
    UNRECORDED = "without a recorded verdict"
    SPEC_CHANGED = "recorded under a different spec"


@dataclass(frozen=True)
class BaselineChange:
    """A claim's stored verdict against this run's: informs, never decides."""

    kind: ChangeKind
    text: str
    verdicts: str = ""  # "holds -> fails" where the verdict flipped


class ClaimUndecided(AssertionError):
    """An undecided claim the suite expects to be undecided on this profile: an expected failure."""


def _diverged_text(diverged: dict[int, int]) -> str:
    return ", ".join(f"{epoch} (seed {seed})" for seed, epoch in diverged.items())
