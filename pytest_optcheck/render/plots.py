"""Learning-curve plots: one figure per claim, and one with every optimizer.

matplotlib is an optional dependency (`pytest-optcheck[plots]`), imported only
when plots are asked for. The figures are drawn on the Agg canvas directly,
without pyplot, so nothing changes the backend or global state of a process
(pytest's, or a user's notebook) that also uses matplotlib.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_optcheck import atomic
from pytest_optcheck.baselines.records import OptimizerBaseline
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.render.report import ReportInput, label_of, order_names
from pytest_optcheck.render.stats import recorded_metrics, seed_runs
from pytest_optcheck.render.words import probability_text

PANELS = (("loss", "training loss"), ("accuracy", "training accuracy"))
ALL_FILE = "all-optimizers.png"
DPI = 110


def write_plots(directory: str | Path, inp: ReportInput) -> list[Path]:
    """Write `claim-<id>.png` for each claim and `all-optimizers.png`; return the paths written.

    A claim's figure shows the optimizers it compares, which only the suite file
    knows: without `inp.suite` only `all-optimizers.png` is written.
    """
    figure_class, canvas_class = matplotlib_classes()
    directory = Path(directory)
    colors = color_map(order_names(inp.optimizers, inp.suite))
    written = []
    for claim_id, names, subtitle in claim_figures(inp):
        figure = draw(figure_class, canvas_class, inp, names, colors, claim_id, subtitle,
                      margins=inp.claims[claim_id].margins if claim_id in inp.claims else None)
        written.append(save_png(figure, directory / f"claim-{safe_name(claim_id)}.png"))
    if inp.optimizers:
        figure = draw(figure_class, canvas_class, inp, order_names(inp.optimizers, inp.suite), colors,
                      "all optimizers", f"suite {inp.suite_name}, profile {inp.profile_name}, "
                      f"seeds {', '.join(map(str, inp.seeds))}")
        written.append(save_png(figure, directory / ALL_FILE))
    return written


def matplotlib_classes() -> tuple[Any, Any]:
    try:
        import matplotlib  # noqa: F401  (first: its submodules may be cached even where it is now missing)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise OptcheckError("plots need matplotlib: pip install 'pytest-optcheck[plots]'") from None
    return Figure, FigureCanvasAgg


def claim_figures(inp: ReportInput) -> list[tuple[str, list[str], str]]:
    """(claim id, optimizers it compares, subtitle) for every claim whose optimizers all have data."""
    if inp.suite is None:
        return []
    figures = []
    for claim in inp.suite.claims:
        if inp.claims and claim.id not in inp.claims:
            continue
        if not all(name in inp.optimizers for name in claim.optimizers):
            continue
        record = inp.claims.get(claim.id)
        verdict = f" [{record.verdict}: {probability_text(record)}]" if record else ""
        figures.append((claim.id, list(claim.optimizers), f"\u201c{claim.quote}\u201d{verdict}"))
    return figures


def color_map(names: Sequence[str]) -> dict[str, str]:
    """One color per optimizer, the same in every figure, so figures can be read side by side."""
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
               "tab:gray", "tab:olive", "tab:cyan"]
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def band(optimizer: OptimizerBaseline, metric: str) -> tuple[list[float], list[float], list[float]]:
    """Per epoch: mean, min and max over seeds, NaN where no seed has a finite value (a gap in the line)."""
    runs = [run.history.get(metric, ()) for run in seed_runs(optimizer)]
    epochs = max((len(r) for r in runs), default=0)
    means, lows, highs = [], [], []
    for i in range(epochs):
        values = [r[i] for r in runs if i < len(r) and r[i] is not None]
        means.append(sum(values) / len(values) if values else math.nan)
        lows.append(min(values) if values else math.nan)
        highs.append(max(values) if values else math.nan)
    return means, lows, highs


def draw(figure_class: Any, canvas_class: Any, inp: ReportInput, names: Sequence[str], colors: dict[str, str],
         title: str, subtitle: str, margins: dict[int, float | None] | None = None) -> Any:
    """Two panels (training loss, training accuracy): a mean line and a min-max band per optimizer.

    With a claim's per-seed `margins`, a third panel shows them: the evidence its verdict weighs.
    """
    figure = figure_class(figsize=(15 if margins else 11, 5.2), dpi=DPI, layout="constrained")
    canvas_class(figure)
    figure.suptitle(f"{title}\n{textwrap.fill(subtitle, width=120)}", fontsize=10)
    panels = figure.subplots(1, 3 if margins else 2)
    if margins:
        margin_panel(panels[2], margins)
    for axes, (metric, ylabel) in zip(panels, panel_metrics(inp)):
        for name in names:
            means, lows, highs = band(inp.optimizers[name], metric)
            epochs = list(range(1, len(means) + 1))
            axes.plot(epochs, means, marker="o", markersize=3, color=colors[name], label=label_of(inp, name))
            axes.fill_between(epochs, lows, highs, color=colors[name], alpha=0.2, linewidth=0)
        axes.set_xlabel("epoch")
        axes.set_ylabel(ylabel)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
    handles, labels = figure.axes[0].get_legend_handles_labels()
    # Outside the panels: with eight optimizers a legend inside always hides some curve.
    figure.legend(handles, labels, loc="outside right center", fontsize=8,
                  title="mean over seeds\nband: min to max", title_fontsize=8)
    return figure


def margin_panel(axes: Any, margins: dict[int, float | None]) -> None:
    """One dot per seed: the claim's margin there (above zero: it held on that seed); x for a diverged run."""
    seeds = sorted(margins)
    finite = [(s, margins[s]) for s in seeds if margins[s] is not None]
    held = [(s, m) for s, m in finite if m > 0]
    not_held = [(s, m) for s, m in finite if m <= 0]
    for points, color, label in ((held, "tab:green", "held"), (not_held, "tab:red", "did not hold")):
        if points:
            axes.scatter([s for s, _ in points], [m for _, m in points], color=color, label=label, zorder=3)
    diverged = [s for s in seeds if margins[s] is None]
    if diverged:
        axes.scatter(diverged, [0.0] * len(diverged), marker="x", color="black", label="diverged", zorder=3)
    axes.axhline(0.0, color="gray", linewidth=1)
    axes.set_xlabel("seed")
    axes.set_ylabel("margin per seed")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)


def panel_metrics(inp: ReportInput) -> tuple[tuple[str, str], ...]:
    """The training loss, and the first training metric (accuracy), or the validation loss without one."""
    recorded = {m for o in inp.optimizers.values() for m in recorded_metrics(o)}
    if recorded >= {m for m, _ in PANELS}:
        return PANELS
    other = sorted(m for m in recorded if m != "loss" and not m.startswith("val_"))
    second = other[0] if other else "val_loss"
    return (("loss", "training loss"), (second, second.replace("val_", "validation ").replace("_", " ")))


def safe_name(text: str) -> str:
    """A file-name-safe form of a claim id."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def save_png(figure: Any, path: Path) -> Path:
    """Render atomically: readers never see half a PNG."""
    atomic.write_with(path, lambda handle: figure.savefig(handle, format="png"))
    return path
