"""Two stored baseline sets side by side: what moved, which verdicts flipped, what else changed.

Used by `optcheck diff OLD_DIR NEW_DIR`, typically a baseline folder before and
after a framework upgrade. Like report.py, it reads only the typed records of the
baseline files (folder.py reads them from disk) and never imports TensorFlow.
"""

from __future__ import annotations

import statistics

from pytest_optcheck.baselines.records import ClaimRecord, OptimizerBaseline
from pytest_optcheck.baselines.store import largest_move
from pytest_optcheck.environment import RECORDED_LATER
from pytest_optcheck.metrics import ordered
from pytest_optcheck.render.document import Section, Table, markdown, plain_text
from pytest_optcheck.render.report import ReportInput, label_of, order_names
from pytest_optcheck.render.stats import recorded_metrics
from pytest_optcheck.render.tuning import moved_points_section
from pytest_optcheck.render.words import DASH, plural, probability_text, seeds_text


def common_seeds(old: OptimizerBaseline, new: OptimizerBaseline) -> list[int]:
    return sorted(old.seeds.keys() & new.seeds.keys())


def final_mean(optimizer: OptimizerBaseline, metric: str, seeds: list[int]) -> float | None:
    """Mean over `seeds` of the value at each run's final epoch; None if any is missing or not finite."""
    values = []
    for seed in seeds:
        curve = optimizer.seeds[seed].history.get(metric)
        if not curve or curve[-1] is None:
            return None
        values.append(curve[-1])
    return statistics.fmean(values) if values else None


def largest_move_text(old: OptimizerBaseline, new: OptimizerBaseline, metric: str, seeds: list[int]) -> str:
    """The cell for the biggest |new - old| of `metric` at any epoch of the common `seeds`, and any
    change in epoch counts (the measure is store.largest_move, which refreshes print too)."""
    move = largest_move({s: old.seeds[s] for s in seeds}, {s: new.seeds[s] for s in seeds}, [metric])
    text = "none (bit-identical)" if move is None or move.size == 0.0 else move.describe()
    for seed in seeds:
        before = len(old.seeds[seed].history.get(metric, ()))
        after = len(new.seeds[seed].history.get(metric, ()))
        if before != after:
            text += f"; seed {seed} has {before} -> {after} epochs"
    return text


def value_text(value: float | None) -> str:
    return DASH if value is None else f"{value:.4f}"


def change_text(old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return DASH
    return "0" if new == old else f"{new - old:+.3g}"


def curve_rows(old: ReportInput, new: ReportInput, names: list[str]) -> list[list[str]]:
    rows = []
    for name in names:
        before, after = old.optimizers[name], new.optimizers[name]
        seeds = common_seeds(before, after)
        for metric in ordered([*recorded_metrics(before), *recorded_metrics(after)]):
            if not seeds:
                rows.append([label_of(new, name), metric, DASH, DASH, "no common seeds", DASH])
                continue
            a, b = final_mean(before, metric, seeds), final_mean(after, metric, seeds)
            rows.append([label_of(new, name), metric, value_text(a), value_text(b), change_text(a, b),
                         largest_move_text(before, after, metric, seeds)])
    return rows


def curves_section(old: ReportInput, new: ReportInput) -> Section:
    names = [n for n in order_names(new.optimizers, new.suite) if n in old.optimizers]
    if not names:
        return Section("Curves at the final epoch", notes=["The two sides have no optimizer in common."])
    headers = ["optimizer", "metric", "old", "new", "change", "largest per-epoch change"]
    notes = [("Old and new: the mean over the seeds both sides have, at each side's final epoch. Largest "
              "per-epoch change: the biggest |new − old| at any epoch of any of those seeds.")]
    same = [label_of(new, n) for n in names if old.optimizers[n].same_curves(new.optimizers[n])]
    if same:
        notes.append(f"Bit-identical curves ({len(same)} of {len(names)}): {', '.join(same)}.")
    return Section("Curves at the final epoch", table=Table(headers, curve_rows(old, new, names)), notes=notes)


def margin_text(record: ClaimRecord) -> str:
    margin = record.mean_margin
    return DASH if margin is None else f"{margin:+.4f}"


def claims_section(old: ReportInput, new: ReportInput, old_name: str, new_name: str) -> Section:
    common = [c for c in order_names(new.claims, new.suite, kind="claims") if c in old.claims]
    if not common:
        counts = f"{old_name}: {_count(old.claims, 'claim')}, {new_name}: {_count(new.claims, 'claim')}"
        return Section("Claim verdicts", notes=[f"No claim is on both sides to compare ({counts})."])
    flipped = [c for c in common if old.claims[c].verdict != new.claims[c].verdict]
    if not flipped:
        return Section("Claim verdicts", notes=[f"No verdict changed ({plural(len(common), 'claim')} on both sides)."])
    headers = ["claim", "old verdict", "new verdict", "old P(holds on a seed)", "new P(holds on a seed)",
               "old mean margin", "new mean margin"]
    rows = [[c, old.claims[c].verdict, new.claims[c].verdict, probability_text(old.claims[c]),
             probability_text(new.claims[c]), margin_text(old.claims[c]), margin_text(new.claims[c])] for c in flipped]
    note = f"Verdicts changed (old -> new): {len(flipped)} of {plural(len(common), 'claim')} on both sides."
    return Section("Claim verdicts", table=Table(headers, rows), notes=[note])


def _count(names: dict, noun: str) -> str:
    return plural(len(names), noun) if names else "none"


def merged_environment(inp: ReportInput) -> dict[str, str]:
    """Every key of the runs' environments; values the runs disagree on are joined with ' / '."""
    merged: dict[str, list[str]] = {}
    for optimizer in inp.optimizers.values():
        for key, value in optimizer.environment.items():
            merged.setdefault(key, [])
            if str(value) not in merged[key]:
                merged[key].append(str(value))
    return {k: " / ".join(v) for k, v in merged.items()}


def environment_section(old: ReportInput, new: ReportInput) -> Section:
    before, after = merged_environment(old), merged_environment(new)
    rows = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key, DASH), after.get(key, DASH)
        if key in RECORDED_LATER and DASH in (a, b):
            rows.append([key, a, b, "not recorded"])  # a record from before the key was recorded
            continue
        rows.append([key, a, b, "changed" if a != b else ""])
    changed = [r[0] for r in rows if r[3] == "changed"]
    note = f"Changed: {', '.join(changed)}." if changed else "The environments are the same."
    return Section("Environments", table=Table(["key", "old", "new", "differs"], rows, wrap={1: 40, 2: 40}),
                   notes=[note])


