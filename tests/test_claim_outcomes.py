"""A claim item asserts the suite's expectation against this run's verdict; the stored verdict only informs."""

import json

import pytest

from conftest import TINY_SUITE
from pytest_optcheck.judge.outcome import Outcome, claim_outcome
from pytest_optcheck.spec.expectations import Expectation
from conftest import baseline, has_lines

OUTCOMES = {
    ("holds", "holds"): Outcome.PASSED,
    ("holds", "fails"): Outcome.FAILED,
    ("holds", "inconclusive"): Outcome.FAILED,
    ("fails", "fails"): Outcome.PASSED,
    ("fails", "holds"): Outcome.FAILED,
    ("fails", "inconclusive"): Outcome.FAILED,
    ("undecided", "inconclusive"): Outcome.XFAILED,
    ("undecided", "holds"): Outcome.XPASSED,
    ("undecided", "fails"): Outcome.XPASSED,
}


@pytest.mark.parametrize("expected, verdict", sorted(OUTCOMES))
def test_the_outcome_of_every_expectation_and_verdict(expected, verdict):
    assert claim_outcome(Expectation(expected), verdict) is OUTCOMES[expected, verdict]


# One suite whose claims cover every expectation x verdict on the same runs (trained once):
# Adam beats SGD on every seed of the tiny profile, so at 50% confidence 3 seeds decide
# "adam beats sgd" (holds) and "sgd beats adam" (fails); at 95% they decide nothing.
CLAIM = """
[[claims]]
id = "{id}"
quote = "q"
kind = "ordering"
better = "{better}"
worse = "{worse}"
confidence = {confidence}
{expect}
"""
VERDICTS = {"holds": ("adam", "sgd", 0.5), "fails": ("sgd", "adam", 0.5), "inconclusive": ("adam", "sgd", 0.95)}


def matrix_suite() -> str:
    suite = TINY_SUITE[: TINY_SUITE.index("[[claims]]")]
    for expected, verdict in sorted(OUTCOMES):
        better, worse, confidence = VERDICTS[verdict]
        expect = "" if expected == "holds" else f'expect = "{expected}"\nbecause = "a reason for {expected}"'
        suite += CLAIM.format(id=f"expect-{expected}-verdict-{verdict}", better=better, worse=worse,
                              confidence=confidence, expect=expect)
    return suite


def outcomes_by_claim(result) -> dict[str, str]:
    found = {}
    for line in result.outlines:
        for word in ("PASSED", "FAILED", "XFAIL", "XPASS"):
            if line.startswith(word + " ") and "::claim[" in line:
                claim = line.split("::claim[", 1)[1].split("]", 1)[0]
                found[claim] = {"XFAIL": "xfailed", "XPASS": "xpassed"}.get(word, word.lower())
    return found


EXPECTED_OUTCOMES = {f"expect-{e}-verdict-{v}": o.value for (e, v), o in OUTCOMES.items()}


def test_every_expectation_against_every_verdict_the_same_with_and_without_update_flags(project):
    project.makefile(".toml", **{"suites/tiny": matrix_suite()})
    runs = {
        "no baseline": project.run_optcheck("-k", "claim"),
        "update-all": project.run_optcheck("-k", "claim", "--optcheck-update-all"),
        "same baseline": project.run_optcheck("-k", "claim"),
        "update": project.run_optcheck("-k", "claim", "--optcheck-update"),
    }
    records = json.loads(baseline(project, "claims").read_text())["claims"]
    for record in records.values():  # every stored verdict flipped: holds <-> fails, undecided stays
        record["verdict"] = {"holds": "fails", "fails": "holds"}.get(record["verdict"], record["verdict"])
    data = json.loads(baseline(project, "claims").read_text())
    baseline(project, "claims").write_text(json.dumps({**data, "claims": records}, indent=2, sort_keys=True))
    runs["flipped baseline"] = project.run_optcheck("-k", "claim")
    runs["flipped, update"] = project.run_optcheck("-k", "claim", "--optcheck-update")

    for name, result in runs.items():
        assert outcomes_by_claim(result) == EXPECTED_OUTCOMES, name
    has_lines(runs["flipped baseline"], "6 claims changed verdict since the baseline",
              "expect-fails-verdict-fails (holds -> fails)", "--optcheck-update rewrites the records")
    has_lines(runs["no baseline"], "9 claims without a recorded verdict")
    # The update rewrote the records back; the verdicts there are this run's.
    assert json.loads(baseline(project, "claims").read_text())["claims"]["expect-holds-verdict-fails"]["verdict"] == "fails"


