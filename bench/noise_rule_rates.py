"""Error rates of the curve check's decision rule on simulated curves (no training).

Prints, per case, the share of simulated checks that fail: with rounding noise
alone (false alarms), with noise that jumps between trajectories, and with a
shift of k noise units on every seed (detection). The simulation is the one
tests/test_noise.py asserts bounds on.

    .venv/bin/python bench/noise_rule_rates.py [--simulations 2000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_noise  # noqa: E402  (the simulation lives with the tests that bound it)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=2000)
    args = parser.parse_args()
    test_noise.SIMULATIONS = args.simulations
    print(f"{args.simulations} simulated checks per cell")
    print("seeds epochs reruns | noise alone | shift 3 | shift 5 | shift 7")
    for seeds, epochs, reruns in ((2, 3, 4), (3, 3, 6), (8, 3, 6), (3, 5, 4), (3, 20, 2)):  # (8, 3, 6): ci
        rates = [test_noise.alarm_rate(seeds=seeds, epochs=epochs, reruns=reruns, shift=k) for k in (0, 3, 5, 7)]
        print(f"{seeds:5d} {epochs:6d} {reruns:6d} | " + " | ".join(f"{r:7.2%}" for r in rates))
    print("branching noise (3 seeds, 3 epochs, 6 reruns): jump probability -> false alarms")
    for branch in (0.1, 0.25, 0.5):
        print(f"  {branch:.2f} -> {test_noise.alarm_rate(seeds=3, epochs=3, reruns=6, branch=branch):.2%}")


if __name__ == "__main__":
    main()
