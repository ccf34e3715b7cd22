"""The entities agent: what the message states (references, contact details, dates, amounts,
addresses, preferences), proposed as cases, identities and facts for the merge to apply.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from memory.actors import Partition
from orchestrator.agents.base import AgentOutcome, InboundTurn, ProposedWrite, WriteKind
from orchestrator.intelligence.api import Entity, EntityKind, extract_entities
from orchestrator.intelligence.names import stated_name
from orchestrator.intelligence.postcodes import postcodes_in
from orchestrator.intelligence.statements import Remembered, canonical_key, issue, remember
from orchestrator.intelligence.values.filing import (
    APPOINTMENT,
    CHANGE_CUE,
    CHOICE_KEYS,
    CONTACT_TIME,
    KnownValue,
    is_value_key,
    values_file,
)

if TYPE_CHECKING:
    from memory.context import ContextPack

# The fact each entity becomes. Not every entity is one: references open cases, e-mails and
# phones link identities, and a date or time is remembered by the statements as the customer
# put it ("June 23 at 11:15am"), with what it is for.
FACT_KEYS = {
    (EntityKind.ADDRESS, "address"): "address",
    (EntityKind.AMOUNT, "amount"): "amount_mentioned",
    (EntityKind.PREFERENCE, "contact_channel"): "preferred_channel",
    (EntityKind.PREFERENCE, "avoid_channel"): "avoid_channel",
    (EntityKind.PREFERENCE, "language"): "preferred_language",
}
# Facts about the business a single referenced case is about, rather than about the customer.
CASE_FACT_KEYS = frozenset({"amount_mentioned"})


def fact_statements(entities: list[Entity]) -> list[tuple[str, str, float]]:
    """(key, value, confidence) per fact key; several values for one key in one message are
    kept together ("49.99 USD, 12.00 USD"), so neither replaces the other."""
    grouped: dict[str, list[Entity]] = {}
    for entity in entities:
        key = FACT_KEYS.get((entity.kind, entity.key))
        if key is not None:
            grouped.setdefault(key, []).append(entity)
    return [
        (
            key,
            ", ".join(dict.fromkeys(entity.value for entity in group)),
            min(entity.confidence for entity in group),
        )
        for key, group in grouped.items()
    ]


@dataclass(frozen=True)
class StatedFact:
    """A fact one turn states, and the case it is filed on ("" for the customer's own)."""

    key: str
    value: str
    confidence: float
    case_reference: str = ""
    case_kind: str = ""


def facts_filed(
    entities: list[Entity], turn_read: Remembered, references: list[tuple[str, str]]
) -> list[StatedFact]:
    """Every fact a turn states: what its entities say and its typed statements in the
    customer's own words. When it quotes exactly one case, the facts about the business
    (an amount) are filed on that case rather than on the customer."""
    case_kind, reference = references[0] if len(references) == 1 else ("", "")
    # Values of the tagger's kinds are filed by `values_file`, against what is known.
    stated = fact_statements(entities) + [
        (s.key, s.value, 0.9) for s in turn_read.statements if not is_value_key(s.key)
    ]
    return [
        StatedFact(
            key=key,
            value=value,
            confidence=confidence,
            case_reference=reference if key in CASE_FACT_KEYS else "",
            case_kind=case_kind if key in CASE_FACT_KEYS else "",
        )
        for key, value, confidence in stated
    ]


def stated_facts(text: str, *, at: dt.datetime, channel: str) -> list[tuple[str, str, float]]:
    """(key, value, confidence) for each fact a turn states about the customer themselves,
    filed as the agent files them (facts about a quoted case are left to the case)."""
    entities = extract_entities(text, at=at)
    facts = facts_filed(entities, remember(text, channel=channel), _references(entities))
    return [(f.key, f.value, f.confidence) for f in facts if not f.case_reference]


def _references(entities: list[Entity]) -> list[tuple[str, str]]:
    """(case kind, reference) for each distinct reference, in the order they are quoted."""
    return list(dict.fromkeys((e.key, e.value) for e in entities if e.kind == EntityKind.REFERENCE))


@dataclass(frozen=True)
class EntitiesAgent:
    name: str = "entities"
    # `pii` because reading the contact details a customer states is this agent's job: it is
    # how a new phone or e-mail is linked to them. The other agents get them masked.
    # `messages` because which stored value a new one replaces is read from the words around
    # the old value in the turn that stated it.
    reads: frozenset[Partition] = field(
        default_factory=lambda: frozenset({Partition.BUSINESS, Partition.PII, Partition.MESSAGES})
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
        references = _references(entities)
        writes: list[ProposedWrite] = [
            ProposedWrite(
                kind=WriteKind.GIST,
                value=turn_read.gist,
                detail={"is_filler": turn_read.is_filler},
            )
        ]
        writes += _identity_evidence(
            turn_read,
            references,
            contacts=[e for e in entities if e.kind in (EntityKind.EMAIL, EntityKind.PHONE)],
            postcodes=postcodes_in(turn.text),
            own_references=[c.reference for c in pack.open_cases],
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
        writes += _replaced_reference(pack, turn_read, references, version, turn.text)
        filed = facts_filed(entities, turn_read, references)
        known = {(f.case_reference or "", f.key): f.value.casefold() for f in pack.facts}
        writes += [
            ProposedWrite(
                kind=WriteKind.FACT,
                key=fact.key,
                value=fact.value,
                case_reference=fact.case_reference,
                confidence=fact.confidence,
                based_on_version=version,
                detail={"case_kind": fact.case_kind} if fact.case_kind else {},
            )
            for fact in filed
            if known.get((fact.case_reference, fact.key)) != fact.value.casefold()
        ]
        writes += _values_filed(pack, turn, turn_read, version, filed=filed)
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
    turn_read: Remembered,
    references: list[tuple[str, str]],
    *,
    contacts: list[Entity],
    postcodes: frozenset[str],
    own_references: list[str],
) -> list[ProposedWrite]:
    """The name the customer gave, and what they quoted that could show they are a customer
    Rapport already knows: references, contact details, a postcode. The merge weighs them;
    no single piece is enough to link two records.

    A name given after a reference was quoted earlier (by this same sender, so on their own
    record's cases) is weighed with that reference, so the order they say them in does not
    matter.
    """
    writes = []
    if turn_read.name:
        writes.append(
            ProposedWrite(kind=WriteKind.PROFILE, key="display_name", value=turn_read.name)
        )
    keys = {canonical_key(ref) for _, ref in references} | set(turn_read.spoken_keys)
    if turn_read.name or postcodes:
        keys |= {canonical_key(ref) for ref in own_references}
    stated = sorted({(e.kind.value, e.value) for e in contacts})
    # A name alone is weighed too: with a claim on the address the sender writes from, it
    # is the second piece (the merge finds the claim).
    if keys or stated or turn_read.name:
        writes.append(
            ProposedWrite(
                kind=WriteKind.LINK,
                detail={
                    "keys": sorted(keys),
                    "name": turn_read.name,
                    "contacts": [list(contact) for contact in stated],
                    "postcodes": sorted(postcodes - keys),
                },
            )
        )
    return writes


def _shape(reference: str) -> str:
    """A reference's shape: letters as "A", digits as "9" ("RW-4180922" is "AA-9999999")."""
    return re.sub(r"\d", "9", re.sub(r"[A-Za-z]", "A", reference))


def _skeleton(reference: str) -> str:
    """A reference's length and separators, letters and digits alike ("S5HDS7" and "MHGJHE"
    are both "XXXXXX"): booking codes mix the two at random."""
    return re.sub(r"[A-Za-z0-9]", "X", reference)


# Words that retire a reference for a new one besides the general change words ("scratch
# the old booking reference, use MHGJHE"): everyday English, written here.
_REFERENCE_SWAP = re.compile(r"\b(?:old|previous|scratch\w*|use|instead)\b", re.I)


def _cued_new_reference(text: str, references: list[tuple[str, str]], pack: ContextPack) -> str:
    """A reference quoted in place of an open case's ("please use RW-4180922 now, the old one
    was cancelled"): the only new one in the turn, shaped like an open case's reference,
    in a turn that announces a change."""
    held = {c.reference.upper() for c in pack.open_cases}
    fresh = [ref.upper() for _, ref in references if ref.upper() not in held]
    if len(fresh) != 1 or not (CHANGE_CUE.search(text) or _REFERENCE_SWAP.search(text)):
        return ""
    if not any(_skeleton(reference) == _skeleton(fresh[0]) for reference in held):
        return ""
    return fresh[0]


def _replaced_reference(
    pack: ContextPack,
    turn_read: Remembered,
    references: list[tuple[str, str]],
    version: int | None,
    text: str = "",
) -> list[ProposedWrite]:
    """ "The new reference is R478RW": the open case it replaces is closed, and the old key is
    kept as the replaced value of "<kind> reference" so it is never shown as current.
    """
    new = turn_read.new_reference or _cued_new_reference(text, references, pack)
    others = [c for c in pack.open_cases if new and c.reference.upper() != new]
    replaced = next(
        (c for c in others if _shape(c.reference) == _shape(new)),
        next((c for c in others if _skeleton(c.reference) == _skeleton(new)), None)
        or (others[0] if others else None),
    )
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


def _values_filed(
    pack: ContextPack,
    turn: InboundTurn,
    turn_read: Remembered,
    version: int | None,
    *,
    filed: list[StatedFact],
) -> list[ProposedWrite]:
    """The values the turn states (a date, a place, a name), each filed under the key of the
    value it replaces, or beside the others of its kind when it is another thing. A value
    corrected within the turn is written first, so it is kept as history, never current.

    A value the turn already states under a more specific key (its address, appointment or
    plan) is left to that key: filed twice, the copy would stay current when the address
    is replaced."""
    specific = [f.value.casefold() for f in filed]
    said = [  # newest first, this turn aside
        t for t in pack.turns if t.direction == "inbound" and t.message_id != turn.message_id
    ]
    where = {t.message_id: (index + 1, t.text) for index, t in enumerate(said)}
    known = [
        KnownValue(
            key=f.key,
            value=f.value,
            valid_from=f.valid_from,
            said=where[f.source_message_id][1] if f.source_message_id in where else None,
            turns_ago=where[f.source_message_id][0] if f.source_message_id in where else 9,
        )
        for f in pack.facts
        if not f.case_reference
        and (is_value_key(f.key) or f.key in CHOICE_KEYS or f.key in (APPOINTMENT, CONTACT_TIME))
    ]
    stated = [
        (s.key, s.value)
        for s in turn_read.statements
        if is_value_key(s.key)
        and not any(s.value.casefold() in v or v in s.value.casefold() for v in specific)
    ]
    writes: list[ProposedWrite] = []
    seen: set[str] = set()
    for key, value in values_file(text=turn.text, stated=stated, known=known):
        writes.append(
            ProposedWrite(
                kind=WriteKind.FACT,
                key=key,
                value=value,
                confidence=0.8,
                # The correction that follows within the turn is newer than the version
                # read, by design: only the first write of a key is checked against it.
                based_on_version=None if key in seen else version,
            )
        )
        seen.add(key)
    return writes


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
