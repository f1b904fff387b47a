"""The summary report: measured curves and claim verdicts beside the baselines and the published figures.

Everything here is a pure function over the typed records of baselines/records.py,
so one code path renders a live pytest session, a stored baseline folder
(read by folder.py), and hand-made test data. Nothing here imports TensorFlow or
pytest: `optcheck report` must answer in seconds.

A report is built once as a list of `Section`s (document.py) and then written either
as Markdown or as plain text, so the two formats cannot drift apart.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.compare import CurveStatus
from pytest_optcheck.baselines.records import ClaimRecord, JudgedClaim, OptimizerBaseline
from pytest_optcheck.baselines.selection import SelectionBaseline
from pytest_optcheck.judge.evidence import INCONCLUSIVE
from pytest_optcheck.metrics import ordered, short
from pytest_optcheck.render.document import Section, Table, markdown, plain_text
from pytest_optcheck.render.stats import (
    EARLY_EPOCHS,
    divergence,
    early_mean,
    epochs_to_reach,
    final_values,
    fit_seconds,
    mean_sd,
    median_epoch_seconds,
    recorded_metrics,
    test_values,
)
from pytest_optcheck.render.tuning import selection_section
from pytest_optcheck.render.words import DASH, plural, probability_text, published_text, seconds_text, seeds_text
from pytest_optcheck.spec.suite import Suite

SPEED_WORDS = ("Fast", "Medium", "Slow")
QUALITY_WORDS = ("Good", "Acceptable", "Poor")
VERSION_KEYS = (("python", "Python"), ("tensorflow", "TensorFlow"), ("keras", "Keras"), ("numpy", "NumPy"))
QUOTE_WIDTH = 56  # the terminal wraps quotes so that the claims table fits a wide terminal


@dataclass
class ReportInput:
    """What a report shows.

    `optimizers` and `claims` are the measured results; `baseline_optimizers` and
    `baseline_claims` are the stored baselines they are compared with, or None
    when the report shows stored baselines themselves (there is nothing to
    compare with, so those columns are left out). `judged`: what the session
    expected of each claim and the outcome of its item (empty for a stored folder). `generated` and `machine` are
    given by the caller so that the output of fixed data is fixed too; an empty
    `machine` is read from the runs' environments.
    """

    suite: Suite | None
    suite_name: str
    profile_name: str
    seeds: Sequence[int]
    optimizers: dict[str, OptimizerBaseline]
    claims: dict[str, ClaimRecord]
    baseline_optimizers: dict[str, OptimizerBaseline] | None = None
    baseline_claims: dict[str, ClaimRecord] | None = None
    judged: dict[str, JudgedClaim] = field(default_factory=dict)
    generated: str = ""
    machine: str = ""
    backend: str = "tensorflow"  # what the runs trained on: a claim's expectation may depend on it
    items: list[ItemRow] = field(default_factory=list)  # a session's item outcomes; none for a stored folder
    selection: SelectionBaseline | None = None  # a tuned profile's learning-rate selection


@dataclass(frozen=True)
class ItemRow:
    """One pytest item of the session and what it came to."""

    item: str  # "curve[adam]"
    outcome: str  # passed, failed, error, skipped, xfailed, xpassed
    verdict: str = DASH  # a curve's comparison (identical, within noise, CHANGED...), a claim's verdict
    detail: str = ""  # the metrics that moved, or why it failed or skipped


def order_names(names: Iterable[str], suite: Suite | None, kind: str = "optimizers") -> list[str]:
    """The suite's order first (the order a reader of the suite file expects), then the rest sorted."""
    names = list(names)
    known: list[str] = []
    if suite is not None:
        known = list(suite.optimizers) if kind == "optimizers" else [c.id for c in suite.claims]
    return [n for n in known if n in names] + sorted(n for n in names if n not in known)


def label_of(inp: ReportInput, name: str) -> str:
    """The label the files recorded, else the suite's, else the name."""
    recorded = inp.optimizers[name].label if name in inp.optimizers else ""
    if recorded:
        return recorded
    if inp.suite and name in inp.suite.optimizers:
        return inp.suite.optimizers[name].label
    return name


def seeds_line(inp: ReportInput) -> str:
    """The curves' seeds, and the claims' where they took more (seeds on demand)."""
    judged = sorted({s for r in inp.claims.values() for s in r.margins} - set(inp.seeds))
    if not judged:
        return seeds_text(inp.seeds)
    most = max(r.seeds for r in inp.claims.values())
    return (f"{seeds_text(inp.seeds)} (curves); claims judged on up to {most} seeds, adding "
            f"{baselines.ranges_text(judged)}")


