"""A tuned profile's learning-rate selection as a table and a sensitivity figure.

The table gives each optimizer's mean choosing metric at every multiplier of its own
rate (the chosen point marked, an edge named); the figure draws the same numbers as
DeepOBS draws its learning-rate sensitivity: metric against multiplier on a log axis,
one line per optimizer, its mean over the selection seeds with their range shaded.
"""

from __future__ import annotations

from pathlib import Path

from pytest_optcheck.baselines.selection import SelectionBaseline
from pytest_optcheck.judge.selection import Selection, moved, point_text
from pytest_optcheck.render.document import Section, Table
from pytest_optcheck.spec.tuning import multiplier_text

DPI = 110


def _cell(selection: Selection, multiplier: float) -> str:
    if selection.point(multiplier) is None:
        return ""
    mean = selection.mean(multiplier)
    text = "diverged" if mean is None else f"{mean:.4f}"
    return f"**{text}**" if multiplier == selection.chosen else text


def selection_section(record: SelectionBaseline, labels: dict[str, str] | None = None) -> Section:
    """Every grid point's mean value of the choosing metric, the chosen one in bold."""
    labels = labels or {}
    multipliers = sorted({m for s in record.selections.values() for m in s.multipliers})
    rows = []
    for name, selection in record.selections.items():
        chosen = point_text(selection.chosen)
        rate = record.rates[name] * (selection.chosen or 0)
        rows.append([labels.get(name, name), f"{record.rates[name]:g}", *(_cell(selection, m) for m in multipliers),
                     f"{chosen} ({rate:.3g})" if selection.chosen is not None else chosen])
    first = next(iter(record.selections.values()), None)
    by = "" if first is None else f"{first.by} after epoch {first.epoch}"
    notes = [p for s in record.selections.values() for p in [s.problem()] if p is not None]
    return Section(
        f"Learning rates tuned on profile {record.profile}",
        facts=[("chosen by", f"the best mean {by} over selection seeds {', '.join(map(str, record.seeds))}"),
               ("grid", "multipliers of each optimizer's own learning rate; a diverged run counts as the worst")],
        table=Table(["optimizer", "own rate", *(multiplier_text(m) for m in multipliers), "chosen (rate)"], rows),
        notes=notes)


def moved_points_section(old: SelectionBaseline | None, new: SelectionBaseline | None, old_name: str,
                         new_name: str) -> Section:
    """Each tuned optimizer's chosen point in two selections, and whether a move is beyond the noise."""
    if old is None or new is None:
        has = new_name if new is not None else old_name
        return Section("Tuned learning rates", notes=[f"Only {has} has a learning-rate selection (selection.json)."])
    rows = []
    for name, selection in new.selections.items():
        before = old.chosen(name) if name in old.selections else None
        move = moved(before, selection) if name in old.selections else None
        rows.append([name, point_text(before), point_text(selection.chosen), "no" if move is None else move.judgement])
    moves = sum(row[3] != "no" for row in rows)
    return Section("Tuned learning rates", table=Table(["optimizer", old_name, new_name, "moved"], rows),
                   notes=[f"{moves} of {len(rows)} chosen points moved." if moves else "No chosen point moved."])


def write_sensitivity_plot(record: SelectionBaseline, path: str | Path, labels: dict[str, str] | None = None) -> Path:
    """The metric against the multiplier, one line per optimizer: mean over the selection seeds,
    their range shaded, the chosen point ringed, diverged points left out."""
    from pytest_optcheck.render.plots import matplotlib_classes, save_png

    figure_class, canvas_class = matplotlib_classes()
    labels = labels or {}
    figure = figure_class(figsize=(7.5, 4.5), dpi=DPI)
    canvas_class(figure)
    axes = figure.add_subplot(1, 1, 1)
    by = ""
    for name, selection in record.selections.items():
        by = selection.by
        finite = [p for p in selection.points if not p.diverged_seeds]
        if not finite:
            continue
        xs = [p.multiplier for p in finite]
        means = [selection.mean(p.multiplier) for p in finite]
        (line,) = axes.plot(xs, means, marker="o", markersize=3, label=labels.get(name, name))
        axes.fill_between(xs, [min(p.values.values()) for p in finite], [max(p.values.values()) for p in finite],
                          color=line.get_color(), alpha=0.15)
        if selection.chosen is not None and selection.mean(selection.chosen) is not None:
            axes.plot([selection.chosen], [selection.mean(selection.chosen)], marker="o", markersize=9,
                      markerfacecolor="none", color=line.get_color())
    # A point far off (a rate that blew the loss up without diverging) would flatten every line:
    # the axis stops at three times the best mean, and such points run off its top.
    lowest = [m for s in record.selections.values() for m in [s.mean(s.chosen)] if s.chosen is not None and m is not None]
    if lowest and next(iter(record.selections.values())).lower_is_better:
        axes.set_ylim(0.9 * min(lowest), 3 * min(lowest))
    axes.set_xscale("log")
    axes.set_xlabel("learning rate, as a multiple of the optimizer's own")
    axes.set_ylabel(f"{by} (mean over selection seeds)")
    axes.set_title(f"Learning-rate sensitivity: suite {record.suite}, profile {record.profile}", fontsize=10)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    return save_png(figure, Path(path))
