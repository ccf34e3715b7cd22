"""References a message quotes (order, account, claim, booking numbers...), read after a
reference word, misspelt or not, or from a key whose shape alone says what it is.
"""

from __future__ import annotations

import re

from wordfreq import zipf_frequency

from orchestrator.intelligence.entities.entity import Entity, EntityKind, entity_from_match
from orchestrator.intelligence.spoken import RewrittenText

REFERENCE_WORDS = {
    "order": "order",
    "purchase": "order",
    "shipment": "order",
    "package": "order",
    "tracking": "order",
    "account": "account",
    "acct": "account",
    "acc": "account",
    "membership": "account",
    "policy": "account",
    "claim": "claim",
    "case": "case",
    "ticket": "case",
    "incident": "case",
    "complaint": "case",
    "reference": "case",
    "ref": "case",
    "confirmation": "order",
    "booking": "order",
    "reservation": "order",
    "invoice": "order",
    "workspace": "workspace",
    "tenant": "account",
    "subscription": "account",
    "contract": "account",
    "patient": "patient",
    "prescription": "prescription",
    "rx": "prescription",
    "job": "job",
    "work order": "job",
    "student": "student",
    "loan": "account",
    "pnr": "booking",
    "locator": "booking",
    "agreement": "agreement",
    "lease": "agreement",
}
_REFERENCE = re.compile(
    r"\b(?P<word>[a-z]{3,13})\.?"
    # Spaces taken whole (`\s*+`): "\s*#?\s*" split a run of spaces every possible way.
    r"(?:\s*+(?:number|numbr|num|no\.?|nr|id|is|was|now|ref|reference|#|:|-))*"
    r"\s*+#?\s*+(?P<ref>(?=[a-z0-9-]*\d)[a-z0-9][a-z0-9-]{2,24}[a-z0-9])\b",
    re.IGNORECASE,
)


def _reference_kind(word: str) -> str | None:
    """The case kind a (possibly misspelt) reference word names: "ordr", "oder", "acount"."""
    word = word.lower()
    if word in REFERENCE_WORDS:
        return REFERENCE_WORDS[word]
    if len(word) < 4:
        return None
    for known, kind in REFERENCE_WORDS.items():
        if len(known) >= 5 and _within_one_edit(word, known):
            return kind
    return None


def _within_one_edit(word: str, known: str) -> bool:
    """True when one insertion, deletion, substitution or swap turns `word` into `known`."""
    if abs(len(word) - len(known)) > 1:
        return False
    if len(word) == len(known):
        diffs = [i for i, (a, b) in enumerate(zip(word, known, strict=True)) if a != b]
        if len(diffs) <= 1:
            return True
        first, second = diffs[0], diffs[-1]
        return (
            len(diffs) == 2
            and second == first + 1
            and word[first] == known[second]
            and word[second] == known[first]
        )
    shorter, longer = sorted((word, known), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _reference_matches(text: str) -> list[re.Match[str]]:
    """Reference matches, retrying from the next word when the word before the key is not a
    reference word ("the new reference is R478RW" starts at "reference", not "new").
    """
    matches = []
    position = 0
    while (match := _REFERENCE.search(text, position)) is not None:
        if _reference_kind(match.group("word")) is None:
            position = match.end("word")
            continue
        matches.append(match)
        position = match.end()
    return matches


# Keys whose shape alone says what they are, whatever word comes before them: capital
# letters, a hyphen and a run of digits ("MV-30417"), the way most ticketing, order and
# policy systems print their keys. A word-word-number slug is a key only after a reference
# word (`_keyword_references`): by its shape alone it could be anything.
_SHAPED_REFERENCE = re.compile(
    r"(?:\b(?P<word>[A-Za-z]{2,15})[\s:#]+)?\b(?P<ref>[A-Z]{1,5}-\d{4,10})\b"
)


def _shaped_references(rewritten: RewrittenText, known: list[Entity]) -> list[Entity]:
    taken = {entity.value for entity in known}
    found = []
    for match in _SHAPED_REFERENCE.finditer(rewritten.text):
        reference = match.group("ref").upper()
        if reference in taken:
            continue
        word = (match.group("word") or "").lower()
        # The word before the key names its kind only when it is a reference word ("use
        # RW-4180922 now" is not a "use").
        kind = _reference_kind(word) or "reference"
        found.append(
            entity_from_match(rewritten, EntityKind.REFERENCE, kind, reference, match, "ref")
        )
        taken.add(reference)
    return found


def references(rewritten: RewrittenText) -> list[Entity]:
    """The references quoted after a reference word, then those known by their shape alone."""
    found = _keyword_references(rewritten)
    found += _letter_codes(rewritten, found)
    return found + _shaped_references(rewritten, found)


# A code of letters only after a reference word ("booking reference MHGJHE", "PNR is
# qzkfta"): airline locators and booking codes often carry no digit.
_LETTER_CODE = re.compile(
    r"\b(?P<word>[a-z]{3,13})\.?"
    r"(?:\s*+(?:(?:number|numbr|num|no|nr|id|is|was|now|reference|ref|code|use)(?![a-z])\.?"
    r"|[#:,-]))*"
    r"\s*+(?P<ref>[a-z]{5,10})\b(?![-\d])",
    re.IGNORECASE,
)


# Letters this common in English (wordfreq's Zipf scale: 2 is once in a hundred million
# words) are a word, not a code: "account CLOSED", "booking reference please".
_WORD_ZIPF = 2.0


_LABEL_WORDS = ("number", "reference", "confirmation", "code", *REFERENCE_WORDS)


def _a_label_word(word: str) -> bool:
    """A misspelt label ("numbr", "refrence") is not a code."""
    word = word.lower()
    return any(_within_one_edit(word, label) for label in _LABEL_WORDS if len(label) >= 4)


def _letter_codes(rewritten: RewrittenText, known: list[Entity]) -> list[Entity]:
    """Letter-only codes after a reference word, when the letters make no English word."""
    taken = {entity.value for entity in known}
    found = []
    position = 0
    # Retried from the next word after a miss: in "booking refrence MHGJHE" the code follows
    # the misspelt label, not "booking".
    while (match := _LETTER_CODE.search(rewritten.text, position)) is not None:
        position = match.end("word")
        kind = _reference_kind(match.group("word"))
        code = match.group("ref")
        if kind is None or code.upper() in taken:
            continue
        if zipf_frequency(code.lower(), "en") >= _WORD_ZIPF or _a_label_word(code):
            continue
        position = match.end()
        found.append(
            entity_from_match(rewritten, EntityKind.REFERENCE, kind, code.upper(), match, "ref")
        )
        taken.add(code.upper())
    return found


def _keyword_references(rewritten: RewrittenText) -> list[Entity]:
    found = []
    for match in _reference_matches(rewritten.text):
        kind = _reference_kind(match.group("word"))
        if kind is None:
            continue
        reference = match.group("ref").upper()
        digits = sum(ch.isdigit() for ch in reference)
        # A workspace slug ("maple-garden-86") carries few digits but is unmistakably a key.
        slug = "-" in reference and len(reference) >= 8 and any(ch.isalpha() for ch in reference)
        # Booking codes ("MZA6HF") mix letters with as little as one digit.
        code = len(reference) >= 5 and digits >= 1 and sum(ch.isalpha() for ch in reference) >= 2
        if digits < 3 and not slug and not code:
            continue
        found.append(
            entity_from_match(rewritten, EntityKind.REFERENCE, kind, reference, match, "ref")
        )
    return found
