"""Baseline files are validated completely when read: one clear error naming the file and key."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_optcheck.baselines.records import (
    BaselineError,
    load_claims_baseline,
    load_optimizer_baseline,
    parse_claim_record,
    parse_optimizer_baseline,
)
from pytest_optcheck.baselines.selection import load_selection_baseline
from pytest_optcheck.baselines.store import claim_record, dumps, largest_change
from pytest_optcheck.judge import evidence
from pytest_optcheck.judge.claims import Verdict, judge
from pytest_optcheck.spec.suite import load_suite

from baseline_data import ROOT, SMOKE

COMMITTED = sorted([*ROOT.glob("baselines/**/*.json"), *ROOT.glob("examples/*/baselines/**/*.json")])


def damaged(tmp_path, name, change):
    data = json.loads((SMOKE / name).read_text())
    change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def problem(load, path) -> str:
    with pytest.raises(BaselineError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and f"git checkout -- {path}" in message
    return message


def test_every_committed_baseline_is_valid():
    root = Path(__file__).resolve().parents[1]
    files = sorted(root.glob("baselines/*/*/*.json")) + sorted(root.glob("examples/*/baselines/*/*/*.json"))
    folders = {path.parent for path in files}
    assert len(folders) >= 7 and SMOKE in folders  # every suite, every profile: none skipped
    for path in files:
        record = load_stored(path)
        assert record is not None and record.path == path


def load_stored(path):
    """The record of any committed file: claims, a tuned profile's selection, or an optimizer's curves."""
    loaders = {"claims.json": load_claims_baseline, "selection.json": load_selection_baseline}
    return loaders.get(path.name, load_optimizer_baseline)(path)


def test_a_missing_file_is_none(tmp_path):
    assert load_optimizer_baseline(tmp_path / "adam.json") is None
    assert load_claims_baseline(tmp_path / "claims.json") is None


@pytest.mark.parametrize("change, key", [
    (lambda d: d["seeds"]["1"].pop("history"), "seeds.1.history: missing"),
    (lambda d: d["seeds"]["0"]["history"]["loss"].__setitem__(1, "0.5"), "seeds.0.history.loss[1]: expected a number"),
    (lambda d: d["seeds"]["0"]["history"]["val_accuracy"].append(0.5), "seeds.0.history.val_accuracy: 4 values for 3"),
    (lambda d: d["seeds"]["0"]["history"]["loss"].pop(), "seeds.0.history: the metrics have different numbers"),
    (lambda d: d["seeds"].__setitem__("x", d["seeds"]["0"]), "seeds.x: a seed must be a whole number"),
    (lambda d: d.__setitem__("seeds", {}), "seeds: no seeds"),
    (lambda d: d.__setitem__("epochs", "3"), "epochs: expected a whole number"),
    (lambda d: d["environment"].__setitem__("cpu", 3), "environment.cpu: expected a string"),
    (lambda d: d["seeds"]["0"]["test"].__setitem__("accuracy", True), "seeds.0.test.accuracy: expected a number"),
    (lambda d: d.__setitem__("noise", {"nudges": [1], "samples": 2, "method": "m", "scale": {"loss": [0.1]}}),
     "noise.scale.loss: expected a list of 3 numbers"),
    (lambda d: d.__setitem__("noise", {"nudges": [1], "samples": 2, "method": "m", "scale": {"loss": [0.1, 0, 1]}}),
     "noise.scale.loss: every scale must be above zero"),
    (lambda d: d.__setitem__("format", 0), "format 0, expected 1"),  # a newer format: tests/test_edges.py
])
def test_each_damage_of_an_optimizer_file_is_named(tmp_path, change, key):
    path = damaged(tmp_path, "adam.json", change)
    assert key in problem(load_optimizer_baseline, path)


@pytest.mark.parametrize("change, key", [
    (lambda d: d["claims"]["momentum-beats-sgd"].__setitem__("verdict", "maybe"),
     "claims.momentum-beats-sgd.verdict: 'maybe' is not a verdict; expected one of: holds, fails, inconclusive"),
    (lambda d: d["claims"]["momentum-beats-sgd"]["margins"].__setitem__("0", "big"),
     "claims.momentum-beats-sgd.margins.0: expected a number or null"),
    (lambda d: d["claims"].__setitem__("momentum-beats-sgd", []), "claims.momentum-beats-sgd: expected a table"),
    (lambda d: d.pop("claims"), "claims: missing"),
])
def test_each_damage_of_a_claims_file_is_named(tmp_path, change, key):
    path = damaged(tmp_path, "claims.json", change)
    assert key in problem(load_claims_baseline, path)


def test_a_file_that_is_not_a_table(tmp_path):
    path = tmp_path / "adam.json"
    path.write_text("[1, 2]")
    assert "expected a JSON table" in problem(load_optimizer_baseline, path)


def test_timings_do_not_make_curves_differ():
    record = load_optimizer_baseline(SMOKE / "adam.json")
    other = record.to_json()
    other["seeds"]["0"]["epoch_seconds"] = [9.0, 9.0, 9.0]
    assert record.same_content(parse_optimizer_baseline(None, other)) and record.same_curves(
        parse_optimizer_baseline(None, other))
    other["seeds"]["0"]["history"]["loss"][0] += 1e-9
    assert not record.same_content(parse_optimizer_baseline(None, other))
    assert not record.same_curves(parse_optimizer_baseline(None, other))


def test_an_envelope_alone_makes_the_content_differ_but_not_the_curves():
    record = load_optimizer_baseline(SMOKE / "adam.json")
    without = dataclasses.replace(record, noise=None)
    assert record.same_curves(without) and not record.same_content(without)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_committed_baseline_reads_and_writes_back_byte_for_byte(path):
    """The records hold everything a file says: a file read and written again is the same file."""
    assert dumps(load_stored(path).to_json()) == path.read_text(encoding="utf-8")


def test_a_claim_record_reads_back_as_the_same_record():
    stored = load_claims_baseline(SMOKE / "claims.json")
    for claim_id, record in stored.claims.items():
        assert parse_claim_record(record.to_json(), claim_id) == record


def test_a_record_made_from_a_verdict_is_the_record_its_file_reads_back():
    """A fresh claim record equals the same record written to claims.json and read again, field by field
    and byte for byte: the judge's floats, a diverged seed, whole-number margins of a verdict made by hand."""
    suite = load_suite(ROOT / "suites" / "article.toml")
    profile = suite.profile("smoke")
    claim = next(c for c in suite.claims if c.id == "momentum-beats-sgd")

    def run(name, seed):  # untidy losses, so that the interval and its coverage are rounded when stored
        loss = 1 / 3 + seed / 7 - (0.01 * (seed % 3) if name == "momentum" else 0.0)
        return SimpleNamespace(history={"loss": [loss] * profile.epochs},
                               diverged_at=2 if (name, seed) == ("sgd", 5) else None)

    seeds = list(range(6))
    judged = judge(claim, {n: {s: run(n, s) for s in seeds} for n in claim.optimizers}, seeds, profile.epochs)
    judged.budget = 11
    weighed = evidence.weigh([True, True])
    by_hand = Verdict(claim.id, weighed.verdict, {0: 1, 1: 2}, {0: True, 1: True}, weighed)
    for verdict in (judged, by_hand):
        record = claim_record(suite, claim, profile, verdict)
        stored = parse_claim_record(json.loads(dumps(record.to_json())), claim.id)
        assert stored == record and dumps(stored.to_json()) == dumps(record.to_json())
        # As the committed files hold them, so that a verdict judged again equals the one stored before.
        assert all(v == float(f"{v:.4g}") for v in (*record.interval, record.margin_interval_coverage))
    assert judged.margins[5] is None and judged.notes and judged.median_interval is not None


