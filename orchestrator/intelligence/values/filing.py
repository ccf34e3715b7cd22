"""Filing the values of one turn against what is known: the newest value a customer gives
for the same thing replaces the old one, another thing of the same kind is kept beside it
("date", "date #2"), and a value repeated is not filed again."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.intelligence.values.changes import change_model
from orchestrator.intelligence.values.kinds import DATE, KINDS, TIME, fact_key

REPLACES_AT = 0.25
# Between two values of one kind in one message, words that make the second a correction of
# the first ("the 3rd, no, the 5th"; "not Tuesday but Friday"; "change X to Y"). Written
# here from everyday English; no sample or generator wording.
_CORRECTION = re.compile(
    r"\b(?:no|not|nope|instead|rather|actually|change\w*|switch\w*|move\w*|make it|sorry|"
    r"scratch that|i mean|correction)\b",
    re.I,
)


# Words that announce a change of something chosen before ("we've switched to X", "go with
# Y after all", "use Z now", "the new one is ..."): everyday English, written here, from no
# sample or generator. The SGD change model knows dates and places well but has seen few
# such sentences about plans and suppliers.
CHANGE_CUE = re.compile(
    r"\b(?:switch\w*|chang\w*|mov(?:e|ed|ing)\b|upgrad\w*|downgrad\w*|replac\w*|rebook\w*|"
    r"reissu\w*|cancel\w*|instead|after all|anymore|any more|no longer|from now on|"
    r"new|now|updat\w*|went with|go(?:ing)? with|gone with|decided|rather|actually|"
    r"scratch that|not .{1,30}? but|not (?:the|that|our|my|this)|prefer\w*|better|"
    r"correct(?:ed|ion)?|relocat\w*|from today|signed up|opted|settled on)\b",
    re.I,
)
# Kinds a tagger value of which may be a new choice of plan, supplier or product, and the
# fact keys such choices are kept under by the statements.
CHOICE_KINDS = frozenset({"named", "type"})
CHOICE_KEYS = ("plan", "chosen vendor")
# A date and a time kept together by the statements ("August 11 at 8:30am").
APPOINTMENT = "appointment"
# When the customer wants to be called ("after 5:30pm"), kept by the statements.
CONTACT_TIME = "contact time"
# A window of the day or week rather than a moment ("before 8am", "weekends", "mornings
# before 9"), and a calendar day, which makes a value a moment: everyday English, written here.
_WINDOW = re.compile(
    r"^(?:(?:any\s?time|only|just)\s+)?(?:after|before|between|from|until|till)\b"
    r"|\b(?:mornings?|afternoons?|evenings?|nights?|weekends?|weekdays?|lunch\s?times?)\b",
    re.I,
)
_WINDOW_SAID = re.compile(
    r"\b(?:during (?:school|office|work|working|business) hours|first thing(?: in the morning)?"
    r"|(?:over|at) lunch(?:\s?time)?"
    r"|(?:(?:early|late)\s+)?(?:week\s?days?|week\s?ends?|mornings?|afternoons?|evenings?|nights?)"
    r"(?:\s+only)?"
    r"(?:\s+(?:before|after)\s+\d{1,2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?)?"
    r"|(?:before|after)\s+(?:\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?|noon|midday|lunch(?:\s?time)?)"
    r"|between\s+\S+\s+and\s+\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?)",
    re.I,
)
# What makes a window said in passing a time to be called: a correction of the last one
# ("make that ...", "actually ...") or words of calling and working hours.
_WINDOW_CUE = re.compile(
    r"\b(?:make (?:that|it)|instead|actually|scratch|rather|only|shifts?|call\w*|ring\w*|"
    r"reach\w*|contact\w*|available|free|talk)\b",
    re.I,
)
_CALENDAR_DAY = re.compile(
    r"\d{1,2}(?:st|nd|rd|th)\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d"
    r"|\b(?:today|tomorrow|tonight)\b",
    re.I,
)
_PLAN_WORDS = re.compile(r"\b(?:plan|tier|package|bundle|tariff|subscription|membership)\b", re.I)


@dataclass(frozen=True)
class KnownValue:
    """A current fact of the customer's own, as the filing needs it."""

    key: str
    value: str
    valid_from: dt.datetime
    # The turn that stated it and how many of the customer's turns ago, when still at hand:
    # the words around the old value tell the change model which one a new value replaces.
    said: str | None = None
    turns_ago: int = 1


def is_value_key(key: str) -> bool:
    """Whether a fact key is one of the tagger's kinds, or another thing of one ("date #2")."""
    family = _family(key)
    return family in KINDS and fact_key(family) == family


def _family(key: str) -> str:
    return re.sub(r"\s+#\d+$", "", key)