# Sections of the report --------------------------------------------------------


def distinct(values: Iterable[Any]) -> str:
    """One value, or every distinct value joined when the runs disagree."""
    seen: list[str] = []
    for value in values:
        if value is not None and str(value) not in seen:
            seen.append(str(value))
    return " / ".join(seen) if seen else DASH


def environments(inp: ReportInput) -> list[dict[str, str]]:
    return [o.environment for o in inp.optimizers.values()]


def machine_text(inp: ReportInput) -> str:
    if inp.machine:
        return inp.machine
    envs = environments(inp)
    platform = distinct(e.get("platform") for e in envs)
    cpu = distinct(e.get("cpu") for e in envs)
    threads = distinct(e.get("threads") for e in envs)  # older records lack it
    details = [text for text in (cpu, f"{threads} threads" if threads != DASH else DASH) if text != DASH]
    return f"{platform} ({', '.join(details)})" if details else platform


def versions_text(envs: Sequence[dict]) -> str:
    return ", ".join(f"{label} {distinct(e.get(key) for e in envs)}" for key, label in VERSION_KEYS)


def header_section(inp: ReportInput) -> Section:
    facts = []
    suite_text = inp.suite_name
    if inp.suite and inp.suite.description:
        suite_text += f" — {inp.suite.description}"
    facts.append(("Suite", suite_text))
    samples = distinct(_thousands(o.train_samples) for o in inp.optimizers.values())
    epochs = distinct(o.epochs for o in inp.optimizers.values())
    facts.append(("Profile", inp.profile_name))
    facts.append(("Seeds", seeds_line(inp)))
    facts.append(("Training examples", f"{samples} (before the validation split)"))
    facts.append(("Epochs", epochs))
    facts.append(("Versions", versions_text(environments(inp))))
    facts.append(("Machine", machine_text(inp)))
    if inp.generated:
        facts.append(("Generated", inp.generated))
    return Section("Run", facts=facts)


def _thousands(value: Any) -> str | None:
    return f"{value:,}" if isinstance(value, int) else value


def measured_cell(optimizer: OptimizerBaseline, metric: str, diverged: str | None) -> str:
    if diverged:
        return diverged
    values = test_values(optimizer, metric[5:]) if metric.startswith("test_") else final_values(optimizer, metric)
    if values is None:
        return DASH
    mean, sd = mean_sd(values)
    return f"{mean:.4f} ± {sd:.4f}"


def optimizers_section(inp: ReportInput) -> Section:
    target = inp.suite.target_loss if inp.suite else None
    target_header = f"epochs to loss ≤ {target:g}" if target is not None else "epochs to target loss"
    columns = table_metrics(inp)
    headers = ["optimizer", *(column_header(m) for m in columns), target_header, "median epoch s"]
    rows = []
    for name in order_names(inp.optimizers, inp.suite):
        optimizer = inp.optimizers[name]
        diverged = divergence(optimizer)
        cells = [measured_cell(optimizer, m, diverged) for m in columns]
        reach = DASH if target is None else epochs_to_reach(optimizer, target)
        rows.append([label_of(inp, name), *cells, reach, seconds_text(median_epoch_seconds(optimizer))])
    count = len(inp.seeds)
    notes = [
        (f"Values at the final epoch, mean ± sd over the {plural(count, 'seed')} "
         "(sd: sample standard deviation, 0 with a single seed). Train: the training examples; "
         "val: the validation split; test: the held-out test examples."),
        ("Median epoch s: the median over every seed's epochs except the first, whose time also "
         "includes building and tracing the model."),
    ]
    if target is not None:
        notes.append(f"Epochs to loss ≤ {target:g}: the first epoch whose training loss is at or below the "
                     "suite's target_loss, averaged over seeds; \"not reached\" when a seed never gets there.")
    else:
        notes.append("Epochs to target loss: needs the suite file (its target_loss), which was not given.")
    if any(divergence(o) for o in inp.optimizers.values()):
        notes.append("A run diverges when its training loss stops being finite; such optimizers show where "
                     "instead of numbers.")
    return Section("Optimizers", table=Table(headers, rows), notes=notes)


def table_metrics(inp: ReportInput) -> list[str]:
    """The Optimizers table's columns: every recorded epoch metric, then the test metrics besides the loss."""
    recorded = ordered({m for o in inp.optimizers.values() for m in recorded_metrics(o)})
    test = [f"test_{m}" for m in recorded if not m.startswith("val_") and m != "loss"]
    return recorded + test


