"""plugin/writes.py: queued baselines written at the session's end, unchanged files left alone."""

import dataclasses
import json
import threading
from pathlib import Path

from baseline_data import SMOKE
from pytest_optcheck.baselines.records import load_claims_baseline, load_optimizer_baseline
from pytest_optcheck.plugin.findings import BaselineWrite
from pytest_optcheck.plugin.writes import write_updates


def test_two_refreshes_at_once_keep_every_claim_record(tmp_path):
    path = tmp_path / "claims.json"
    stored = load_claims_baseline(Path(__file__).parents[1] / "baselines/article/ci/claims.json")
    header = dataclasses.replace(stored, path=None, claims={})
    record = next(iter(stored.claims.values()))

    def refresh(claim_ids):
        for _ in range(20):
            write_updates([BaselineWrite(str(path), record, header, claim_id) for claim_id in claim_ids], [])

    threads = [threading.Thread(target=refresh, args=(ids,)) for ids in (["a", "b"], ["c", "d"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(json.loads(path.read_text())["claims"]) == ["a", "b", "c", "d"]


def test_an_unchanged_baseline_is_not_rewritten_and_a_changed_one_says_how_it_moved(tmp_path):
    path = tmp_path / "adam.json"
    path.write_text((SMOKE / "adam.json").read_text())
    stamp = path.stat().st_mtime_ns
    stored = dataclasses.replace(load_optimizer_baseline(path), path=None)
    changes = []
    write_updates([BaselineWrite(str(path), stored)], changes)
    assert changes == [f"{path}: unchanged (curves and noise envelope bit-identical), not rewritten"]
    assert path.stat().st_mtime_ns == stamp

    seeds = dict(stored.seeds)
    history = {**seeds[0].history, "loss": [seeds[0].history["loss"][0] + 0.5, *seeds[0].history["loss"][1:]]}
    seeds[0] = dataclasses.replace(seeds[0], history=history)
    changes = []
    write_updates([BaselineWrite(str(path), dataclasses.replace(stored, seeds=seeds))], changes)
    assert changes[0].startswith(f"{path}: largest change: loss seed 0 epoch 1")
    assert json.loads(path.read_text())["seeds"]["0"]["history"]["loss"][0] == history["loss"][0]
