"""Error rates and seed counts of the claim verdict's rule on simulated margins (no training).

Prints, for the seeds-on-demand rule (first 3 seeds, then groups of 3, or as many as
could decide the claim, at most 30): how often a claim with no true effect is decided
anyway (the error rate, with every look counted), what a fixed-n test looked at after
3, 6, ..., 30 seeds would give instead,
and for true probabilities of outperforming from 0.6 to 1, how often the claim is
decided and after how many seeds; then the same for the article suite's ci budget
(first 8 seeds, then 4 more, at most 12). The simulation is the one tests/test_evidence.py
asserts bounds on.

    .venv/bin/python bench/claim_rule_rates.py [--simulations 20000]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_evidence  # noqa: E402  (the simulation lives with the tests that bound it)


def fixed_n_sign_test_with_looks(rng, simulations: int, looks=tuple(range(3, 31, 3)), alpha=0.05) -> float:
    """A two-sided exact sign test at alpha, applied at each of `looks` as if it were the only one."""
    def p_value(k: int, n: int) -> float:
        tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1)) / 2 ** n
        return min(1.0, 2 * tail)

    decided = 0
    for _ in range(simulations):
        counts = np.cumsum(rng.random(max(looks)) < 0.5)
        decided += any(p_value(int(counts[n - 1]), n) < alpha for n in looks)
    return decided / simulations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=20_000)
    args = parser.parse_args()
    n = args.simulations
    rng = np.random.default_rng(0)
    print(f"{n} simulated claims per row; first look after 3 seeds, then every 3 more or as many as "
          "could decide, up to 30; 95% level")
    print("no true effect (P = 0.5): share decided (holds or fails) at any look")
    for name, draw in (("normal margins", lambda: rng.normal(0, 1, (n, 30))),
                       ("Cauchy margins", lambda: rng.standard_t(1, (n, 30))),
                       ("skewed, median 0", lambda: rng.exponential(1, (n, 30)) - np.log(2))):
        verdicts, _ = test_evidence.sequential(rng, draw())
        print(f"  {name:18s} {np.mean(verdicts != 'inconclusive'):6.2%}")
    verdicts, _ = test_evidence.sequential(rng, rng.normal(size=(n, 30)), first=1, group=1)
    print(f"  {'every single seed':18s} {np.mean(verdicts != 'inconclusive'):6.2%}  (a look after every seed that could decide)")
    print(f"  a fixed-n sign test at 5%, looked at after 3, 6, ..., 30 seeds instead: "
          f"{fixed_n_sign_test_with_looks(rng, min(n, 5000)):.2%}")
    print("true P(A>B) | holds within 30 | fails | median seeds (decided) | still undecided at 30")
    for p in (0.6, 0.7, 0.8, 0.9, 0.95, 1.0):
        margins = np.where(rng.random((n, 30)) < p, 1.0, -1.0)
        verdicts, used = test_evidence.sequential(rng, margins)
        decided = verdicts != "inconclusive"
        median = f"{np.median(used[decided]):.0f}" if decided.any() else "-"
        print(f"  {p:9.2f} | {np.mean(verdicts == 'holds'):14.2%} | {np.mean(verdicts == 'fails'):5.2%} | "
              f"{median:>22s} | {np.mean(~decided):.2%}")
    # The article suite's ci profile: curves on 8 seeds, which the claims take first, then 4 more once.
    print("ci's budget (first 8 seeds, then 4 more, at most 12):")
    verdicts, _ = test_evidence.sequential(rng, rng.normal(size=(n, 12)), first=8, group=4, most=12)
    print(f"  no true effect, normal margins: decided {np.mean(verdicts != 'inconclusive'):.2%}")
    for p in (0.8, 0.9, 1.0):
        margins = np.where(rng.random((n, 12)) < p, 1.0, -1.0)
        verdicts, _ = test_evidence.sequential(rng, margins, first=8, group=4, most=12)
        print(f"  true P {p:.2f}: holds {np.mean(verdicts == 'holds'):.2%}, fails {np.mean(verdicts == 'fails'):.2%}")


if __name__ == "__main__":
    main()
