"""Dates and times a message states ("tmrw after 5pm", "next Friday", "11/30 at 2"),
resolved against when the message was sent.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from orchestrator.intelligence.entities.entity import (
    Entity,
    EntityKind,
    entity_from_match,
    entity_from_span,
)
from orchestrator.intelligence.spoken import RewrittenText

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
# "\s*(am|pm)?\s+" read a run of blank lines once from each place it could split it: the
# optional am/pm carries its own spaces instead.
_BETWEEN = re.compile(
    r"\bbetween\s+(?P<h1>\d{1,2})(?::(?P<m1>\d{2}))?(?:\s*+(?P<ap1>am|pm))?\s+(?:and|-)\s+"
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


def date_times(rewritten: RewrittenText, at: dt.datetime) -> list[Entity]:
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
                entity_from_match(
                    rewritten, EntityKind.DATETIME, "date", day.isoformat(), date_match
                )
            )
            continue
        paired.add(partner)
        clock = times[partner]
        moment = dt.datetime.combine(day, clock.time, tzinfo=at.tzinfo).isoformat()
        if clock.until is not None:
            moment = f"{moment}/{clock.until:%H:%M}"
        entities.append(
            entity_from_span(
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
        entity_from_match(
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


def _overlaps(first: re.Match[str], second: re.Match[str]) -> bool:
    return first.start() < second.end() and second.start() < first.end()
