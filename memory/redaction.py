"""Masking raw contact details in what an actor without the `pii` partition is given.

One `Redactor` serves one context pack, so a detail mentioned twice (in an identity, a message
and a fact) reads as the same token everywhere in that pack: "+1******0101", "[card-1]".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# 13 to 19 digits, optionally grouped by spaces or dashes, as card numbers are written.
CARD_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_STREET_SUFFIXES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    "terrace|ter|parkway|pkwy|highway|hwy|square|sq|circle|cir|crescent|close|row|alley|"
    "calle|strasse|straße"
)
STREET_ADDRESS = re.compile(
    r"\b\d{1,6}[A-Za-z]?\s+(?:[A-Z][\w'.-]*\s+){1,4}(?:" + _STREET_SUFFIXES + r")\b\.?"
    r"(?:,?\s*(?:apt|apartment|unit|suite|ste|flat|#)\.?\s*[\w-]+)?",
    re.IGNORECASE,
)


def luhn_valid(digits: str) -> bool:
    """The check digit card numbers carry, so an order number is not taken for a card."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


@dataclass
class Redactor:
    """Replaces contact details with numbered tokens, the same detail always the same token."""

    region: str = ""
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.region = self.region or settings.RAPPORT_DEFAULT_PHONE_REGION

    def token(self, kind: str, value: str) -> str:
        key = (kind, _canonical(kind, value, self.region))
        if key not in self.tokens:
            shown = _shown(kind, key[1], sum(1 for known in self.tokens if known[0] == kind) + 1)
            taken = set(self.tokens.values())
            candidate, n = shown, 2
            while candidate in taken:  # two numbers that mask alike still read apart
                candidate, n = f"{shown}#{n}", n + 1
            self.tokens[key] = candidate
        return self.tokens[key]

    def identity(self, kind: str, value: str) -> str:
        """An identity's value as its token, so it matches the same detail inside texts."""
        return self.token("email" if kind == "email" else "phone", value)

    def text(self, text: str) -> str:
        """`text` with every e-mail, card number, phone number and street address masked."""
        if not text:
            return text
        text = EMAIL.sub(lambda m: self.token("email", m.group()), text)
        text = CARD_CANDIDATE.sub(self._card, text)
        text = self._phones(text)
        return STREET_ADDRESS.sub(lambda m: self.token("address", m.group()), text)

    def _card(self, match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return self.token("card", digits) if luhn_valid(digits) else match.group()

    def _phones(self, text: str) -> str:
        found = list(
            # VALID, not POSSIBLE: a seven-digit order number is a "possible" local number.
            phonenumbers.PhoneNumberMatcher(text, self.region, leniency=phonenumbers.Leniency.VALID)
        )
        for match in reversed(found):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            text = text[: match.start] + self.token("phone", e164) + text[match.end :]
        return text


def _shown(kind: str, canonical: str, number: int) -> str:
    """The token: phones and e-mails masked as identities always were (+1******0101,
    a***@example.com), so a person can still ask "the number ending 0101?"; the rest numbered."""
    if kind == "phone" and len(canonical) > 6:
        return canonical[:2] + "*" * (len(canonical) - 6) + canonical[-4:]
    if kind == "email" and "@" in canonical:
        local, _, domain = canonical.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"[{kind}-{number}]"


def _canonical(kind: str, value: str, region: str) -> str:
    """One form per detail, so "(415) 555-0101" and "+14155550101" share a token."""
    if kind == "phone":
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return re.sub(r"\D", "", value)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if kind == "card":
        return re.sub(r"\D", "", value)
    if kind == "email":
        return value.casefold()
    return " ".join(value.casefold().replace(".", "").replace(",", "").split())
