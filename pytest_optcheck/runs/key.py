"""A training run's result and its JSON form (used by the cache, the CLI and baselines)."""

from __future__ import annotations

import hashlib
import json
import sys
import sysconfig
from pathlib import Path
from typing import Any

from pytest_optcheck.engine.result import FORMAT
from pytest_optcheck.imports import find_attribute
from pytest_optcheck.spec.suite import OptimizerSpec, Profile, Suite

# The harness's own package: code under it is what the harness tests, not the user's.
HARNESS = __package__.split(".")[0] + "."


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def optimizer_identity(spec: OptimizerSpec) -> dict[str, Any]:
    """An optimizer as the suite states it: its class path and arguments.

    This is what identifies a baseline. The implementation is not part of it: a
    changed optimizer is compared with its baseline, never declared a new experiment.
    """
    return {"class": spec.class_path, "kwargs": spec.kwargs}


def user_code_digest(import_paths: list[str]) -> str:
    """A digest of every file of the user's own code that a run can execute.

    For each "module:name" (a custom optimizer class, a model factory, a data
    loader): its module, the modules of its base classes, and every Python file of
    the top-level package they belong to, wherever that code is not an installed
    distribution (those are covered by their versions in the environment). A helper
    function edited in the same package changes the digest, so the run cache never
    serves a run of code that has changed since.
    """
    import inspect

    files: set[Path] = set()
    for import_path in import_paths:
        module_name = import_path.partition(":")[0]
        target = find_attribute(import_path)
        if target is None:
            continue  # the run reports the error before anything trains
        owners = inspect.getmro(target) if inspect.isclass(target) else (target,)
        for owner in owners:
            files |= _package_files(getattr(owner, "__module__", module_name) or module_name)
    hasher = hashlib.sha256()
    for path in sorted(files):
        hasher.update(str(path.name).encode() + b"\0")
        try:
            hasher.update(path.read_bytes())
        except OSError:
            hasher.update(b"unreadable")
    return hasher.hexdigest()


def _package_files(module_name: str) -> set[Path]:
    """The module's file and every .py file of its top-level package, unless installed."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if path is None or _installed(Path(path)):
        return set()
    files = {Path(path).resolve()}
    top = sys.modules.get(module_name.split(".")[0])
    top_file = getattr(top, "__file__", None)
    if top_file and Path(top_file).name == "__init__.py":
        files.update(p.resolve() for p in Path(top_file).parent.rglob("*.py"))
    return files


def user_code_paths(suite: Suite, optimizer: str) -> list[str]:
    """The project's own code a run of this optimizer calls: its class, the model factory, the data loader."""
    spec = suite.optimizer(optimizer)
    paths = [spec.class_path] if spec.is_custom else []
    # The harness's own problems (pytest_optcheck.problems) are not the user's code: like the
    # built-in MLP, they are identified by the suite's statement, and editing the harness
    # must not retrain every run of a suite that uses them.
    if suite.model.factory is not None and not suite.model.factory.startswith(HARNESS):
        paths.append(suite.model.factory)
    if ":" in suite.data.source:
        paths.append(suite.data.source)
    return paths


def _installed(path: Path) -> bool:
    parts = set(path.resolve().parts)
    return "site-packages" in parts or "dist-packages" in parts or path.resolve().is_relative_to(
        Path(sysconfig.get_paths()["stdlib"]).resolve())


def spec_identity(suite: Suite, optimizer: str, profile: Profile) -> dict[str, Any]:
    """Everything from the suite that changes one optimizer's runs on a profile (not the seed)."""
    identity = {
        "optimizer": optimizer_identity(suite.optimizer(optimizer)),
        "model": suite.model.identity(),
        "training": suite.training.__dict__,
        "train_samples": profile.train_samples,
        "epochs": profile.epochs,
    }
    if suite.data.identity() is not None:  # the article's data keeps the identities it always had
        identity["data"] = suite.data.identity()
    return identity


def spec_hash(suite: Suite, optimizer: str, profile: Profile) -> str:
    return digest(spec_identity(suite, optimizer, profile))


def run_key(suite: Suite, optimizer: str, seed: int, profile: Profile, data_checksum: str,
            environment: dict[str, str], nudge: int | None = None) -> str:
    """The cache key: change anything that can change the result and the run trains again."""
    identity = {
        "spec": spec_identity(suite, optimizer, profile),
        "seed": seed,
        "data": data_checksum,
        "environment": environment,
        "format": FORMAT,
    }
    user_code = user_code_paths(suite, optimizer)
    if user_code:  # built-in optimizers, model and data: covered by the installed versions alone
        identity["user_code"] = user_code_digest(user_code)
    if nudge is not None:  # plain runs keep the keys they always had
        identity["nudge"] = nudge
    return digest(identity)
