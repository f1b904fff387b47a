"""Reading suite files (TOML) into plain, validated dataclasses.

A suite describes one experiment: the model, how it is trained, the optimizers
compared, the profiles (how much data, how many epochs, which seeds) and the
claims made about the outcome. Loading never imports TensorFlow; resolving the
optimizer classes (which does) is a separate step, `check_optimizer`.
"""

from __future__ import annotations

import dataclasses
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_optcheck.environment import BACKENDS
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.metrics import higher_is_better
from pytest_optcheck.spec.claims import ClaimSpec, parse_claim
from pytest_optcheck.spec.expectations import (
    Expected,
    parse_profile_expectation,
    resolve,
)
from pytest_optcheck.spec.tuning import (
    Tune,
    at_multipliers,
    check_tunable,
    seed_list_problem,
    parse_optimizer_tune,
    parse_profile_tune,
)
from pytest_optcheck.values import kind_problem

# The data sources the harness ships (engine/sources.py loads them); others are 'package.module:function'.
BUILT_IN = ("fashion_mnist", "mnist", "noisy_quadratic")


@dataclass(frozen=True)
class ModelSpec:
    """The built-in multilayer perceptron (Flatten, Dense hidden layers, Dense output),
    or the project's own `factory` ("package.module:function", called with `kwargs`)."""

    input_shape: tuple[int, ...] = (28, 28)
    hidden_units: tuple[int, ...] = (300, 100, 50, 50, 50)
    activation: str = "relu"
    kernel_initializer: str = "he_normal"
    output_units: int = 10
    output_activation: str = "softmax"
    factory: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """What identifies the model in a baseline and a run key (the MLP's fields, or the factory's)."""
        if self.factory is None:
            return {k: v for k, v in self.__dict__.items() if k not in ("factory", "kwargs")}
        return {"factory": self.factory, "kwargs": self.kwargs}


@dataclass(frozen=True)
class DataSpec:
    """`[data]`: where the examples come from (see sources.py)."""

    source: str = "fashion_mnist"
    kwargs: dict[str, Any] = field(default_factory=dict)
    dir: Path | None = None  # a folder of IDX files, relative to the suite file

    def identity(self) -> dict[str, Any] | None:
        """None for the default (Fashion-MNIST), so the article's baselines keep their hashes."""
        if self.source == "fashion_mnist" and not self.kwargs:
            return None
        return {"source": self.source, "kwargs": self.kwargs}


@dataclass(frozen=True)
class TrainingSpec:
    """The arguments of `compile` and `fit` that every optimizer shares."""

    loss: str = "sparse_categorical_crossentropy"
    metrics: tuple[str, ...] = ("accuracy",)
    batch_size: int = 32
    validation_split: float = 0.1
    shuffle: bool = True

    @property
    def epoch_metrics(self) -> tuple[str, ...]:
        """The per-epoch values a run records, in Keras's log names: loss, metrics, then their val_ forms."""
        train = ("loss", *self.metrics)
        return (*train, *(f"val_{m}" for m in train))


