"""A stand-in for training: learning curves from a formula, in microseconds, with no model.

The harness's own flows (options, refreshes, messages, verdicts, xdist, reports) do not
depend on what a network learns, only on what a run gives back. Keras is still imported
where a session checks an optimizer before training (`names.check_before_training`), so
a misspelt class or a refused argument fails as it does for real. With OPTCHECK_STAND_IN=1
the runner trains every run here instead of in Keras: a `RunResult` of the same shape,
deterministic in everything a real run's numbers depend on, and moved by what moves a
real run:

- another seed, another optimizer, model, profile, data or environment: other curves;
- a larger step (learning rate, momentum) learns faster up to a point, then slower, and
  far beyond it the loss is not finite at the first epoch (a diverged run, as Keras's is);
- a nudge (`nudge.py`) moves the curves a little, more with every epoch, as rounding does;
- any other hyperparameter (epsilon, say) moves them slightly.

The runs say what they are: their environment records `training = stand-in`, so they are
cached under keys of their own and never compare bit for bit with a real run's baseline.
tests/test_stand_in.py checks the stand-in against the engine where the flows rely on it.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pytest_optcheck.engine.dataset import Dataset
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.engine.training import Halting, epoch_steps, stop_if_halted, training_arrays
from pytest_optcheck.environment import environment
from pytest_optcheck.metrics import higher_is_better
from pytest_optcheck.spec.suite import OptimizerSpec, Profile, Suite

# How much faster than SGD at the same learning rate each Keras class steps, about as on
# the article's MLP; a class not listed (a project's own) steps like Adam.
STEP_SCALE = {"sgd": 1.0, "adagrad": 10.0, "adadelta": 1.0, "ftrl": 5.0}
ADAPTIVE_SCALE = 30.0
BEST_STEP = 0.05  # the step that learns fastest; beyond it learning slows again
DIVERGES_AT = 2.0  # a step this large gives a non-finite loss at the first epoch
START_LOSS, FLOOR_LOSS = 2.3, 0.25  # ln(10): a ten-class softmax at chance
SEED_SPREAD, EPOCH_NOISE, NUDGE_NOISE = 0.05, 0.004, 0.0005


def step_size(spec: OptimizerSpec) -> float:
    """The optimizer's effective step: its learning rate, scaled by its class and its momentum."""
    rate = spec.kwargs.get("learning_rate", 0.001)
    rate = float(rate) if isinstance(rate, int | float) else 0.001  # a schedule: its usual start
    name = spec.class_path.rsplit(":", 1)[-1].rsplit(".", 1)[-1].lower()
    if name == "sgd":
        momentum = float(spec.kwargs.get("momentum", 0.0) or 0.0)
        return rate / max(1.0 - momentum, 1e-3) * (1.1 if spec.kwargs.get("nesterov") else 1.0)
    return rate * STEP_SCALE.get(name, ADAPTIVE_SCALE)


class StandInEngine(Halting):
    """Trains runs from a formula; the same methods as `training.Engine` where the runner uses them."""

    def train(self, suite: Suite, optimizer: str, seed: int, profile: Profile, dataset: Dataset, *, key: str = "",
              nudge: int | None = None, on_epoch: Callable[[int], None] | None = None) -> RunResult:
        x, _ = training_arrays(dataset, profile)  # the same error as a real run for too few images
        spec = suite.optimizer(optimizer)
        env = environment()
        identity = _digest(spec.class_path, spec.kwargs, suite.model.identity(), suite.training.__dict__,
                           profile.epochs, len(x), dataset.checksum, env)
        curves = Curves(step_size(spec), identity, seed, nudge, epoch_steps(len(x), suite.training)[1])
        history: dict[str, list[float]] = {m: [] for m in suite.training.epoch_metrics}
        seconds: list[float] = []
        diverged_at = None
        for epoch in range(1, profile.epochs + 1):
            start = time.perf_counter()
            values = curves.epoch(epoch)
            for metric in history:
                history[metric].append(values[_kind(metric)])
            stop_if_halted(self._halting, epoch)
            seconds.append(round(time.perf_counter() - start, 6))
            if on_epoch is not None:
                on_epoch(epoch)
            if not math.isfinite(values["loss"]):
                diverged_at = epoch
                break
        test = None
        if diverged_at is None:
            final = curves.epoch(profile.epochs, test=True)
            test = {m: final[_kind("val_" + m)] for m in ("loss", *suite.training.metrics)}
        return RunResult(optimizer=optimizer, seed=seed, profile=profile.name, epochs=profile.epochs,
                         train_samples=len(x), history=history, epoch_seconds=seconds, test=test,
                         diverged_at=diverged_at, environment=env, key=key, nudge=nudge)


class Curves:
    """One run's metrics per epoch: an exponential approach to a floor, at a pace set by the step."""

    def __init__(self, step: float, identity: str, seed: int, nudge: int | None, steps: int):
        self.step, self.steps = step, steps
        self.seed_rng = np.random.default_rng([int(identity[:15], 16), seed])
        self.pace = _pace(step) * math.exp(SEED_SPREAD * float(self.seed_rng.standard_normal()))
        self.nudge = None if nudge is None else np.random.default_rng([int(identity[:15], 16), seed, nudge, 1])

    def epoch(self, epoch: int, *, test: bool = False) -> dict[str, float]:
        """The metrics after `epoch` epochs: train, validation (val_), test (with `test`)."""
        if self.step >= DIVERGES_AT:
            return {"loss": math.nan, "accuracy": 0.1, "val_loss": math.nan, "val_accuracy": 0.1}
        noise = EPOCH_NOISE * self.seed_rng.standard_normal(2)
        if self.nudge is not None:  # rounding's effect grows as training goes on
            noise = noise + NUDGE_NOISE * epoch * self.nudge.standard_normal(2)
        if test:
            noise = noise + EPOCH_NOISE
        loss = FLOOR_LOSS + (START_LOSS - FLOOR_LOSS) * math.exp(-self.pace * epoch * self.steps)
        train, val = float(loss + noise[0]), float(loss * 1.08 + noise[1])  # Python's floats, as a real run's
        return {"loss": train, "accuracy": _accuracy(train), "val_loss": val, "val_accuracy": _accuracy(val)}


def _pace(step: float) -> float:
    """Loss decay per step: rises with the step up to BEST_STEP, falls beyond it."""
    return 0.02 * (step / BEST_STEP) / (1.0 + (step / BEST_STEP) ** 2)


def _accuracy(loss: float) -> float:
    return round(min(0.999, max(0.1, 1.0 - 0.36 * loss)), 6)


def _kind(metric: str) -> str:
    """Which of the four curves a metric follows: a loss (lower is better), or a score such as an
    accuracy (higher is better, at most 1), of training or of validation."""
    part = "accuracy" if higher_is_better(metric) else "loss"
    return f"val_{part}" if metric.startswith("val_") else part


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