def values_file(
    *, text: str, stated: Iterable[tuple[str, str]], known: Iterable[KnownValue]
) -> list[tuple[str, str]]:
    """(key, value) writes, in order, for the (kind, value) pairs one turn states.

    Within the turn, a later value of a kind corrects an earlier one when words of
    correction stand between them (both are filed under one key, the earlier first, so it is
    kept as history); otherwise it is another thing of that kind ("from the 3rd until the
    5th") and is filed under a key of its own, so a later change replaces only the one it is
    about. Each is filed over the current value it replaces, if the change model finds one.
    """
    by_kind: dict[str, list[str]] = {}
    for kind, value in stated:
        if value.casefold() not in (v.casefold() for v in by_kind.get(kind, [])):
            by_kind.setdefault(kind, []).append(value)
    families: dict[str, list[KnownValue]] = {}
    for fact in known:
        families.setdefault(_family(fact.key), []).append(fact)
    writes: list[tuple[str, str]] = []
    known = list(known)
    window = _contact_window_moved(text, by_kind, [f for f in known if f.key == CONTACT_TIME])
    if window is not None:
        writes.append(window)
        said = window[1].casefold()
        by_kind = {
            kind: [v for v in values if v.casefold() not in said]
            for kind, values in by_kind.items()
        }
        by_kind = {kind: values for kind, values in by_kind.items() if values}
    appointments = [f for f in known if f.key == APPOINTMENT]
    moved = _appointment_moved(text, by_kind, appointments) or _appointment_made(
        by_kind, appointments
    )
    if moved is not None:
        writes.append(moved)
        by_kind = {kind: values for kind, values in by_kind.items() if kind not in (DATE, TIME)}
    chosen = _choice_replaced(text, by_kind, [f for f in known if f.key in CHOICE_KEYS])
    if chosen is not None:
        writes.append(chosen)
        by_kind = {kind: [v for v in values if v != chosen[1]] for kind, values in by_kind.items()}
        by_kind = {kind: values for kind, values in by_kind.items() if values}
    for kind, values in by_kind.items():
        family = families.get(kind, [])
        used: set[str] = set()
        for chain in _chains(text, values):
            if any(v.value.casefold() == chain[-1].casefold() for v in family):
                continue  # said again: nothing changes
            free = [fact for fact in family if fact.key not in used]
            key = _key_for(text, kind, chain[-1], free, taken={f.key for f in family} | used)
            used.add(key)
            writes += [(key, value) for value in chain]
    return writes


def _cued(text: str, value: str) -> bool:
    """Whether the sentence that states `value` announces a change (not some other sentence
    of a long message)."""
    return bool(CHANGE_CUE.search(_sentence_of(text, value)))


def _sentence_of(text: str, value: str) -> str:
    """The sentence of `text` that states `value`, or "" when it is not there."""
    at = text.casefold().find(value.casefold())
    if at < 0:
        return ""
    start = max(text.rfind(stop, 0, at) for stop in ".!?\n") + 1
    ends = [i for i in (text.find(stop, at + len(value)) for stop in ".!?\n") if i >= 0]
    return text[start : min(ends) if ends else len(text)]


def _contact_window_moved(
    text: str, by_kind: dict[str, list[str]], contact_times: list[KnownValue]
) -> tuple[str, str] | None:
    """A new time to be called, said as a change with no word of calling ("actually make that
    before 8am"): a window of the day, not a calendar moment, in a sentence that announces a
    change, filed over the contact time it replaces rather than as a date or an appointment."""
    if not contact_times:
        return None
    windows = [
        value
        for kind in (DATE, TIME)
        for value in by_kind.get(kind, [])
        if _WINDOW.search(value) and not _CALENDAR_DAY.search(value) and _cued(text, value)
    ]
    if not windows:
        # The tagger, taught on bookings, does not see "weekends only" or "mornings before
        # 9" as values: a window said in a sentence announcing a change will do.
        windows = [
            m.group(0)
            for m in _WINDOW_SAID.finditer(text)
            if _cued(text, m.group(0)) and _WINDOW_CUE.search(_sentence_of(text, m.group(0)))
        ]
    if not windows:
        return None
    value = max(windows, key=lambda v: text.casefold().rfind(v.casefold()))
    # "after 6 in the evening": the tagger keeps the hour, the window needs its "after".
    qualified = re.search(
        rf"\b(?:after|before|from|until|till)\s+{re.escape(value)}", text, re.IGNORECASE
    )
    if qualified is not None:
        value = qualified.group(0)
    current = max(contact_times, key=lambda fact: fact.valid_from)
    if value.casefold() == current.value.casefold():
        return None
    return current.key, value


