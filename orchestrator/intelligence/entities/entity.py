"""What one entity is: a thing a customer's message states, its kind, its normalised value
and where it sits in the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.intelligence.spoken import RewrittenText


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


def entity_from_match(
    rewritten: RewrittenText,
    kind: EntityKind,
    key: str,
    value: str,
    match: re.Match[str],
    group: str | int = 0,
    *,
    qualifier: str = "",
) -> Entity:
    """The entity a pattern matched (or one group of it) in the rewritten text."""
    return entity_from_span(
        rewritten, kind, key, value, match.start(group), match.end(group), qualifier=qualifier
    )


def entity_from_span(
    rewritten: RewrittenText,
    kind: EntityKind,
    key: str,
    value: str,
    start: int,
    end: int,
    *,
    qualifier: str = "",
) -> Entity:
    """The entity at `start`:`end` of the rewritten text, placed back in the original."""
    original_start, original_end = rewritten.original_span(start, end)
    # A value read from spelled-out words is less certain than one the customer typed.
    spoken = rewritten.is_replaced(start, end)
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
