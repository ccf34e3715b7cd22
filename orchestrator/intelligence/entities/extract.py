"""Everything a message states, read in one pass: each kind of entity claims its span in turn."""

from __future__ import annotations

import bisect
import datetime as dt

from memory.text_limits import analysis_text
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
    rewritten = rewrite_spoken(analysis_text(text))
    claimed: list[Entity] = []
    spans = _Spans()
    for found in (
        emails(rewritten),
        references(rewritten),
        phones(rewritten),
        amounts(rewritten),
        addresses(rewritten),
        date_times(rewritten, at),
    ):
        claimed.extend(entity for entity in found if spans.claim(entity.start, entity.end))
    times = [entity for entity in claimed if entity.kind == EntityKind.DATETIME]
    stated_preferences = preferences(rewritten, times)
    contact_times = {(p.start, p.end) for p in stated_preferences if p.key == "contact_time"}
    entities = [e for e in claimed if (e.start, e.end) not in contact_times or e.key != "time"]
    entities.extend(stated_preferences)
    return sorted(entities, key=lambda entity: (entity.start, entity.kind.value))


class _Spans:
    """The spans claimed so far, kept sorted: they never overlap, so whether a new one clashes is
    a look at its two neighbours, not at every span (which made a message of thousands of
    amounts quadratic)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def claim(self, start: int, end: int) -> bool:
        """Claim `start`:`end` unless it overlaps a span already claimed."""
        index = bisect.bisect_right(self.starts, start)
        if index > 0 and self.ends[index - 1] > start:
            return False
        if index < len(self.starts) and self.starts[index] < end:
            return False
        self.starts.insert(index, start)
        self.ends.insert(index, end)
        return True
