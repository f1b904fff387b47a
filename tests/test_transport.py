"""plugin/transport.py: what a pytest-xdist worker found reaches the controller whole."""

import dataclasses
import json

from baseline_data import ROOT, SMOKE
from pytest_optcheck.baselines.compare import CurveStatus
from pytest_optcheck.baselines.records import JudgedClaim, load_claims_baseline, load_optimizer_baseline
from pytest_optcheck.baselines.selection import load_selection_baseline
from pytest_optcheck.plugin import transport
from pytest_optcheck.plugin.findings import BaselineWrite, ClaimChange, Findings, ItemKey


def test_findings_cross_as_json_into_the_same_records():
    """A non-finite test loss, a claim's change and a write of each kind included."""
    measured = dataclasses.replace(load_optimizer_baseline(SMOKE / "adam.json"), path=None)
    seeds = dict(measured.seeds)
    seeds[0] = dataclasses.replace(seeds[0], test={"loss": None, "accuracy": 0.1})
    measured = dataclasses.replace(measured, seeds=seeds)
    claims = load_claims_baseline(SMOKE / "claims.json")
    claim_id, record = next(iter(claims.claims.items()))
    header = dataclasses.replace(claims, path=None, claims={})

    found = Findings()
    adam, claim = ItemKey("article", "smoke", "adam"), ItemKey("article", "smoke", claim_id)
    found.measure(adam, measured)
    found.judged(claim, JudgedClaim(record, "holds", "", "passed"))
    found.claim_changed(claim, ClaimChange("changed verdict since the baseline", claim_id))
    found.curve(adam, CurveStatus.WITHIN_NOISE)
    found.other_environment("keras: 3.6.0 -> 3.13.2", "a.json", adam)
    found.queue(BaselineWrite("a.json", measured))
    found.queue(BaselineWrite("claims.json", record, header, claim_id))
    selection = dataclasses.replace(load_selection_baseline(ROOT / "baselines/article/tuned/selection.json"), path=None)
    found.queue(BaselineWrite("selection.json", selection))

    assert transport.absorb(json.loads(json.dumps(transport.export(found)))) == found


def test_a_suite_name_with_a_slash_in_its_parts_keeps_its_parts():
    found = Findings()
    found.curve(ItemKey("a/b", "ci", "sgd"), CurveStatus.CHANGED)
    assert transport.absorb(transport.export(found)).curves == {ItemKey("a/b", "ci", "sgd"): CurveStatus.CHANGED}
