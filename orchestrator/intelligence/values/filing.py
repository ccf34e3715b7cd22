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
    moved = _appointment_moved(text, by_kind, [f for f in known if f.key == APPOINTMENT])
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
    at = text.casefold().find(value.casefold())
    if at < 0:
        return False
    start = max(text.rfind(stop, 0, at) for stop in ".!?\n") + 1
    ends = [i for i in (text.find(stop, at + len(value)) for stop in ".!?\n") if i >= 0]
    return bool(CHANGE_CUE.search(text[start : min(ends) if ends else len(text)]))


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
    if not any(_cued(text, value) for _, value in said):
        model = change_model()
        if model is None or not any(
            model.replaces(text, DATE, current.value, value, old_said=current.said) >= REPLACES_AT
            for _, value in said
        ):
            return None
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
