"""What a suite expects of a claim on a profile: that it holds, fails, or stays undecided.

A claim item asserts this expectation against the verdict of the run at hand;
the verdict stored in a baseline is a record, never the oracle.

Where it is stated, most specific first:

    [[claims]]
    expect = { "article@jax" = "holds" }  # this claim on this profile, on one backend
    because = "..."

    [[claims]]
    expect = { smoke = "undecided" }      # this claim on this profile
    because = "..."

    [profiles.smoke]
    expect = "undecided"                  # every claim on this profile
    because = "3 seeds cannot decide a claim at 95%"

    [[claims]]
    expect = "fails"                      # this claim on every profile
    because = "..."

and otherwise `holds`. Anything but `holds` needs a `because`: the sentence the
report and the test's reason show.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pytest_optcheck.environment import BACKENDS


class Expectation(enum.Enum):
    HOLDS = "holds"
    FAILS = "fails"
    UNDECIDED = "undecided"


EXPECTATIONS = tuple(e.value for e in Expectation)


@dataclass(frozen=True)
class Expected:
    """An expectation with its reason and where the suite states it (e.g. `claims[x].expect.smoke`)."""

    expectation: Expectation
    because: str = ""
    stated_in: str = ""  # empty: nothing stated, so the claim is expected to hold

    @property
    def value(self) -> str:
        return self.expectation.value


HOLDS = Expected(Expectation.HOLDS)


def _word(t: Any, key: str, value: Any, where: str) -> Expectation:
    if not isinstance(value, str) or value not in EXPECTATIONS:
        raise t.fail(where, f"{value!r} is not an expectation; use one of: {', '.join(EXPECTATIONS)}")
    return Expectation(value)


def _because(t: Any, needed: bool) -> str:
    because = t.get("because", str, "")
    if needed and not because.strip():
        raise t.fail("because", "missing: an expectation other than 'holds' needs a because = \"...\" "
                     "saying why (the report and the test's reason show it)")
    return because.strip()


def parse_claim_expectations(t: Any, profiles: Iterable[str]) -> tuple[tuple[str, Expected], ...]:
    """A claim's `expect` (a word, or a table of words by profile or `profile@backend`) and `because`.

    Returns (key, Expected) pairs; the key "" means every profile.
    """
    raw = t.get("expect", (str, dict), None)
    names = list(profiles)
    pairs: list[tuple[str, Expectation]] = []
    if isinstance(raw, str):
        pairs.append(("", _word(t, "expect", raw, "expect")))
    elif isinstance(raw, dict):
        if not raw:
            raise t.fail("expect", "is an empty table; name profiles, e.g. expect = { smoke = \"undecided\" }")
        for key, word in raw.items():
            profile, at, backend = key.partition("@")
            if profile not in names:
                raise t.fail(_key(key), f"unknown profile {profile!r}; the suite has: {', '.join(names)}")
            if at and backend not in BACKENDS:
                raise t.fail(_key(key), f"unknown backend {backend!r}; name one of: {', '.join(BACKENDS)} "
                                        f"(e.g. \"{profile}@jax\")")
            pairs.append((key, _word(t, "expect", word, _key(key))))
    because = _because(t, any(e is not Expectation.HOLDS for _, e in pairs))
    return tuple((key, Expected(e, because, f"{t.where}.{_key(key) if key else 'expect'}")) for key, e in pairs)


def _key(key: str) -> str:
    """The TOML path of an entry of `expect`: `expect.smoke`, or `expect."article@jax"` (quoted, as TOML needs)."""
    return f'expect."{key}"' if "@" in key else f"expect.{key}"


def parse_profile_expectation(p: Any) -> Expected | None:
    """A profile's `expect` for every claim it runs, with its `because`."""
    raw = p.get("expect", str, None)
    if raw is None:
        p.get("because", str, "")  # a reason with nothing to explain is harmless
        return None
    expectation = _word(p, "expect", raw, "expect")
    return Expected(expectation, _because(p, expectation is not Expectation.HOLDS), f"{p.where}.expect")


def resolve(claim_expectations: Iterable[tuple[str, Expected]], profile: str,
            profile_default: Expected | None, backend: str) -> Expected:
    """The claim's expectation on `profile` trained on `backend`: the claim's for that profile on that
    backend, then for that profile, then the profile's, then the claim's own, then holds."""
    by_profile = dict(claim_expectations)
    for key in (f"{profile}@{backend}", profile):
        if key in by_profile:
            return by_profile[key]
    if profile_default is not None:
        return profile_default
    return by_profile.get("", HOLDS)