def one_side_lines(old: ReportInput, new: ReportInput, old_name: str, new_name: str) -> list[str]:
    lines = []
    for kind, a, b in (("optimizers", old.optimizers, new.optimizers), ("claims", old.claims, new.claims)):
        only_old = sorted(set(a) - set(b))
        only_new = sorted(set(b) - set(a))
        if only_old:
            lines.append(f"{kind.capitalize()} only in {old_name}: {', '.join(only_old)}.")
        if only_new:
            lines.append(f"{kind.capitalize()} only in {new_name}: {', '.join(only_new)}.")
    return lines


def setting_lines(old: ReportInput, new: ReportInput) -> list[str]:
    """Differences in what produced the runs: seeds, epochs, image counts, settings (spec hashes)."""
    lines = []
    for name in order_names(new.optimizers, new.suite):
        if name not in old.optimizers:
            continue
        a, b = old.optimizers[name], new.optimizers[name]
        label = label_of(new, name)
        if a.seeds.keys() != b.seeds.keys():
            lines.append(f"{label}: seeds {seeds_text(sorted(a.seeds))} -> {seeds_text(sorted(b.seeds))}.")
        for before, after, what in ((a.epochs, b.epochs, "epochs"), (a.train_samples, b.train_samples,
                                                                      "training images")):
            if before != after:
                lines.append(f"{label}: {what} {before} -> {after}.")
        if a.spec_hash != b.spec_hash:
            lines.append(f"{label}: the settings differ (spec_hash changed: optimizer arguments, model, "
                         "training or profile).")
    return lines


def other_section(old: ReportInput, new: ReportInput, old_name: str, new_name: str) -> Section:
    lines = one_side_lines(old, new, old_name, new_name) + setting_lines(old, new)
    return Section("Other differences", notes=lines or ["None: the same optimizers, claims, seeds and settings."])


def mismatch_warnings(old: ReportInput, new: ReportInput) -> list[str]:
    """What makes the two sides different experiments, so that their differences mean little."""
    warnings = []
    if old.suite_name != new.suite_name:
        warnings.append(f"the two sides are baselines of different suites ({old.suite_name} and {new.suite_name}); "
                        "optimizers and claims are matched by name only. Compare two folders of one suite, "
                        "such as baselines/<suite>/<profile> before and after an upgrade.")
    elif old.profile_name != new.profile_name:
        warnings.append(f"the two sides are different profiles ({old.profile_name} and {new.profile_name}) of "
                        f"suite {new.suite_name}: their runs differ by design. Compare two folders of one profile.")
    return warnings


def head_section(old: ReportInput, new: ReportInput, old_name: str, new_name: str) -> Section:
    facts = [
        ("Old", f"{old_name} (suite {old.suite_name}, profile {old.profile_name}, seeds {seeds_text(old.seeds)})"),
        ("New", f"{new_name} (suite {new.suite_name}, profile {new.profile_name}, seeds {seeds_text(new.seeds)})"),
    ]
    facts += [("Warning", warning) for warning in mismatch_warnings(old, new)]
    return Section("Compared", facts=facts)


def diff_sections(old: ReportInput, new: ReportInput, old_name: str, new_name: str) -> list[Section]:
    tuned = [] if old.selection is None and new.selection is None else [
        moved_points_section(old.selection, new.selection, old_name, new_name)]
    return [head_section(old, new, old_name, new_name), *tuned, curves_section(old, new),
            claims_section(old, new, old_name, new_name),
            environment_section(old, new), other_section(old, new, old_name, new_name)]


def render_diff(old: ReportInput, new: ReportInput, *, old_name: str = "old", new_name: str = "new",
                fmt: str = "md") -> str:
    """Two baseline sets compared, as Markdown (`fmt="md"`) or plain text (`fmt="term"`)."""
    title = f"optcheck diff: {old_name} -> {new_name}"
    sections = diff_sections(old, new, old_name, new_name)
    return markdown(title, sections) if fmt == "md" else plain_text(title, sections)
