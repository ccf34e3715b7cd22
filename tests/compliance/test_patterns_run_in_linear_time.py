"""Every text pattern that runs on customer input runs in linear time: each one that could
backtrack quadratically is timed on the input that made it do so, at n and 4n characters, with
the length caps lifted so the pattern itself is what is measured. Linear work grows about four
times; the quadratic patterns these replace grew sixteen times (and more).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable

import pytest

from memory import redaction
from memory.redaction import Redactor
from orchestrator.intelligence import names, spoken, statements
from orchestrator.intelligence.entities import contact, dates, references
from orchestrator.intelligence.entities.extract import extract_entities

N = 20_000
RATIO_BOUND = 8.0
# Below this, a timing is noise on a loaded machine: the ratio is taken against it.
FLOOR_SECONDS = 0.02
# Four times N through one pattern, however slow the machine: the quadratic e-mail pattern took
# 15 s on 80,000 characters.
BOUND_SECONDS = 3.0


def _best_of_three(run: Callable[[str], object], text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        run(text)
        best = min(best, time.perf_counter() - started)
    return best


def assert_linear(run: Callable[[str], object], make: Callable[[int], str], *, n: int = N) -> None:
    small = _best_of_three(run, make(n))
    large = _best_of_three(run, make(4 * n))
    assert large < BOUND_SECONDS, f"{4 * n} characters took {large:.2f}s"
    assert large < RATIO_BOUND * max(small, FLOOR_SECONDS), f"{small:.3f}s -> {large:.3f}s"


def every_match(pattern: re.Pattern[str]) -> Callable[[str], object]:
    return lambda text: list(pattern.finditer(text))


AT = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

ADVERSARIAL = [
    # The e-mail pattern masking runs on every context read without `pii`.
    (
        "redaction e-mail, one long token",
        every_match(redaction.EMAIL),
        lambda n: "token:" + "A" * n,
    ),
    ("redaction e-mail, dotted letters", every_match(redaction.EMAIL), lambda n: "a." * (n // 2)),
    ("redaction e-mail, dashes", every_match(redaction.EMAIL), lambda n: "-" * n),
    ("redaction e-mail, at signs", every_match(redaction.EMAIL), lambda n: "a@" * (n // 2)),
    ("postal address, capitals", every_match(redaction.POSTAL_ADDRESS), lambda n: "A" * n),
    ("postal address, words", every_match(redaction.POSTAL_ADDRESS), lambda n: "1 A " * (n // 4)),
    ("postal address, towns", every_match(redaction.POSTAL_ADDRESS), lambda n: "Aa, " * (n // 4)),
    ("partial card", every_match(redaction.PARTIAL_CARD), lambda n: "card ending " * (n // 12)),
    ("card number", every_match(redaction.CARD_CANDIDATE), lambda n: "1 " * (n // 2)),
    ("entities e-mail", every_match(contact._EMAIL), lambda n: "a1-" * (n // 3)),
    ("spoken e-mail", every_match(spoken._SPOKEN_EMAIL), lambda n: "a dot " * (n // 6)),
    ("name here, blank lines", every_match(names._HERE), lambda n: "\n" * n),
    (
        "name signed inline, blank lines",
        every_match(names._SIGNED_INLINE),
        lambda n: " \n" * (n // 2),
    ),
    ("stutter, dotted letters", names._without_stutter, lambda n: "a." * (n // 2)),
    ("stutter, apostrophes", names._without_stutter, lambda n: "a'" * (n // 2)),
    ("time range", every_match(dates._BETWEEN), lambda n: "between 1" + "\n" * n + "x"),
    ("reference", every_match(references._REFERENCE), lambda n: "order no" + " " * n + "x"),
    ("unit", every_match(statements._UNIT), lambda n: "apt" + "\n" * n + "x"),
    ("plan", every_match(statements._PLAN), lambda n: "plan" + " \n" * (n // 2) + "x"),
    ("new reference", every_match(statements._NEW_REFERENCE), lambda n: "new ref" + "\n" * n + "x"),
]


@pytest.mark.parametrize(
    ("run", "make"),
    [(run, make) for _, run, make in ADVERSARIAL],
    ids=[i for i, _, _ in ADVERSARIAL],
)
def test_pattern_runs_in_linear_time_on_adversarial_input(run, make):
    assert_linear(run, make)


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "token:" + "A" * n,
        lambda n: "a." * (n // 2),
        lambda n: "1 " * (n // 2),
        lambda n: "4" * n,
        lambda n: "Aa " * (n // 3),
    ],
    ids=["long token", "dotted letters", "spaced digits", "digits", "capitalised words"],
)
def test_masking_a_whole_text_runs_in_linear_time(settings, make):
    settings.RAPPORT_MAX_MESSAGE_CHARS = 10 * N  # measure the masking, not the cap
    assert_linear(lambda text: Redactor().text(text), make)


@pytest.mark.parametrize(
    "make",
    [lambda n: "$1 " * (n // 3), lambda n: "two x " * (n // 6), lambda n: "a." * (n // 2)],
    ids=["thousands of amounts", "thousands of spoken numbers", "dotted letters"],
)
def test_reading_entities_runs_in_linear_time(settings, make):
    """Each entity used to be checked against every one claimed before it, and each spoken
    number looked up through a list rebuilt on every lookup."""
    settings.RAPPORT_MAX_MESSAGE_CHARS = 10 * N
    # A quarter of N: every amount is an entity, and 3,000 of them are plenty to tell linear
    # from quadratic (the old check made that nine million comparisons).
    assert_linear(lambda text: extract_entities(text, at=AT), make, n=N // 4)


def test_masking_cuts_a_text_longer_than_analysis_reads_between_words(settings):
    settings.RAPPORT_MAX_MESSAGE_CHARS = 100
    text = "x " * 45 + "write to ana.ruiz@example.com " + "y " * 1000
    masked = Redactor().text(text)
    assert len(masked) < 110 and masked.endswith("[…]")
    # The cut falls before the address, never inside it: no half of it is left unmasked.
    assert "ana" not in masked and "@" not in masked
