"""Training on JAX with each epoch one compiled program, kept from run to run.

Keras's `fit` on JAX calls its jitted train step from Python once per batch, and
every fresh model traces and compiles it again (2 to 3 seconds on 2 cores). Here
the same step, the model's own `train_step` (so any model, loss, metric and
optimizer Keras trains), runs over an epoch's batches inside `lax.scan`: one call
per epoch, compiled once per optimizer, model, training and data shape, and kept
for every later run of it in the process.

Each run still starts as `fit` would start it: a fresh seeded build (nudged, for a
noise rerun), compiled, its state built by Keras's own symbolic build on the same
batches, which draws the same shuffle order from NumPy that `fit` draws; then one
permutation per epoch, as Keras's array adapter draws them. Its state is handed to
the kept program; nothing of another run is in it. The curves are bit-identical to
`fit`'s on the same build (tests/test_compiled.py checks it, seed by seed, alone
and after other runs).

Why runs are not stacked into one vmapped program: measured on the ci profile,
vmapping the seeds made a seed's numbers depend on how many companions it had
(batched matrix products round differently: seed 0's first-epoch loss was 1.69039
alone and 1.69052 among 3), and it was barely faster per run on 2 cores than this.
A run's curve must not depend on what else trained with it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


def available() -> bool:
    """True if this Keras has the JAX trainer parts `fit` below relies on (Keras 3's JAX backend)."""
    try:
        from keras.src.backend.jax.trainer import JAXEpochIterator  # noqa: F401
        from keras.src.trainers.data_adapters.array_slicing import train_validation_split  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Fitted:
    """What `fit` and `evaluate` would have given: per-epoch logs, seconds, the diverged epoch, test scores."""

    history: dict[str, list[float]]
    seconds: list[float]
    diverged_at: int | None
    test: dict[str, float] | None


class EpochProgram:
    """An optimizer's compiled epoch, validation and test passes; built from its first run's model."""

    def __init__(self, template: Any):
        import jax

        self.template = template

        def scanned(step):
            def run(state, batches):
                def body(carry, batch):
                    _, carry = step(carry, batch)
                    return carry, None

                return jax.lax.scan(body, state, batches)[0]
            return run

        # State is donated: the epoch updates it in place, as Keras's own step does.
        self.train_batches = jax.jit(scanned(template.train_step), donate_argnums=0)
        self.train_batch = jax.jit(lambda state, batch: template.train_step(state, batch)[1], donate_argnums=0)
        self.test_batches = jax.jit(scanned(template.test_step))
        self.test_batch = jax.jit(lambda state, batch: template.test_step(state, batch)[1])

    def serves(self, model: Any) -> bool:
        """True if `model`'s state has exactly the template's variables (count, shapes, dtypes)."""
        groups = ("trainable_variables", "non_trainable_variables", "metrics_variables")
        pairs = [(getattr(self.template, g), getattr(model, g)) for g in groups]
        pairs.append((self.template.optimizer.variables, model.optimizer.variables))
        return all(len(a) == len(b) and all(tuple(u.shape) == tuple(v.shape) and u.dtype == v.dtype
                                            for u, v in zip(a, b)) for a, b in pairs)


def fit(program: EpochProgram, model: Any, x: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int,
        validation_split: float, shuffle: bool, test: tuple[np.ndarray, np.ndarray],
        on_epoch: Callable[[int], None] | None = None) -> Fitted:
    """Train the compiled, unbuilt-state `model` as `model.fit` would, on `program`; then evaluate on `test`."""
    from keras.src.backend.jax.trainer import JAXEpochIterator
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    validation = None
    if validation_split:
        (x, y, _), validation = train_validation_split((x, y, None), validation_split=validation_split)
    # Keras's own symbolic build, on the iterator fit makes: it builds the optimizer and
    # metrics and draws from NumPy exactly what fit's build draws.
    model._symbolic_build(iterator=JAXEpochIterator(x=x, y=y, batch_size=batch_size, shuffle=shuffle))
    if not program.serves(model):  # a model unlike the kept one (a factory's, by seed): its own program
        program = EpochProgram(model)
    model.reset_metrics()
    fresh_metrics = [v.value for v in model.metrics_variables]
    weights = [[v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
               [v.value for v in model.optimizer.variables]]

    history: dict[str, list[float]] = {}
    seconds: list[float] = []
    diverged_at = None
    for epoch in range(epochs):
        start = time.perf_counter()
        order = np.random.permutation(len(x)) if shuffle else np.arange(len(x))
        state = program_state(weights, fresh_metrics)
        state = _over_batches(program.train_batches, program.train_batch, state, x, y, order, batch_size)
        weights = list(state[:3])
        logs = _results(model, state[3])
        if validation is not None:
            val_x, val_y, _ = validation
            val_state = _over_batches(program.test_batches, program.test_batch, (*state[:2], fresh_metrics),
                                      val_x, val_y, None, batch_size)
            logs.update({f"val_{k}": v for k, v in _results(model, val_state[2]).items()})
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        seconds.append(round(time.perf_counter() - start, 4))
        if on_epoch is not None:
            on_epoch(epoch + 1)
        if not math.isfinite(logs.get("loss", 0.0)):
            diverged_at = epoch + 1
            break
    scores = None
    if diverged_at is None:
        test_state = _over_batches(program.test_batches, program.test_batch, (*weights[:2], fresh_metrics),
                                   test[0], test[1], None, batch_size)
        scores = _results(model, test_state[2])
    return Fitted(history, seconds, diverged_at, scores)


def program_state(weights: list, metrics: list) -> tuple:
    """The train step's state: trainable, non-trainable and optimizer values, and fresh metrics.

    The metrics are copied: the epoch donates its state, and the fresh values serve every epoch.
    """
    import jax.numpy as jnp

    return (*weights, [jnp.copy(m) for m in metrics])


def _over_batches(batches: Any, one: Any, state: tuple, x: np.ndarray, y: np.ndarray, order: np.ndarray | None,
                  batch_size: int) -> tuple:
    """Run a step over every batch in `order` (None: in turn): the full ones scanned, a short last one alone."""
    full = len(x) // batch_size
    if order is None:
        order = np.arange(len(x))
    if full:
        taken = order[:full * batch_size]
        state = batches(state, (x[taken].reshape(full, batch_size, *x.shape[1:]),
                                y[taken].reshape(full, batch_size, *y.shape[1:])))
    if len(x) % batch_size:
        rest = order[full * batch_size:]
        state = one(state, (x[rest], y[rest]))
    return state


def _results(model: Any, metrics: list) -> dict[str, float]:
    """The metrics' results as Keras logs them, from their state values."""
    for variable, value in zip(model.metrics_variables, metrics):
        variable.assign(value)
    return {name: float(value) for name, value in model.get_metrics_result().items()}
