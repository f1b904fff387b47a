"""Wall time of training runs, several ways on each backend, side by side.

  plain fit:   what a user writes: a fresh model per run, `model.fit` with Keras's
               defaults (one step per call);
  fresh build: the engine with `Engine(reference=True)`: a fresh model per run,
               256 steps per call on TensorFlow (the reference path);
  engine:      the engine one run at a time: on TensorFlow one kept compiled model per
               optimizer, the run's initial state copied into it; on JAX each epoch one
               compiled program, kept from run to run (engine/compiled.py);
  engine, N at a time (TensorFlow only): the engine as the harness runs it there: the
               first run alone, the others N at a time side by side through the runner,
               with no cache (runs/runner.py; on JAX runs take turns).

For 1 and N runs (seeds) of one optimizer, on the first 6,000 and on all 60,000
images, it prints seconds per run-epoch (whole runs, build and trace included) and
the cost of each run added beyond the first, against a plain TensorFlow fit and a
TensorFlow fresh build (the engine before runs shared a compiled model). It also
checks that the engine's curves, one at a time and side by side, are bit-identical
to the fresh build's on each backend. Each backend runs in its own process (Keras
picks its backend once). A benchmark, not a test: numbers depend on the machine and
on what else runs on it.

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


def per_run_epoch(size: int, way: str, first: float, rest: float, runs: int, epochs: int) -> list:
    """Seconds per run-epoch: the first run, the mean of all, and each run added beyond the first."""
    added = rest / (runs - 1) if runs > 1 else float("nan")
    return [size, way, first / epochs, (first + rest) / runs / epochs, added / epochs]


def side_by_side(suite, optimizer, seeds, profile, at_once) -> tuple[float, float, list]:
    """The first run alone, then the others `at_once` at a time, through the runner with no cache.

    Each pass starts with no compiled model kept, as the harness's first run of a session does.
    """
    from pytest_optcheck.runs.runner import Runner

    runner = Runner(None, at_once=at_once)  # a runner of its own: an engine with nothing kept
    runner.dataset_for(suite)  # the data loads before the clock starts, as for the other ways
    wanted = [(optimizer, seed, None) for seed in seeds]
    first = timed(lambda: runner.run_many(suite, profile, wanted[:1]))
    rest = timed(lambda: runner.run_many(suite, profile, wanted[1:]))
    return first, rest, runner.run_many(suite, profile, wanted)  # all in memory now: nothing retrains


def measure(args) -> dict:
    """This process's backend: rows of seconds, and whether the engine matched the fresh builds."""
    import keras

    from pytest_optcheck.engine.fashion_mnist import load_dataset
    from pytest_optcheck.engine.result import first_difference
    from pytest_optcheck.engine.runtime import keras_runtime
    from pytest_optcheck.engine.training import Engine, training_arrays

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
            "fresh build": lambda s, e=Engine(reference=True): e.train(suite, args.optimizer, s, profile, dataset),
            "engine": lambda s, e=Engine(): e.train(suite, args.optimizer, s, profile, dataset),
        }
        results = {}
        for name, way in ways.items():
            seconds = [timed(lambda s=s: results.setdefault((name, s), way(s))) for s in seeds]
            rows.append(per_run_epoch(size, name, seconds[0], sum(seconds[1:]), args.runs, args.epochs))
        identical &= all(first_difference(results["fresh build", s], results["engine", s]) is None for s in seeds)
        if keras.backend.backend() == "tensorflow" and args.at_once > 1:
            first, rest, runs = side_by_side(suite, args.optimizer, seeds, profile, args.at_once)
            rows.append(per_run_epoch(size, f"engine, {args.at_once} at a time", first, rest, args.runs, args.epochs))
            identical &= all(first_difference(results["fresh build", s], run) is None for s, run in zip(seeds, runs))
    return {"rows": rows, "identical": identical}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=Path("suites/article.toml"))
    parser.add_argument("--optimizer", default="momentum")
    parser.add_argument("--runs", type=int, default=8, help="runs (seeds 0..N-1) in the many-runs column")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[6000, 60000], help="training images")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--at-once", type=int, default=2,
                        help="runs side by side in the TensorFlow engine's last way (1: leave that way out)")
    parser.add_argument("--measure-here", action="store_true", help=argparse.SUPPRESS)  # one backend, JSON out
    args = parser.parse_args()
    if args.measure_here:
        print(json.dumps(measure(args)))
        return

    rows, identical = [], {}
    for backend in args.backends:
        command = [sys.executable, __file__, "--measure-here", "--suite", str(args.suite), "--optimizer",
                   args.optimizer, "--runs", str(args.runs), "--epochs", str(args.epochs),
                   "--at-once", str(args.at_once), "--sizes", *map(str, args.sizes)]
        done = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True,
                              text=True, check=False)
        if done.returncode:
            sys.exit(f"{backend}: the measurement failed:\n{done.stderr[-3000:]}")
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        rows += [[size, backend, way, *seconds] for size, way, *seconds in measured["rows"]]
        identical[backend] = measured["identical"]
    for reference in ("plain fit", "fresh build"):
        added = {row[0]: row[5] for row in rows if row[1:3] == ["tensorflow", reference]}
        for row in rows:
            row.append(row[5] / added[row[0]] if row[0] in added else float("nan"))
    print(f"{args.optimizer}, {args.runs} runs of {args.epochs} epochs, batch 32; seconds per run-epoch")
    print(tabulate(rows, headers=["images", "backend", "way", "1st run", f"mean of {args.runs}", "each added run",
                                  "added vs TF plain fit", "added vs TF fresh build"],
                   floatfmt=(".0f", "", "", ".2f", ".2f", ".2f", ".2f", ".2f")))
    for backend, same in identical.items():
        print(f"{backend}: engine curves bit-identical to fresh builds on every seed: {'yes' if same else 'NO'}")
    sys.exit(0 if all(identical.values()) else 1)


if __name__ == "__main__":
    main()
