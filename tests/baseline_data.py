"""Hand-made baseline data (two optimizers, two seeds, three epochs, one claim) for the report tests."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from pytest_optcheck.spec.claims import ClaimSpec
from pytest_optcheck.judge.claims import judge
from pytest_optcheck.cli.main import main
from pytest_optcheck.baselines.records import parse_claim_record, parse_optimizer_baseline
from pytest_optcheck.baselines.store import verdict_record
from pytest_optcheck.render.report import ReportInput

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
SMOKE = ROOT / "baselines" / "article" / "smoke"

SUITE = """\
[suite]
name = "pair"
description = "Two optimizers, for the report's tests."
default_profile = "small"
target_loss = 0.5

[profiles.small]
train_samples = 600
epochs = 3
seeds = [0, 1]

[optimizers.sgd]
label = "SGD"
class = "SGD"

[optimizers.adam]
label = "Adam"
class = "Adam"
published = { train_accuracy = 0.929, val_accuracy = 0.8973, fit_seconds = 126.8 }
described = { speed = "Fast", quality = "Acceptable" }

[[claims]]
id = "adam-beats-sgd"
quote = "Adam ends better than SGD."
kind = "ordering"
better = "adam"
worse = "sgd"
"""

ENVIRONMENT = {
    "python": "3.11.7", "tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6",
    "platform": "Linux-x86_64", "cpu": "Test CPU", "onednn": "default", "implementation": "cpython",
}


def run_entry(loss, accuracy, val_loss, val_accuracy, test_accuracy, seconds=(1.5, 0.25, 0.5), diverged=None):
    """One seed of an optimizer baseline, in the file format."""
    return {
        "history": {"loss": list(loss), "accuracy": list(accuracy), "val_loss": list(val_loss),
                    "val_accuracy": list(val_accuracy)},
        "test": None if test_accuracy is None else {"loss": 0.6, "accuracy": test_accuracy},
        "epoch_seconds": list(seconds),
        "diverged_at_epoch": diverged,
    }


def optimizer_file(name, label, seeds, suite="pair", profile="small", environment=ENVIRONMENT):
    """An optimizer baseline dict, as `baselines/<suite>/<profile>/<name>.json` holds it."""
    return {
        "format": 1, "suite": suite, "profile": profile, "optimizer": name, "label": label,
        "spec_hash": f"hash-{name}", "epochs": 3, "train_samples": 600, "environment": dict(environment),
        "seeds": seeds,
    }


def sgd_file(**kwargs):
    return optimizer_file("sgd", "SGD", {
        "0": run_entry([2.0, 1.5, 1.25], [0.25, 0.5, 0.625], [1.75, 1.5, 1.25], [0.375, 0.5, 0.5], 0.5),
        "1": run_entry([2.0, 1.75, 1.5], [0.25, 0.375, 0.5], [1.75, 1.5, 1.5], [0.375, 0.5, 0.625], 0.5,
                       seconds=(1.75, 0.25, 0.75)),
    }, **kwargs)


def adam_file(**kwargs):
    return optimizer_file("adam", "Adam", {
        "0": run_entry([1.0, 0.5, 0.375], [0.625, 0.75, 0.875], [0.75, 0.5, 0.5], [0.75, 0.75, 0.875], 0.8125),
        "1": run_entry([1.0, 0.75, 0.5], [0.5, 0.75, 0.75], [0.75, 0.75, 0.5], [0.625, 0.75, 0.75], 0.75),
    }, **kwargs)


def claim_record(verdict=None, margins=(0.875, 1.0)):
    """A claim's record as the harness writes it; `verdict` overrides the one its evidence gives."""
    seeds = list(range(len(margins)))
    runs = {"adam": {s: _run(1.0 - m) for s, m in zip(seeds, margins)}, "sgd": {s: _run(1.0) for s in seeds}}
    spec = ClaimSpec("adam-beats-sgd", "Adam ends better than SGD.", "", "ordering", ("adam",), ("sgd",))
    record = verdict_record(judge(spec, runs, seeds, 1), spec.quote, "hash-claim").to_json()
    return record if verdict is None else {**record, "verdict": verdict}


def _run(final_loss):
    return SimpleNamespace(history={"loss": [final_loss]}, diverged_at=None)


def claims_file(records, suite="pair", profile="small", environment=ENVIRONMENT):
    return {"format": 1, "suite": suite, "profile": profile, "environment": dict(environment), "claims": records}


def report_input(suite, **changes) -> ReportInput:
    """Measured data beside baselines: SGD identical, Adam moved, the claim's verdict unchanged."""
    moved = adam_file()
    moved["seeds"]["1"]["history"]["val_accuracy"][-1] = 0.875
    fields = {
        "suite": suite, "suite_name": "pair", "profile_name": "small", "seeds": [0, 1],
        "optimizers": {"sgd": sgd_file(), "adam": moved},
        "claims": {"adam-beats-sgd": claim_record()},
        "baseline_optimizers": {"sgd": sgd_file(), "adam": adam_file()},
        "baseline_claims": {"adam-beats-sgd": claim_record()},
        "generated": "2024-01-01 12:00", "machine": "test machine (Test CPU)",
    }
    fields.update(changes)
    return ReportInput(**typed(fields))


def typed(fields: dict) -> dict:
    """The report's inputs as the records the harness passes, from the file-format dicts above."""
    out = dict(fields)
    for key in ("optimizers", "baseline_optimizers"):
        if out.get(key) is not None:
            out[key] = {n: parse_optimizer_baseline(None, d, where=n) for n, d in out[key].items()}
    for key in ("claims", "baseline_claims"):
        if out.get(key) is not None:
            out[key] = {c: parse_claim_record(d, c) for c, d in out[key].items()}
    return out


def write_baselines(root: Path, suite_name="pair", profile="small", optimizers=None, claims=None) -> Path:
    folder = root / "baselines" / suite_name / profile
    folder.mkdir(parents=True)
    for name, data in (optimizers or {"sgd": sgd_file(), "adam": adam_file()}).items():
        (folder / f"{name}.json").write_text(json.dumps(data, indent=2, sort_keys=True))
    records = claims if claims is not None else {"adam-beats-sgd": claim_record()}
    (folder / "claims.json").write_text(json.dumps(claims_file(records), indent=2, sort_keys=True))
    return folder


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err