def test_a_session_reads_each_baseline_file_once(tmp_path):
    """Eleven claim items share one claims.json: it is parsed once, and a damaged one fails each of them."""
    from pytest_optcheck.plugin.session import OptcheckSession, Options

    session = OptcheckSession(Options(True, None, tmp_path, None, None, False, None), tmp_path)
    path = tmp_path / "claims.json"
    path.write_text((SMOKE / "claims.json").read_text())
    first = session.stored_claims(path)
    path.write_text("{ damaged")  # changed behind the session's back: it keeps what it read
    assert session.stored_claims(path) is first and first.claims
    damaged = tmp_path / "other" / "claims.json"
    damaged.parent.mkdir()
    damaged.write_text("{ damaged")
    for _ in range(2):
        with pytest.raises(BaselineError, match="not valid JSON"):
            session.stored_claims(damaged)
    assert session.stored_optimizer(tmp_path / "missing.json") is None


def test_a_record_from_no_file_is_named_without_a_restore_hint():
    """A worker's results are not a file: the error names what was read, and no git checkout can restore it."""
    content = load_optimizer_baseline(SMOKE / "adam.json").to_json()
    content["epochs"] = "three"
    with pytest.raises(BaselineError) as error:
        parse_optimizer_baseline(None, content, where="article/smoke/adam")
    assert str(error.value) == 'article/smoke/adam: epochs: expected a whole number, found "three"'


def test_a_refresh_names_the_seeds_it_added_and_how_far_the_kept_ones_moved():
    record = load_optimizer_baseline(SMOKE / "adam.json")  # seeds 0-2
    fewer = dataclasses.replace(record, seeds={0: record.seeds[0]})
    assert largest_change(fewer, record) == "seeds 1-2 added; curves unchanged (bit-identical)"
    assert largest_change(record, fewer) == "seeds 1-2 dropped; curves unchanged (bit-identical)"
    other = record.to_json()
    other["seeds"]["0"]["history"]["loss"][1] += 0.5
    moved = parse_optimizer_baseline(None, other)
    gaps = dataclasses.replace(moved, seeds={0: moved.seeds[0], 2: moved.seeds[2]})
    assert largest_change(dataclasses.replace(record, seeds={1: record.seeds[1]}), gaps) == "seeds 0, 2 added; seed 1 dropped"
    message = largest_change(fewer, gaps)
    assert message.startswith("seed 2 added; largest change: loss seed 0 epoch 2: ") and message.endswith("(+0.5)")
