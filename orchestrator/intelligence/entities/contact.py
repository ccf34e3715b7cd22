"""Contact details a message states: e-mail addresses, phone numbers and street addresses."""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings

from memory.identities import InvalidAddress, normalize_email, normalize_phone
from orchestrator.intelligence.entities.entity import Entity, EntityKind, entity_from_match
from orchestrator.intelligence.spoken import RewrittenText

# Linear however long the text: a match starts only where a run of address characters starts,
# and the run is taken whole (`++`), never retried from each character of it. The address is
# the run from its first letter or digit, as a word boundary placed it before.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[._%+-]*+"
    r"(?P<address>[A-Za-z0-9][A-Za-z0-9._%+-]*+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b)"
)


def emails(rewritten: RewrittenText) -> list[Entity]:
    """E-mail addresses, lower-cased."""
    found = []
    for match in _EMAIL.finditer(rewritten.text):
        try:
            value = normalize_email(match.group("address"))
        except InvalidAddress:
            continue
        found.append(
            entity_from_match(rewritten, EntityKind.EMAIL, "email", value, match, "address")
        )
    return found


def phones(rewritten: RewrittenText) -> list[Entity]:
    """Phone numbers of ten digits or more, in E.164."""
    found = []
    region = settings.RAPPORT_DEFAULT_PHONE_REGION
    # Possible rather than valid: customers give numbers the numbering plan would not issue
    # (test and fictional ranges), and those still identify them. Ten digits or more keeps
    # short figures out.
    matcher = phonenumbers.PhoneNumberMatcher(
        rewritten.text, region, leniency=phonenumbers.Leniency.POSSIBLE
    )
    for match in matcher:
        if sum(ch.isdigit() for ch in match.raw_string) < 10:
            continue
        try:
            value = normalize_phone(match.raw_string, region=region)
        except InvalidAddress:
            continue
        start, end = rewritten.original_span(match.start, match.end)
        found.append(
            Entity(
                kind=EntityKind.PHONE,
                key="phone",
                value=value,
                text=rewritten.original[start:end],
                start=start,
                end=end,
            )
        )
    return found


# Street addresses -----------------------------------------------------------------------------

STREET_SUFFIXES = (
    "street|str|st|stret|streeet|avenue|avenu|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|"
    "court|ct|way|place|pl|terrace|ter|circle|cir|highway|hwy|parkway|pkwy|square|sq|"
    "crescent|cres|close|grove|gardens|mews|row|walk|trail|trl|loop|alley|pike|ridge|"
    "heights|hill|view|path|crossing|xing|point|pt|green|rise|wharf|quay"
)
_ADDRESS = re.compile(
    r"\b(?P<address>\d{1,6}[a-z]?\s+(?:[nsew]\.?\s+)?(?:[a-z][a-z'.-]*\s+){0,3}?"
    rf"[a-z][a-z'.-]*\s+(?:{STREET_SUFFIXES})\b\.?"
    r"(?:\s*,?\s*(?:apt|apartment|suite|ste|unit|#)\.?\s*#?[a-z0-9-]+)?"
    r"(?:\s*,\s*[a-z][a-z .]{1,30}?(?:\s*,\s*|\s+)[a-z]{2}\s+\d{5}(?:-\d{4})?)?)",
    re.IGNORECASE,
)


def addresses(rewritten: RewrittenText) -> list[Entity]:
    """Street addresses, capitalised as an address is written."""
    found = []
    for match in _ADDRESS.finditer(rewritten.text):
        written = " ".join(match.group("address").split()).rstrip(".")
        value = " ".join(
            part if part.isupper() and len(part) == 2 else part[:1].upper() + part[1:]
            for part in written.split(" ")
        )
        found.append(
            entity_from_match(rewritten, EntityKind.ADDRESS, "address", value, match, "address")
        )
    return found
