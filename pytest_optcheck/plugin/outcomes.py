"""What each optcheck item came to, as pytest reported it: for the end-of-session summary and the report.

The curve and claim statuses say what a comparison found; an item that errored before
comparing anything has none, and only pytest's report says so. Under pytest-xdist the
controller receives every worker's reports through the same hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

FAILING = ("error", "failed", "xpassed")  # the outcomes a reader must see first, in this order


@dataclass(frozen=True)
class ItemOutcome:
    path: Path  # the suite file, resolved
    name: str  # "curve[adam]"
    outcome: str  # passed, failed, error, skipped, xfailed or xpassed
    message: str = ""  # the first line of a failure, or why it skipped

    @property
    def failing(self) -> bool:
        return self.outcome in FAILING


class OutcomeRecorder:
    """A plugin object: keeps the outcome of every optcheck item, by node id."""

    def __init__(self, rootpath: Path):
        self.rootpath = rootpath
        self.items: dict[str, ItemOutcome] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if "optcheck" not in report.keywords:
            return
        outcome = _outcome(report)
        if outcome is None:
            return
        earlier = self.items.get(report.nodeid)
        if earlier is not None and earlier.outcome != "passed":
            return  # a failure at teardown after a failed call: the call's failure says what matters
        path = (self.rootpath / report.nodeid.split("::", 1)[0]).resolve()
        self.items[report.nodeid] = ItemOutcome(path, report.nodeid.rsplit("::", 1)[-1], outcome, _message(report))

    def for_suite(self, path: Path) -> list[ItemOutcome]:
        key = Path(path).resolve()
        return [item for item in self.items.values() if item.path == key]


def _outcome(report: pytest.TestReport) -> str | None:
    """The item's outcome from one phase's report, or None for a phase that says nothing new."""
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            return "xpassed" if xfail else "passed"
        if report.skipped:
            return "xfailed" if xfail else "skipped"
        return "failed"
    if report.failed:  # setup or teardown
        return "error"
    if report.skipped:  # at setup: without --optcheck, say, or deselected by pytest-benchmark
        return "xfailed" if xfail else "skipped"
    return None


def _message(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return report.wasxfail
    if report.skipped and isinstance(report.longrepr, tuple):
        return report.longrepr[2].removeprefix("Skipped: ")
    if report.failed:
        # The failure itself: `longreprtext` starts with pytest-xdist's worker line ("[gw0] linux ...").
        lines = [line for line in str(report.longrepr).splitlines() if line.strip()]
        raised = [line[1:].strip() for line in lines if line.startswith("E ")]  # a traceback: its error line
        first = raised[0] if raised else lines[0] if lines else ""
        return first.removeprefix("Failed: ")
    return ""
