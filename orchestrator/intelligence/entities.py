"""What a customer's message states: references, contact details, dates and times, amounts,
addresses and contact preferences, read from typed, texted or transcribed text.

Pure functions: nothing here touches the graph (see `intelligence.services` for that).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import phonenumbers
from django.conf import settings

from memory.identities import InvalidAddress, normalize_email, normalize_phone
from orchestrator.intelligence.spoken import RewrittenText, rewrite_spoken


class EntityKind(StrEnum):
    REFERENCE = "reference"
    EMAIL = "email"
    PHONE = "phone"
    DATETIME = "datetime"
    AMOUNT = "amount"
    ADDRESS = "address"
    PREFERENCE = "preference"


@dataclass(frozen=True)
class Entity:
    """One thing the message states.

    `key` says what it is within its kind (the reference's case kind: order, account, claim,
    case; date, time or datetime; the preference's name: contact_channel, avoid_channel,
    contact_time, language). `value` is normalised: an upper-case reference, E.164 phone,
    lower-case e-mail, ISO date or time, "49.99 USD". `qualifier` carries after / before /
    between for times. `start`/`end` index the original text.
    """

    kind: EntityKind
    key: str
    value: str
    text: str
    start: int
    end: int
    confidence: float = 0.9
    qualifier: str = ""


# References ---------------------------------------------------------------------------------

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
}
_REFERENCE = re.compile(
    r"\b(?P<word>[a-z]{3,13})\.?"
    r"(?:\s*(?:number|numbr|num|no\.?|nr|id|is|was|ref|reference|#|:|-))*"
    r"\s*#?\s*(?P<ref>(?=[a-z0-9-]*\d)[a-z0-9][a-z0-9-]{2,24}[a-z0-9])\b",
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


# Keys whose shape alone says what they are, whatever word comes before them: a prefix and a
# number ("MV-30417", "HB-77120") or a workspace slug ("maple-garden-86").
_SHAPED_REFERENCE = re.compile(
    r"(?:\b(?P<word>[A-Za-z]{2,15})[\s:#]+)?"
    r"\b(?P<ref>[A-Z]{1,5}-\d{4,10}|[a-z]{3,12}-[a-z]{3,12}-\d{1,4})\b"
)
_NOT_KINDS = frozenset(
    {"about", "for", "the", "my", "our", "your", "is", "on", "re", "with", "number", "and", "to"}
)


def _shaped_references(rewritten: RewrittenText, known: list[Entity]) -> list[Entity]:
    taken = {entity.value for entity in known}
    found = []
    for match in _SHAPED_REFERENCE.finditer(rewritten.text):
        reference = match.group("ref").upper()
        if reference in taken:
            continue
        word = (match.group("word") or "").lower()
        kind = _reference_kind(word) or (word if word and word not in _NOT_KINDS else "reference")
        found.append(_entity(rewritten, EntityKind.REFERENCE, kind, reference, match, "ref"))
        taken.add(reference)
    return found


def _references(rewritten: RewrittenText) -> list[Entity]:
    found = _keyword_references(rewritten)
    return found + _shaped_references(rewritten, found)


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
        found.append(_entity(rewritten, EntityKind.REFERENCE, kind, reference, match, "ref"))
    return found


# Contact details ------------------------------------------------------------------------------

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")


def _emails(rewritten: RewrittenText) -> list[Entity]:
    found = []
    for match in _EMAIL.finditer(rewritten.text):
        try:
            value = normalize_email(match.group(0))
        except InvalidAddress:
            continue
        found.append(_entity(rewritten, EntityKind.EMAIL, "email", value, match))
    return found


def _phones(rewritten: RewrittenText) -> list[Entity]:
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


# Amounts --------------------------------------------------------------------------------------

CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
CURRENCY_WORDS = {
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "buck": "USD",
    "dolars": "USD",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "cad": "CAD",
    "aud": "AUD",
    "jpy": "JPY",
    "yen": "JPY",
}
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?P<symbol>[$€£¥])\s?(?P<a>{_NUMBER})"
    rf"|\b(?P<code>usd|eur|gbp|cad|aud)\s?(?P<b>{_NUMBER})\b"
    rf"|\b(?P<c>{_NUMBER})\s?(?P<word>{'|'.join(sorted(CURRENCY_WORDS, key=len, reverse=True))})\b"
    r"(?:\s+(?:and\s+)?(?P<cents>\d{1,2})\s?cents?\b)?",
    re.IGNORECASE,
)


def _amounts(rewritten: RewrittenText) -> list[Entity]:
    found = []
    for match in _AMOUNT.finditer(rewritten.text):
        number = match.group("a") or match.group("b") or match.group("c")
        if match.group("symbol"):
            currency = CURRENCY_SYMBOLS[match.group("symbol")]
        else:
            currency = CURRENCY_WORDS[(match.group("code") or match.group("word")).lower()]
        try:
            amount = Decimal(number.replace(",", ""))
        except InvalidOperation:
            continue
        if match.group("cents"):
            amount += Decimal(match.group("cents")) / 100
        value = f"{amount.quantize(Decimal('0.01'))} {currency}"
        found.append(_entity(rewritten, EntityKind.AMOUNT, "amount", value, match))
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


def _addresses(rewritten: RewrittenText) -> list[Entity]:
    found = []
    for match in _ADDRESS.finditer(rewritten.text):
        written = " ".join(match.group("address").split()).rstrip(".")
        value = " ".join(
            part if part.isupper() and len(part) == 2 else part[:1].upper() + part[1:]
            for part in written.split(" ")
        )
        found.append(_entity(rewritten, EntityKind.ADDRESS, "address", value, match, "address"))
    return found


# Dates and times ------------------------------------------------------------------------------

WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tues": 1,
    "tue": 1,
    "wednesday": 2,
    "wednsday": 2,
    "wed": 2,
    "thursday": 3,
    "thurs": 3,
    "thur": 3,
    "thu": 3,
    "friday": 4,
    "firday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
RELATIVE_DAYS = {
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "tomorow": 1,
    "tommorow": 1,
    "tommorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    "tmw": 1,
    "2moro": 1,
    "2morrow": 1,
    "yesterday": -1,
    "yday": -1,
}
_WEEKDAY_NAMES = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE = re.compile(
    rf"\b(?P<after>day after )?(?P<relative>{'|'.join(RELATIVE_DAYS)})\b"
    rf"|\b(?:(?P<which>next|this|coming|on|by|until|last)\s+)(?P<weekday>{_WEEKDAY_NAMES})\b"
    r"|\bin\s+(?P<count>\d+|a|an)\s+(?P<unit>days?|weeks?)\b"
    r"|\b(?P<nextweek>next week)\b"
    r"|\b(?P<iso>\d{4}-\d{2}-\d{2})\b"
    r"|\b(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:/(?P<y>\d{2,4}))?\b"
    rf"|\b(?P<month>{_MONTH_NAMES})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{{4}}))?"
    rf"|\b(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month2>{_MONTH_NAMES})\b(?:,?\s+(?P<year2>\d{{4}}))?",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\b(?:(?P<qualifier>after|before|by|from|around|until|till|at)\s+)?"
    r"(?:(?P<h>\d{1,2})(?::(?P<min>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)(?=\W|$)"
    r"|(?P<h24>[01]?\d|2[0-3]):(?P<min24>[0-5]\d)\b"
    r"|(?P<named>noon|midday|midnight)\b"
    r"|(?<=at )(?P<bare>\d{1,2})\b(?!\s*(?:days?|weeks?|%|[$€£]|dollars?)))",
    re.IGNORECASE,
)
_BETWEEN = re.compile(
    r"\bbetween\s+(?P<h1>\d{1,2})(?::(?P<m1>\d{2}))?\s*(?P<ap1>am|pm)?\s+(?:and|-)\s+"
    r"(?P<h2>\d{1,2})(?::(?P<m2>\d{2}))?\s*(?P<ap2>am|pm)\b",
    re.IGNORECASE,
)


def _dates(rewritten: RewrittenText, at: dt.datetime) -> list[tuple[dt.date, re.Match[str]]]:
    today = at.date()
    found = []
    for match in _DATE.finditer(rewritten.text):
        day = _resolve_date(match, today)
        if day is not None:
            found.append((day, match))
    return found


def _resolve_date(match: re.Match[str], today: dt.date) -> dt.date | None:
    groups = match.groupdict()
    if groups["relative"]:
        offset = RELATIVE_DAYS[groups["relative"].lower()] + (1 if groups["after"] else 0)
        return today + dt.timedelta(days=offset)
    if groups["weekday"]:
        weekday = WEEKDAYS[groups["weekday"].lower()]
        which = (groups["which"] or "").lower()
        ahead = (weekday - today.weekday()) % 7
        if which == "last":
            return today - dt.timedelta(days=(today.weekday() - weekday) % 7 or 7)
        if which == "next":
            # "next Friday" said on a Monday means this week's Friday for most people; said on
            # Friday or the weekend it means the following one.
            ahead = ahead or 7
        return today + dt.timedelta(days=ahead)
    if groups["count"]:
        count = 1 if groups["count"].lower() in {"a", "an"} else int(groups["count"])
        days = count * (7 if groups["unit"].lower().startswith("week") else 1)
        return today + dt.timedelta(days=days)
    if groups["nextweek"]:
        return today + dt.timedelta(days=7 - today.weekday())
    try:
        if groups["iso"]:
            return dt.date.fromisoformat(groups["iso"])
        if groups["m"]:
            year = _year(groups["y"], today)
            return _upcoming(today, year, int(groups["m"]), int(groups["d"]), bool(groups["y"]))
        month_name, day_text, year_text = (
            (groups["month"], groups["day"], groups["year"])
            if groups["month"]
            else (groups["month2"], groups["day2"], groups["year2"])
        )
        month = MONTHS[month_name.lower().rstrip(".")]
        year = _year(year_text, today)
        return _upcoming(today, year, month, int(day_text), bool(year_text))
    except ValueError:
        return None


def _year(text: str | None, today: dt.date) -> int:
    if not text:
        return today.year
    year = int(text)
    return year + 2000 if year < 100 else year


def _upcoming(today: dt.date, year: int, month: int, day: int, year_given: bool) -> dt.date:
    """A date without a year is the next one to come, unless it is within the last month."""
    candidate = dt.date(year, month, day)
    if not year_given and candidate < today - dt.timedelta(days=31):
        candidate = dt.date(year + 1, month, day)
    return candidate


@dataclass(frozen=True)
class _Clock:
    """A time of day as stated: "after 5pm", "between 2 and 4pm" (`until` is the 4pm)."""

    time: dt.time
    qualifier: str
    match: re.Match[str]
    until: dt.time | None = None

    def written(self) -> str:
        return f"{self.time:%H:%M}" + (f"-{self.until:%H:%M}" if self.until else "")


def _times(rewritten: RewrittenText) -> list[_Clock]:
    found = []
    for match in _BETWEEN.finditer(rewritten.text):
        second = _clock(match.group("h2"), match.group("m2"), match.group("ap2"))
        first = _clock(match.group("h1"), match.group("m1"), match.group("ap1") or match["ap2"])
        if first is not None and second is not None:
            found.append(_Clock(first, "between", match, until=second))
    for match in _TIME.finditer(rewritten.text):
        if any(_overlaps(match, other.match) for other in found):
            continue
        groups = match.groupdict()
        if groups["named"]:
            named = groups["named"].lower()
            clock: dt.time | None = dt.time(0, 0) if named == "midnight" else dt.time(12, 0)
        elif groups["h24"]:
            clock = _clock(groups["h24"], groups["min24"], None)
        elif groups["bare"]:
            # "at 5" in a contact center means office hours: 1 to 7 are afternoon times.
            hour = int(groups["bare"])
            if not 1 <= hour <= 12:
                continue
            clock = _clock(str(hour), None, "pm" if hour <= 7 else "am")
        else:
            clock = _clock(groups["h"], groups["min"], groups["ampm"])
        if clock is None:
            continue
        qualifier = (groups["qualifier"] or "").lower()
        qualifier = {"till": "before", "until": "before", "by": "before", "from": "after"}.get(
            qualifier, qualifier
        )
        found.append(_Clock(clock, "" if qualifier in {"at", "around"} else qualifier, match))
    return found


def _clock(hour: str, minute: str | None, ampm: str | None) -> dt.time | None:
    h, m = int(hour), int(minute or 0)
    if ampm:
        pm = ampm.lower().startswith("p")
        if not 1 <= h <= 12:
            return None
        h = (h % 12) + (12 if pm else 0)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return dt.time(h, m)


def _date_times(rewritten: RewrittenText, at: dt.datetime) -> list[Entity]:
    """Dates and times, joined into one datetime when a time is stated right by its date."""
    dates = _dates(rewritten, at)
    times = [t for t in _times(rewritten) if not any(_overlaps(t.match, d[1]) for d in dates)]
    entities = []
    paired: set[int] = set()
    for day, date_match in dates:
        partner = next(
            (
                index
                for index, clock in enumerate(times)
                if index not in paired
                and (
                    0 <= clock.match.start() - date_match.end() <= 12
                    or 0 <= date_match.start() - clock.match.end() <= 12
                )
            ),
            None,
        )
        if partner is None:
            entities.append(
                _entity(rewritten, EntityKind.DATETIME, "date", day.isoformat(), date_match)
            )
            continue
        paired.add(partner)
        clock = times[partner]
        moment = dt.datetime.combine(day, clock.time, tzinfo=at.tzinfo).isoformat()
        if clock.until is not None:
            moment = f"{moment}/{clock.until:%H:%M}"
        entities.append(
            _span_entity(
                rewritten,
                EntityKind.DATETIME,
                "datetime",
                moment,
                min(date_match.start(), clock.match.start()),
                max(date_match.end(), clock.match.end()),
                qualifier=clock.qualifier,
            )
        )
    entities.extend(
        _entity(
            rewritten,
            EntityKind.DATETIME,
            "time",
            clock.written(),
            clock.match,
            qualifier=clock.qualifier,
        )
        for index, clock in enumerate(times)
        if index not in paired
    )
    return entities


# Preferences ----------------------------------------------------------------------------------

_NEGATION = r"(?:don'?t|dont|do not|pls don'?t|please don'?t|never|no|stop|not)"
_CHANNELS = {
    "voice": r"call(?:s|ing)?|ring|phone(?! number)|calls",
    "sms": r"text(?:s|ing)?|txt|sms|texting",
    "email": r"e-?mail(?:s|ing)?",
}
_AVOID = [
    (channel, re.compile(rf"\b{_NEGATION}\s+(?:\w+\s+)?(?:{words})\b", re.IGNORECASE))
    for channel, words in _CHANNELS.items()
]
_PREFER = [
    (
        channel,
        re.compile(
            rf"\b(?:(?:{words})\s+me\b|prefer\s+(?:a\s+)?(?:{words})|(?:{words})\s+(?:is|works)\s+"
            rf"(?:better|best|fine)|(?:{words})\s+only|only\s+(?:{words}))",
            re.IGNORECASE,
        ),
    )
    for channel, words in _CHANNELS.items()
]
_CONTACT_WORDS = re.compile(
    r"\b(?:call|text|txt|reach|contact|ring|phone|email|e-mail|get back|available|free|home)",
    re.IGNORECASE,
)
_LANGUAGE = re.compile(
    r"\b(?:in|speak|habla\w*)\s+(?P<language>spanish|espa[ñn]ol|french|fran[cç]ais|english|"
    r"portuguese|german|chinese|mandarin|vietnamese)\b",
    re.IGNORECASE,
)
LANGUAGE_CODES = {
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "english": "en",
    "portuguese": "pt",
    "german": "de",
    "chinese": "zh",
    "mandarin": "zh",
    "vietnamese": "vi",
}


def _preferences(rewritten: RewrittenText, times: list[Entity]) -> list[Entity]:
    text = rewritten.text
    found = []
    avoided: list[tuple[int, int]] = []
    for channel, pattern in _AVOID:
        for match in pattern.finditer(text):
            avoided.append(match.span())
            found.append(_entity(rewritten, EntityKind.PREFERENCE, "avoid_channel", channel, match))
    for channel, pattern in _PREFER:
        for match in pattern.finditer(text):
            if any(start <= match.start() < end for start, end in avoided):
                continue
            found.append(
                _entity(rewritten, EntityKind.PREFERENCE, "contact_channel", channel, match)
            )
    for entity in times:
        if entity.key != "time" or not entity.qualifier:
            continue
        # Messages are short: "text me. after 5pm is fine" states one preference across two
        # sentences, so any contact word in the message makes a qualified time a contact time.
        if _CONTACT_WORDS.search(rewritten.original):
            found.append(
                Entity(
                    kind=EntityKind.PREFERENCE,
                    key="contact_time",
                    value=f"{entity.qualifier} {entity.value}",
                    text=entity.text,
                    start=entity.start,
                    end=entity.end,
                    confidence=0.8,
                    qualifier=entity.qualifier,
                )
            )
    for match in _LANGUAGE.finditer(text):
        code = LANGUAGE_CODES[match.group("language").lower()]
        found.append(_entity(rewritten, EntityKind.PREFERENCE, "language", code, match))
    return found


# Putting it together --------------------------------------------------------------------------


def extract_entities(text: str, *, at: dt.datetime) -> list[Entity]:
    """Everything the message states, in reading order; relative dates resolve against `at`.

    Earlier kinds claim their span first, so an account number is not also read as a phone
    number and an order number not as an amount.
    """
    if at.tzinfo is None:
        raise ValueError("extract_entities needs a timezone-aware message time")
    rewritten = rewrite_spoken(text)
    claimed: list[Entity] = []
    for found in (
        _emails(rewritten),
        _references(rewritten),
        _phones(rewritten),
        _amounts(rewritten),
        _addresses(rewritten),
        _date_times(rewritten, at),
    ):
        claimed.extend(entity for entity in found if not _clashes(entity, claimed))
    times = [entity for entity in claimed if entity.kind == EntityKind.DATETIME]
    preferences = _preferences(rewritten, times)
    contact_times = {(p.start, p.end) for p in preferences if p.key == "contact_time"}
    entities = [e for e in claimed if (e.start, e.end) not in contact_times or e.key != "time"]
    entities.extend(preferences)
    return sorted(entities, key=lambda entity: (entity.start, entity.kind.value))


def _clashes(entity: Entity, claimed: list[Entity]) -> bool:
    return any(entity.start < other.end and other.start < entity.end for other in claimed)


def _overlaps(first: re.Match[str], second: re.Match[str]) -> bool:
    return first.start() < second.end() and second.start() < first.end()


def _entity(
    rewritten: RewrittenText,
    kind: EntityKind,
    key: str,
    value: str,
    match: re.Match[str],
    group: str | int = 0,
    *,
    qualifier: str = "",
) -> Entity:
    return _span_entity(
        rewritten, kind, key, value, match.start(group), match.end(group), qualifier=qualifier
    )


def _span_entity(
    rewritten: RewrittenText,
    kind: EntityKind,
    key: str,
    value: str,
    start: int,
    end: int,
    *,
    qualifier: str = "",
) -> Entity:
    original_start, original_end = rewritten.original_span(start, end)
    # A value read from spelled-out words is less certain than one the customer typed.
    spoken = any(
        new_start < end and start < new_end for new_start, new_end, _, _ in rewritten.replacements
    )
    return Entity(
        kind=kind,
        key=key,
        value=value,
        text=rewritten.original[original_start:original_end],
        start=original_start,
        end=original_end,
        confidence=0.75 if spoken else 0.9,
        qualifier=qualifier,
    )
