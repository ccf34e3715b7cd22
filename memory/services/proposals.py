"""Suspicions and corrections: merge proposals, linking evidence, intent corrections."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
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
    from collections.abc import Collection

    from django.contrib.auth.models import User


# Proposals and corrections ---------------------------------------------------------------------


def merge_propose(
    *,
    customer: Customer,
    other_customer: Customer,
    reason: str,
    proposed_by: str,
    evidence_message: Message | None = None,
    evidence: Collection[str] = (),
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
                evidence=sorted(set(evidence)),
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


class LinkEvidence(StrEnum):
    """A piece of evidence that the sender of a message is a customer Rapport already knows."""

    REFERENCE = "reference"  # they quoted a case reference the record holds
    CONTACT = "contact"  # they stated a phone or e-mail the record holds
    NAME = "name"  # the name they gave is the record's name
    POSTCODE = "postcode"  # they stated the postcode of the record's address
    # The record's sender claimed the address they write from before they ever wrote from it:
    # a claim anyone can make, so it counts once and never alone.
    CLAIMED = "claimed"
    # ...and the claim was the claimer's own word about an address nobody held, which then
    # wrote within a few weeks, from a claimer nobody is asked about
    # (memory.services.customers._claim_confirmed).
    CLAIM_CONFIRMED = "claim_confirmed"


_EVIDENCE_KINDS = frozenset(kind.value for kind in LinkEvidence)
# Pieces of independent evidence it takes to link a record without asking a person.
LINK_EVIDENCE_NEEDED = 2


def _name_parts(name: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    return re.findall(r"[a-z]+(?:['-][a-z]+)*", plain)


def names_match(stated: str, known: str) -> bool:
    """Whether a full name someone gives is the name a record holds: first and last name the
    same, accents, case and middle names aside. A first name alone is never a match."""
    said, held = _name_parts(stated), _name_parts(known)
    if len(said) < 2 or len(held) < 2:
        return False
    return said[0] == held[0] and said[-1] == held[-1]


def _names_clash(*names: str) -> bool:
    """Two of these names cannot be the same person ("Ana" and "Ana Ruiz" can)."""
    parts = [p for p in (_name_parts(n) for n in names) if p]
    for index, first in enumerate(parts):
        for second in parts[index + 1 :]:
            if first[0] != second[0]:
                return True
            if len(first) > 1 and len(second) > 1 and first[-1] != second[-1]:
                return True
    return False


def customer_link_evidence(
    *,
    customer: Customer,
    other: Customer,
    evidence: Collection[str],
    reason: str,
    decided_by: str,
    message: Message | None = None,
    stated_name: str = "",
) -> Customer:
    """Act on evidence that `customer` (the sender of `message`) is the known record `other`.
    Returns the record the message now belongs to.

    Knowing one thing about a customer (an order number, their phone number, their name) is
    not being them: a reference, a stated contact detail, the record's full name and its
    postcode are weighed as separate pieces, and only two of them together link the records
    at once. The name is checked here against `other`; the caller vouches for the rest.
    Anything less, names that clash, or two records that both came from the CRM, make a merge
    proposal for a person to decide; until then the sender keeps a record of their own.
    """
    if customer.pk == other.pk:
        return customer
    pieces = {LinkEvidence(kind) for kind in evidence if kind in _EVIDENCE_KINDS}
    pieces.discard(LinkEvidence.NAME)
    if stated_name and names_match(stated_name, other.display_name):
        pieces.add(LinkEvidence.NAME)
    crm_known = [c for c in (customer, other) if _known_from_crm(c)]
    clash = _names_clash(customer.display_name, other.display_name, stated_name)
    if len(pieces) < LINK_EVIDENCE_NEEDED or clash or len(crm_known) == 2:
        held = ", ".join(sorted(pieces)) or "no verified piece"
        merge_propose(
            customer=customer,
            other_customer=other,
            reason=f"{reason}; evidence: {held}" + ("; the names differ" if clash else ""),
            proposed_by=decided_by,
            evidence_message=message,
            evidence=[*pieces, *(["names_differ"] if clash else [])],
        )
        return customer
    if crm_known:
        target = crm_known[0]
    else:
        target = min((customer, other), key=lambda c: (c.created_at, c.pk))
    source = other if target.pk == customer.pk else customer
    evidence_text = f"{reason}; evidence: {', '.join(sorted(pieces))}"
    customer_merge(source=source, target=target, merged_by=decided_by, reason=evidence_text)
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
