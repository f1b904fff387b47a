"""The engine reproduces a plain Keras script exactly, and is deterministic."""

import pytest

from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.engine.fashion_mnist import load_dataset
from pytest_optcheck.spec.suite import load_suite, replace_profile
from pytest_optcheck.engine.training import (
    STEPS_PER_EXECUTION, Engine, compiled_model, default_steps_per_execution, fit_arguments, training_arrays,
)

pytestmark = pytest.mark.trains  # the engine itself: exactness against Keras


@pytest.fixture(scope="module")
def setup(tiny_data, tmp_path_factory):
    from conftest import TINY_SUITE

    path = tmp_path_factory.mktemp("suite") / "tiny.toml"
    path.write_text(TINY_SUITE)
    suite = load_suite(path)
    return suite, suite.profile("small"), load_dataset(tiny_data)


@pytest.fixture(scope="module")
def engine():
    """One engine for the module's runs, as a session's runner has: later runs train on kept models."""
    return Engine()


def test_same_seed_twice_gives_identical_runs(setup, engine):
    suite, profile, dataset = setup
    first = engine.train(suite, "adam", 0, profile, dataset)
    second = engine.train(suite, "adam", 0, profile, dataset)
    assert first.history == second.history and first.test == second.test
    other = engine.train(suite, "adam", 1, profile, dataset)
    assert other.history != first.history


def test_engine_equals_plain_model_fit(setup, engine):
    """What a user would write by hand, with no steps_per_execution, gives the same bits."""
    from pytest_optcheck.engine.runtime import tensorflow

    suite, profile, dataset = setup
    tensorflow()  # op determinism for the plain fit too, whichever test ran first
    import keras

    x, y = training_arrays(dataset, profile)
    x64 = (x * 255).round() / 255.0  # the article's float64 pixels
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu", kernel_initializer="he_normal"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.001),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    plain = model.fit(x64, y, batch_size=32, epochs=profile.epochs, validation_split=0.1, shuffle=True, verbose=0)
    run = engine.train(suite, "sgd", 0, profile, dataset)
    for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert run.history[metric] == plain.history[metric]


@pytest.mark.parametrize("version, steps", [
    ("3.0.0", 1), ("3.6.0", 1), ("3.7.0", STEPS_PER_EXECUTION), ("3.10.0", STEPS_PER_EXECUTION),
    ("3.15.1", STEPS_PER_EXECUTION), ("3.8.0.dev2024112603", STEPS_PER_EXECUTION), ("4.0.0", STEPS_PER_EXECUTION),
    ("unknown", 1),
])
def test_many_steps_per_call_only_where_keras_runs_them(version, steps):
    assert default_steps_per_execution(version) == steps


def test_steps_per_call_do_not_change_the_numbers(setup, tmp_path):
    """270 steps of batch 1: one full call of 256 steps and a partial one, against one step per call."""
    import keras

    _, _, dataset = setup
    from conftest import TINY_SUITE

    path = tmp_path / "batch1.toml"
    path.write_text(TINY_SUITE.replace("batch_size = 32", "batch_size = 1"))
    suite = load_suite(path)
    profile = replace_profile(suite.profile("small"), train_samples=300)
    x, y = training_arrays(dataset, profile)
    results = []
    for steps in (None, 1):
        model = compiled_model(suite, "adam", 0, steps_per_execution=steps)
        model.fit(x, y, epochs=2, **fit_arguments(suite.training))
        scores = model.evaluate(dataset.x_test, dataset.y_test, batch_size=1, verbose=0, return_dict=True)
        results.append((model.steps_per_execution, model.history.history, scores))
        keras.backend.clear_session()
    (engine_steps, engine_history, engine_scores), (one, plain_history, plain_scores) = results
    assert (engine_steps, one) == (default_steps_per_execution(keras.__version__), 1)
    assert engine_history == plain_history and engine_scores == plain_scores


