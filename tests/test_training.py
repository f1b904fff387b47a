"""The engine reproduces a plain Keras script exactly, and is deterministic."""

import pytest

from pytest_optcheck.data import load_dataset
from pytest_optcheck.suite import load_suite
from pytest_optcheck.training import train, training_arrays


@pytest.fixture(scope="module")
def setup(tiny_data, tmp_path_factory):
    from conftest import TINY_SUITE

    path = tmp_path_factory.mktemp("suite") / "tiny.toml"
    path.write_text(TINY_SUITE)
    suite = load_suite(path)
    return suite, suite.profile("small"), load_dataset(tiny_data)


def test_same_seed_twice_gives_identical_runs(setup):
    suite, profile, dataset = setup
    first = train(suite, "adam", 0, profile, dataset)
    second = train(suite, "adam", 0, profile, dataset)
    assert first.history == second.history and first.test == second.test
    other = train(suite, "adam", 1, profile, dataset)
    assert other.history != first.history


def test_engine_equals_plain_model_fit(setup):
    """What a user would write by hand, with no steps_per_execution, gives the same bits."""
    suite, profile, dataset = setup
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
    engine = train(suite, "sgd", 0, profile, dataset)
    for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert engine.history[metric] == plain.history[metric]


def test_run_records_epochs_test_metrics_and_environment(setup):
    suite, profile, dataset = setup
    result = train(suite, "sgd", 1, profile, dataset)
    assert all(len(result.history[m]) == profile.epochs for m in result.history)
    assert len(result.epoch_seconds) == profile.epochs and all(s > 0 for s in result.epoch_seconds)
    assert set(result.test) == {"loss", "accuracy"}
    assert result.train_samples == 200 and not result.diverged
    assert {"python", "tensorflow", "keras", "numpy", "platform", "cpu"} <= set(result.environment)


def test_divergence_stops_the_run(setup, tmp_path):
    suite, profile, dataset = setup
    from conftest import TINY_SUITE

    path = tmp_path / "s.toml"
    path.write_text(TINY_SUITE.replace("{ learning_rate = 0.01 }", "{ learning_rate = 1e30 }"))
    blowup = load_suite(path)
    result = train(blowup, "adam", 0, blowup.profile("small"), dataset)
    assert result.diverged_at == 1 and result.test is None
    assert len(result.history["loss"]) == 1
