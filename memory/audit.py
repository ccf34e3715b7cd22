"""Audit trail of the graph: auditlog registration and the one writer of context-access entries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditlog.registry import auditlog

from memory.models import (
    AuditEntry,
    Case,
    Conversation,
    Customer,
    CustomerMerge,
    Fact,
    Identity,
    IntentCorrection,
    MergeProposal,
    Message,
    SentimentReading,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from memory.actors import Actor, Partition


def register_graph_models() -> None:
    """Have auditlog record create, update and delete on every graph model."""
    for model in (
        Customer,
        Identity,
        Conversation,
        Case,
        Fact,
        SentimentReading,
        CustomerMerge,
        MergeProposal,
        IntentCorrection,
    ):
        if not auditlog.contains(model):
            auditlog.register(model)
    if not auditlog.contains(Message):
        # The words themselves stay out of the change log: it is kept longer than messages are.
        auditlog.register(Message, mask_fields=["text", "raw_text"])


def access_record(
    *,
    actor: Actor,
    customer: Customer,
    partitions: Iterable[Partition],
    purpose: str,
    outcome: str,
    correlation_id: str = "",
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """Write the ACCESS entry for one read of a customer's context, granted or refused."""
    user = actor.user
    entry = AuditEntry.objects.log_create(
        customer,
        force_log=True,
        action=AuditEntry.Action.ACCESS,
        changes=None,
        actor=user if user is not None and user.pk is not None else None,
        actor_label=actor.label,
        purpose=purpose[:200],
        partitions=sorted(p.value for p in partitions),
        outcome=outcome,
        additional_data=detail or None,
        **({"cid": correlation_id} if correlation_id else {}),
    )
    assert entry is not None  # noqa: S101 - force_log always writes
    return entry