def test_run_records_epochs_test_metrics_and_environment(setup, engine):
    suite, profile, dataset = setup
    result = engine.train(suite, "sgd", 1, profile, dataset)
    assert all(len(result.history[m]) == profile.epochs for m in result.history)
    assert len(result.epoch_seconds) == profile.epochs and all(s > 0 for s in result.epoch_seconds)
    assert set(result.test) == {"loss", "accuracy"}
    assert result.train_samples == 200 and not result.diverged
    assert {"python", "tensorflow", "keras", "numpy", "platform", "cpu"} <= set(result.environment)


def test_divergence_stops_the_run(setup, engine, tmp_path):
    suite, profile, dataset = setup
    from conftest import TINY_SUITE

    path = tmp_path / "s.toml"
    path.write_text(TINY_SUITE.replace("{ learning_rate = 0.01 }", "{ learning_rate = 1e30 }"))
    blowup = load_suite(path)
    result = engine.train(blowup, "adam", 0, blowup.profile("small"), dataset)
    assert result.diverged_at == 1 and result.test is None
    assert len(result.history["loss"]) == 1


@pytest.mark.parametrize("body, problem", [
    ("raise RuntimeError('no GPU')", "failed: RuntimeError: no GPU"),
    ("return 42", "returned int, not an uncompiled keras.Model"),
])
def test_a_broken_model_factory_is_named_with_what_went_wrong(tmp_path, monkeypatch, body, problem):
    from pytest_optcheck.spec.suite import ModelSpec
    from pytest_optcheck.engine.training import build_model

    module = f"factory_{abs(hash(body))}"
    (tmp_path / f"{module}.py").write_text(f"def make(**kwargs):\n    {body}\n")
    monkeypatch.syspath_prepend(tmp_path)
    with pytest.raises(OptcheckError) as info:
        build_model(ModelSpec(factory=f"{module}:make"), "suite.toml")
    assert f"suite.toml: model.factory '{module}:make'" in str(info.value) and problem in str(info.value)
    with pytest.raises(OptcheckError, match="has no attribute .absent."):
        build_model(ModelSpec(factory=f"{module}:absent"), "suite.toml")


def test_a_metric_keras_logs_under_another_name_is_named(tmp_path):
    from conftest import TINY_SUITE

    from pytest_optcheck.spec.suite import load_suite
    from pytest_optcheck.engine.training import epoch_history

    path = tmp_path / "s.toml"
    path.write_text(TINY_SUITE.replace("batch_size = 32", 'batch_size = 32\nmetrics = ["mae"]'))
    logged = {"loss": [1.0], "mean_absolute_error": [0.5], "val_loss": [1.1], "val_mean_absolute_error": [0.6]}
    with pytest.raises(OptcheckError, match="training.metrics: Keras logged no 'mae'; it logged: loss, mean_absolute_error"):
        epoch_history(logged, load_suite(path))


def test_a_kept_model_trains_bit_identically_to_a_fresh_build(setup):
    """Reusing a compiled model across runs changes no number, in any order, nudged or not."""
    suite, profile, dataset = setup
    fresh, kept = Engine(reference=True), Engine()
    for name in ("sgd", "adam"):
        for seed, nudge in ((2, None), (0, None), (0, 1), (1, 2), (2, None)):
            a = fresh.train(suite, name, seed, profile, dataset, nudge=nudge)
            b = kept.train(suite, name, seed, profile, dataset, nudge=nudge)
            assert a.history == b.history and a.test == b.test, (name, seed, nudge)
    assert len(kept.models.kept()) == 2  # one compiled model per optimizer served all its runs


