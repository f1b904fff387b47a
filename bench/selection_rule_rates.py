"""Error rates of the learning-rate selection rule on simulated grids (no training).

Prints, for a grid of five multipliers whose true mean metric forms a valley, with the
neighbours of the best point `gap` seed-deviations worse: how often the best mean over
the selection seeds picks a point that is truly worse than the best (one draw of noise
per seed and point); then, for the rule that calls a moved choice "beyond the
selection's noise", how often it says so when the two points are truly alike (false
alarms), and how often when the new point is better by a few seed-deviations (power).
The simulations are the ones tests/test_selection.py asserts bounds on.

    .venv/bin/python bench/selection_rule_rates.py [--trials 20000]
"""

from __future__ import annotations

import argparse

import numpy as np

from pytest_optcheck.judge.selection import beyond_noise, select

GRID = (0.1, 0.3, 1.0, 3.0, 10.0)


def wrong_choice_rate(gap: float, seeds: int, trials: int, rng) -> float:
    """Share of selections whose chosen point is truly worse than the best; noise has deviation 1."""
    truth = [2 * gap, gap, 0.0, gap, 2 * gap]  # a valley, best at x1, lower is better
    wrong = 0
    for _ in range(trials):
        values = {m: {100 + s: t + rng.standard_normal() for s in range(seeds)} for m, t in zip(GRID, truth)}
        wrong += select("x", "val_loss", 1, values).chosen != 1.0
    return wrong / trials


def flagged_rate(gap: float, seeds: int, trials: int, rng) -> float:
    """Share of moves called beyond the noise when the new point is truly better by `gap` deviations."""
    hits = 0
    for _ in range(trials):
        old = rng.standard_normal(seeds)
        new = rng.standard_normal(seeds) - gap
        hits += bool(beyond_noise(list(old - new), 1.0))
    return hits / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.trials} simulated selections per row; grid x0.1-x10, best at x1, noise of deviation 1 per seed")
    print("neighbours' gap (deviations) | seeds | a truly worse point chosen")
    for seeds in (2, 3, 5):
        for gap in (0.5, 1.0, 2.0, 3.0):
            print(f"{gap:28.1f} | {seeds:5d} | {wrong_choice_rate(gap, seeds, args.trials, rng):7.2%}")
    print("\na moved choice called beyond the selection's noise (the seed-to-seed deviation known):")
    print("true gain (deviations) | seeds | called beyond the noise")
    for seeds in (2, 3, 5):
        for gap in (0.0, 1.0, 3.0, 5.0):
            print(f"{gap:22.1f} | {seeds:5d} | {flagged_rate(gap, seeds, args.trials, rng):7.2%}")


if __name__ == "__main__":
    main()
