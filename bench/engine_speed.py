"""Epoch time of the optcheck engine against the article's plain `model.fit`.

Trains one optimizer and seed both ways, in this order, in one process:

  plain:  the article's script as written in 2020 (float64 pixels `x / 255.0`,
          `keras.utils.set_random_seed`, `model.fit(...)` with Keras defaults),
          only with verbose=0 so that the progress bar does not count;
  engine: `pytest_optcheck.engine.training.train` (float32 pixels, steps_per_execution).

Prints per-epoch seconds for each, their ratio, and whether the per-epoch
histories are identical to the last bit.

    .venv/bin/python bench/engine_speed.py --optimizer momentum --seed 50 --epochs 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from tabulate import tabulate

from pytest_optcheck.engine.fashion_mnist import load_dataset
from pytest_optcheck.spec.suite import check_optimizers, load_suite, replace_profile
from pytest_optcheck.engine.runtime import tensorflow
from pytest_optcheck.engine.training import train, training_arrays


def plain_fit(suite, optimizer, seed, x, y, epochs):
    """The article's code, with the suite's values filled in."""
    import keras

    spec = suite.optimizer(optimizer)
    keras.utils.set_random_seed(seed)
    model = keras.models.Sequential([keras.layers.Input(shape=[28, 28]), keras.layers.Flatten()])
    for units in suite.model.hidden_units:
        model.add(keras.layers.Dense(units, activation="relu", kernel_initializer="he_normal"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=getattr(keras.optimizers, spec.class_path)(**spec.kwargs), metrics=["accuracy"])

    seconds = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    history = model.fit(x, y, epochs=epochs, validation_split=0.1, verbose=0, callbacks=[Clock()])
    return history.history, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=Path("suites/article.toml"))
    parser.add_argument("--optimizer", default="momentum")
    parser.add_argument("--seed", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train-samples", type=int, default=None, help="default: all 60,000")
    args = parser.parse_args()

    suite = load_suite(args.suite)
    check_optimizers(suite)
    profile = replace_profile(suite.profile("article"), epochs=args.epochs, train_samples=args.train_samples)
    dataset = load_dataset()
    tensorflow()  # op determinism, as in the engine

    x, y = training_arrays(dataset, profile)
    x64 = (x * 255.0).round().astype("float64") / 255.0  # the article's pixels: uint8 / 255.0 in float64
    plain_history, plain_seconds = plain_fit(suite, args.optimizer, args.seed, x64, y, args.epochs)
    engine = train(suite, args.optimizer, args.seed, profile, dataset)

    rows = [[i + 1, p, e, e / p] for i, (p, e) in enumerate(zip(plain_seconds, engine.epoch_seconds))]
    print(f"{args.optimizer}, seed {args.seed}, {len(x)} training images, {args.epochs} epochs, "
          f"batch {suite.training.batch_size}")
    print(tabulate(rows, headers=["epoch", "plain fit s", "engine s", "ratio"], floatfmt=(".0f", ".3f", ".3f", ".2f")))
    later = slice(1, None) if args.epochs > 1 else slice(None)
    p_med = statistics.median(plain_seconds[later])
    e_med = statistics.median(engine.epoch_seconds[later])
    print(f"median epoch after the first: plain {p_med:.3f} s, engine {e_med:.3f} s, ratio {e_med / p_med:.2f}")
    print(f"whole fit: plain {sum(plain_seconds):.2f} s, engine {sum(engine.epoch_seconds):.2f} s, "
          f"ratio {sum(engine.epoch_seconds) / sum(plain_seconds):.2f}")
    same = all(plain_history[m] == engine.history[m] for m in ("loss", "accuracy", "val_loss", "val_accuracy"))
    print(f"histories identical (loss, accuracy, val_loss, val_accuracy, every epoch): {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
