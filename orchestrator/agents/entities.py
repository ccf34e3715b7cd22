"""The entities agent: what the message states (references, contact details, dates, amounts,
addresses, preferences), proposed as cases, identities and facts for the merge to apply.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from memory.actors import Partition
from orchestrator.agents.base import AgentOutcome, InboundTurn, ProposedWrite, WriteKind
from orchestrator.intelligence.api import Entity, EntityKind, extract_entities
from orchestrator.intelligence.services import CASE_FACT_KEYS, FACT_KEYS
from orchestrator.intelligence.statements import (
    Remembered,
    canonical_key,
    issue,
    remember,
    stated_name,
)

if TYPE_CHECKING:
    from memory.context import ContextPack


# Kept elsewhere or said better by the statements: identities hold contact details, and a
# date or time is remembered as the customer put it ("June 23 at 11:15am"), with what it is for.
NOT_FACTS = frozenset(
    {
        "email",
        "phone",
        "date_mentioned",
        "time_mentioned",
        "datetime_mentioned",
        "preferred_contact_time",
    }
)


def fact_statements(entities: list[Entity]) -> list[tuple[str, str, float]]:
    """(key, value, confidence) per fact key, several values for one key kept together, the
    way the intelligence services file them."""
    grouped: dict[str, list[Entity]] = {}
    for entity in entities:
        key = FACT_KEYS.get((entity.kind, entity.key))
        if key is not None and key not in NOT_FACTS:
            grouped.setdefault(key, []).append(entity)
    return [
        (
            key,
            ", ".join(dict.fromkeys(_fact_value(entity) for entity in group)),
            min(entity.confidence for entity in group),
        )
        for key, group in grouped.items()
    ]


def stated_facts(text: str, *, at: dt.datetime, channel: str) -> list[tuple[str, str, float]]:
    """(key, value, confidence) for everything a turn states that is kept as a fact: what
    the entities say, and the typed statements in the customer's own words."""
    statements = remember(text, channel=channel).statements
    return fact_statements(extract_entities(text, at=at)) + [
        (s.key, s.value, 0.9) for s in statements
    ]


def _fact_value(entity: Entity) -> str:
    if entity.kind == EntityKind.DATETIME and entity.qualifier:
        return f"{entity.qualifier} {entity.value}"
    return entity.value


@dataclass(frozen=True)
class EntitiesAgent:
    name: str = "entities"
    # `pii` because reading the contact details a customer states is this agent's job: it is
    # how a new phone or e-mail is linked to them. The other agents get them masked.
    reads: frozenset[Partition] = field(
        default_factory=lambda: frozenset({Partition.BUSINESS, Partition.PII})
    )
    may_write: frozenset[WriteKind] = frozenset(
        {
            WriteKind.CASE_OPEN,
            WriteKind.CASE_STATUS,
            WriteKind.IDENTITY,
            WriteKind.FACT,
            WriteKind.LINK,
            WriteKind.PROFILE,
            WriteKind.GIST,
        }
    )
    timeout_seconds: float = 2.0

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        entities = extract_entities(turn.text, at=turn.sent_at)
        turn_read = remember(turn.text, channel=turn.channel)
        if turn.sign_off:
            # Who signed the e-mail: their name and the phone or address under it.
            entities += [
                e
                for e in extract_entities(turn.sign_off, at=turn.sent_at)
                if e.kind in (EntityKind.EMAIL, EntityKind.PHONE)
            ]
            if not turn_read.name:
                turn_read = replace(turn_read, name=stated_name(turn.sign_off))
        version = pack.versions.get(Partition.BUSINESS.value)
        references = list(
            dict.fromkeys((e.key, e.value) for e in entities if e.kind == EntityKind.REFERENCE)
        )
        writes: list[ProposedWrite] = [
            ProposedWrite(
                kind=WriteKind.GIST,
                value=turn_read.gist,
                detail={"is_filler": turn_read.is_filler},
            )
        ]
        writes += _identity_evidence(turn_read, references)
        writes += [
            ProposedWrite(kind=WriteKind.CASE_OPEN, key=kind, case_reference=reference)
            for kind, reference in references
        ]
        writes += [
            ProposedWrite(kind=WriteKind.IDENTITY, key=e.kind.value, value=e.value)
            for e in entities
            if e.kind in (EntityKind.EMAIL, EntityKind.PHONE)
        ]
        writes += _replaced_reference(pack, turn_read, references, version)
        single_case = references[0] if len(references) == 1 else None
        known = {(f.case_reference or "", f.key): f.value.casefold() for f in pack.facts}
        statements = [
            (key, value, confidence) for key, value, confidence in fact_statements(entities)
        ] + [(s.key, s.value, 0.9) for s in turn_read.statements]
        for key, value, confidence in statements:
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
        writes += _issue(pack, turn, turn_read, references, version)
        return AgentOutcome(
            findings={
                "entities": [
                    {"kind": e.kind.value, "key": e.key, "value": e.value, "text": e.text}
                    for e in entities
                ],
                "gist": turn_read.gist,
                "filler": turn_read.is_filler,
                "statements": [[s.key, s.value] for s in turn_read.statements],
                "issue": turn_read.issue,
                "name": turn_read.name,
            },
            writes=tuple(writes),
        )


