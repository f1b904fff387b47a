"""A stored baseline folder read from disk, as the report's input.

`optcheck report` and `optcheck diff` read one `baselines/<suite>/<profile>/` folder
(and the suite file, where found) here; rendering it is then pure (report.py).
"""

from __future__ import annotations

import datetime
from pathlib import Path

from pytest_optcheck.baselines import store as baselines
from pytest_optcheck.baselines.records import OptimizerBaseline, load_claims_baseline, load_optimizer_baseline
from pytest_optcheck.baselines.selection import load_selection_baseline
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.render.report import ReportInput, order_names
from pytest_optcheck.spec.suite import Suite, load_suite


def load_baseline_dir(path: str | Path, suite_path: str | Path | None = None, *, find_suite: bool = True,
                      generated: str | None = None, machine: str = "") -> ReportInput:
    """The stored baselines of one `baselines/<suite>/<profile>/` folder, ready to render.

    The suite file adds the target loss, the published figures and the claims'
    optimizers; without it (none given, and `suites/<suite>.toml` not found) the
    report shows what the files hold.
    """
    folder = Path(path)
    files = baseline_files(folder)
    optimizers: dict[str, OptimizerBaseline] = {}
    claims_file = None
    selection = None
    for file in files:
        if file.name == baselines.CLAIMS_FILE:
            claims_file = load_claims_baseline(file)
        elif file.name == baselines.SELECTION_FILE:
            selection = load_selection_baseline(file)
        else:
            optimizers[file.stem] = load_optimizer_baseline(file)
    first = claims_file or next(iter(optimizers.values()))
    suite_name = first.suite or folder.parent.name
    suite = find_suite_file(folder, suite_name, suite_path) if (find_suite or suite_path) else None
    seeds = sorted({s for o in optimizers.values() for s in o.seeds})
    return ReportInput(
        suite=suite,
        suite_name=suite_name,
        profile_name=first.profile or folder.name,
        seeds=seeds,
        optimizers={n: optimizers[n] for n in order_names(optimizers, suite)},
        claims=dict(claims_file.claims) if claims_file else {},
        generated=datetime.date.today().isoformat() if generated is None else generated,
        machine=machine,
        backend=first.environment.get("backend", "tensorflow"),  # recorded off TensorFlow
        selection=selection,
    )


def baseline_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise OptcheckError(f"{folder}: no such folder; give a baseline folder such as baselines/article/smoke "
                            "(baselines/<suite>/<profile>)")
    if not folder.is_dir():
        raise OptcheckError(f"{folder}: not a folder; give a baseline folder such as baselines/article/smoke")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise OptcheckError(f"{folder}: no baseline files (*.json) in this folder; write them with "
                            "pytest --optcheck --optcheck-update-all, or give a folder baselines/<suite>/<profile>")
    return files


def find_suite_file(folder: Path, suite_name: str, suite_path: str | Path | None) -> Suite | None:
    """The suite given, else `suites/<suite>.toml` here or beside the baseline root, else None."""
    if suite_path is not None:
        suite = load_suite(suite_path)
        if suite.name != suite_name:
            raise OptcheckError(f"{suite_path}: this suite is named {suite.name!r}, but the baselines in {folder} "
                                f"belong to suite {suite_name!r}; pass that suite's file with --suite")
        return suite
    candidates = [Path("suites") / f"{suite_name}.toml"]
    if len(folder.resolve().parents) > 2:
        candidates.append(folder.resolve().parents[2] / "suites" / f"{suite_name}.toml")
    for candidate in candidates:
        if candidate.is_file():
            suite = load_suite(candidate)
            return suite if suite.name == suite_name else None
    return None
