"""A customer's rights over their data: export everything held (through the gate, audited),
erase it irreversibly (a tombstone and the audit trail stay, without personal data), and the
retention policy that purges old messages' words the same way.

Erasure and retention change many rows at once with auditlog switched off, because auditlog's
own entries would copy the very words being erased into the trail; each run writes its own
chained audit entry instead, saying what was erased, by whom, and how much.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditlog.context import disable_auditlog
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from memory.audit import SCRUBBED, chained_entry_write
from memory.models import (
    AuditEntry,
    Case,
    ChannelSwitch,
    Conversation,
    Customer,
    CustomerMerge,
    Fact,
    Handoff,
    Identity,
    IntentCorrection,
    MergeProposal,
    Message,
    SentimentReading,
    WriteConflict,
)
from memory.selectors import CustomerDossier, customer_dossier_read
from memory.signals import personal_data_erasing

if TYPE_CHECKING:
    from memory.actors import Actor

ERASED = "[erased]"


def customer_export(
    *, actor: Actor, customer: Customer | int, purpose: str = "data subject access request"
) -> CustomerDossier:
    """Everything held about a customer, as JSON-ready data; a gate read, so audited."""
    return customer_dossier_read(actor=actor, customer=customer, purpose=purpose)


@dataclass(frozen=True)
class Erasure:
    """What one erasure (or retention purge) changed, by kind of row."""

    customer_id: int
    counts: dict[str, int] = field(default_factory=dict)


def customer_erase(*, customer: Customer, erased_by: str, reason: str) -> Erasure:
    """Irreversibly remove a customer's personal data across the graph, keeping a tombstone
    (the customer row, empty) and the audit trail (its personal fields blanked)."""
    with transaction.atomic(), disable_auditlog():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        people = _same_person(customer)
        messages = Message.objects.filter(customer_id__in=people)
        conversations = Conversation.objects.filter(customer_id__in=people)
        audited = _audited_rows(people)
        scrubbed = _audit_trail_scrub(audited)
        counts = {
            **_messages_scrub(
                messages, conversation_ids=list(conversations.values_list("pk", flat=True))
            ),
            "conversations": conversations.update(
                subject="",
                summary="",
                channel_metadata={},
                thread_key=_erased_key("conversation", "id"),
                status=Conversation.Status.CLOSED,
                closed_at=timezone.now(),
            ),
            "handoffs": Handoff.objects.filter(conversation__in=conversations).update(
                reason=ERASED
            ),
            "channel_switches": ChannelSwitch.objects.filter(customer_id__in=people).update(
                handover_summary=""
            ),
            "write_conflicts": WriteConflict.objects.filter(customer_id__in=people).update(
                attempted_value=ERASED, kept_value=ERASED
            ),
            "facts": Fact.objects.filter(customer_id__in=people).delete()[0],
            "identities": Identity.objects.filter(customer_id__in=people).delete()[0],
            "merge_proposals": MergeProposal.objects.filter(
                Q(customer_id__in=people) | Q(other_customer_id__in=people)
            ).delete()[0],
            "merges": CustomerMerge.objects.filter(target_id__in=people).update(
                source_display_name="", reason=ERASED
            ),
            "cases": Case.objects.filter(customer_id__in=people).update(
                reference=_erased_key("case", "id"), reference_key="", title=""
            ),
            "audit_entries": len(scrubbed),
            "customers": Customer.objects.filter(pk__in=people).update(
                display_name="", external_id=None, erased_at=timezone.now()
            ),
        }
        customer.refresh_from_db()
        chained_entry_write(
            target=customer,
            action=AuditEntry.Action.DELETE,
            actor_label=erased_by,
            purpose=f"erasure: {reason}"[:200],
            detail={"erased": counts, "records": sorted(people), SCRUBBED: scrubbed},
        )
    return Erasure(customer_id=customer.pk, counts=counts)


def _same_person(customer: Customer) -> list[int]:
    """The customer and every record merged into them, however deep."""
    people = [customer.pk]
    frontier = [customer.pk]
    while frontier:
        frontier = list(
            Customer.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True)
        )
        people += frontier
    return people


def _erased_key(kind: str, column: str) -> Concat:
    """A unique placeholder for a column that must stay unique: "erased-case-12"."""
    return Concat(Value(f"erased-{kind}-"), Cast(column, CharField()))


def _messages_scrub(
    messages: QuerySet[Message], *, conversation_ids: list[int] | None = None
) -> dict[str, int]:
    """Blank the words of these messages and everything derived from them; the layers above
    scrub what they derived (traces, drafts) on `personal_data_erasing`."""
    counts: dict[str, int] = {}
    for _, scrubbed in personal_data_erasing.send(
        sender=Message,
        message_ids=list(messages.values_list("pk", flat=True)),
        conversation_ids=conversation_ids or [],
    ):
        counts |= dict(scrubbed) if isinstance(scrubbed, dict) else {}
    return {
        **counts,
        "sentiment_readings": SentimentReading.objects.filter(message__in=messages).delete()[0],
        "messages": messages.update(
            text="",
            raw_text="",
            gist="",
            channel_metadata={},
            provider_id=_erased_key("message", "id"),
        ),
    }


def _audited_rows(people: list[int]) -> Q:
    """The audit entries about this person's rows: whatever their model, by object id."""
    rows: dict[type, QuerySet[Any]] = {
        Customer: Customer.objects.filter(pk__in=people),
        Identity: Identity.objects.filter(customer_id__in=people),
        Conversation: Conversation.objects.filter(customer_id__in=people),
        Message: Message.objects.filter(customer_id__in=people),
        Case: Case.objects.filter(customer_id__in=people),
        Fact: Fact.objects.filter(customer_id__in=people),
        SentimentReading: SentimentReading.objects.filter(customer_id__in=people),
        CustomerMerge: CustomerMerge.objects.filter(target_id__in=people),
        MergeProposal: MergeProposal.objects.filter(
            Q(customer_id__in=people) | Q(other_customer_id__in=people)
        ),
        IntentCorrection: IntentCorrection.objects.filter(message__customer_id__in=people),
    }
    types = ContentType.objects.get_for_models(*rows)
    match = Q(pk__in=[])
    for model, queryset in rows.items():
        ids = list(queryset.values_list("pk", flat=True))
        match |= Q(content_type=types[model], object_id__in=ids)
    return match