def _identity_evidence(
    turn_read: Remembered, references: list[tuple[str, str]]
) -> list[ProposedWrite]:
    """The name the customer gave, and the keys they quoted, for the merge to recognise them."""
    writes = []
    if turn_read.name:
        writes.append(
            ProposedWrite(kind=WriteKind.PROFILE, key="display_name", value=turn_read.name)
        )
    keys = sorted({canonical_key(ref) for _, ref in references} | set(turn_read.spoken_keys))
    if keys:
        writes.append(
            ProposedWrite(kind=WriteKind.LINK, detail={"keys": keys, "name": turn_read.name})
        )
    return writes


def _replaced_reference(
    pack: ContextPack,
    turn_read: Remembered,
    references: list[tuple[str, str]],
    version: int | None,
) -> list[ProposedWrite]:
    """ "The new reference is R478RW": the open case it replaces is closed, and the old key is
    kept as the replaced value of "<kind> reference" so it is never shown as current.
    """
    new = turn_read.new_reference
    replaced = next((c for c in pack.open_cases if new and c.reference.upper() != new), None)
    if replaced is None:
        return []
    key = f"{replaced.kind} reference"
    writes = [
        ProposedWrite(kind=WriteKind.CASE_OPEN, key=replaced.kind, case_reference=new),
        ProposedWrite(kind=WriteKind.FACT, key=key, value=replaced.reference),
        ProposedWrite(kind=WriteKind.FACT, key=key, value=new),
        ProposedWrite(
            kind=WriteKind.CASE_STATUS,
            value="closed",
            based_on_version=version,
            detail={"case_id": replaced.case_id, "replaced_by": new},
        ),
    ]
    already_opened = any(reference.upper() == new for _, reference in references)
    return writes[1:] if already_opened else writes


def _issue(
    pack: ContextPack,
    turn: InboundTurn,
    turn_read: Remembered,
    references: list[tuple[str, str]],
    version: int | None,
) -> list[ProposedWrite]:
    """What is wrong, filed on the case this turn opens (or the one open case that has no
    issue yet), once: the first description of a problem is the one agents need.
    """
    problem = issue(turn.text, reference=references[0][1]) if references else turn_read.issue
    if not problem:
        return []
    described = {f.case_reference or "" for f in pack.facts if f.key == "issue"}
    if references:
        reference = references[0][1]
    elif pack.open_cases:
        # Later turns about an open case are follow-ups, not its description.
        return []
    else:
        reference = ""
    if reference in described:
        return []
    return [
        ProposedWrite(
            kind=WriteKind.FACT,
            key="issue",
            value=problem,
            case_reference=reference,
            based_on_version=version,
        )
    ]
