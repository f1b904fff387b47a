"""The pytest items of a suite file: `curve[<optimizer>]` and `claim[<id>]`.

Items read their state from the `OptcheckSession` in `config.stash`. Without
`--optcheck` they are collected (cheaply: no TensorFlow) and skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_optcheck.baselines import records
from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.compare import check_curves
from pytest_optcheck.engine.fashion_mnist import DataError
from pytest_optcheck.environment import environment
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge.claims import Verdict, describe
from pytest_optcheck.plugin.session import (
    SKIP_REASON,
    OptcheckSession,
    Update,
    optcheck_session,
)
from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.spec.suite import Suite, load_suite


class SuiteFile(pytest.File):
    """A suite TOML file: one curve item per optimizer, one claim item per claim."""

    def collect(self):
        try:
            suite = load_suite(self.path)
        except OptcheckError as exc:
            raise SuiteLoadError(str(exc)) from None
        self.suite = suite
        for name in suite.optimizers:
            yield CurveItem.from_parent(self, name=f"curve[{name}]", optimizer=name)
        session = optcheck_session(self.config)
        for claim in suite.claims:
            item = ClaimItem.from_parent(self, name=f"claim[{claim.id}]", claim=claim)
            if session is not None and session.options.update is None:
                item.mark_recorded_failure(session)
            yield item
        from pytest_optcheck.plugin.benchmarks import epoch_time_items

        yield from epoch_time_items(self, suite)

    def repr_failure(self, excinfo, style=None):
        if excinfo.errisinstance(SuiteLoadError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class SuiteLoadError(Exception):
    """A suite file that does not load: reported as one collection error, without a traceback."""


class ClaimDoesNotHold(AssertionError):
    """Raised when a claim's verdict is not `holds`; an expected failure when the baseline says so."""


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
        try:
            self.check()
        except DataError:
            # Every other item would fail the same way: say it once and stop.
            self.session.shouldstop = "Fashion-MNIST is missing or damaged (see the first failure)"
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

    def status(self, status: str) -> None:
        """Record what the comparison found; a later call (e.g. "updated") replaces an earlier one."""
        profile = self.session_state.profile(self.suite)
        self.session_state.curve_status[f"{self.suite.name}/{profile.name}/{self.optimizer}"] = status

    def check(self) -> None:
        state = self.session_state
        profile = state.profile(self.suite)
        path = baselines.optimizer_path(state.baseline_root(), self.suite, profile, self.optimizer)
        runs = state.runs(self.suite, self.optimizer)
        measured = baselines.optimizer_baseline(self.suite, profile, self.optimizer, runs,
                                                data=state.runner.data_identity(self.suite))
        state.record_measured(self.suite, profile, self.optimizer, measured)
        diverged = {seed: run.diverged_at for seed, run in runs.items() if run.diverged}

        try:
            recorded = records.load_optimizer_baseline(path)
        except OptcheckError as exc:
            recorded, failure = None, self._damaged(exc)
        else:
            failure = self._problem(path, recorded, measured)
        update = state.options.update
        # A baseline without a noise envelope is refreshed by --optcheck-update too, to record one.
        stale = recorded is not None and recorded.noise is None and not self.spec.explicit_tolerances
        if update == "all" or (update and (failure or stale)):
            self._update(path, recorded, measured)
            if diverged:
                raise AssertionError(f"{self.name}: baseline updated, but the run diverged at epoch "
                                     f"{_diverged_text(diverged)}")
            return
        if failure:
            raise AssertionError(failure)
        if diverged:
            self.status("diverged")
            raise AssertionError(f"{self.name}: diverged at epoch {_diverged_text(diverged)}")

    @property
    def spec(self):
        return self.suite.optimizer(self.optimizer)

    @property
    def optimizers(self) -> tuple[str, ...]:
        return (self.optimizer,)

    def _update(self, path: Path, recorded: records.OptimizerBaseline | None, measured: dict) -> None:
        """Queue the new baseline, with its noise envelope; unchanged curves keep the stored file."""
        state = self.session_state
        if recorded is not None and recorded.noise is not None:
            kept = {**measured, "noise": recorded.data["noise"]}
            # A file written before baselines recorded their data gets that record, not a new envelope.
            same_data = kept if "data" in recorded.data else {k: v for k, v in kept.items() if k != "data"}
            if recorded.curves_equal(same_data):
                # The same curves need no new envelope: nothing retrains, and the file stays as it is.
                state.updates.append(Update(str(path), "optimizer", kept))
                self.status("identical")
                return
        envelope = None if self.spec.explicit_tolerances else state.envelope(self.suite, self.optimizer)
        content = baselines.optimizer_baseline(self.suite, state.profile(self.suite), self.optimizer,
                                               state.runs(self.suite, self.optimizer), envelope,
                                               data=state.runner.data_identity(self.suite))
        state.updates.append(Update(str(path), "optimizer", content))
        self.status("updated")

    def _damaged(self, exc: OptcheckError) -> str:
        self.status("damaged baseline")
        return f"{self.name}: {exc}\nOr rewrite it from a fresh run: {self.session_state.refresh_command(self.nodeid)}"

    def _problem(self, path: Path, recorded: records.OptimizerBaseline | None, measured: dict) -> str | None:
        """Why the curves fail against the baseline, or None if they pass."""
        state = self.session_state
        spec = self.spec
        refresh = state.refresh_command(self.nodeid)
        if recorded is None:
            self.status("missing")
            return f"{self.name}: no baseline at {path}\nCreate it with: {refresh}"
        if recorded.spec_hash != measured["spec_hash"]:
            self.status("spec changed")
            return (
                f"{self.name}: {path} was produced by a different spec (optimizer arguments, model, training, "
                f"profile size or seeds changed since it was written).\nRefresh it with: {refresh}"
            )
        mismatch = baselines.data_mismatch(recorded.data, measured)
        if mismatch:
            self.status("other data")
            return (f"{self.name}: {path}: {mismatch}; curves on different data cannot be compared.\n"
                    f"Train on the baseline's data, or if the data changed on purpose, refresh with: {refresh}")
        state.warn_if_environment_differs(path, recorded.environment)
        result = check_curves(recorded, measured, spec)
        self.status(result.status)
        if not result.failed:
            return None
        if result.status == "changed":
            headline = (f"{self.name}: {spec.label} trains differently from its baseline {path} "
                        f"(profile {recorded.profile}); in units of the noise: {', '.join(result.moved)}")
        else:
            headline = (f"{self.name}: values outside the fixed tolerances against {path} "
                        f"({spec.label}, profile {recorded.profile})")
        return f"{headline}\n{result.detail}\nIf the change is expected, refresh with: {refresh}"


