"""The gate's page-by-page shapes: one kind of record, filtered and paginated, for the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from memory.actors import Actor, Partition
from memory.audit import chained_entry_write
from memory.models import (
    AuditEntry,
    Case,
    Conversation,
    Customer,
    Fact,
    Message,
)
from memory.redaction import Redactor
from memory.selectors.dossier import json_ready
from memory.selectors.gate import ContextAccessRefused, access_gate
from memory.watch import actor_is_quarantined

if TYPE_CHECKING:
    pass


# The gate's page-by-page shapes: one kind of record, filtered and paginated, for the API ------


class RecordKind(StrEnum):
    """A kind of a customer's records, each read under the partition that holds it."""

    CONVERSATIONS = "conversations"
    MESSAGES = "messages"
    CASES = "cases"
    FACTS = "facts"


@dataclass(frozen=True)
class RecordFilter:
    """What a page of records is narrowed to; each kind uses the filters that apply to it."""

    conversation_id: int | None = None
    channel: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    sentiment: str = ""
    status: str = ""
    key: str = ""
    current_only: bool = False


@dataclass(frozen=True)
class RecordPage:
    """One page of a customer's records, JSON-ready, with the total the filters match and the
    customer's business version (so a writer can name the state it read)."""

    records: tuple[dict[str, Any], ...]
    total: int
    business_version: int


@dataclass(frozen=True)
class _RecordShape:
    partition: Partition
    model: Any
    fields: tuple[str, ...]
    redacted: tuple[str, ...]
    ordering: tuple[str, ...]
    time_field: str


_RECORD_SHAPES = {
    RecordKind.CONVERSATIONS: _RecordShape(
        partition=Partition.MESSAGES,
        model=Conversation,
        fields=(
            "id",
            "channel",
            "status",
            "mode",
            "subject",
            "summary",
            "started_at",
            "last_message_at",
            "closed_at",
        ),
        redacted=("subject", "summary"),
        ordering=("-last_message_at", "-pk"),
        time_field="last_message_at",
    ),
    RecordKind.MESSAGES: _RecordShape(
        partition=Partition.MESSAGES,
        model=Message,
        fields=(
            "id",
            "conversation_id",
            "channel",
            "direction",
            "author",
            "text",
            "gist",
            "is_filler",
            "delivery_status",
            "sent_at",
            "sentiment__label",
        ),
        redacted=("text", "gist"),
        ordering=("-sent_at", "-pk"),
        time_field="sent_at",
    ),
    RecordKind.CASES: _RecordShape(
        partition=Partition.BUSINESS,
        model=Case,
        fields=(
            "id",
            "kind",
            "reference",
            "status",
            "title",
            "opened_at",
            "updated_at",
            "closed_at",
            "written_version",
        ),
        redacted=("reference", "title"),
        ordering=("-updated_at", "-pk"),
        time_field="updated_at",
    ),
    RecordKind.FACTS: _RecordShape(
        partition=Partition.BUSINESS,
        model=Fact,
        fields=(
            "id",
            "key",
            "value",
            "case_id",
            "confidence",
            "asserted_by",
            "asserted_by_agent",
            "source_message_id",
            "valid_from",
            "valid_until",
            "replaced_by_id",
            "written_version",
        ),
        redacted=("value",),
        ordering=("key", "-valid_from", "-pk"),
        time_field="valid_from",
    ),
}


def records_read(
    *,
    actor: Actor,
    customer: Customer | int,
    kind: RecordKind,
    purpose: str,
    narrowed: RecordFilter | None = None,
    offset: int = 0,
    limit: int = 50,
    with_pii: bool = False,
    correlation_id: str = "",
) -> RecordPage:
    """A page of one kind of a customer's records, through the gate: the kind's partition (and
    `pii` when asked) is checked, the read audited and watched like `context_read`, and
    contact details masked without `pii`. Three queries besides the gate's, whatever the page.
    """
    if not purpose.strip():
        raise ValueError("a context read needs a purpose")
    shape = _RECORD_SHAPES[RecordKind(kind)]
    asked = frozenset({shape.partition, *([Partition.PII] if with_pii else [])})
    if not isinstance(customer, Customer):
        customer = Customer.objects.get(pk=customer)
    with access_gate(
        actor=actor, customer=customer, asked=asked, purpose=purpose, correlation_id=correlation_id
    ):
        rows = _records_filtered(
            shape.model.objects.filter(customer=customer), shape, narrowed or RecordFilter()
        )
        total = rows.count()
        page = list(rows.order_by(*shape.ordering).values(*shape.fields)[offset : offset + limit])
    redactor = None if with_pii else Redactor()
    records = []
    for row in page:
        if "sentiment__label" in row:
            row["sentiment"] = row.pop("sentiment__label")
        if redactor is not None:
            row.update({name: redactor.text(row[name] or "") for name in shape.redacted})
        records.append(json_ready(row))
    return RecordPage(
        records=tuple(records), total=total, business_version=customer.business_version
    )


def _records_filtered(rows: Any, shape: _RecordShape, narrowed: RecordFilter) -> Any:
    if narrowed.conversation_id is not None and shape.model is Message:
        rows = rows.filter(conversation_id=narrowed.conversation_id)
    if narrowed.channel and shape.model in (Message, Conversation):
        rows = rows.filter(channel=narrowed.channel)
    if narrowed.since is not None:
        rows = rows.filter(**{f"{shape.time_field}__gte": narrowed.since})
    if narrowed.until is not None:
        rows = rows.filter(**{f"{shape.time_field}__lt": narrowed.until})
    if narrowed.sentiment and shape.model is Message:
        rows = rows.filter(sentiment__label=narrowed.sentiment)
    if narrowed.status and shape.model in (Case, Conversation):
        rows = rows.filter(status=narrowed.status)
    if narrowed.key and shape.model is Fact:
        rows = rows.filter(key=narrowed.key.strip().lower())
    if narrowed.current_only and shape.model is Fact:
        rows = rows.filter(valid_until__isnull=True)
    return rows


def write_admit(
    *,
    actor: Actor,
    customer: Customer,
    partitions: frozenset[Partition],
    purpose: str,
    correlation_id: str = "",
) -> None:
    """Let an actor's write to a customer's records through, or refuse it and record the
    refusal (who, what, why) in the audit trail as the gate records a refused read: a write
    needs the partitions it changes, and a quarantined agent or client writes nothing."""
    missing = frozenset(p for p in partitions if not actor.may_read(p))
    quarantined = actor_is_quarantined(actor)
    if not missing and not quarantined:
        return
    reason = "the actor is quarantined" if quarantined else ""
    detail: dict[str, object] = {"refused": sorted(p.value for p in missing or partitions)}
    if reason:
        detail["reason"] = reason
    user = actor.user
    chained_entry_write(
        target=customer,
        action=AuditEntry.Action.UPDATE,
        actor_user=user if user is not None and user.pk is not None else None,
        actor_label=actor.label,
        purpose=purpose,
        partitions=sorted(p.value for p in partitions),
        outcome=AuditEntry.Outcome.REFUSED,
        correlation_id=correlation_id,
        detail=detail,
    )
    raise ContextAccessRefused(actor, missing or partitions, reason)
