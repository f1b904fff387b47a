"""The seeded training run: model factory, optimizer construction, `fit`.

A run is exactly what a plain Keras script does:

    keras.utils.set_random_seed(seed)       # immediately before the model is built
    model = ...; model.compile(...)
    model.fit(x, y, batch_size=32, epochs=E, validation_split=0.1, shuffle=True)

with op determinism on. The one difference is `steps_per_execution`, which runs
many steps per call into TensorFlow: same arithmetic in the same order, much
less Python overhead, so the per-epoch metrics are bit-identical.

On TensorFlow, runs may train side by side in threads (`runs/runner.py` decides
how many): each on a compiled model of its own, drawing everything random in its
seeding turn (`SeedingTurn`), so that its numbers are those it has alone.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_optcheck.engine import compiled
from pytest_optcheck.engine.compiled import Fitted
from pytest_optcheck.engine.dataset import Dataset
from pytest_optcheck.engine.optimizers import make_optimizer
from pytest_optcheck.engine.result import RunResult
from pytest_optcheck.engine.runtime import keras_runtime
from pytest_optcheck.environment import environment, stand_in_training
from pytest_optcheck.errors import OptcheckError, with_user_frames
from pytest_optcheck.imports import load_attribute
from pytest_optcheck.spec.suite import (
    ModelSpec,
    Profile,
    Suite,
    TrainingSpec,
)

if TYPE_CHECKING:
    from pytest_optcheck.engine.standin import StandInEngine

# Steps run per call into TensorFlow. Any value gives the same numbers; this one
# removes nearly all per-step overhead for the article's 1,688-step epochs.
STEPS_PER_EXECUTION = 256


# Keras before 3.7 unrolls the steps of one call into a Python loop of iterator
# reads, and tf.data refuses more than 32 of them in one function ("An unusually
# high number of tf.data.Iterator.get_next() calls was detected"). There the
# engine runs one step per call, as a plain fit does: the same numbers, slower.
MULTI_STEP_KERAS = (3, 7)


def default_steps_per_execution(keras_version: str) -> int:
    """STEPS_PER_EXECUTION where this Keras runs it, else 1 (also for a version it cannot read)."""
    match = re.match(r"(\d+)\.(\d+)", keras_version)
    if match and (int(match[1]), int(match[2])) >= MULTI_STEP_KERAS:
        return STEPS_PER_EXECUTION
    return 1


class Halted(Exception):
    """A run stopped before its end: the runs training beside it were halted (`Engine.halt_runs`)."""


class SeedingTurn:
    """One run's stretch of process-wide seeding, from `set_random_seed` until training starts.

    A run draws everything random from process-wide seeds: its initial weights and
    nudge when it is built, and on TensorFlow the shuffle order, which `fit` fixes
    when it builds its data pipeline (before `on_train_begin`). Runs that train side
    by side take turns through that stretch, so another run's seeding never lands
    inside it; after it, a TensorFlow run draws nothing from the process's seeds.
    On JAX the engine draws each epoch's order from NumPy's global generator, so a
    JAX run keeps its turn to the end.

    `lock`: the engine's, shared by the turns of every run it trains.
    """

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._held = False

    def __enter__(self) -> SeedingTurn:
        self._lock.acquire()
        self._held = True
        return self

    def done(self) -> None:
        """Training has started: other runs may seed now."""
        if self._held:
            self._held = False
            self._lock.release()

    def __exit__(self, *exc: object) -> None:
        self.done()


def build_model(spec: ModelSpec, suite_path: Any = "") -> Any:
    """The built-in MLP, or the project's factory called right after seeding (so its weights are seeded)."""
    import keras

    if spec.factory is not None:
        return _from_factory(spec, suite_path)

    layers = [keras.Input(shape=spec.input_shape), keras.layers.Flatten()]
    layers += [
        keras.layers.Dense(units, activation=spec.activation, kernel_initializer=spec.kernel_initializer)
        for units in spec.hidden_units
    ]
    layers.append(keras.layers.Dense(spec.output_units, activation=spec.output_activation))
    return keras.Sequential(layers)


def _from_factory(spec: ModelSpec, suite_path: Any) -> Any:
    import keras

    where = f"{suite_path}: model.factory {spec.factory!r}"
    factory = load_attribute(spec.factory, where)
    try:
        model = factory(**spec.kwargs)
    except Exception as exc:  # the user's factory may raise anything: say which and what
        raise OptcheckError(with_user_frames(f"{where} failed: {type(exc).__name__}: {exc}", exc)) from None
    if not isinstance(model, keras.Model):
        raise OptcheckError(f"{where} returned {type(model).__name__}, not an uncompiled keras.Model")
    return model


