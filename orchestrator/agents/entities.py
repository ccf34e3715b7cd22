"""The entities agent: what the message states (references, contact details, dates, amounts,
addresses, preferences), proposed as cases, identities and facts for the merge to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memory.actors import Partition
from orchestrator.agents.base import AgentOutcome, InboundTurn, ProposedWrite, WriteKind
from orchestrator.intelligence.api import Entity, EntityKind, extract_entities
from orchestrator.intelligence.services import CASE_FACT_KEYS, FACT_KEYS

if TYPE_CHECKING:
    from memory.context import ContextPack


def fact_statements(entities: list[Entity]) -> list[tuple[str, str, float]]:
    """(key, value, confidence) per fact key, several values for one key kept together, the
    way the intelligence services file them."""
    grouped: dict[str, list[Entity]] = {}
    for entity in entities:
        key = FACT_KEYS.get((entity.kind, entity.key))
        if key is not None:
            grouped.setdefault(key, []).append(entity)
    return [
        (
            key,
            ", ".join(dict.fromkeys(_fact_value(entity) for entity in group)),
            min(entity.confidence for entity in group),
        )
        for key, group in grouped.items()
    ]


def _fact_value(entity: Entity) -> str:
    if entity.kind == EntityKind.DATETIME and entity.qualifier:
        return f"{entity.qualifier} {entity.value}"
    return entity.value


@dataclass(frozen=True)
class EntitiesAgent:
    name: str = "entities"
    reads: frozenset[Partition] = field(default_factory=lambda: frozenset({Partition.BUSINESS}))
    may_write: frozenset[WriteKind] = frozenset(
        {WriteKind.CASE_OPEN, WriteKind.IDENTITY, WriteKind.FACT}
    )
    timeout_seconds: float = 2.0

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        entities = extract_entities(turn.text, at=turn.sent_at)
        version = pack.versions.get(Partition.BUSINESS.value)
        writes: list[ProposedWrite] = []
        references = list(
            dict.fromkeys((e.key, e.value) for e in entities if e.kind == EntityKind.REFERENCE)
        )
        writes += [
            ProposedWrite(kind=WriteKind.CASE_OPEN, key=kind, case_reference=reference)
            for kind, reference in references
        ]
        writes += [
            ProposedWrite(kind=WriteKind.IDENTITY, key=e.kind.value, value=e.value)
            for e in entities
            if e.kind in (EntityKind.EMAIL, EntityKind.PHONE)
        ]
        single_case = references[0] if len(references) == 1 else None
        known = {(f.case_reference or "", f.key): f.value.casefold() for f in pack.facts}
        for key, value, confidence in fact_statements(entities):
            on_case = single_case is not None and key in CASE_FACT_KEYS
            reference = single_case[1] if on_case and single_case else ""
            if known.get((reference, key)) == value.casefold():
                continue
            writes.append(
                ProposedWrite(
                    kind=WriteKind.FACT,
                    key=key,
                    value=value,
                    case_reference=reference,
                    confidence=confidence,
                    based_on_version=version,
                    detail={"case_kind": single_case[0]} if on_case and single_case else {},
                )
            )
        return AgentOutcome(
            findings={
                "entities": [
                    {"kind": e.kind.value, "key": e.key, "value": e.value, "text": e.text}
                    for e in entities
                ]
            },
            writes=tuple(writes),
        )