def _audit_trail_scrub(match: Q) -> list[int]:
    """Blank the personal fields of these entries and return which: the run's own entry lists
    them, so `audit verify` tells the scrub from an edit and still proves who read what, when
    and why. Earlier runs' own entries hold no personal data and keep their lists."""
    entries = AuditEntry.objects.filter(match).exclude(additional_data__has_key=SCRUBBED)
    scrubbed = sorted(entries.values_list("pk", flat=True))
    AuditEntry.objects.filter(pk__in=scrubbed).update(
        object_repr=ERASED,
        changes=None,
        changes_text="",
        serialized_data=None,
        additional_data=None,
    )
    return scrubbed


# Retention ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionReport:
    """What the retention policy purges (or would, in a dry run), per channel."""

    dry_run: bool
    per_channel: dict[str, dict[str, Any]]

    @property
    def total(self) -> int:
        return sum(int(row["messages"]) for row in self.per_channel.values())


def messages_retention_apply(*, dry_run: bool, now: dt.datetime | None = None) -> RetentionReport:
    """Purge the words of messages older than their channel's RETENTION_DAYS, the way erasure
    does; with `dry_run`, only say what would go."""
    now = now or timezone.now()
    per_channel: dict[str, dict[str, Any]] = {}
    for channel, days in sorted(settings.RETENTION_DAYS.items()):
        if not days:
            continue
        cutoff = now - dt.timedelta(days=days)
        expired = Message.objects.filter(channel=channel, sent_at__lt=cutoff).exclude(
            text="", raw_text="", gist=""
        )
        customers = sorted(set(expired.values_list("customer_id", flat=True)))
        per_channel[channel] = {
            "days": days,
            "cutoff": cutoff.isoformat(),
            "messages": expired.count(),
            "customers": len(customers),
        }
        if not dry_run and customers:
            _retention_purge(channel=channel, cutoff=cutoff, customers=customers, days=days)
    return RetentionReport(dry_run=dry_run, per_channel=per_channel)


def _retention_purge(*, channel: str, cutoff: dt.datetime, customers: list[int], days: int) -> None:
    """One transaction per customer, so a long purge holds no lock for long."""
    types = ContentType.objects.get_for_model(Message)
    for customer_id in customers:
        with transaction.atomic(), disable_auditlog():
            messages = Message.objects.filter(
                customer_id=customer_id, channel=channel, sent_at__lt=cutoff
            ).exclude(text="", raw_text="", gist="")
            ids = list(messages.values_list("pk", flat=True))
            counts = _messages_scrub(Message.objects.filter(pk__in=ids))
            scrubbed = _audit_trail_scrub(Q(content_type=types, object_id__in=ids))
            counts["audit_entries"] = len(scrubbed)
            chained_entry_write(
                target=Customer(pk=customer_id, display_name=f"customer #{customer_id}"),
                action=AuditEntry.Action.UPDATE,
                actor_label="system:retention",
                purpose=f"retention: {channel} messages older than {days} days",
                detail={"purged": counts, "cutoff": cutoff.isoformat(), SCRUBBED: scrubbed},
            )