@dataclass(frozen=True)
class Tolerance:
    """How far a measured value may sit from its baseline: |m - b| <= abs + rel * |b|."""

    abs: float = 0.0
    rel: float = 0.0

    def allows(self, baseline: float, measured: float) -> bool:
        return abs(measured - baseline) <= self.abs + self.rel * abs(baseline)

    def describe(self, baseline: float) -> str:
        return f"{self.abs + self.rel * abs(baseline):.3g}"


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of the suite: a Keras class (or `module:Class`) and its arguments."""

    name: str
    label: str
    class_path: str
    kwargs: dict[str, Any]
    # Fixed tolerances: used when the suite states them (`explicit_tolerances`), or when a
    # baseline has no noise envelope; otherwise curves are checked against the measured noise.
    tolerances: dict[str, Tolerance]
    explicit_tolerances: bool = False
    published: dict[str, float] = field(default_factory=dict)  # the source's own figures
    described: dict[str, str] = field(default_factory=dict)  # the source's words (speed, quality)
    tuned: bool = True  # on a tuned profile; `tune = false` keeps the optimizer at its own rate
    grid: tuple[float, ...] | None = None  # its own multipliers; None: the profile's

    @property
    def is_custom(self) -> bool:
        return ":" in self.class_path


@dataclass(frozen=True)
class Profile:
    """How much to train: the first `train_samples` images (before the validation split)."""

    name: str
    train_samples: int | None
    epochs: int
    seeds: tuple[int, ...]  # every item trains these; curve baselines hold them
    # Nudged reruns per seed when a baseline is written: they measure the noise envelope.
    noise_reruns: int = 4
    # Seeds on demand: an undecided claim adds `seed_group` seeds at a time (more where that
    # many could not decide it, judge/evidence.py), up to `max_seeds`.
    max_seeds: int = 0  # 0: the seeds above and no more
    seed_group: int = 3
    expect: Expected | None = None  # what every claim is expected to do here, unless a claim says
    tune: Tune | None = None  # a tuned profile: each optimizer judged at its best point of a grid

    def seed_pool(self) -> tuple[int, ...]:
        """The seeds in the order claims take them: the profile's own, then the next integers after the last."""
        total = max(len(self.seeds), self.max_seeds)
        extra = [s for s in range(max(self.seeds) + 1, max(self.seeds) + 1 + total) if s not in self.seeds]
        return self.seeds + tuple(extra[: total - len(self.seeds)])


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    description: str
    default_profile: str
    model: ModelSpec
    training: TrainingSpec
    data: DataSpec
    optimizers: dict[str, OptimizerSpec]
    profiles: dict[str, Profile]
    claims: tuple[ClaimSpec, ...]
    target_loss: float = 0.5  # the report's "epochs to reach" column
    backend: str | None = None  # the Keras backend the suite asks for; None: the session's

    def tuned_optimizers(self, profile: Profile) -> dict[str, tuple[float, ...]]:
        """The optimizers a profile tunes, each with its grid of multipliers (none unless the profile tunes)."""
        if profile.tune is None:
            return {}
        return {name: profile.tune.grid_for(spec.grid) for name, spec in self.optimizers.items() if spec.tuned}

    def at_multipliers(self, chosen: dict[str, float]) -> Suite:
        """The suite with each named optimizer's learning rate multiplied by its chosen point."""
        return dataclasses.replace(self, optimizers=at_multipliers(self.optimizers, chosen))

    def optimizer(self, name: str) -> OptimizerSpec:
        try:
            return self.optimizers[name]
        except KeyError:
            raise OptcheckError(
                f"{self.path}: no optimizer {name!r}; the suite has: {', '.join(self.optimizers)}"
            ) from None

    def expectation(self, claim: ClaimSpec, profile: Profile, backend: str) -> Expected:
        """What the suite expects `claim` to do on `profile`, trained on `backend` (see spec/expectations.py)."""
        return resolve(claim.expectations, profile.name, profile.expect, backend)

    def profile(self, name: str | None) -> Profile:
        name = name or self.default_profile
        try:
            return self.profiles[name]
        except KeyError:
            raise OptcheckError(
                f"{self.path}: no profile {name!r}; choose one of: {', '.join(self.profiles)}"
            ) from None


