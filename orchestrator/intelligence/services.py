"""Writing what a message says into the graph: its sentiment reading, and its entities as
facts with provenance, opened cases, linked identities or merge proposals.

Every write goes through `memory.services`; this module only decides what to write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from memory import services as memory_services
from memory.identities import InvalidAddress
from memory.models import Case, Fact, Identity, MergeProposal, Message, SentimentReading
from orchestrator.intelligence.api import (
    classify_intent,
    classify_sentiment,
    extract_entities,
    sentiment_model_name,
)
from orchestrator.intelligence.entities import Entity, EntityKind
from orchestrator.intelligence.intent import IntentPrediction

logger = logging.getLogger(__name__)

AGENT_NAME = "entities"
# The fact each entity becomes; references open cases instead.
FACT_KEYS = {
    (EntityKind.EMAIL, "email"): "email",
    (EntityKind.PHONE, "phone"): "phone",
    (EntityKind.ADDRESS, "address"): "address",
    (EntityKind.AMOUNT, "amount"): "amount_mentioned",
    (EntityKind.DATETIME, "date"): "date_mentioned",
    (EntityKind.DATETIME, "time"): "time_mentioned",
    (EntityKind.DATETIME, "datetime"): "datetime_mentioned",
    (EntityKind.PREFERENCE, "contact_channel"): "preferred_channel",
    (EntityKind.PREFERENCE, "avoid_channel"): "avoid_channel",
    (EntityKind.PREFERENCE, "contact_time"): "preferred_contact_time",
    (EntityKind.PREFERENCE, "language"): "preferred_language",
}
# Facts about the business a single referenced case is about, rather than about the customer.
CASE_FACT_KEYS = {"amount_mentioned", "date_mentioned", "datetime_mentioned"}


@dataclass(frozen=True)
class EntitiesApplied:
    """What one message's entities changed in the graph."""

    facts: tuple[Fact, ...]
    cases: tuple[Case, ...]
    identities: tuple[Identity, ...]
    merge_proposals: tuple[MergeProposal, ...]


@dataclass(frozen=True)
class MessageAnalysis:
    """Everything Rapport read from one inbound message, and what it wrote because of it."""

    message_id: int
    intent: IntentPrediction
    sentiment: SentimentReading
    entities: tuple[Entity, ...]
    applied: EntitiesApplied


def entities_apply(*, message: Message, entities: list[Entity]) -> EntitiesApplied:
    """Write a message's entities into its customer's business layer.

    References open (or find) cases; e-mails and phones are linked to the customer, or, when
    another customer already holds them, a merge is proposed for a person to decide; every
    entity becomes a fact stamped with the message, and a newly stated value for a key
    replaces the old one. When the message names exactly one case, amounts and dates are
    filed on that case.
    """
    customer = message.customer
    cases: list[Case] = []
    identities: list[Identity] = []
    proposals: list[MergeProposal] = []
    facts: list[Fact] = []
    with transaction.atomic():
        for entity in entities:
            if entity.kind == EntityKind.REFERENCE:
                cases.append(
                    memory_services.case_open(
                        customer=customer,
                        kind=entity.key,
                        reference=entity.value,
                        title=f"{entity.key.title()} {entity.value}",
                        source_message=message,
                        opened_at=message.sent_at,
                    )
                )
            elif entity.kind in (EntityKind.EMAIL, EntityKind.PHONE):
                linked, proposal = _identity_link_or_propose(message=message, entity=entity)
                identities.extend([linked] if linked else [])
                proposals.extend([proposal] if proposal else [])
        single_case = cases[0] if len({case.pk for case in cases}) == 1 else None
        for key, entity, value in _fact_statements(entities):
            facts.append(
                memory_services.fact_assert(
                    customer=customer,
                    case=single_case if key in CASE_FACT_KEYS else None,
                    key=key,
                    value=value,
                    asserted_by=Fact.AssertedBy.AGENT,
                    asserted_by_agent=AGENT_NAME,
                    confidence=entity.confidence,
                    source_message=message,
                )
            )
    return EntitiesApplied(
        facts=tuple(facts),
        cases=tuple(cases),
        identities=tuple(identities),
        merge_proposals=tuple(proposals),
    )


def _fact_statements(entities: list[Entity]) -> list[tuple[str, Entity, str]]:
    """One statement per fact key: several values for one key in one message are kept
    together ("2026-11-27, 2026-11-30"), so neither replaces the other.
    """
    grouped: dict[str, list[Entity]] = {}
    for entity in entities:
        key = FACT_KEYS.get((entity.kind, entity.key))
        if key is not None:
            grouped.setdefault(key, []).append(entity)
    statements = []
    for key, group in grouped.items():
        values = list(dict.fromkeys(_fact_value(entity) for entity in group))
        statements.append((key, min(group, key=lambda e: e.confidence), ", ".join(values)))
    return statements


def _fact_value(entity: Entity) -> str:
    if entity.kind == EntityKind.DATETIME and entity.qualifier:
        return f"{entity.qualifier} {entity.value}"
    return entity.value


def _identity_link_or_propose(
    *, message: Message, entity: Entity
) -> tuple[Identity | None, MergeProposal | None]:
    kind = Identity.Kind.EMAIL if entity.kind == EntityKind.EMAIL else Identity.Kind.PHONE
    try:
        identity = memory_services.identity_link(
            customer=message.customer,
            kind=kind,
            address=entity.value,
            source=f"stated in message #{message.pk}",
        )
    except memory_services.IdentityBelongsToAnotherCustomer as clash:
        proposal = memory_services.merge_propose(
            customer=message.customer,
            other_customer=clash.identity.customer,
            reason=(
                f"customer stated {kind} {entity.value} in message #{message.pk};"
                f" it belongs to customer #{clash.identity.customer_id}"
            ),
            proposed_by=f"agent:{AGENT_NAME}",
            evidence_message=message,
        )
        return None, proposal
    except InvalidAddress:
        logger.info("message #%s: %s %r is not a usable address", message.pk, kind, entity.text)
        return None, None
    return identity, None


def message_analyse(*, message: Message) -> MessageAnalysis:
    """Read one stored inbound message (intent, sentiment, entities) and record what it says:
    the sentiment reading, and the entities applied to the customer's graph. Safe to repeat.
    """
    if message.direction != Message.Direction.INBOUND:
        raise ValueError("only inbound customer messages are analysed")
    intent = classify_intent(message.text)
    sentiment = classify_sentiment(message.text)
    entities = extract_entities(message.text, at=message.sent_at)
    with transaction.atomic():
        reading = memory_services.sentiment_record(
            message=message,
            label=sentiment.label,
            score=sentiment.score,
            confidence=sentiment.confidence,
            model_name=sentiment_model_name(),
        )
        applied = entities_apply(message=message, entities=entities)
    return MessageAnalysis(
        message_id=message.pk,
        intent=intent,
        sentiment=reading,
        entities=tuple(entities),
        applied=applied,
    )