def _appointment_made(
    by_kind: dict[str, list[str]], appointments: list[KnownValue]
) -> tuple[str, str] | None:
    """One day and one hour in a turn, with no appointment on file yet ("is 3:00pm on August
    13 free?"): one appointment, so that the day and hour it is later moved to replace both,
    instead of leaving a stray date current beside the new appointment."""
    dates, times = by_kind.get(DATE, []), by_kind.get(TIME, [])
    if appointments:
        return None
    if len(dates) != 1 or len(times) != 1 or _WINDOW.search(times[0]):
        return None
    return APPOINTMENT, f"{dates[0]} at {times[0]}"


def _appointment_moved(
    text: str, by_kind: dict[str, list[str]], appointments: list[KnownValue]
) -> tuple[str, str] | None:
    """An appointment moved by a date or a time alone ("can we do the 14th instead?", "make
    it 3pm"): the new date and time, in the order said, filed over the appointment when the
    turn announces a change or the change model finds the date or time replaces it."""
    if not appointments:
        return None
    said = [
        (text.casefold().find(v.casefold()), v) for k in (DATE, TIME) for v in by_kind.get(k, [])
    ]
    said = sorted(item for item in said if item[0] >= 0)
    if not said:
        return None
    current = max(appointments, key=lambda fact: fact.valid_from)
    # A text is short enough for its change word to sit in the sentence before the new
    # date ("move the shuttle pls. 10:00am July 30 works").
    short_and_cued = len(text.split()) <= 25 and bool(CHANGE_CUE.search(text))
    if not short_and_cued and not any(_cued(text, value) for _, value in said):
        model = change_model()
        if model is None or not any(
            model.replaces(text, DATE, current.value, value, old_said=current.said) >= REPLACES_AT
            for _, value in said
        ):
            return None
    if len(said) == 1 and " at " in current.value:
        # Moved by one half ("make it 3pm"): the other half stays as it was.
        day, hour = current.value.split(" at ", 1)
        moved = said[0][1]
        kinds = {k for k in (DATE, TIME) for v in by_kind.get(k, []) if v == moved}
        return current.key, f"{day} at {moved}" if kinds == {TIME} else f"{moved} at {hour}"
    value = " at ".join(v for _, v in said) if len(said) == 2 else ", ".join(v for _, v in said)
    return current.key, value


def _choice_replaced(
    text: str, by_kind: dict[str, list[str]], choices: list[KnownValue]
) -> tuple[str, str] | None:
    """A plan or supplier chosen anew ("we've moved over to X now"): the last name of a thing
    the turn states, filed over the current plan or chosen supplier when the turn announces
    a change. Which one: the plan when the turn speaks of a plan, else the newest choice."""
    if not choices:
        return None
    named = [v for kind in CHOICE_KINDS for v in by_kind.get(kind, []) if _cued(text, v)]
    fresh = [v for v in named if not any(v.casefold() == c.value.casefold() for c in choices)]
    if not fresh:
        return None
    value = max(fresh, key=lambda v: text.casefold().rfind(v.casefold()))
    plans = [c for c in choices if c.key == "plan"]
    if plans and _PLAN_WORDS.search(text):
        return plans[0].key, value
    newest = max(choices, key=lambda c: c.valid_from)
    return newest.key, value


def _chains(text: str, values: list[str]) -> list[list[str]]:
    """The values of one kind in one turn, as things stated: each a chain of corrections
    ("Tuesday, no wait, Thursday"), in the order they were said."""
    chains = [[values[0]]]
    lowered = text.casefold()
    for value in values[1:]:
        start = lowered.find(chains[-1][-1].casefold())
        end = lowered.find(value.casefold(), max(start, 0))
        between = text[start:end] if 0 <= start < end else ""
        if _CORRECTION.search(between):
            chains[-1].append(value)
        else:
            chains.append([value])
    return chains


def _key_for(text: str, kind: str, value: str, family: list[KnownValue], *, taken: set[str]) -> str:
    """The key of the current value `value` replaces (the likeliest, if likely enough), or a
    new key beside the others of its kind when it is another thing."""
    if not family:
        return _free_key(kind, taken)
    model = change_model()
    newest_first = sorted(family, key=lambda fact: fact.valid_from, reverse=True)
    if model is None:
        return newest_first[0].key
    scored = [
        (
            model.replaces(
                text, kind, fact.value, value, old_said=fact.said, rank=rank, gap=fact.turns_ago
            ),
            fact.key,
        )
        for rank, fact in enumerate(newest_first)
    ]
    likeliest, key = max(scored, key=lambda pair: pair[0])
    if likeliest >= REPLACES_AT:
        return key
    return _free_key(kind, taken)


def _free_key(kind: str, taken: set[str]) -> str:
    """`kind` itself, or "kind #2", "kind #3"...: the first no current value holds."""
    if kind not in taken:
        return kind
    number = 2
    while f"{kind} #{number}" in taken:
        number += 1
    return f"{kind} #{number}"