class _Table:
    """A TOML table that remembers where it came from, for error messages."""

    def __init__(self, data: Any, where: str, path: Path):
        if not isinstance(data, dict):
            raise OptcheckError(f"{path}: [{where}] must be a table, not {type(data).__name__}")
        self.data = data
        self.where = where
        self.path = path
        self.used: set[str] = set()

    def fail(self, key: str, message: str) -> OptcheckError:
        prefix = f"{self.where}." if self.where else ""
        return OptcheckError(f"{self.path}: {prefix}{key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, check=None) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "missing; this key is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML integers are fine where a float is expected.
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        problem = kind_problem(value, kinds)
        if problem:
            raise self.fail(key, problem)
        if check is not None:
            problem = check(value)
            if problem:
                raise self.fail(key, problem)
        return value

    def table(self, key: str) -> _Table:
        value = self.get(key, dict, {})
        return _Table(value, f"{self.where}.{key}" if self.where else key, self.path)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], f"unknown key; expected one of: {', '.join(sorted(self.used))}")


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be positive"


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; every error names the file and the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OptcheckError(f"{path}: suite file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise OptcheckError(f"{path}: invalid TOML: {exc}") from None
    root = _Table(raw, "", path)

    head = root.table("suite")
    name = head.get("name", str, path.stem)
    description = head.get("description", str, "")
    default_profile = head.get("default_profile", str, "smoke")
    target_loss = head.get("target_loss", float, 0.5, check=_positive)
    backend = head.get("backend", str, None, check=lambda v: None if v in BACKENDS else
                       f"unknown backend; the harness trains on {' or '.join(BACKENDS)}")
    head.reject_unknown()

    model = _model(root.table("model"))
    training = _training(root.table("training"))
    data = _data(root.table("data"), path)
    explicit = bool(root.table("tolerances").data)
    tolerances = _tolerances(root.table("tolerances"), default_tolerances(training.epoch_metrics))
    optimizers = _optimizers(root.table("optimizers"), tolerances, explicit)
    profiles = _profiles(root.table("profiles"), training.epoch_metrics)
    _check_tunable(path, optimizers, profiles)
    if default_profile not in profiles:
        raise head.fail("default_profile", f"no profile {default_profile!r}; define [profiles.{default_profile}]")
    claims = _claims(root, optimizers, training.epoch_metrics, tuple(profiles))
    root.reject_unknown()
    return Suite(name, path, description, default_profile, model, training, data, optimizers, profiles, claims,
                 target_loss, backend)


def _model(t: _Table) -> ModelSpec:
    d = ModelSpec()
    if "factory" in t.data:
        factory = t.get("factory", str, check=_import_path)
        kwargs = dict(t.get("kwargs", dict, {}))
        mlp = sorted(set(t.data) - {"factory", "kwargs"})
        if mlp:
            raise t.fail(mlp[0], "describes the built-in MLP, which a factory replaces; remove it, "
                                 "or pass it to the factory in kwargs")
        return ModelSpec(factory=factory, kwargs=kwargs)
    spec = ModelSpec(
        input_shape=tuple(t.get("input_shape", list, list(d.input_shape), check=_shape)),
        hidden_units=tuple(t.get("hidden_units", list, list(d.hidden_units), check=_shape)),
        activation=t.get("activation", str, d.activation),
        kernel_initializer=t.get("kernel_initializer", str, d.kernel_initializer),
        output_units=t.get("output_units", int, d.output_units, check=_positive),
        output_activation=t.get("output_activation", str, d.output_activation),
    )
    t.reject_unknown()
    return spec


def _import_path(value: str) -> str | None:
    module, _, attr = value.partition(":")
    if not module or not attr.isidentifier():
        return 'must be "package.module:function"'
    return None


def _data(t: _Table, path: Path) -> DataSpec:

    source = t.get("source", str, "fashion_mnist",
                   check=lambda v: None if v in BUILT_IN or _import_path(v) is None
                   else f"unknown source; use one of {', '.join(BUILT_IN)}, or \"package.module:function\"")
    kwargs = dict(t.get("kwargs", dict, {}))
    if kwargs and source in ("fashion_mnist", "mnist"):
        raise t.fail("kwargs", f"{source} takes no arguments")
    folder = t.get("dir", str, None)
    if folder is not None and source not in ("fashion_mnist", "mnist"):
        raise t.fail("dir", "is a folder of IDX image files, for fashion_mnist and mnist only")
    t.reject_unknown()
    return DataSpec(source, kwargs, None if folder is None else (path.parent / folder))


def _shape(value: list) -> str | None:
    if not value or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        return "must be a non-empty list of positive integers"
    return None


def _training(t: _Table) -> TrainingSpec:
    d = TrainingSpec()
    metrics = t.get("metrics", list, list(d.metrics), check=_metric_names)
    spec = TrainingSpec(
        loss=t.get("loss", str, d.loss),
        metrics=tuple(metrics),
        batch_size=t.get("batch_size", int, d.batch_size, check=_positive),
        validation_split=t.get(
            "validation_split", float, d.validation_split,
            check=lambda v: None if 0 < v < 1 else "must be between 0 and 1 (exclusive)",
        ),
        shuffle=t.get("shuffle", bool, d.shuffle),
    )
    t.reject_unknown()
    return spec


def _metric_names(value: list) -> str | None:
    if not all(isinstance(v, str) and v and v.isidentifier() for v in value):
        return 'must be a list of Keras metric names, e.g. ["accuracy"] or ["mae"] ([] for the loss alone)'
    if "loss" in value or any(v.startswith("val_") for v in value):
        return "the loss and the val_ forms are recorded anyway; list the other metrics"
    if len(set(value)) != len(value):
        return "has duplicates"
    return None


def default_tolerances(metrics: tuple[str, ...]) -> dict[str, Tolerance]:
    """Fixed tolerances, for suites that ask for them: losses and errors relative, scores absolute."""
    return {m: Tolerance(abs=0.01) if higher_is_better(m) else Tolerance(abs=0.01, rel=0.02) for m in metrics}


def _tolerances(t: _Table, inherited: dict[str, Tolerance]) -> dict[str, Tolerance]:
    result = dict(inherited)
    for metric in list(t.data):
        if metric not in inherited:
            raise t.fail(metric, f"unknown metric; the suite records: {', '.join(inherited)}")
        sub = t.table(metric)
        base = inherited[metric]
        nonneg = lambda v: None if v >= 0 else "must be zero or more"  # noqa: E731
        result[metric] = Tolerance(sub.get("abs", float, base.abs, check=nonneg),
                                   sub.get("rel", float, base.rel, check=nonneg))
        sub.reject_unknown()
    return result


def _optimizers(t: _Table, tolerances: dict[str, Tolerance], explicit: bool) -> dict[str, OptimizerSpec]:
    if not t.data:
        raise OptcheckError(f"{t.path}: the suite has no optimizers; add at least one [optimizers.NAME] table")
    result = {}
    for name in list(t.data):
        o = t.table(name)
        tuned, grid = parse_optimizer_tune(o)
        published = o.table("published")
        described = o.table("described")
        result[name] = OptimizerSpec(
            name=name,
            label=o.get("label", str, name),
            class_path=o.get("class", str),
            kwargs=dict(o.get("kwargs", dict, {})),
            tolerances=_tolerances(o.table("tolerances"), tolerances),
            explicit_tolerances=explicit or bool(o.table("tolerances").data),
            published={k: published.get(k, float) for k in list(published.data)},
            described={k: described.get(k, str) for k in list(described.data)},
            tuned=tuned,
            grid=grid,
        )
        o.reject_unknown()
    return result


def _profiles(t: _Table, metrics: tuple[str, ...]) -> dict[str, Profile]:
    if not t.data:
        raise OptcheckError(f"{t.path}: the suite has no profiles; add at least one [profiles.NAME] table")
    result = {}
    for name in list(t.data):
        p = t.table(name)
        profile = Profile(
            name=name,
            train_samples=p.get("train_samples", int, None, check=_positive),
            epochs=p.get("epochs", int, check=_positive),
            noise_reruns=p.get("noise_reruns", int, 4,
                               check=lambda v: None if v >= 2 else "must be 2 or more (nudged reruns per seed)"),
            expect=parse_profile_expectation(p),
            **_seeds(p),
        )
        # The selection seeds are checked against every seed a claim may take here.
        tune = parse_profile_tune(p, name, metrics, profile.epochs, profile.seed_pool())
        result[name] = dataclasses.replace(profile, tune=tune)
        p.reject_unknown()
    return result


def _check_tunable(path: Path, optimizers: dict[str, OptimizerSpec], profiles: dict[str, Profile]) -> None:
    for profile in profiles.values():
        if profile.tune is not None:
            for name, spec in optimizers.items():
                if spec.tuned:
                    check_tunable(path, name, spec.kwargs, profile.name)


def _seeds(p: _Table) -> dict[str, Any]:
    """`seeds = [0, 1, 2]` (these and no more) or `seeds = { first = 3, max = 30, start = 0, group = 3 }`."""
    if not isinstance(p.data.get("seeds"), dict):
        return {"seeds": tuple(p.get("seeds", list, check=seed_list_problem))}
    budget = p.table("seeds")
    start = budget.get("start", int, 0, check=lambda v: None if v >= 0 else "must be zero or more")
    first = budget.get("first", int, check=_positive)
    most = budget.get("max", int, first, check=lambda v: None if v >= first else f"must be at least first ({first})")
    group = budget.get("group", int, first, check=_positive)
    budget.reject_unknown()
    return {"seeds": tuple(range(start, start + first)), "max_seeds": most, "seed_group": group}


def _claims(root: _Table, optimizers: dict, metrics: tuple[str, ...], profiles: tuple[str, ...]) -> tuple[ClaimSpec, ...]:
    raw = root.get("claims", list, [])
    claims: list[ClaimSpec] = []
    seen: set[str] = set()
    for index, data in enumerate(raw):
        t = _Table(data, f"claims[{index}]", root.path)
        claim = parse_claim(t, set(optimizers), metrics, profiles)
        if claim.id in seen:
            raise t.fail("id", f"duplicate claim id {claim.id!r}; ids must be unique")
        seen.add(claim.id)
        claims.append(claim)
    return tuple(claims)


def importable_from(root: Path) -> None:
    """Let suites name the project's own modules (`mypackage.optim:MyOptimizer`) with no setup.

    The project root (pytest's rootdir; the current folder for `optcheck`) goes first
    on sys.path, as `python -m` does for the current folder, unless it is there already.
    """
    folder = str(Path(root).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)


def replace_profile(profile: Profile, *, epochs: int | None = None, train_samples: int | None = None) -> Profile:
    """The profile with command-line overrides applied."""
    changes: dict[str, Any] = {}
    if epochs is not None:
        changes["epochs"] = epochs
    if train_samples is not None:
        changes["train_samples"] = train_samples
    return dataclasses.replace(profile, **changes)
