"""The end of an `--optcheck` session, on the controller: baseline writes, report, plots, terminal lines."""

from __future__ import annotations

import datetime
from collections import Counter
from pathlib import Path

from pytest_optcheck import atomic
from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.compare import CurveStatus, check_curves
from pytest_optcheck.baselines.records import JudgedClaim, OptimizerBaseline
from pytest_optcheck.environment import keras_backend
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.plugin.findings import NOT_COMPARED, ItemKey
from pytest_optcheck.plugin.outcomes import FAILING, ItemOutcome, OutcomeRecorder
from pytest_optcheck.plugin.session import OptcheckSession
from pytest_optcheck.plugin.writes import read_quietly
from pytest_optcheck.render.report import ItemRow, ReportInput, item_counts, render_markdown, render_terminal
from pytest_optcheck.render.words import DASH, plural
from pytest_optcheck.spec.suite import Profile, Suite

FULL_HINT = "the report's tables: pytest -v, or --optcheck-summary=full"
SHORT_WIDTH = 160  # a failing item's line in the short summary; the report and the failure say it all


def finish(state: OptcheckSession, suites: list[Suite], *, outcomes: OutcomeRecorder | None = None,
           full: bool = True, broken: list[Path] = ()) -> tuple[bool, list[str]]:
    """Write pending baselines, the report and plots; whether every write succeeded, and the terminal's lines.

    `outcomes`: what pytest reported for each item; `full`: the report's tables on the terminal
    too (-v); `broken`: the suite files that did not load (each is a collection error already).
    """
    ok = True
    state.warn_environment()
    inputs = report_inputs(state, suites, outcomes)  # read the stored baselines before they are rewritten
    changes: list[str] = []
    try:
        state.write_updates(changes)
    except OptcheckError as exc:
        changes.append(f"ERROR: {exc}")
        ok = False
    rows = [row for inp in inputs for row in inp.items]
    lines = item_lines(inputs) + status_lines(state, rows) + claim_lines(state) + state.tuning.summary_lines() + state.cluster_lines()
    if full:
        for inp in inputs:
            lines += ["", *render_terminal(inp).splitlines()]
    if changes:
        lines += ["", "baselines written:", *(f"  {change}" for change in changes)]
    lines += unused_lines(state, suites, broken)
    if state.options.report and inputs:
        try:
            atomic.write_text(state.options.report, "\n\n".join(render_markdown(inp) for inp in inputs))
            lines.append(f"summary written to {state.options.report}")
        except OptcheckError as exc:
            lines.append(f"ERROR: --optcheck-report: {exc}")
            ok = False
    if state.options.plots and inputs:
        lines += plot_lines(state, inputs)
    if inputs and not full:
        lines.append(FULL_HINT)
    return ok, lines


def item_lines(inputs: list[ReportInput]) -> list[str]:
    """The items counted, then each one that failed with its verdict and why: the short summary's core."""
    rows = [row for inp in inputs for row in inp.items]
    if not rows:
        return []
    lines = [f"items: {item_counts(rows)}"]
    for inp in inputs:
        where = f"{inp.suite_name}/{inp.profile_name} " if len(inputs) > 1 else ""
        for row in inp.items:
            if row.outcome in FAILING:
                lines.append(f"  {row.outcome.upper()} {where}{row.item}: {_shortened(_said(row))}")
    return lines


def _said(row: ItemRow) -> str:
    """"CHANGED: loss shift +8.7", or the failure alone where it already names the verdict."""
    if row.verdict == DASH or row.detail.startswith(row.verdict):
        return row.detail or row.verdict
    return f"{row.verdict}: {row.detail}" if row.detail else row.verdict


def _shortened(text: str, width: int = SHORT_WIDTH) -> str:
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def unused_lines(state: OptcheckSession, suites: list[Suite], broken: list[Path]) -> list[str]:
    if broken:  # its baselines would look unused: the suite that names them is not known
        named = ", ".join(str(_relative(path)) for path in broken)
        return ["", f"{named} did not load (the error is above): unused baselines were not looked for"]
    unused = baselines.unused_baselines(state.baseline_root(), suites)
    if not unused:
        return []
    return ["", "unused baselines (their optimizer, claim or profile is gone from the suite):",
            *(f"  {path}" for path in unused)]


def status_lines(state: OptcheckSession, rows: list[ItemRow] = ()) -> list[str]:
    """The curve statuses counted, with the curve items that failed before comparing anything.

    "Every curve is bit-identical" only when no item of the session failed or errored.
    """
    uncompared = [row.item for row in rows if row.item.startswith("curve[") and row.verdict == DASH
                  and row.outcome in FAILING]
    curves = state.findings.curves
    if not curves and not uncompared:
        return []
    counts = Counter(status.value for status in curves.values())
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    if uncompared:
        parts.append(f"{len(uncompared)} {NOT_COMPARED} (failed before comparing: {', '.join(uncompared)})")
    lines = ["curves: " + ", ".join(parts)]
    identical = sorted(key.name for key, status in curves.items() if status is CurveStatus.IDENTICAL)
    failing = any(row.outcome in FAILING for row in rows)
    if identical and len(identical) == len(curves) and not failing:
        lines.append("  every curve is bit-identical to its baseline (same seeds, data and versions)")
    elif identical:
        lines.append("  bit-identical to the baseline: " + ", ".join(identical))
    return lines


