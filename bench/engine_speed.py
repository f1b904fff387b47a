"""Wall time of training runs, three ways on each backend, side by side.

  plain fit:   what a user writes: a fresh model per run, `model.fit` with Keras's
               defaults (one step per call);
  fresh build: the engine with `TracedModels(reference=True)`: a fresh model per run,
               256 steps per call on TensorFlow (the reference path);
  engine:      the engine as it runs: on TensorFlow one kept compiled model per
               optimizer, the run's initial state copied into it; on JAX each epoch one
               compiled program, kept from run to run (engine/compiled.py).

For 1 and N runs (seeds) of one optimizer, on the first 6,000 and on all 60,000
images, it prints seconds per run-epoch (whole runs, build and trace included) and
the cost of each run added beyond the first, against a plain TensorFlow fit. It also
checks that the engine's curves are bit-identical to the fresh build's on each
backend. Each backend runs in its own process (Keras picks its backend once). A
benchmark, not a test: numbers depend on the machine and on what else runs on it.

    .venv/bin/python bench/engine_speed.py --optimizer momentum --runs 8 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tabulate import tabulate

from pytest_optcheck.spec.suite import load_suite, replace_profile

BACKENDS = ("tensorflow", "jax")


def plain_fit(suite, optimizer, seed, x, y, epochs) -> None:
    """A user's script with the suite's values filled in: fresh model, Keras's defaults."""
    import keras

    spec = suite.optimizer(optimizer)
    keras.utils.set_random_seed(seed)
    model = keras.models.Sequential([keras.layers.Input(shape=[28, 28]), keras.layers.Flatten()])
    for units in suite.model.hidden_units:
        model.add(keras.layers.Dense(units, activation="relu", kernel_initializer="he_normal"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=getattr(keras.optimizers, spec.class_path)(**spec.kwargs), metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=suite.training.batch_size, validation_split=0.1, verbose=0)
    keras.backend.clear_session()


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure(args) -> dict:
    """This process's backend: rows of seconds, and whether the engine matched the fresh builds."""
    from pytest_optcheck.engine.fashion_mnist import load_dataset
    from pytest_optcheck.engine.runtime import keras_runtime
    from pytest_optcheck.engine.training import TracedModels, train, training_arrays

    suite = load_suite(args.suite)
    dataset = load_dataset()
    keras_runtime()  # op determinism on TensorFlow, as in the engine
    rows, identical = [], True
    for size in args.sizes:
        profile = replace_profile(suite.profile("smoke"), epochs=args.epochs, train_samples=size)
        x, y = training_arrays(dataset, profile)
        seeds = range(args.runs)
        ways = {
            "plain fit": lambda s: plain_fit(suite, args.optimizer, s, x, y, args.epochs),
            "fresh build": lambda s, m=TracedModels(reference=True): train(
                suite, args.optimizer, s, profile, dataset, models=m),
            "engine": lambda s, m=TracedModels(): train(suite, args.optimizer, s, profile, dataset, models=m),
        }
        results = {}
        for name, way in ways.items():
            seconds = [timed(lambda s=s: results.setdefault((name, s), way(s))) for s in seeds]
            first, rest = seconds[0], seconds[1:]
            added = sum(rest) / len(rest) if rest else float("nan")
            rows.append([size, name, first / args.epochs, sum(seconds) / len(seconds) / args.epochs,
                         added / args.epochs])
        identical &= all(results["fresh build", s].history == results["engine", s].history for s in seeds)
    return {"rows": rows, "identical": identical}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=Path("suites/article.toml"))
    parser.add_argument("--optimizer", default="momentum")
    parser.add_argument("--runs", type=int, default=8, help="runs (seeds 0..N-1) in the many-runs column")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[6000, 60000], help="training images")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--measure-here", action="store_true", help=argparse.SUPPRESS)  # one backend, JSON out
    args = parser.parse_args()
    if args.measure_here:
        print(json.dumps(measure(args)))
        return

    rows, identical = [], {}
    for backend in args.backends:
        command = [sys.executable, __file__, "--measure-here", "--suite", str(args.suite), "--optimizer",
                   args.optimizer, "--runs", str(args.runs), "--epochs", str(args.epochs),
                   "--sizes", *map(str, args.sizes)]
        done = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True,
                              text=True, check=False)
        if done.returncode:
            sys.exit(f"{backend}: the measurement failed:\n{done.stderr[-3000:]}")
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        rows += [[size, backend, way, *seconds] for size, way, *seconds in measured["rows"]]
        identical[backend] = measured["identical"]
    plain = {row[0]: row[5] for row in rows if row[1:3] == ["tensorflow", "plain fit"]}
    for row in rows:
        row.append(row[5] / plain[row[0]] if row[0] in plain else float("nan"))
    print(f"{args.optimizer}, {args.runs} runs of {args.epochs} epochs, batch 32; seconds per run-epoch")
    print(tabulate(rows, headers=["images", "backend", "way", "1st run", f"mean of {args.runs}", "each added run",
                                  "added vs plain TF fit"], floatfmt=(".0f", "", "", ".2f", ".2f", ".2f", ".2f")))
    for backend, same in identical.items():
        print(f"{backend}: engine curves bit-identical to fresh builds on every seed: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
