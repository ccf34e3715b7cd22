"""Filing the values of one turn against what is known: the newest value a customer gives
for the same thing replaces the old one, another thing of the same kind is kept beside it
("date", "date #2"), and a value repeated is not filed again."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.intelligence.values.changes import change_model
from orchestrator.intelligence.values.kinds import KINDS, fact_key

REPLACES_AT = 0.25
# Between two values of one kind in one message, words that make the second a correction of
# the first ("the 3rd, no, the 5th"; "not Tuesday but Friday"; "change X to Y"). Written
# here from everyday English; no sample or generator wording.
_CORRECTION = re.compile(
    r"\b(?:no|not|nope|instead|rather|actually|change\w*|switch\w*|move\w*|make it|sorry|"
    r"scratch that|i mean|correction)\b",
    re.I,
)


@dataclass(frozen=True)
class KnownValue:
    """A current fact of the customer's own, as the filing needs it."""

    key: str
    value: str
    valid_from: dt.datetime


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
    correction stand between them (both are filed, the earlier first, so it is kept as
    history); otherwise both are one value ("March 3rd, March 5th").
    """
    by_kind: dict[str, list[str]] = {}
    for kind, value in stated:
        if value.casefold() not in (v.casefold() for v in by_kind.get(kind, [])):
            by_kind.setdefault(kind, []).append(value)
    families: dict[str, list[KnownValue]] = {}
    for fact in known:
        families.setdefault(_family(fact.key), []).append(fact)
    writes: list[tuple[str, str]] = []
    for kind, values in by_kind.items():
        chain = _chain(text, values)
        family = families.get(kind, [])
        if any(v.value.casefold() == chain[-1].casefold() for v in family):
            continue  # said again: nothing changes
        key = _key_for(text, kind, chain[-1], family)
        writes += [(key, value) for value in chain]
    return writes


def _chain(text: str, values: list[str]) -> list[str]:
    """The values of one kind in one turn as successive statements: corrections stay
    separate, the rest are joined into one."""
    chain = [values[0]]
    lowered = text.casefold()
    for value in values[1:]:
        start = lowered.find(chain[-1].split(", ")[-1].casefold())
        end = lowered.find(value.casefold(), max(start, 0))
        between = text[start:end] if 0 <= start < end else ""
        if _CORRECTION.search(between):
            chain.append(value)
        else:
            chain[-1] = f"{chain[-1]}, {value}"
    return chain


def _key_for(text: str, kind: str, value: str, family: list[KnownValue]) -> str:
    if not family:
        return kind
    latest = max(family, key=lambda fact: fact.valid_from)
    model = change_model()
    replaces = model is None or model.replaces(text, kind, latest.value, value) >= REPLACES_AT
    if replaces:
        return latest.key
    taken = {fact.key for fact in family}
    number = 2
    while f"{kind} #{number}" in taken:
        number += 1
    return f"{kind} #{number}"