def compiled_model(suite: Suite, optimizer: str, seed: int, *, steps_per_execution: int | None = None) -> Any:
    """A freshly seeded, compiled model, as the plain script would build it.

    `steps_per_execution`: default, the most this Keras runs correctly (see above).
    """
    keras_runtime()
    import keras

    if steps_per_execution is None:
        steps_per_execution = default_steps_per_execution(keras.__version__)
    keras.utils.set_random_seed(seed)
    model = build_model(suite.model, suite.path)
    model.compile(
        optimizer=make_optimizer(suite.optimizer(optimizer), suite),
        loss=suite.training.loss,
        metrics=list(suite.training.metrics),
        steps_per_execution=steps_per_execution,
    )
    return model


def training_arrays(dataset: Dataset, profile: Profile) -> tuple[Any, Any]:
    """The profile's first `train_samples` images; Keras splits validation off their end."""
    n = profile.train_samples or len(dataset.x_train)
    if n > len(dataset.x_train):
        raise OptcheckError(
            f"profile {profile.name!r} asks for {n} training examples, the data ({dataset.origin}) has "
            f"{len(dataset.x_train)}; lower train_samples"
        )
    return dataset.x_train[:n], dataset.y_train[:n]


def epoch_steps(images: int, training: TrainingSpec) -> tuple[int, int]:
    """The images one epoch trains on and its steps, as Keras splits validation off and batches the rest."""
    train_images = int(math.ceil(images * (1.0 - training.validation_split)))
    return train_images, math.ceil(train_images / training.batch_size)


def fit_arguments(training: TrainingSpec) -> dict[str, Any]:
    return {
        "batch_size": training.batch_size,
        "validation_split": training.validation_split,
        "shuffle": training.shuffle,
        "verbose": 0,
    }


class TracedModels:
    """Compiled models kept from run to run, so that an optimizer pays its build and trace once.

    Building and tracing a model costs 2 to 3 seconds on 2 cores, more than a short
    run's training. Each run still starts as the plain script does: seeded, a model
    built from the suite (its weights drawn exactly as a fresh build draws them) and
    an optimizer constructed and built on those weights. Only then are their values
    copied into the kept model and optimizer, whose step functions are traced
    already. Same values, same arithmetic, same shuffle order: the curves are
    bit-identical to a fresh build's (tests/test_training.py checks it against
    `reference=True`, the plain path).

    A kept model is used only where the copy is exact: the same variables, in the
    same order and shapes, in the fresh model and optimizer as in the kept ones.
    Anything else (a factory whose models differ from seed to seed, an optimizer
    whose state is shaped by the weights) trains on a fresh build.

    On JAX what is kept is the optimizer's compiled epoch program instead
    (`compiled.py`): each run builds fresh and hands its state to it.

    Runs training side by side each take a kept model of their own: an optimizer
    keeps as many as it had runs at once, each idle between runs.
    """

    def __init__(self, *, reference: bool = False, steps_per_execution: int | None = None):
        self.reference = reference
        self.steps_per_execution = steps_per_execution  # None: the most this Keras runs correctly
        self._models: dict[tuple, list[Any]] = {}  # on TensorFlow: the compiled models kept per key
        self._idle: dict[tuple, list[Any]] = {}  # those of them no run is training now
        self._keys: dict[int, tuple] = {}  # id of a kept model -> its key
        self._programs: dict[tuple, Any] = {}  # on JAX: the optimizer's compiled epoch program
        self._lock = threading.Lock()

    def kept(self) -> list[Any]:
        """Everything kept: compiled models on TensorFlow, epoch programs on JAX."""
        with self._lock:
            return [m for models in self._models.values() for m in models] + list(self._programs.values())

    def model(self, suite: Suite, optimizer: str, seed: int, nudge: int | None) -> Any:
        """A compiled model holding the run's initial state: fresh, or a kept one with it copied in.

        The model is the run's until `done(model)` gives it back.
        """
        keras_runtime()
        import keras

        fresh, opt, key = self._fresh(suite, optimizer, seed, nudge)
        keep = not self.reference and keras.backend.backend() == "tensorflow"
        with self._lock:
            idle = self._idle.get(key) if keep else None
            kept = idle.pop() if idle else None
        if kept is not None:
            opt.build(fresh.trainable_variables)
            if copy_state(fresh, opt, kept):
                return kept
            with self._lock:  # a model unlike this seed's: the fresh build is kept in its place
                del self._keys[id(kept)]
                self._models[key].remove(kept)
        fresh.compile(optimizer=opt, loss=suite.training.loss, metrics=list(suite.training.metrics),
                      steps_per_execution=self.steps_per_execution or default_steps_per_execution(keras.__version__))
        if keep:
            with self._lock:
                self._keys[id(fresh)] = key
                self._models.setdefault(key, []).append(fresh)
        return fresh

    def done(self, model: Any) -> None:
        """The run on `model` has finished: a kept model waits for the optimizer's next run."""
        with self._lock:
            key = self._keys.get(id(model))
            if key is not None:
                self._idle.setdefault(key, []).append(model)

    def program(self, suite: Suite, optimizer: str, seed: int, nudge: int | None) -> tuple[Any, Any] | None:
        """On JAX: the run's fresh compiled model and the kept epoch program that trains it (see compiled.py).

        None where that path does not apply (TensorFlow, reference mode, a Keras without it);
        the run then trains with `fit`.
        """
        keras_runtime()
        import keras

        if self.reference or keras.backend.backend() != "jax" or not compiled.available():
            return None
        fresh, opt, key = self._fresh(suite, optimizer, seed, nudge)
        fresh.compile(optimizer=opt, loss=suite.training.loss, metrics=list(suite.training.metrics))
        with self._lock:
            program = self._programs.get(key)
            if program is None:
                program = self._programs[key] = compiled.EpochProgram(fresh)
        return fresh, program

    def _fresh(self, suite: Suite, optimizer: str, seed: int, nudge: int | None) -> tuple[Any, Any, tuple]:
        """The run's seeded (and nudged) model, its optimizer, and the key of what may be kept for it."""
        keras_runtime()
        import keras

        keras.utils.set_random_seed(seed)
        fresh = build_model(suite.model, suite.path)
        if nudge is not None:
            from pytest_optcheck.engine.nudge import nudge_weights

            nudge_weights(fresh, nudge)
        spec = suite.optimizer(optimizer)
        opt = make_optimizer(spec, suite)
        # What is kept has the optimizer's class and every hyperparameter but its variables
        # (the learning rate, say) traced in, and the loss and metrics: it serves only runs
        # of exactly that optimizer, model and training.
        key = (str(suite.path), type(opt), json.dumps(
            {"kwargs": spec.kwargs, "model": suite.model.identity(), "training": suite.training.__dict__},
            sort_keys=True, default=str))
        return fresh, opt, key


