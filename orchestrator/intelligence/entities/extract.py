"""Everything a message states, read in one pass: each kind of entity claims its span in turn."""

from __future__ import annotations

import datetime as dt

from orchestrator.intelligence.entities.amounts import amounts
from orchestrator.intelligence.entities.contact import addresses, emails, phones
from orchestrator.intelligence.entities.dates import date_times
from orchestrator.intelligence.entities.entity import Entity, EntityKind
from orchestrator.intelligence.entities.preferences import preferences
from orchestrator.intelligence.entities.references import references
from orchestrator.intelligence.spoken import rewrite_spoken


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
        emails(rewritten),
        references(rewritten),
        phones(rewritten),
        amounts(rewritten),
        addresses(rewritten),
        date_times(rewritten, at),
    ):
        claimed.extend(entity for entity in found if not _clashes(entity, claimed))
    times = [entity for entity in claimed if entity.kind == EntityKind.DATETIME]
    stated_preferences = preferences(rewritten, times)
    contact_times = {(p.start, p.end) for p in stated_preferences if p.key == "contact_time"}
    entities = [e for e in claimed if (e.start, e.end) not in contact_times or e.key != "time"]
    entities.extend(stated_preferences)
    return sorted(entities, key=lambda entity: (entity.start, entity.kind.value))


def _clashes(entity: Entity, claimed: list[Entity]) -> bool:
    return any(entity.start < other.end and other.start < entity.end for other in claimed)