def claim_lines(state: OptcheckSession) -> list[str]:
    """Each claim's outcome counted, and the claims whose verdict moved since the baseline."""
    findings = state.findings
    if not findings.claims:
        return []
    counts = Counter((r.outcome, r.expect, r.record.verdict) for r in findings.claims.values())
    parts = [f"{n} {outcome} (expected {expect}, {verdict})"
             for (outcome, expect, verdict), n in sorted(counts.items())]
    lines = ["claims: " + ", ".join(parts)]
    by_kind: dict[str, list[str]] = {}
    for change in findings.claim_changes.values():
        by_kind.setdefault(change.how, []).append(change.claim)
    if state.options.update:
        return lines  # the records are being rewritten: "baselines written" below says how
    for how, claims in sorted(by_kind.items()):
        lines.append(f"{plural(len(claims), 'claim')} {how}: {', '.join(sorted(claims))}; "
                     "--optcheck-update rewrites the records")
    return lines


def report_inputs(state: OptcheckSession, suites: list[Suite],
                  outcomes: OutcomeRecorder | None = None) -> list[ReportInput]:
    """One report per suite that measured something or ran an item, compared with the stored baselines."""
    generated = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    inputs = []
    for suite in suites:
        if state.options.profile and state.options.profile not in suite.profiles:
            continue  # a suite outside this session's arguments, without the profile it ran
        profile = state.profile(suite)
        measured, judged = state.findings.of(suite.name, profile.name)
        ran = [] if outcomes is None else outcomes.for_suite(suite.path)
        if not measured and not judged and not ran:
            continue
        root = state.baseline_root()
        stored = {name: read_quietly(state.stored_optimizer, baselines.optimizer_path(root, suite, profile, name))
                  for name in measured}
        stored_claims = read_quietly(state.stored_claims, baselines.claims_path(root, suite, profile))
        baseline_optimizers = {name: record for name, record in stored.items() if record is not None}
        inputs.append(ReportInput(
            suite=suite,
            suite_name=suite.name,
            profile_name=profile.name,
            seeds=list(profile.seeds),
            optimizers=measured,
            claims={claim_id: j.record for claim_id, j in judged.items()},
            baseline_optimizers=baseline_optimizers,
            baseline_claims=stored_claims.claims if stored_claims else {},
            judged=judged,
            generated=generated,
            backend=keras_backend(),
            items=item_rows(state.findings.curves, suite, profile, ran, baseline_optimizers, measured, judged),
            selection=state.tuning.record(suite) if state.tuning.has_selected(suite) else None,
        ))
    return inputs


def item_rows(curves: dict[ItemKey, CurveStatus], suite: Suite, profile: Profile, ran: list[ItemOutcome],
              stored: dict[str, OptimizerBaseline], measured: dict[str, OptimizerBaseline],
              judged: dict[str, JudgedClaim]) -> list[ItemRow]:
    """Each item that ran, in the suite's order: curves, claims, epoch times."""
    order = {f"curve[{name}]": i for i, name in enumerate(suite.optimizers)}
    order |= {f"claim[{claim.id}]": len(order) + i for i, claim in enumerate(suite.claims)}
    rows = []
    for item in sorted(ran, key=lambda item: order.get(item.name, len(order))):
        kind, _, rest = item.name.partition("[")
        name = rest.removesuffix("]")
        verdict, detail = DASH, ""
        key = ItemKey(suite.name, profile.name, name)
        if kind == "curve" and key in curves:
            status = curves[key]
            verdict = status.in_report
            if status.failed and name in stored:
                result = check_curves(stored[name], measured[name], suite.optimizer(name))
                detail = ", ".join(result.moved)
        elif kind == "claim" and name in judged:
            claim = judged[name]
            verdict = f"{claim.record.verdict} (expected {claim.expect})"
        if not detail and item.outcome != "passed":
            detail = item.message.removeprefix(f"{item.name}: ")
        rows.append(ItemRow(item.name, item.outcome, verdict, detail))
    return rows


def plot_lines(state: OptcheckSession, inputs: list[ReportInput]) -> list[str]:
    try:
        from pytest_optcheck.render.plots import write_plots

        written = [path for inp in inputs for path in write_plots(_plot_dir(state, inp, inputs), inp)]
    except OptcheckError as exc:
        return [f"plots not written: {exc}"]  # a missing matplotlib fails nothing else
    return [f"{len(written)} plots written to {state.options.plots}"]


def _plot_dir(state: OptcheckSession, inp: ReportInput, inputs: list[ReportInput]):
    # Several suites in one session: one folder each, so claim ids cannot collide.
    return state.options.plots if len(inputs) == 1 else state.options.plots / inp.suite_name


def _relative(path: Path) -> Path:
    """The path as typed from the current folder, where it is inside it."""
    try:
        return Path(path).relative_to(Path.cwd())
    except ValueError:
        return Path(path)
