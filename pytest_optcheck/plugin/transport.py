"""What a pytest-xdist worker found, carried to the controller: `Findings` as JSON and back.

xdist hands `workeroutput` across as plain data. Each record goes through its own encoder
(`to_json`) and decoder (the baseline files' parsers), so what the controller reads is
checked as a file would be; item keys travel as their three parts, never as a joined string.
"""

from __future__ import annotations

from typing import Any

from pytest_optcheck.baselines.compare import CurveStatus
from pytest_optcheck.baselines.records import (
    JudgedClaim,
    parse_claim_record,
    parse_claims_baseline,
    parse_optimizer_baseline,
)
from pytest_optcheck.baselines.selection import parse_selection_baseline
from pytest_optcheck.plugin.findings import BaselineWrite, ClaimChange, Findings, ItemKey


def export(findings: Findings) -> dict[str, Any]:
    """A worker's findings as plain data for `workeroutput`."""
    def keyed(found: dict[ItemKey, Any], encode) -> list:
        return [[*_parts(key), encode(value)] for key, value in found.items()]

    return {
        "curves": keyed(findings.curves, lambda status: status.value),
        "measured": keyed(findings.measured, lambda baseline: baseline.to_json()),
        "claims": keyed(findings.claims, lambda claim: claim.to_json()),
        "claim_changes": keyed(findings.claim_changes, lambda change: [change.how, change.claim]),
        "environments": {listed: [[path, *_parts(key)] for path, key in files.items()]
                         for listed, files in findings.environments.items()},
        "writes": [_write_json(write) for write in findings.writes],
    }


def absorb(data: dict[str, Any]) -> Findings:
    """A worker's findings read back on the controller."""
    def keyed(name: str, decode) -> dict:
        found = {}
        for suite, profile, item, value in data.get(name, []):
            key = ItemKey(suite, profile, item)
            found[key] = decode(value, str(key))
        return found

    return Findings(
        curves=keyed("curves", lambda value, _: CurveStatus(value)),
        measured=keyed("measured", lambda value, where: parse_optimizer_baseline(None, value, where=where)),
        claims=keyed("claims", lambda value, where: JudgedClaim.from_json(value, where)),
        claim_changes=keyed("claim_changes", lambda value, _: ClaimChange(*value)),
        environments={listed: {path: ItemKey(*key) for path, *key in files}
                      for listed, files in data.get("environments", {}).items()},
        writes=[_write_from_json(write) for write in data.get("writes", [])],
    )


def _parts(key: ItemKey) -> list[str]:
    return [key.suite, key.profile, key.name]


def _write_json(write: BaselineWrite) -> dict[str, Any]:
    return {"path": write.path, "content": write.content.to_json(), "claim_id": write.claim_id,
            "header": None if write.header is None else write.header.to_json()}


def _write_from_json(data: dict[str, Any]) -> BaselineWrite:
    path, header = data["path"], data["header"]
    if data["content"].get("kind") == "selection":
        return BaselineWrite(path, parse_selection_baseline(None, data["content"], where=path))
    if header is None:
        return BaselineWrite(path, parse_optimizer_baseline(None, data["content"], where=path))
    return BaselineWrite(path, parse_claim_record(data["content"], path),
                         parse_claims_baseline(None, header, where=path), data["claim_id"])
