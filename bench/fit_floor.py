"""How fast can a Keras `fit` epoch of the article's model get on this machine?

Times a few epochs of Momentum (seed 0, all 60,000 images) with the engine's
`steps_per_execution`, removing one thing at a time that the article's fit does:

  full       validation_split=0.1, shuffle, accuracy metric (what the engine runs)
  noval      no validation pass
  nometrics  no accuracy metric
  dataset    a pre-batched, cached tf.data.Dataset: no shuffling, no validation

Only `full` gives the article's numbers; the others show where an epoch's time
goes, i.e. the floor that any bit-identical speed-up through `fit` is bounded by.

    .venv/bin/python bench/fit_floor.py --epochs 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from pytest_optcheck.engine.fashion_mnist import load_dataset
from pytest_optcheck.spec.suite import load_suite
from pytest_optcheck.engine.runtime import tensorflow
from pytest_optcheck.engine.training import STEPS_PER_EXECUTION, build_model

MODES = ("full", "noval", "nometrics", "dataset")


def epoch_seconds(mode: str, x, y, epochs: int, suite) -> list[float]:
    tf = tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    model = build_model(suite.model)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.001, momentum=0.9),
                  metrics=[] if mode == "nometrics" else ["accuracy"], steps_per_execution=STEPS_PER_EXECUTION)
    seconds: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    train = int(len(x) * 0.9)
    if mode == "dataset":
        data = tf.data.Dataset.from_tensor_slices((x[:train], y[:train])).batch(32).cache()
        model.fit(data, epochs=epochs, verbose=0, callbacks=[Clock()])
    elif mode == "noval":
        model.fit(x[:train], y[:train], batch_size=32, epochs=epochs, shuffle=True, verbose=0, callbacks=[Clock()])
    else:
        model.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.1, shuffle=True, verbose=0,
                  callbacks=[Clock()])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    suite = load_suite("suites/article.toml")
    dataset = load_dataset()
    for mode in MODES:
        seconds = epoch_seconds(mode, dataset.x_train, dataset.y_train, args.epochs, suite)
        later = seconds[1:] or seconds
        print(f"{mode:<10} median epoch after the first: {statistics.median(later):.3f} s")


if __name__ == "__main__":
    main()
