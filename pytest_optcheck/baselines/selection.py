"""`selection.json`: a tuned profile's learning-rate selection, stored beside its baselines.

For each tuned optimizer: its own learning rate, every grid point's value of the choosing
metric on every selection seed, and the chosen point. It is a record like a claim's
verdict: the curve check compares like with like (the baseline's chosen point), and a
refresh, the summary and `optcheck diff` name a choice that moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_optcheck.baselines.records import FORMAT, FileReader, read_file
from pytest_optcheck.judge.selection import GridPoint, Selection



@dataclass(frozen=True)
class SelectionBaseline:
    """Every tuned optimizer's selection on one profile (and backend)."""

    suite: str
    profile: str
    seeds: tuple[int, ...]  # the selection seeds
    rates: dict[str, float]  # each optimizer's own learning rate, which the multipliers scale
    selections: dict[str, Selection]
    environment: dict[str, str]
    path: Path | None = field(default=None, compare=False)  # the file it was read from

    def chosen(self, optimizer: str) -> float | None:
        found = self.selections.get(optimizer)
        return None if found is None else found.chosen

    def same_content(self, other: SelectionBaseline) -> bool:
        """Equal but for the environment: a refresh on another machine that selects alike rewrites nothing."""
        return (self.seeds, self.rates, self.selections) == (other.seeds, other.rates, other.selections)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": "selection",
            "suite": self.suite,
            "profile": self.profile,
            "seeds": list(self.seeds),
            "environment": dict(self.environment),
            "optimizers": {name: _selection_json(s, self.rates[name]) for name, s in sorted(self.selections.items())},
        }


def _selection_json(selection: Selection, rate: float) -> dict[str, Any]:
    return {
        "learning_rate": rate,
        "by": selection.by,
        "epoch": selection.epoch,
        "chosen": selection.chosen,
        "grid": [{"multiplier": p.multiplier, "values": {str(s): v for s, v in sorted(p.values.items())}}
                 for p in selection.points],
    }


def load_selection_baseline(path: Path) -> SelectionBaseline | None:
    """The selection stored at `path`, None if there is none; every value checked."""
    data = read_file(path)
    return None if data is None else parse_selection_baseline(path, data)


def parse_selection_baseline(path: Path | None, data: dict[str, Any], *, where: str = "") -> SelectionBaseline:
    r = FileReader(path, where)
    seeds = r.get(data, "seeds", "", list)
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise r.fail("seeds", "must be a list of whole numbers")
    rates: dict[str, float] = {}
    selections: dict[str, Selection] = {}
    for name, table in r.get(data, "optimizers", "", dict).items():
        where_ = f"optimizers.{name}"
        if not isinstance(table, dict):
            raise r.fail(where_, "expected a table")
        rates[name] = r.number(r.get(table, "learning_rate", where_, (int, float)), f"{where_}.learning_rate")
        points = []
        for index, point in enumerate(r.get(table, "grid", where_, list)):
            at = f"{where_}.grid[{index}]"
            if not isinstance(point, dict):
                raise r.fail(at, "expected a table")
            values = {r.seed(seed, f"{at}.values"): r.number(value, f"{at}.values.{seed}", nullable=True)
                      for seed, value in r.get(point, "values", at, dict).items()}
            points.append(GridPoint(r.number(r.get(point, "multiplier", at, (int, float)), f"{at}.multiplier"), values))
        chosen = r.get(table, "chosen", where_, (int, float), optional=True)
        selections[name] = Selection(name, r.get(table, "by", where_, str), r.get(table, "epoch", where_, int),
                                     tuple(points), None if chosen is None else float(chosen))
    environment = r.get(data, "environment", "", dict)
    return SelectionBaseline(r.get(data, "suite", "", str), r.get(data, "profile", "", str), tuple(seeds), rates,
                             selections, {str(k): str(v) for k, v in environment.items()}, path)