def column_header(metric: str) -> str:
    """val_accuracy -> val acc; loss -> train loss."""
    for prefix, word in (("val_", "val"), ("test_", "test")):
        if metric.startswith(prefix):
            return f"{word} {short(metric[len(prefix):])}"
    return f"train {short(metric)}"


def headline_metric(optimizer: OptimizerBaseline) -> str:
    """The validation metric a one-cell change reports: the first scored one (accuracy), else val_loss."""
    scored = [m for m in recorded_metrics(optimizer) if m.startswith("val_") and m != "val_loss"]
    return scored[0] if scored else "val_loss"


def baseline_change(inp: ReportInput, name: str) -> str:
    """How the measured runs moved against the stored baseline, in one cell."""
    old = (inp.baseline_optimizers or {}).get(name)
    if old is None:
        return CurveStatus.MISSING.in_report
    new = inp.optimizers[name]
    if old.same_curves(new):
        return CurveStatus.IDENTICAL.value
    if divergence(new) and not divergence(old):
        return "diverged; the baseline did not"
    if divergence(old) and not divergence(new):
        return "the baseline diverged; now it does not"
    metric = headline_metric(new)
    before, after = final_values(old, metric), final_values(new, metric)
    if before is None or after is None:
        return CurveStatus.CHANGED.value
    delta = statistics.fmean(after) - statistics.fmean(before)
    shown = column_header(metric)
    text = f"{shown} {delta:+.4f}" if delta else f"curves moved; final {shown} equal"
    if old.seeds.keys() != new.seeds.keys():
        text += " (different seeds)"
    return text


def published_of(inp: ReportInput, name: str, key: str) -> float | None:
    if inp.suite is None or name not in inp.suite.optimizers:
        return None
    return inp.suite.optimizers[name].published.get(key)


def mean_text(optimizer: OptimizerBaseline, metric: str, diverged: str | None) -> str:
    if diverged:
        return diverged
    values = final_values(optimizer, metric)
    return DASH if values is None else f"{statistics.fmean(values):.4f}"


def comparison_section(inp: ReportInput) -> Section:
    with_baseline = inp.baseline_optimizers is not None
    # The published figures are accuracies and fit times; a suite without accuracy has only the times.
    with_accuracy = any("accuracy" in recorded_metrics(o) for o in inp.optimizers.values())
    # A column of published figures only where the suite file gives some: no column of dashes.
    published = {key for name in inp.optimizers for key in ("train_accuracy", "val_accuracy", "fit_seconds")
                 if published_of(inp, name, key) is not None}
    columns = ([("train acc", "accuracy", "train_accuracy"), ("val acc", "val_accuracy", "val_accuracy")]
               if with_accuracy else [])
    headers = ["optimizer"] + (["change vs baseline"] if with_baseline else [])
    for header, _, key in columns:
        headers += [header] + ([f"published {header}"] if key in published else [])
    headers += ["fit s"] + (["published fit s"] if "fit_seconds" in published else [])
    rows = []
    for name in order_names(inp.optimizers, inp.suite):
        optimizer = inp.optimizers[name]
        diverged = divergence(optimizer)
        row = [label_of(inp, name)] + ([baseline_change(inp, name)] if with_baseline else [])
        for _, metric, key in columns:
            row += [mean_text(optimizer, metric, diverged)]
            row += [published_text(published_of(inp, name, key))] if key in published else []
        row += [seconds_text(fit_seconds(optimizer))]
        row += [published_text(published_of(inp, name, "fit_seconds"))] if "fit_seconds" in published else []
        rows.append(row)
    notes = []
    if with_baseline:
        shown = column_header(headline_metric(next(iter(inp.optimizers.values()))))
        notes.append(f"Change vs baseline: the mean final {shown} minus the stored baseline's; "
                     "\"identical\" when every per-epoch value and test metric equals the baseline bit for bit.")
    else:
        notes.append("These are the stored baselines themselves, so there is no baseline to compare with.")
    notes.append("Accuracies are means over seeds at the final epoch; fit s is the mean time of a whole fit, "
                 "first epoch included.")
    if published:
        notes.append("Published: the figures the suite's source reports (the suite file's `published` values), "
                     "obtained with its own data size, epoch count and machine: reference points, not expectations.")
    elif inp.suite is None:
        notes.append("Published figures come from the suite file, which was not given.")
    title = "Against the baseline and the published figures" if published else "Against the baseline"
    return Section(title, table=Table(headers, rows), notes=notes)


