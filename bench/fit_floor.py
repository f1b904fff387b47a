"""How fast can a Keras `fit` epoch of the article's model get on TensorFlow here?

Times a few epochs of Momentum (seed 0, all 60,000 images) with the engine's
`steps_per_execution`, removing one thing at a time that the article's fit does:

  full           validation_split=0.1, shuffle, accuracy metric (what the engine runs)
  noval          no validation pass
  nometrics      no accuracy metric
  dataset        a pre-batched, cached tf.data.Dataset: no shuffling, no validation
  nodeterminism  full, with TensorFlow's op determinism off
  xla            full, op determinism off, compiled by XLA (jit_compile=True)

Only `full` gives the harness's numbers; the others show where an epoch's time
goes, i.e. the floor that any bit-identical speed-up through `fit` is bounded by.
The last two show what XLA would buy: Keras compiles a TensorFlow model with XLA
only when op determinism is off, and turning it off changes the numbers (the
first-epoch loss is printed to show it). Each mode runs in its own process,
because op determinism is a process-wide switch.

    .venv/bin/python bench/fit_floor.py --epochs 6
    .venv/bin/python bench/fit_floor.py --epochs 6 --repeat 3 --modes full nodeterminism xla
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

MODES = ("full", "noval", "nometrics", "dataset", "nodeterminism", "xla")


def train(mode: str, epochs: int) -> dict:
    """One mode in this process: its seconds per epoch and its first-epoch loss."""
    from pytest_optcheck.engine.fashion_mnist import load_dataset
    from pytest_optcheck.engine.training import STEPS_PER_EXECUTION, build_model
    from pytest_optcheck.spec.suite import load_suite

    if mode in ("nodeterminism", "xla"):
        import tensorflow as tf  # imported directly: the harness's import would switch determinism on
    else:
        from pytest_optcheck.engine.runtime import tensorflow
        tf = tensorflow()
    import keras

    suite = load_suite("suites/article.toml")
    dataset = load_dataset()
    x, y = dataset.x_train, dataset.y_train
    keras.utils.set_random_seed(0)
    model = build_model(suite.model)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.001, momentum=0.9),
                  metrics=[] if mode == "nometrics" else ["accuracy"], steps_per_execution=STEPS_PER_EXECUTION,
                  jit_compile=mode == "xla")
    seconds: list[float] = []
    losses: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)
            losses.append(float(logs["loss"]))

    train_rows = int(len(x) * 0.9)
    if mode == "dataset":
        data = tf.data.Dataset.from_tensor_slices((x[:train_rows], y[:train_rows])).batch(32).cache()
        model.fit(data, epochs=epochs, verbose=0, callbacks=[Clock()])
    elif mode == "noval":
        model.fit(x[:train_rows], y[:train_rows], batch_size=32, epochs=epochs, shuffle=True, verbose=0,
                  callbacks=[Clock()])
    else:
        model.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.1, shuffle=True, verbose=0,
                  callbacks=[Clock()])
    return {"seconds": seconds, "first_loss": losses[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), metavar="MODE",
                        help=f"the modes to time, in turn (default: all of {', '.join(MODES)})")
    parser.add_argument("--repeat", type=int, default=1, help="time the modes this many times, alternating")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # one mode, in this process: JSON
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(train(args.mode, args.epochs)))
        return
    print(f"{'mode':<14} {'first-epoch loss':>17}  seconds per epoch")
    for mode in args.modes * args.repeat:
        done = subprocess.run([sys.executable, __file__, "--mode", mode, "--epochs", str(args.epochs)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{mode}: failed ({done.returncode})\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        seconds = result["seconds"]
        # With XLA the first two epochs are slow here (both still compiling), so the typical
        # epoch is the median of those after the second.
        later = seconds[2:] or seconds
        print(f"{mode:<14} {result['first_loss']:>17.8f}  "
              f"{' '.join(f'{s:.2f}' for s in seconds)}  (median after the second: {statistics.median(later):.2f})")


if __name__ == "__main__":
    main()