class ClaimItem(OptcheckItem):
    """A claim of the suite, asserted as the article states it."""

    def __init__(self, *, claim: ClaimSpec, **kwargs: Any):
        super().__init__(**kwargs)
        self.claim = claim

    @property
    def optimizers(self) -> tuple[str, ...]:
        return self.claim.optimizers

    def _recorded(self, state: OptcheckSession) -> dict | None:
        path = baselines.claims_path(state.baseline_root(), self.suite, state.profile(self.suite))
        stored = records.load_claims_baseline(path)
        record = None if stored is None else stored.claims.get(self.claim.id)
        return None if record is None else record.data

    def mark_recorded_failure(self, state: OptcheckSession) -> None:
        """Where the baseline says the claim does not hold, expect it to fail (strictly)."""
        try:
            recorded = self._recorded(state)
        except OptcheckError:
            return  # runtest reports the damaged file
        if recorded and recorded.get("verdict") != "holds":
            self.add_marker(pytest.mark.xfail(
                strict=True,
                raises=ClaimDoesNotHold,
                reason=f"baseline verdict: {recorded.get('verdict')} "
                       f"({recorded.get('seeds_holding')}/{recorded.get('seeds')} seeds hold{_interval(recorded)}, "
                       f"mean margin {_number(recorded.get('mean_margin'))})",
            ))

    def check(self) -> None:
        state = self.session_state
        profile = state.profile(self.suite)
        path = baselines.claims_path(state.baseline_root(), self.suite, profile)
        refresh = state.refresh_command(self.nodeid)
        verdict = state.verdict(self.suite, self.claim)
        record = baselines.claim_record(self.suite, self.claim, profile, verdict)
        state.claim_records[f"{self.suite.name}/{profile.name}/{self.claim.id}"] = record
        for name in self.claim.optimizers:  # the report shows the optimizers a claim compares
            state.record_measured(self.suite, profile, name)
        summary = self._describe(verdict)
        try:
            recorded = self._recorded(state)
        except OptcheckError as exc:
            recorded, problem = None, f"{self.name}: {exc}\nOr rewrite it from fresh runs: {refresh}"
        else:
            problem = self._problem(path, recorded, record, refresh, summary)

        if state.options.update == "all" or (problem and state.options.update):
            header = baselines.claims_header(self.suite, profile, environment())
            state.updates.append(Update(str(path), "claim", record, header, self.claim.id))
            if verdict.verdict != "holds":
                pytest.xfail(f"baseline updated; {summary}")
            return
        if problem:
            raise AssertionError(problem)
        if verdict.verdict != "holds":
            raise ClaimDoesNotHold(f"{self.name}: {summary}\n  quote: \"{self.claim.quote}\"")

    def _problem(self, path: Path, recorded: dict | None, record: dict, refresh: str, summary: str) -> str | None:
        if recorded is None:
            return f"{self.name}: no recorded verdict in {path}\n  now: {summary}\nCreate it with: {refresh}"
        if recorded.get("spec_hash") != record["spec_hash"]:
            return (f"{self.name}: the claim or its optimizers' spec changed since {path} was written\n"
                    f"  now: {summary}\nRefresh it with: {refresh}")
        before, now = recorded.get("verdict"), record["verdict"]
        if before == now:
            return None
        if now == "inconclusive":
            return (f"{self.name}: the claim was decided ({before}, {recorded.get('seeds')} seeds) and is now "
                    f"undecided\n  now: {summary}\n  quote: \"{self.claim.quote}\"\n"
                    f"If expected, refresh with: {refresh}")
        if before == "holds":
            return (f"{self.name}: the claim no longer holds (baseline: holds)\n  now: {summary}\n"
                    f"  quote: \"{self.claim.quote}\"\n  reading: {self.claim.reading}\n"
                    f"If expected, refresh with: {refresh}")
        return (f"{self.name}: verdict changed from {before} to {now}\n  now: {summary}\n"
                f"  quote: \"{self.claim.quote}\"\nIf expected, refresh with: {refresh}")

    def _describe(self, verdict: Verdict) -> str:
        return describe(verdict, self.claim.metric)


def _interval(record: dict) -> str:
    interval, level = record.get("interval"), record.get("level")
    return "" if not interval or not level else f", {level:.0%} interval [{interval[0]:.2f}, {interval[1]:.2f}]"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _diverged_text(diverged: dict[int, int]) -> str:
    return ", ".join(f"{epoch} (seed {seed})" for seed, epoch in diverged.items())