def claims_section(inp: ReportInput) -> Section:
    with_baseline = inp.baseline_claims is not None
    with_outcome = bool(inp.judged)
    headers = (["claim", "quote", "expected", "verdict"] + (["outcome"] if with_outcome else [])
               + ["P(holds on a seed)", "seeds", "mean margin"] + (["baseline verdict"] if with_baseline else []))
    rows = []
    notes = []
    levels = set()
    for claim_id in order_names(inp.claims, inp.suite, kind="claims"):
        record = inp.claims[claim_id]
        margin = record.mean_margin
        expected, because = expectation_of(inp, claim_id)
        row = [claim_id, record.quote, expected, record.verdict]
        row += [inp.judged[claim_id].outcome if claim_id in inp.judged else DASH] if with_outcome else []
        row += [probability_text(record), claim_seeds_text(record), DASH if margin is None else f"{margin:+.4f}"]
        if because:
            notes.append(f"{claim_id}: expected {expected} because {because}")
        if with_baseline:
            row.append(baseline_verdict(record, (inp.baseline_claims or {}).get(claim_id)))
        rows.append(row)
        levels.add(record.level)
        notes += [f"{claim_id}: {note}" for note in record.notes]
    if not rows:
        return Section("Claims", notes=["No claim was judged."])
    level = next(iter(levels)) if len(levels) == 1 and None not in levels else None
    explanation = (
        "Margin: on each seed, how far the claim is from failing, in the units of its metric (training loss "
        "unless the suite says otherwise); positive means it holds on that seed. P(holds on a seed): the share "
        "of seeds it held on, and " + (f"its {level:.0%} " if level else "its ") + "confidence interval, valid "
        "however many seeds were added while looking (an anytime-valid confidence sequence). A claim holds when "
        "the interval is above its threshold (0.5 unless the suite says otherwise: more often than not), fails "
        "when it is below, and is inconclusive otherwise. Seeds: how many the verdict rests on; for an "
        "inconclusive claim, how many it would take if it kept holding on the same share of them.")
    return Section("Claims", table=Table(headers, rows, wrap={1: QUOTE_WIDTH}), notes=[explanation, *notes])


def expectation_of(inp: ReportInput, claim_id: str) -> tuple[str, str]:
    """What the suite expects of the claim on this profile, and why: from the session, else the suite file."""
    if claim_id in inp.judged:
        return inp.judged[claim_id].expect, inp.judged[claim_id].because
    if inp.suite is not None and inp.profile_name in inp.suite.profiles:
        claim = next((c for c in inp.suite.claims if c.id == claim_id), None)
        if claim is not None:
            expected = inp.suite.expectation(claim, inp.suite.profile(inp.profile_name), inp.backend)
            return expected.value, expected.because
    return DASH, ""


def claim_seeds_text(record: ClaimRecord) -> str:
    """How many seeds the verdict took, or how many an undecided claim would take."""
    seeds, needed, budget = record.seeds, record.seeds_needed, record.seed_budget
    if record.probability is None:  # written before verdicts had evidence: no count of seeds needed
        return str(seeds)
    if record.verdict != INCONCLUSIVE:
        return f"{seeds} (decided)"
    of_budget = f" of {budget}" if budget else ""
    return f"{seeds}{of_budget}; needs {needed}" if needed else f"{seeds}{of_budget}; needs > 1000"


def baseline_verdict(record: ClaimRecord, baseline: ClaimRecord | None) -> str:
    if baseline is None:
        return CurveStatus.MISSING.in_report
    return baseline.verdict if baseline.verdict == record.verdict else f"{baseline.verdict} (changed)"


