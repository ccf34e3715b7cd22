"""Masking raw contact details in what an actor without the `pii` partition is given.

One `Redactor` serves one context pack, so a detail mentioned twice (in an identity, a message
and a fact) reads as the same token everywhere in that pack: "+1******0101", "[card-1]".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings

from memory.text_limits import analysis_text

# Every pattern here runs on whatever a customer sends, so each one runs in linear time: a match
# may only start where a run of its characters starts (the look-behinds), and a run once taken
# is never given back character by character (possessive `++`, bounded `{m,n}`). The unanchored
# `[...]+@` this replaces rescanned a 200,000-character word once per character.
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]++@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# 13 to 19 digits, optionally grouped by spaces or dashes, as card numbers are written.
CARD_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# The last four digits of a card said on their own: "card ending 4242", "Visa ending in 4242",
# "last four 4242", "last 4 digits are 4242", "xxxx-xxxx-xxxx-4242". Only the four digits are
# masked, so the sentence still reads as what it is.
PARTIAL_CARD = re.compile(
    r"(?i:\b(?:card|visa|mastercard|master card|amex|american express|discover|debit|credit|cc)"
    r"\b[^.!?\n\d]{0,40}?\b(?:ending|ends|ended)(?:\s+(?:in|with))?"
    r"|\blast\s+(?:four|4)(?:\s+digits?)?(?:\s+(?:of|on)\s+(?:my|the|your|our)\s+\w+(?:\s+card)?)?"
    r"(?:\s+(?:are|is|were|was))?)"
    r"[\s:#=-]{0,4}(?P<digits>\d{4})(?![\d-])"
    r"|(?:[xX*•]{4}[ -]?){1,3}(?P<after_mask>\d{4})(?![\d-])"
)

# Postal addresses ------------------------------------------------------------------------------
# Word lists from USPS Publication 28: street suffixes (Appendix C1, the common ones and their
# standard abbreviations), secondary unit designators (Appendix C2) and state abbreviations
# (Appendix B); UK postcodes in the shape Royal Mail's address format gives them (an outward
# code of one or two letters, a digit and an optional letter or digit; a space; a digit and two
# letters). A postcode alone must be written in capitals: "ab1 2cd" in lower case is as likely a
# code of some other kind.
# A suffix that names a street whatever the case it is written in ("12 oak ave").
_STRONG_SUFFIXES = (
    "street|st|str|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|terrace|ter|"
    "parkway|pkwy|highway|hwy|crescent|cres|circle|cir|alley|aly|expressway|expy|freeway|fwy|"
    "turnpike|tpke|calle|strasse|straße"
)
# A suffix that is also an everyday word ("2 hours at the park"): a street only after a name
# written with capitals ("3 Harbor View"), or followed by a city and state or a postcode.
_WEAK_SUFFIXES = (
    "way|place|pl|square|sq|close|row|grove|gardens|gdns|mews|walk|trail|trl|loop|pike|ridge|"
    "heights|hts|hill|view|vw|path|crossing|xing|point|pt|green|rise|wharf|quay|park|plaza|plz|"
    "commons|cove|creek|glen|harbor|harbour|landing|meadow|meadows|pass|run|bend|vista|manor|"
    "hollow|knoll|lake|lakes|mill|orchard|pines|shore|shores|springs|summit|valley|village|woods"
)
_UNIT_WORDS = (
    "apt|apartment|unit|suite|ste|flat|fl|floor|rm|room|bldg|building|lot|spc|space|trlr|ph|"
    "penthouse|dept|ofc|office"
)
_STATE_CODES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    "NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP"
)
_STATE_NAMES = (
    "alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|florida|georgia|"
    "hawaii|idaho|illinois|indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|"
    "michigan|minnesota|mississippi|missouri|montana|nebraska|nevada|new hampshire|new jersey|"
    "new mexico|new york|north carolina|north dakota|ohio|oklahoma|oregon|pennsylvania|"
    "rhode island|south carolina|south dakota|tennessee|texas|utah|vermont|virginia|washington|"
    "west virginia|wisconsin|wyoming|district of columbia|puerto rico"
)
# A word starts where a run of word characters starts, never inside one (a match tried from
# every letter of a long run would rescan it from each).
_WORD = r"(?<![\w'’.\-])[A-Za-z][A-Za-z'’.\-]*+"
_CAPITAL_WORD = r"(?<![\w'’.\-])(?:[A-Z][A-Za-z'’.\-]*+|\d{1,3}(?i:st|nd|rd|th)\b)"
_ANY_WORD = rf"(?:{_WORD}|\d{{1,3}}(?i:st|nd|rd|th)\b)"
_NUMBER = r"\b\d{1,6}(?:-\d{1,6})?[A-Za-z]?"
_UNIT = rf"(?:,?\s{{0,3}}(?i:(?:{_UNIT_WORDS})\b\.?|#)\s{{0,3}}#?[A-Za-z0-9][A-Za-z0-9\-]{{0,7}}\b)"
_ZIP = r"\d{5}(?:-\d{4})?(?![\d-])"
_POSTCODE_SHAPE = r"[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}"
_POSTCODE = rf"\b{_POSTCODE_SHAPE}\b"
_STATE_ZIP = rf"(?:(?i:{_STATE_CODES}|{_STATE_NAMES})\.?\s{{1,3}}{_ZIP})"
# ", Arlington, VA 22201", " London NW1 6XE" after a street: the city is any words, the state
# any case, since the street before it already says this is an address.
_TOWN_TAIL = (
    rf"(?:,?\s{{1,3}}{_WORD}(?:\s{{1,3}}{_WORD}){{0,2}})?,?\s{{1,3}}"
    rf"(?:{_STATE_ZIP}|(?i:{_POSTCODE_SHAPE})\b)"
)
_STREET = (
    rf"{_NUMBER}(?:\s{{1,3}}{_ANY_WORD}){{1,4}}?\s{{1,3}}(?i:{_STRONG_SUFFIXES})\b\.?"
    rf"|{_NUMBER}(?:\s{{1,3}}{_CAPITAL_WORD}){{1,4}}?\s{{1,3}}(?i:{_WEAK_SUFFIXES})\b\.?"
    rf"|{_NUMBER}(?:\s{{1,3}}{_ANY_WORD}){{1,4}}?\s{{1,3}}(?i:{_WEAK_SUFFIXES})\b\.?(?={_UNIT}?{_TOWN_TAIL})"
)
# "Flat 2, 10 Downing Street", "Apt 4B, 500 W 5th Ave": the unit written first.
_UNIT_FIRST = (
    rf"(?:(?i:\b(?:{_UNIT_WORDS})\b\.?)\s{{0,3}}#?[A-Za-z0-9][A-Za-z0-9\-]{{0,7}},?\s{{1,3}})"
)
POSTAL_ADDRESS = re.compile(
    # A street (its unit before or after it, a quadrant such as "NW"), and the town with its
    # state and ZIP or its postcode when given.
    rf"(?:{_UNIT_FIRST}?(?:{_STREET})(?:\s{{1,3}}(?:[NS][EW]?|[EW])\b\.?)?{_UNIT}?(?:{_TOWN_TAIL})?)"
    # A town with its state and ZIP, or a postcode, on their own: "Arlington, VA 22201". The
    # look-ahead (a ZIP within reach) spares trying fifty state names at every word.
    rf"|(?<![\w'’.\-])(?=[A-Za-z0-9][^\d\n]{{0,80}}+\d{{5}}(?!\d))(?:{_CAPITAL_WORD}(?:\s{{1,3}}{_CAPITAL_WORD}){{0,2}},?\s{{1,3}})?"
    rf"(?:(?:{_STATE_CODES}|(?i:{_STATE_NAMES}))\.?\s{{1,3}}{_ZIP})"
    rf"|(?=[A-Za-z][^\d\n]{{0,60}}+\d{{5}}(?!\d)){_WORD},\s{{0,3}}{_STATE_ZIP}"
    rf"|{_POSTCODE}"
    # A P.O. box is an address too.
    r"|(?i:\bp\.?\s?o\.?\s?box\s{0,3}\d{1,8}\b)"
)
# A ZIP or postcode named as one, with nothing around it: "my zip is 22201".
POSTAL_CODE_NAMED = re.compile(
    r"(?i:\b(?:zip|zip\s?code|postal\s?code|post\s?code|postcode)\b(?:\s{1,3}is)?[\s:#-]{0,4})"
    rf"(?P<code>{_ZIP}|(?i:[A-Z]{{1,2}}\d[A-Z\d]?\s?\d[A-Z]{{2}})\b)"
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
        """`text` with every e-mail, card number (whole or its last four), phone number and
        postal address masked; cut first to what analysis reads, so no input costs more."""
        if not text:
            return text
        text = analysis_text(text)
        text = EMAIL.sub(lambda m: self.token("email", m.group()), text)
        text = CARD_CANDIDATE.sub(self._card, text)
        text = PARTIAL_CARD.sub(self._partial_card, text)
        text = self._phones(text)
        text = POSTAL_ADDRESS.sub(lambda m: self.token("address", m.group()), text)
        return POSTAL_CODE_NAMED.sub(self._postal_code, text)

    def _card(self, match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return self.token("card", digits) if luhn_valid(digits) else match.group()

    def _partial_card(self, match: re.Match[str]) -> str:
        group = "digits" if match.group("digits") else "after_mask"
        # "…4242" never clashes with a whole number, and "ending 4242" and "last four 4242"
        # share it: the same card read twice is one token.
        token = self.token("card", "…" + match.group(group))
        start, end = match.span(group)
        whole = match.group()
        return whole[: start - match.start()] + token + whole[end - match.start() :]

    def _postal_code(self, match: re.Match[str]) -> str:
        start, end = match.span("code")
        whole = match.group()
        token = self.token("address", match.group("code"))
        return whole[: start - match.start()] + token + whole[end - match.start() :]

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
        return ("…" if value.startswith("…") else "") + re.sub(r"\D", "", value)
    if kind == "email":
        return value.casefold()
    return " ".join(value.casefold().replace(".", "").replace(",", "").split())