def test_messages_give_this_runs_evidence_and_the_way_out(project):
    project.makefile(".toml", **{"suites/tiny": matrix_suite()})
    result = project.run_optcheck("-k", "claim")
    has_lines(result, "claim[expect-fails-verdict-holds]: the claim holds on this run's seeds, but the suite "
                      "expects it to fail (claims[expect-fails-verdict-holds].expect: a reason for fails)",
              "now: holds: P(holds on a seed) = 3/3")
    has_lines(result, "claim[expect-holds-verdict-fails]: the claim does not hold (expected: holds)",
              "now: fails: P(holds on a seed) = 0/3", 'quote: "q"')
    has_lines(result, "claim[expect-holds-verdict-inconclusive]: undecided after 3 seeds, the budget of profile "
                      "'small' (expected: holds)",
              "at this share it would take 7 seeds", "raise seeds.max of [profiles.small]",
              'expect = { small = "undecided" } with because')
    has_lines(result, "XFAIL suites/tiny.toml::claim[expect-undecided-verdict-inconclusive] - expected undecided "
                      "on profile small (a reason for undecided): inconclusive: P(holds on a seed) = 3/3")
    has_lines(result, "XPASS suites/tiny.toml::claim[expect-undecided-verdict-holds] - expected undecided on "
                      "profile small (a reason for undecided), but decided: holds")


def test_a_false_claim_stays_red_after_a_refresh(project):
    """The story of a user who writes a false claim and refreshes: the refresh records it, and it stays red."""
    false = TINY_SUITE.replace('id = "adam-beats-sgd"', 'id = "slow-beats-fast"').replace(
        'better = "adam"\nworse = "sgd"', 'better = "sgd"\nworse = "adam"')
    project.makefile(".toml", **{"suites/tiny": false})
    refreshed = project.run_optcheck("--optcheck-update-all")
    refreshed.assert_outcomes(passed=2, failed=1)
    has_lines(refreshed, "claim[slow-beats-fast]: the claim does not hold (expected: holds)")
    assert json.loads(baseline(project, "claims").read_text())["claims"]["slow-beats-fast"]["verdict"] == "fails"
    for _ in range(2):
        project.run_optcheck().assert_outcomes(passed=2, failed=1)


def test_a_profile_says_once_that_it_decides_no_claim(project):
    suite = TINY_SUITE.replace("[profiles.other]\n", '[profiles.other]\nexpect = "undecided"\n'
                               'because = "one seed decides nothing"\n')
    project.makefile(".toml", **{"suites/tiny": suite})
    result = project.run_optcheck("--optcheck-profile", "other", "-k", "claim")
    result.assert_outcomes(xfailed=1)
    has_lines(result, "expected undecided on profile other (one seed decides nothing)")
    project.run_optcheck("-k", "claim").assert_outcomes(passed=1)  # the small profile still asserts it


def test_a_claim_expectation_by_profile_beats_the_profile_default(project):
    suite = (TINY_SUITE.replace("[profiles.other]\n", '[profiles.other]\nexpect = "undecided"\nbecause = "one seed"\n')
             .replace("confidence = 0.5\n", 'confidence = 0.5\nexpect = { other = "fails" }\n'
                      'because = "one epoch is too short for Adam"\n'))
    project.makefile(".toml", **{"suites/tiny": suite})
    result = project.run_optcheck("--optcheck-profile", "other", "-k", "claim")
    # Expected to fail there: it passes or fails on its verdict, never the profile's xfail or xpass.
    assert outcomes_by_claim(result) in ({"adam-beats-sgd": "passed"}, {"adam-beats-sgd": "failed"})


def test_an_expectation_for_the_backend_at_hand_beats_the_profiles(project):
    """The same claim may be decided on one backend and not on another: each says what it expects."""
    suite = TINY_SUITE.replace("confidence = 0.5\n", 'confidence = 0.5\nexpect = { small = "holds", '
                               '"small@tensorflow" = "undecided", "small@jax" = "fails" }\n'
                               'because = "three seeds on TensorFlow are too few"\n')
    project.makefile(".toml", **{"suites/tiny": suite})
    result = project.run_optcheck("-k", "claim")
    # Decided on TensorFlow after all: expected undecided there, so xpassed, and the message says how
    # to state this backend's outcome.
    result.assert_outcomes(xpassed=1)
    has_lines(result, "expected undecided on profile small (three seeds on TensorFlow are too few), but decided",
              "drop the expectation (", 'expect."small@tensorflow"), or set "small@tensorflow" = "holds" in the '
              "claim's expect table for this backend alone")
