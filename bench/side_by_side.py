"""Wall time of runs trained one at a time and side by side, and whether their curves agree.

Trains the same runs (seeds of one or more optimizers, at a profile of a suite) twice
through the harness's runner with no cache: first one at a time, then N at a time side
by side (runs/runner.py), in one process on TensorFlow. Prints both wall times, their
ratio, and whether every run's per-epoch metrics and test scores are bit-identical
between the two. A benchmark, not a test: the times depend on the machine and on what
else runs on it.

    .venv/bin/python bench/side_by_side.py --profile article --epochs 3 --optimizers momentum adam --seeds 4
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from pytest_optcheck.engine.result import first_difference
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.spec.suite import load_suite, replace_profile


def timed_runs(runner: Runner, suite, profile, wanted) -> tuple[float, list]:
    start = time.perf_counter()
    runs = runner.run_many(suite, profile, wanted)
    return time.perf_counter() - start, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="suites/article.toml")
    parser.add_argument("--profile", default="article")
    parser.add_argument("--epochs", type=int, help="override the profile's epochs")
    parser.add_argument("--optimizers", nargs="+", default=["momentum", "adam"])
    parser.add_argument("--seeds", type=int, default=4, help="seeds per optimizer, from the profile's first")
    parser.add_argument("--at-once", type=int, default=2, help="runs side by side in the second pass")
    args = parser.parse_args()
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        sys.exit("side_by_side.py: runs train side by side on TensorFlow only; unset KERAS_BACKEND")
    try:
        suite = load_suite(args.suite)
        profile = replace_profile(suite.profile(args.profile), epochs=args.epochs)
        for name in args.optimizers:
            suite.optimizer(name)
    except OptcheckError as exc:
        sys.exit(f"side_by_side.py: {exc}")
    seeds = list(profile.seed_pool())[: args.seeds]
    wanted = [(name, seed, None) for name in args.optimizers for seed in seeds]
    print(f"{len(wanted)} runs ({', '.join(args.optimizers)} x seeds {seeds[0]}-{seeds[-1]}), profile "
          f"{profile.name}: {profile.epochs} epochs on {profile.train_samples or 'all'} images; "
          f"{os.cpu_count()} cores")

    alone = Runner(None, at_once=1)
    alone.dataset_for(suite)  # the data loads before either clock starts
    # Each pass starts with no compiled model kept, so both pay the same builds and traces.
    one_at_a_time, first = timed_runs(alone, suite, profile, wanted)
    print(f"one at a time:      {one_at_a_time:7.1f} s")
    together = Runner(None, at_once=args.at_once)  # a runner of its own: an engine with nothing kept
    together.dataset_for(suite)
    side_by_side, second = timed_runs(together, suite, profile, wanted)
    print(f"{args.at_once} at a time side by side: {side_by_side:7.1f} s   ratio {side_by_side / one_at_a_time:.2f}")
    differing = [f"{a.optimizer} seed {a.seed} ({difference})" for a, b in zip(first, second)
                 if (difference := first_difference(a, b)) is not None]
    print("curves: " + ("every run bit-identical" if not differing else "DIFFER: " + ", ".join(differing)))
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
