"""The `optcheck` section of pytest's terminal summary."""

from __future__ import annotations

from collections import Counter

from . import baselines
from .session import OptcheckSession
from .suite import Suite


def terminal_lines(state: OptcheckSession, suites: list[Suite]) -> list[str]:
    lines: list[str] = []
    curves = [o for o in state.outcomes if o.kind == "curve"]
    if curves:
        counts = Counter(o.status for o in curves)
        lines.append("curves: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
        identical = [o.name for o in curves if o.status == "identical"]
        if identical and len(identical) == len(curves):
            lines.append("  every curve is bit-identical to its baseline (same seeds, data and versions)")
        elif identical:
            lines.append("  bit-identical to the baseline: " + ", ".join(identical))
    claims = [o for o in state.outcomes if o.kind == "claim"]
    if claims:
        lines.append("claims:")
        width = max(len(o.name) for o in claims)
        for o in sorted(claims, key=lambda o: (o.suite, o.profile, o.name)):
            lines.append(f"  {o.name:<{width}}  {o.detail}")
    if state.changes:
        lines.append("baselines written:")
        lines += [f"  {change}" for change in state.changes]
    unused = baselines.unused_baselines(state.baseline_root(), suites)
    if unused:
        lines.append("unused baselines (their optimizer, claim or profile is gone from the suite):")
        lines += [f"  {path}" for path in unused]
    return lines
