"""Suspicions and corrections: merge proposals, linking evidence, intent corrections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from memory.events import IntentCorrected, MergeDecided, publish
from memory.models import (
    Customer,
    IntentCorrection,
    MergeProposal,
    Message,
)
from memory.services.customers import MergeRefused, customer_merge

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# Proposals and corrections ---------------------------------------------------------------------


def merge_propose(
    *,
    customer: Customer,
    other_customer: Customer,
    reason: str,
    proposed_by: str,
    evidence_message: Message | None = None,
) -> MergeProposal:
    """Ask a person whether two records are one customer; one pending proposal per pair."""
    if customer.pk == other_customer.pk:
        raise MergeRefused("a customer cannot be proposed for a merge with itself")
    first, second = sorted((customer, other_customer), key=lambda c: c.pk)
    pending = MergeProposal.objects.filter(
        customer=first, other_customer=second, status=MergeProposal.Status.PENDING
    ).first()
    if pending is not None:
        return pending
    try:
        with transaction.atomic():
            return MergeProposal.objects.create(
                customer=first,
                other_customer=second,
                reason=reason,
                proposed_by=proposed_by,
                evidence_message=evidence_message,
            )
    except IntegrityError:
        return MergeProposal.objects.get(
            customer=first, other_customer=second, status=MergeProposal.Status.PENDING
        )


def _known_from_crm(customer: Customer) -> bool:
    return (
        bool(customer.external_id)
        or customer.identities.filter(source__in=("crm", "import", "demo CRM")).exists()
    )


def customer_link_evidence(
    *,
    customer: Customer,
    other: Customer,
    evidence: str,
    decided_by: str,
    message: Message | None = None,
    stated_name: str = "",
) -> Customer:
    """Act on evidence that two records are one person (a stated e-mail, phone or reference
    that the other record holds). Returns the record the message now belongs to.

    A record Rapport only knows from inbound traffic, whose name is unknown or the same, is
    folded into the other at once, the way an agent who hears a caller's name and order number
    treats them as that customer. Two records that both came from the CRM, or whose names
    differ, are never merged automatically: a merge is proposed for a person to decide.
    """
    if customer.pk == other.pk:
        return customer
    names = {c.display_name.casefold() for c in (customer, other) if c.display_name}
    if stated_name:
        names.add(stated_name.casefold())
    crm_known = [c for c in (customer, other) if _known_from_crm(c)]
    if len(names) > 1 or len(crm_known) == 2:
        merge_propose(
            customer=customer,
            other_customer=other,
            reason=evidence,
            proposed_by=decided_by,
            evidence_message=message,
        )
        return customer
    if crm_known:
        target = crm_known[0]
    else:
        target = min((customer, other), key=lambda c: (c.created_at, c.pk))
    source = other if target.pk == customer.pk else customer
    customer_merge(source=source, target=target, merged_by=decided_by, reason=evidence)
    return Customer.objects.get(pk=target.pk)


def merge_proposal_decide(
    *, proposal: MergeProposal, accept: bool, decided_by: str
) -> MergeProposal:
    """Settle a merge proposal; accepting merges the newer record into the older one."""
    with transaction.atomic():
        proposal = MergeProposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.status != MergeProposal.Status.PENDING:
            return proposal
        if accept:
            older, newer = sorted(
                (proposal.customer, proposal.other_customer), key=lambda c: (c.created_at, c.pk)
            )
            customer_merge(source=newer, target=older, merged_by=decided_by, reason=proposal.reason)
        proposal.status = MergeProposal.Status.ACCEPTED if accept else MergeProposal.Status.REJECTED
        proposal.decided_at = timezone.now()
        proposal.save(update_fields=["status", "decided_at"])
        publish(
            MergeDecided(
                proposal_id=proposal.pk, status=proposal.status, customer_id=proposal.customer_id
            )
        )
    return proposal


def intent_correction_record(
    *,
    message: Message,
    corrected_intent: str,
    predicted_intent: str = "",
    corrected_by: User | None = None,
) -> IntentCorrection:
    """Keep a person's correction of a message's intent; the latest correction wins."""
    corrected_intent = corrected_intent.strip()
    if not corrected_intent:
        raise ValueError("a correction needs an intent")
    with transaction.atomic():
        correction, created = IntentCorrection.objects.select_for_update().get_or_create(
            message=message,
            defaults={
                "corrected_intent": corrected_intent,
                "predicted_intent": predicted_intent,
                "corrected_by": corrected_by,
            },
        )
        if not created and correction.corrected_intent != corrected_intent:
            correction.corrected_intent = corrected_intent
            correction.corrected_by = corrected_by
            correction.created_at = timezone.now()
            correction.save(update_fields=["corrected_intent", "corrected_by", "created_at"])
        publish(
            IntentCorrected(
                conversation_id=message.conversation_id,
                message_id=message.pk,
                intent=correction.corrected_intent,
            )
        )
    return correction
