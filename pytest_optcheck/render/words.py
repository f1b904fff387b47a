"""How counts, seeds, times and claim evidence are worded, in one place for the report,
`optcheck diff`, the plots and pytest's terminal summary, so that each reads alike everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_optcheck.baselines.records import ClaimRecord

DASH = "—"  # a cell with nothing to show


def seconds_text(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def published_text(value: float | None) -> str:
    """A published figure as the source printed it, without invented digits."""
    return "" if value is None else f"{value:g}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def seeds_text(seeds: Sequence[int]) -> str:
    return ", ".join(str(s) for s in seeds) if seeds else DASH


def probability_text(record: ClaimRecord) -> str:
    """"3/3 [0.25, 1.00]": the share of seeds the claim held on, and its interval."""
    share = f"{record.seeds_holding}/{record.seeds}"
    interval = record.interval
    return share if not interval else f"{share} [{interval[0]:.2f}, {interval[1]:.2f}]"
