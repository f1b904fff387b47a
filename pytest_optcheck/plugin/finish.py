"""The end of an `--optcheck` session, on the controller: baseline writes, report, plots, terminal lines."""

from __future__ import annotations

import datetime
from collections import Counter

from pytest_optcheck import atomic
from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.environment import keras_backend
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.plugin.session import OptcheckSession, read_quietly
from pytest_optcheck.render.report import ReportInput, plural, render_markdown, render_terminal
from pytest_optcheck.spec.suite import Suite


def finish(state: OptcheckSession, suites: list[Suite]) -> bool:
    """Write pending baselines, the report and plots; fill `state.summary`. False if a write failed."""
    ok = True
    state.warn_environment()
    inputs = report_inputs(state, suites)  # read the stored baselines before they are rewritten
    try:
        state.write_updates()
    except OptcheckError as exc:
        state.changes.append(f"ERROR: {exc}")
        ok = False
    lines = status_lines(state) + claim_lines(state)
    for inp in inputs:
        lines += ["", *render_terminal(inp).splitlines()]
    if state.changes:
        lines += ["", "baselines written:", *(f"  {change}" for change in state.changes)]
    unused = baselines.unused_baselines(state.baseline_root(), suites)
    if unused:
        lines += ["", "unused baselines (their optimizer, claim or profile is gone from the suite):"]
        lines += [f"  {path}" for path in unused]
    if state.options.report and inputs:
        try:
            atomic.write_text(state.options.report, "\n\n".join(render_markdown(inp) for inp in inputs))
            lines.append(f"summary written to {state.options.report}")
        except OptcheckError as exc:
            lines.append(f"ERROR: --optcheck-report: {exc}")
            ok = False
    if state.options.plots and inputs:
        lines += plot_lines(state, inputs)
    state.summary = lines
    return ok


def status_lines(state: OptcheckSession) -> list[str]:
    if not state.curve_status:
        return []
    counts = Counter(state.curve_status.values())
    lines = ["curves: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))]
    identical = sorted(key.rsplit("/", 1)[1] for key, status in state.curve_status.items() if status == "identical")
    if identical and len(identical) == len(state.curve_status):
        lines.append("  every curve is bit-identical to its baseline (same seeds, data and versions)")
    elif identical:
        lines.append("  bit-identical to the baseline: " + ", ".join(identical))
    return lines


def claim_lines(state: OptcheckSession) -> list[str]:
    """Each claim's outcome counted, and the claims whose verdict moved since the baseline."""
    if not state.claim_records:
        return []
    counts = Counter((r.outcome, r.expect, r.record.verdict) for r in state.claim_records.values())
    parts = [f"{n} {outcome} (expected {expect}, {verdict})"
             for (outcome, expect, verdict), n in sorted(counts.items())]
    lines = ["claims: " + ", ".join(parts)]
    by_kind: dict[str, list[str]] = {}
    for how, claim in state.claim_changes.values():
        by_kind.setdefault(how, []).append(claim)
    if state.options.update:
        return lines  # the records are being rewritten: "baselines written" below says how
    for how, claims in sorted(by_kind.items()):
        lines.append(f"{plural(len(claims), 'claim')} {how}: {', '.join(sorted(claims))}; "
                     "--optcheck-update rewrites the records")
    return lines


def report_inputs(state: OptcheckSession, suites: list[Suite]) -> list[ReportInput]:
    """One report per suite that measured something, compared with the stored baselines."""
    generated = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    inputs = []
    for suite in suites:
        profile = state.profile(suite)
        prefix = f"{suite.name}/{profile.name}/"
        measured = {k[len(prefix):]: v for k, v in state.measured.items() if k.startswith(prefix)}
        judged = {k[len(prefix):]: v for k, v in state.claim_records.items() if k.startswith(prefix)}
        if not measured and not judged:
            continue
        root = state.baseline_root()
        stored = {name: read_quietly(state.stored_optimizer, baselines.optimizer_path(root, suite, profile, name))
                  for name in measured}
        stored_claims = read_quietly(state.stored_claims, baselines.claims_path(root, suite, profile))
        inputs.append(ReportInput(
            suite=suite,
            suite_name=suite.name,
            profile_name=profile.name,
            seeds=list(profile.seeds),
            optimizers=measured,
            claims={claim_id: j.record for claim_id, j in judged.items()},
            baseline_optimizers={name: record for name, record in stored.items() if record is not None},
            baseline_claims=stored_claims.claims if stored_claims else {},
            judged=judged,
            generated=generated,
            backend=keras_backend(),
        ))
    return inputs


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