def copy_state(model: Any, optimizer: Any, kept: Any) -> bool:
    """Copy a fresh model's and built optimizer's values into `kept`; False (nothing copied) if they differ in shape."""
    pairs = list(zip(kept.variables, model.variables)) + list(zip(kept.optimizer.variables, optimizer.variables))
    if (len(kept.variables) != len(model.variables) or len(kept.optimizer.variables) != len(optimizer.variables)
            or any(tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype for a, b in pairs)):
        return False
    for target, source in pairs:
        target.assign(source)
    return True


def stop_if_halted(halting: threading.Event | None, epoch: int) -> None:
    """At the end of `epoch`: raise Halted while the engine's halt is set."""
    if halting is not None and halting.is_set():
        raise Halted(f"stopped after epoch {epoch}: the session was interrupted")


class Halting:
    """The halt of an engine's runs: while set (`halt_runs`), every run training stops at the end of its epoch."""

    def __init__(self) -> None:
        self._halting = threading.Event()

    def halt_runs(self, halting: bool = True) -> None:
        """Stop every run training now at the end of its epoch (Halted); `False`: let runs train again."""
        if halting:
            self._halting.set()
        else:
            self._halting.clear()

    @property
    def halted(self) -> bool:
        """Runs are to stop at the end of their epoch (`halt_runs`)."""
        return self._halting.is_set()


class Engine(Halting):
    """What training keeps from run to run, owned by whoever trains (the runner: one engine per runner).

    - `models`: the compiled models (on JAX, epoch programs) kept between runs (`TracedModels`);
    - the halt (`Halting`): while set, every run training stops at the end of its epoch;
    - the seeding turns' lock: the engine's runs, side by side in threads, take turns through
      process-wide seeding (`SeedingTurn`). Runs of two engines must not train at once in one process.

    `reference`, `steps_per_execution`: as for `TracedModels` (a reference engine trains the plain way).
    """

    def __init__(self, *, reference: bool = False, steps_per_execution: int | None = None):
        super().__init__()
        self.models = TracedModels(reference=reference, steps_per_execution=steps_per_execution)
        self._seeding = threading.Lock()

    def train(self, suite: Suite, optimizer: str, seed: int, profile: Profile, dataset: Dataset, *, key: str = "",
              nudge: int | None = None, on_epoch: Callable[[int], None] | None = None) -> RunResult:
        """Train one run and record per-epoch metrics and seconds, then test metrics.

        `nudge`: move every initial weight by one ulp with this nudge seed (see `nudge.py`),
        to measure the run's sensitivity to rounding. `on_epoch(epoch)`: called after each epoch.
        Safe to call from several threads at once (see `SeedingTurn`).
        """
        models = self.models
        x, y = training_arrays(dataset, profile)
        with SeedingTurn(self._seeding) as turn:
            on_program = models.program(suite, optimizer, seed, nudge)
            if on_program is not None:
                model, program = on_program
                training = suite.training
                fitted = compiled.fit(program, model, x, y, epochs=profile.epochs, batch_size=training.batch_size,
                                      validation_split=training.validation_split, shuffle=training.shuffle,
                                      test=(dataset.x_test, dataset.y_test), on_epoch=on_epoch)
            else:
                model = models.model(suite, optimizer, seed, nudge)
                try:
                    fitted = _fit(model, x, y, profile.epochs, suite, dataset, on_epoch, turn, self._halting)
                finally:
                    models.done(model)
        history = epoch_history(fitted.history, suite)
        test = None if fitted.test is None else {
            m: float(fitted.test[m]) for m in ("loss", *suite.training.metrics) if m in fitted.test}
        if models.reference:
            import keras

            keras.backend.clear_session()
        return RunResult(
            optimizer=optimizer,
            seed=seed,
            profile=profile.name,
            epochs=profile.epochs,
            train_samples=len(x),
            history=history,
            epoch_seconds=fitted.seconds,
            test=test,
            diverged_at=fitted.diverged_at,
            environment=environment(),
            key=key,
            nudge=nudge,
        )


