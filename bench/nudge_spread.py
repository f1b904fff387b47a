"""How far one-ulp nudges move each seed: what lies behind an optimizer's noise envelope.

The noise model pools every seed's nudged reruns into one scale per epoch
(judge/noise.py). When an envelope is wide, this shows whether every seed is
equally chaotic or one seed dominates. For each seed of the profile it trains the
plain run and `--nudges` nudged reruns (nudge seeds 1..N; runs go through the run
cache) and prints, for one metric at one epoch, the deviations of the reruns from
the plain run: their median and largest size, their root mean square, and how many
moved less than a thousandth of the value (the noise model's floor).

    .venv/bin/python bench/nudge_spread.py --optimizer rmsprop --profile smoke --nudges 20 --backend jax

A diagnostic, not a test: it trains (seeds x (nudges + 1)) runs.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

from tabulate import tabulate

from pytest_optcheck.environment import BACKENDS, choose_backend
from pytest_optcheck.errors import OptcheckError
from pytest_optcheck.runs.cache import PYTEST_CACHE_RUNS
from pytest_optcheck.runs.runner import Runner
from pytest_optcheck.spec.suite import load_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=Path("suites/article.toml"))
    parser.add_argument("--optimizer", required=True)
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--nudges", type=int, default=20, help="nudged reruns per seed (nudge seeds 1..N)")
    parser.add_argument("--metric", default="loss")
    parser.add_argument("--epoch", type=int, default=1, help="1-based")
    parser.add_argument("--backend", choices=BACKENDS, default="tensorflow")
    parser.add_argument("--cache-dir", type=Path, default=PYTEST_CACHE_RUNS)
    args = parser.parse_args()
    try:
        spread(args)
    except OptcheckError as exc:
        sys.exit(f"nudge_spread: {exc}")


def spread(args: argparse.Namespace) -> None:
    choose_backend(args.backend, "--backend")
    suite = load_suite(args.suite)
    profile = suite.profile(args.profile)
    suite.optimizer(args.optimizer)  # an unknown name fails here, naming the suite's optimizers
    if not 1 <= args.epoch <= profile.epochs:
        raise OptcheckError(f"--epoch {args.epoch}: profile {profile.name!r} trains epochs 1 to {profile.epochs}")
    if args.nudges < 1:
        raise OptcheckError(f"--nudges {args.nudges}: give 1 or more")
    runner = Runner(args.cache_dir)

    def value(seed: int, nudge: int | None) -> float:
        history = runner.run(suite, args.optimizer, seed, profile, nudge=nudge).history
        if args.metric not in history:
            raise OptcheckError(f"--metric {args.metric}: the runs record {', '.join(sorted(history))}")
        found = history[args.metric][args.epoch - 1]
        if found is None:
            raise OptcheckError(f"seed {seed}{f' nudge {nudge}' if nudge else ''}: diverged by epoch {args.epoch}")
        return found

    rows, pooled = [], []
    for seed in profile.seeds:
        plain = value(seed, None)
        moves = [value(seed, n) - plain for n in range(1, args.nudges + 1)]
        sizes = sorted(abs(m) for m in moves)
        pooled += moves
        rows.append([seed, f"{plain:.6g}", f"{statistics.median(sizes):.3g}", f"{sizes[-1]:.3g}",
                     f"{_rms(moves):.3g}", sum(s < 1e-3 * abs(plain) for s in sizes)])
    print(f"{suite.name}, {args.optimizer}, profile {profile.name}, {args.backend}: "
          f"{args.metric} at epoch {args.epoch}, {args.nudges} nudges per seed")
    print(tabulate(rows, headers=["seed", "plain run", "median |move|", "largest", "rms",
                                  "moves under 0.1%"], disable_numparse=True))
    print(f"pooled rms over the seeds: {_rms(pooled):.3g}")


def _rms(values: list[float]) -> float:
    return math.sqrt(statistics.fmean(v * v for v in values))


if __name__ == "__main__":
    main()