def thirds(ranked: Sequence[str], words: Sequence[str]) -> dict[str, str]:
    """Best third, middle third, last third by position in `ranked` (best first)."""
    count = len(ranked)
    return {name: words[3 * i // count] for i, name in enumerate(ranked)}


def qualitative_section(inp: ReportInput) -> Section:
    names = order_names(inp.optimizers, inp.suite)
    epochs = min([EARLY_EPOCHS] + [o.epochs or EARLY_EPOCHS for o in inp.optimizers.values()])
    early = {n: early_mean(inp.optimizers[n], epochs) for n in names}
    final = {n: _mean_or_none(final_values(inp.optimizers[n], "loss")) for n in names}
    speed = thirds(sorted((n for n in names if early[n] is not None and not divergence(inp.optimizers[n])),
                          key=lambda n: early[n]), SPEED_WORDS)
    quality = thirds(sorted((n for n in names if final[n] is not None and not divergence(inp.optimizers[n])),
                            key=lambda n: final[n]), QUALITY_WORDS)
    described = {n: inp.suite.optimizers[n].described if inp.suite and n in inp.suite.optimizers else {}
                 for n in names}
    with_words = any(described.values())  # the source's own words, where the suite file gives them
    headers = (["optimizer", f"mean loss, first {plural(epochs, 'epoch')}", "speed"]
               + (["published speed"] if with_words else []) + ["final loss", "quality"]
               + (["published quality"] if with_words else []))
    rows = []
    for name in names:
        words = described[name]
        rows.append([label_of(inp, name), _loss_text(early[name]), speed.get(name, "diverged")]
                    + ([words.get("speed", DASH)] if with_words else [])
                    + [_loss_text(final[name]), quality.get(name, "diverged")]
                    + ([words.get("quality", DASH)] if with_words else []))
    rule = (f"Speed ranks the optimizers by training loss over the first {plural(epochs, 'epoch')}, quality by final "
            "training loss (means over seeds, lower is better): the best third is Fast / Good, the middle third "
            "Medium / Acceptable, the last third Slow / Poor, and diverged optimizers are not ranked.")
    notes = [rule]
    if with_words:
        notes.append("Published speed and quality: the words of the source's own summary (the suite file's "
                     "`described` values); \"—\" where it gives none.")
    wrap = {3: 28, 6: 28} if with_words else {}
    return Section("Speed and quality, recomputed", table=Table(headers, rows, wrap=wrap), notes=notes)


def _mean_or_none(values: list[float] | None) -> float | None:
    return statistics.fmean(values) if values else None


def _loss_text(value: float | None) -> str:
    return DASH if value is None else f"{value:.4f}"


ITEM_ORDER = ("error", "failed", "xpassed", "xfailed", "skipped", "passed")  # failures first
ITEM_WIDTHS = {2: 24, 3: 60}  # the terminal wraps long reasons


def item_counts(rows: Sequence[ItemRow]) -> str:
    """"1 failed, 4 passed": how many items came to each outcome, failures first."""
    counts = {outcome: sum(row.outcome == outcome for row in rows) for outcome in ITEM_ORDER}
    return ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n) or "none ran"


def items_section(inp: ReportInput) -> Section:
    """Every item's outcome, failures first: what a reviewer of the report must see before the tables."""
    rank = {outcome: i for i, outcome in enumerate(ITEM_ORDER)}
    rows = sorted(inp.items, key=lambda row: rank.get(row.outcome, len(rank)))  # stable: the suite's order
    table = Table(["item", "outcome", "verdict", "detail"],
                  [[row.item, row.outcome.upper() if row.outcome in ITEM_ORDER[:3] else row.outcome, row.verdict,
                    row.detail] for row in rows], wrap=ITEM_WIDTHS)
    notes = ["Verdict: for a curve, how this run's curves compare with its baseline: identical (bit for bit), "
             "within noise, or CHANGED with the metrics that moved, in units of the noise measured with the "
             "baseline; for a claim, its verdict on this run's seeds and what the suite expected."]
    return Section("Items", facts=[("Outcomes", item_counts(rows))], table=table, notes=notes)


def report_sections(inp: ReportInput) -> list[Section]:
    items = [items_section(inp)] if inp.items else []
    if not inp.optimizers:
        return [header_section(inp), *items, Section("Optimizers", notes=["No optimizer results."]),
                claims_section(inp)]
    tuned = [] if inp.selection is None else [tuned_section(inp.selection, inp)]
    return [header_section(inp), *items, *tuned, optimizers_section(inp), comparison_section(inp),
            claims_section(inp), qualitative_section(inp)]


def tuned_section(selection: SelectionBaseline, inp: ReportInput) -> Section:
    suite = inp.suite  # the suite's own labels: the measured ones name the tuned point, which the table shows
    return selection_section(selection, {name: suite.optimizers[name].label for name in selection.selections
                                         if suite is not None and name in suite.optimizers})


def report_title(inp: ReportInput) -> str:
    return f"optcheck report: suite {inp.suite_name}, profile {inp.profile_name}"


def render_markdown(inp: ReportInput) -> str:
    """The report as Markdown (GitHub tables), for a file or a pull request."""
    return markdown(report_title(inp), report_sections(inp))


def render_terminal(inp: ReportInput) -> str:
    """The report as plain text, for pytest's terminal summary and `optcheck report --format term`."""
    return plain_text(report_title(inp), report_sections(inp))
