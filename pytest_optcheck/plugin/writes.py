"""Writing the queued baselines at the session's end, on the controller alone.

A file whose curves, envelope and verdicts are unchanged is left as it is (timings differ
on every run), so a refresh shows in `git diff` only where something changed. claims.json
holds every claim of a profile: its records are merged into it under a lock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from pathlib import Path

from pytest_optcheck import atomic
from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.records import (
    ClaimRecord,
    ClaimsBaseline,
    OptimizerBaseline,
    load_claims_baseline,
    load_optimizer_baseline,
)
from pytest_optcheck.baselines.selection import SelectionBaseline, load_selection_baseline
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.judge.selection import chosen_text, moves
from pytest_optcheck.plugin.findings import BaselineWrite


def write_updates(writes: list[BaselineWrite], changes: list[str]) -> None:
    """Write every queued baseline, saying in `changes` what each write did (or that it changed nothing).

    Raises OptcheckError at the first file that cannot be written; `changes` then holds those before it.
    """
    claim_files: dict[str, tuple[ClaimsBaseline, dict[str, ClaimRecord]]] = {}
    for update in sorted(writes, key=lambda u: (u.path, u.claim_id)):
        path = Path(update.path)
        if isinstance(update.content, SelectionBaseline):
            _write_selection(path, update.content, changes)
        elif isinstance(update.content, OptimizerBaseline):
            old = read_quietly(load_optimizer_baseline, path)
            if old is not None and old.same_content(update.content):
                changes.append(f"{path}: unchanged (curves and noise envelope bit-identical), not rewritten")
                continue
            atomic.write_text(path, baselines.dumps(update.content.to_json()))
            changes.append(f"{path}: {baselines.largest_change(old, update.content)}")
        else:
            assert update.header is not None
            header, records = claim_files.setdefault(update.path, (update.header, {}))
            records[update.claim_id] = update.content
    for name, (header, records) in claim_files.items():
        # Two refreshes at once in one checkout each merge into the claims file: the
        # read-merge-write is done under a lock.
        with atomic.exclusive_lock(_lock_path(Path(name))):
            _merge_claims(Path(name), header, records, changes)


def _write_selection(path: Path, content: SelectionBaseline, changes: list[str]) -> None:
    old = read_quietly(load_selection_baseline, path)
    if old is not None and old.same_content(content):
        changes.append(f"{path}: unchanged (every grid point bit-identical), not rewritten")
        return
    atomic.write_text(path, baselines.dumps(content.to_json()))
    if old is None:
        changes.append(f"{path}: new selection: {chosen_text(content.selections)}")
        return
    found = [move.describe() for move in moves(old.selections, content.selections)]
    changes.append(f"{path}: " + ("; ".join(found) if found else "grid values changed, no chosen point moved"))


def _merge_claims(path: Path, header: ClaimsBaseline, records: dict[str, ClaimRecord], changes: list[str]) -> None:
    old = read_quietly(load_claims_baseline, path)
    if old is None and path.exists():
        changes.append(f"{path}: was unreadable; rewritten with the selected claims only")
    merged = dict(old.claims) if old else {}
    for claim_id, record in records.items():
        before = merged[claim_id].verdict if claim_id in merged else None
        if before != record.verdict:
            changes.append(f"{path}: claim {claim_id!r} verdict {before or 'none'} -> {record.verdict}")
        merged[claim_id] = record
    content = dataclasses.replace(header, claims=merged).to_json()
    if old is not None and baselines.dumps(old.to_json()) == baselines.dumps(content):
        changes.append(f"{path}: unchanged, not rewritten")
        return
    atomic.write_text(path, baselines.dumps(content))
    changes.append(f"{path}: {len(records)} claim record(s) written")


def _lock_path(path: Path) -> Path:
    """A lock file for `path` outside the baseline folder (nothing to commit or clean up)."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"optcheck-claims-{digest}.lock"


def read_quietly(load, path: Path):
    """`load(path)`, or None where the file is damaged: one being replaced by an update, or one whose
    items already say so (the report then shows "no baseline")."""
    try:
        return load(path)
    except OptcheckError:
        return None
