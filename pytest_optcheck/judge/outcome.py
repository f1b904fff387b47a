"""A claim test's outcome: the suite's expectation against this run's verdict.

    expected   verdict        outcome
    holds      holds          passed
    holds      fails          failed   (the claim is false on this run's seeds)
    holds      inconclusive   failed   (the budget of seeds could not decide it)
    fails      fails          passed
    fails      holds          failed   (a claim the suite says is false holds)
    fails      inconclusive   failed
    undecided  inconclusive   xfailed  (as the suite says: too few seeds here)
    undecided  holds / fails  xpassed  (decided after all: reported, never hidden)

The stored verdict plays no part: it is a record of the last refresh.
"""

from __future__ import annotations

import enum

from pytest_optcheck.judge.evidence import INCONCLUSIVE
from pytest_optcheck.spec.expectations import Expectation


class Outcome(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    XFAILED = "xfailed"
    XPASSED = "xpassed"


def claim_outcome(expected: Expectation, verdict: str) -> Outcome:
    if expected is Expectation.UNDECIDED:
        return Outcome.XFAILED if verdict == INCONCLUSIVE else Outcome.XPASSED
    return Outcome.PASSED if verdict == expected.value else Outcome.FAILED