def test_a_model_that_differs_from_seed_to_seed_trains_on_a_fresh_build(setup, tmp_path, monkeypatch):
    """A kept model serves only runs whose model has the same variables; others build fresh, same numbers."""
    from pytest_optcheck.spec.suite import load_suite

    from conftest import TINY_SUITE

    (tmp_path / "seedwidth.py").write_text(
        "import keras, numpy as np\n"
        "def make():\n"
        "    width = int(np.random.randint(8, 64))  # drawn after seeding: another width per seed\n"
        "    return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),\n"
        "                             keras.layers.Dense(width, activation='relu'),\n"
        "                             keras.layers.Dense(10, activation='softmax')])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "widths.toml"
    path.write_text(TINY_SUITE.replace("[model]\nhidden_units = [16]", '[model]\nfactory = "seedwidth:make"'))
    suite = load_suite(path)
    _, profile, dataset = setup
    fresh, kept = Engine(reference=True), Engine()
    for seed in (0, 1, 0):
        a = fresh.train(suite, "sgd", seed, profile, dataset)
        b = kept.train(suite, "sgd", seed, profile, dataset)
        assert a.history == b.history, seed
    assert len(kept.models.kept()) == 1  # each fresh build took the unlike model's place; none piled up


def test_a_kept_model_never_serves_an_optimizer_with_other_hyperparameters(setup):
    """A kept model has the optimizer's hyperparameters traced in: a changed beta_1 (same variables) trains anew."""
    import dataclasses

    suite, profile, dataset = setup
    kept = Engine()
    plain = kept.train(suite, "adam", 0, profile, dataset)
    spec = suite.optimizer("adam")
    changed = dataclasses.replace(suite, optimizers={**suite.optimizers, "adam": dataclasses.replace(
        spec, kwargs={**spec.kwargs, "beta_1": 0.5})})
    mutated = kept.train(changed, "adam", 0, profile, dataset)
    fresh = Engine(reference=True).train(changed, "adam", 0, profile, dataset)
    assert mutated.history == fresh.history != plain.history


def test_a_diverging_run_stops_at_the_same_epoch_on_a_kept_model(setup):
    """A run whose loss turns non-finite stops after that epoch and has no test scores, kept or fresh."""
    import dataclasses

    suite, profile, dataset = setup
    spec = suite.optimizer("sgd")
    wild = dataclasses.replace(suite, optimizers={**suite.optimizers, "sgd": dataclasses.replace(
        spec, kwargs={"learning_rate": float("nan")})})  # every weight NaN after one step
    kept, fresh = Engine(), Engine(reference=True)
    kept.train(suite, "sgd", 1, profile, dataset)  # something kept first
    a = kept.train(wild, "sgd", 0, profile, dataset)
    b = fresh.train(wild, "sgd", 0, profile, dataset)
    assert a.diverged_at == b.diverged_at == 1 and a.test is None and b.test is None
    assert a.to_json()["history"] == b.to_json()["history"]
    assert len(a.epoch_seconds) == 1


def test_on_jax_runs_train_on_kept_epoch_programs(setup):
    """On JAX the kept things are compiled epoch programs (engine/compiled.py), not a fallback to fit."""
    import keras

    from pytest_optcheck.engine.compiled import EpochProgram
    suite, profile, dataset = setup
    kept = Engine()
    kept.train(suite, "adam", 0, profile, dataset)
    kind = EpochProgram if keras.backend.backend() == "jax" else keras.Model
    assert kept.models.kept() and all(isinstance(v, kind) for v in kept.models.kept())


def test_the_backend_is_asked_for_deterministic_kernels():
    """TensorFlow's op determinism on; on JAX, XLA's deterministic GPU kernels asked for before JAX starts
    (the CPU accepts the flag and ignores it: these tests train on it)."""
    import os

    import keras

    from pytest_optcheck.engine.runtime import keras_runtime

    keras_runtime()
    if keras.backend.backend() == "jax":
        assert "--xla_gpu_deterministic_ops=true" in os.environ["XLA_FLAGS"].split()
    else:
        from tensorflow.python.framework.config import is_op_determinism_enabled

        assert is_op_determinism_enabled()


def test_without_the_jax_trainer_parts_runs_train_with_fit_and_the_same_numbers(setup, monkeypatch):
    """Where this Keras lacks what compiled.py relies on, runs train with `fit`: nothing kept, same curves."""
    import keras

    from pytest_optcheck.engine import compiled
    suite, profile, dataset = setup
    monkeypatch.setattr(compiled, "available", lambda: False)
    kept = Engine()
    a = kept.train(suite, "sgd", 0, profile, dataset)
    b = Engine(reference=True).train(suite, "sgd", 0, profile, dataset)
    assert a.history == b.history and a.test == b.test
    assert not any(isinstance(v, compiled.EpochProgram) for v in kept.models.kept())
    if keras.backend.backend() == "jax":
        assert not kept.models.kept()  # on JAX fit builds fresh: nothing is kept