def new_engine() -> Engine | StandInEngine:
    """An engine for a runner: Keras's, or the stand-in's where OPTCHECK_STAND_IN=1 asks for it (standin.py)."""
    if stand_in_training():
        from pytest_optcheck.engine.standin import StandInEngine

        return StandInEngine()
    return Engine()


def process_engine() -> Engine | StandInEngine:
    """The engine every pytest session of this process shares (`Runner(share_engine=True)`).

    Building and tracing a model costs seconds; sessions run one after another in one
    process (pytester's inner runs, a notebook) reuse the models the first compiled. Runs
    of two engines must not train at once in one process, and sessions never overlap.
    """
    kind = "stand-in" if stand_in_training() else "keras"
    if kind not in _PROCESS_ENGINES:
        _PROCESS_ENGINES[kind] = new_engine()
    return _PROCESS_ENGINES[kind]


_PROCESS_ENGINES: dict[str, Engine | StandInEngine] = {}  # by kind, made when a session first trains


def _fit(model: Any, x: Any, y: Any, epochs: int, suite: Suite, dataset: Dataset,
         on_epoch: Callable[[int], None] | None, turn: SeedingTurn | None = None,
         halting: threading.Event | None = None) -> Fitted:
    """Keras's own `fit` and `evaluate` on a compiled model; `turn` ends once fit has drawn its shuffle order."""
    clock = epoch_clock(on_epoch, turn, halting)
    # Read before `evaluate`: Keras 3.0 empties `model.history` when it evaluates.
    history = dict(model.fit(x, y, epochs=epochs, callbacks=[clock], **fit_arguments(suite.training)).history)
    test = None
    if clock.diverged_at is None:
        test = model.evaluate(dataset.x_test, dataset.y_test, batch_size=suite.training.batch_size,
                              verbose=0, return_dict=True)
    return Fitted(history, clock.seconds, clock.diverged_at, test)


def epoch_history(logged: dict[str, list], suite: Suite) -> dict[str, list[float]]:
    """The suite's epoch metrics from Keras's logs; a metric Keras logged under another name is named."""
    missing = [m for m in suite.training.epoch_metrics if m not in logged]
    if missing and logged.get("loss"):
        raise OptcheckError(
            f"{suite.path}: training.metrics: Keras logged no {missing[0]!r}; it logged: "
            f"{', '.join(sorted(logged))}. Name the metrics as Keras logs them.")
    return {m: [float(v) for v in logged.get(m, [])] for m in suite.training.epoch_metrics}


def epoch_clock(on_epoch: Callable[[int], None] | None = None, turn: SeedingTurn | None = None,
                halting: threading.Event | None = None) -> Any:
    """A Keras callback: wall seconds per epoch, and a stop at the first non-finite loss.

    `turn`: the run's seeding turn, ended when training begins (fit has built its data
    pipeline, and with it the shuffle order, by then). `halting`: the engine's halt, raising
    `Halted` at the end of an epoch while it is set.

    Defined inside a function so that importing this module does not import Keras.
    """
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []
            self.diverged_at: int | None = None

        def on_train_begin(self, logs=None):
            if turn is not None:
                turn.done()

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            stop_if_halted(halting, epoch + 1)
            self.seconds.append(round(time.perf_counter() - self._start, 4))
            if not math.isfinite(float((logs or {}).get("loss", 0.0))):
                self.diverged_at = epoch + 1
                self.model.stop_training = True
            if on_epoch is not None:
                on_epoch(epoch + 1)

    return EpochClock()
