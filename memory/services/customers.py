"""Customers and their identities: create, resolve, link and merge records of one person."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from memory.events import CustomerMerged, publish
from memory.identities import identity_kind_for_channel, normalize_identity
from memory.models import (
    Case,
    Conversation,
    Customer,
    CustomerMerge,
    Fact,
    Identity,
    MergeProposal,
    Message,
    SentimentReading,
)
from memory.services.signals import customer_signals_merge

if TYPE_CHECKING:
    # Rows that name their customer directly; a merge moves them to the surviving record.
    OwnedByCustomer = Identity | Conversation | Message | SentimentReading


class IdentityBelongsToAnotherCustomer(Exception):
    """The address is already someone else's: link refused, a merge may be proposed instead."""

    def __init__(self, identity: Identity, customer: Customer) -> None:
        super().__init__(
            f"{identity.kind} identity #{identity.pk} belongs to customer #{identity.customer_id},"
            f" not #{customer.pk}"
        )
        self.identity = identity
        self.customer = customer


class MergeRefused(ValueError):
    """A merge that would make no sense (a customer into itself, an already merged record)."""


# Customers and identities -------------------------------------------------------------------


def customer_create(
    *,
    display_name: str = "",
    external_id: str | None = None,
    identities: list[tuple[str, str]] | None = None,
    source: str = "",
    verified: bool = True,
) -> Customer:
    """Create a customer with its identities (kind, raw address) in one transaction."""
    with transaction.atomic():
        customer = Customer.objects.create(display_name=display_name, external_id=external_id)
        for kind, raw in identities or []:
            identity_link(
                customer=customer, kind=kind, address=raw, source=source, verified=verified
            )
    return customer


def customer_update_profile(*, customer: Customer, display_name: str) -> Customer:
    """Set the name people and agents call the customer by."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
        if locked.display_name != display_name:
            locked.display_name = display_name
            locked.profile_version += 1
            locked.save(update_fields=["display_name", "profile_version", "updated_at"])
    return locked


def customer_resolve(*, channel: str, address: str, display_name: str = "") -> Customer:
    """Find the customer behind an inbound address, or create them on first contact.

    Safe under concurrency: two first messages from one new number race on the identity's
    unique constraint, and the loser picks up the winner's customer.
    """
    kind = identity_kind_for_channel(channel)
    value = normalize_identity(kind, address)
    identity = Identity.objects.select_related("customer").filter(kind=kind, value=value).first()
    if identity is not None and not identity.verified:
        return _claimed_address_resolve(identity, channel=channel, display_name=display_name)
    if identity is not None:
        customer = identity.customer
        if display_name and not customer.display_name:
            customer = customer_update_profile(customer=customer, display_name=display_name)
        return customer
    try:
        with transaction.atomic():
            customer = Customer.objects.create(display_name=display_name)
            Identity.objects.create(
                customer=customer,
                kind=kind,
                value=value,
                verified=True,
                source=f"inbound {channel}",
            )
            return customer
    except IntegrityError:
        return Identity.objects.select_related("customer").get(kind=kind, value=value).customer


def _claimed_address_resolve(identity: Identity, *, channel: str, display_name: str) -> Customer:
    """The first message from an address someone only claimed ("reach me on ..."): the sender
    owns it now, and the claim is weighed as evidence that they are the claimer.

    The sender gets the address, verified, on a record of their own, and the claim is kept on
    it (`claimed_by`). The claim is one piece; it becomes two, and the records are linked at
    once, when the claim was the claimer's own word about an address nobody held and that
    address writes within `CLAIM_CONFIRM_WINDOW` of it, from a claimer no person is asked
    about (see `_claim_confirmed`). Otherwise a second piece (the claimer's full name as the
    sender's display name here, or later their name or a reference of theirs in what the
    sender says) links the records; until then a person is asked.
    """
    from memory.services.proposals import LinkEvidence, customer_link_evidence

    with transaction.atomic():
        locked = Identity.objects.select_for_update().select_related("customer").get(pk=identity.pk)
        if locked.verified:  # a concurrent first message already settled it
            return _surviving(locked.customer)
        claimer = _surviving(locked.customer)
        evidence = {LinkEvidence.CLAIMED}
        if _claim_confirmed(locked, claimer):
            evidence.add(LinkEvidence.CLAIM_CONFIRMED)
        sender = Customer.objects.create(display_name=display_name)
        locked.customer = sender
        locked.verified = True
        locked.claimed_by = claimer
        locked.source = f"inbound {channel}; claimed by customer #{claimer.pk}"[:100]
        locked.save(update_fields=["customer", "verified", "claimed_by", "source"])
        return customer_link_evidence(
            customer=sender,
            other=claimer,
            evidence=evidence,
            reason=f"{locked.kind} {locked.value} was claimed by customer #{claimer.pk}",
            decided_by="memory:resolve",
            stated_name=display_name,
        )


# How long a customer's own "reach me on ..." vouches for the address: its first message within
# this time is taken as theirs; later, the claim is one piece among others.
CLAIM_CONFIRM_WINDOW = timedelta(days=30)


def _claim_confirmed(identity: Identity, claimer: Customer) -> bool:
    """Whether the first message from a claimed address confirms the claim.

    A customer who writes "call me on 0412 ..." and is then called or texted from that number
    is one person in any contact center; what must not happen is that knowing someone's
    address makes you them. So the claim confirms only when the address was free when it
    was claimed (`identity_link` refuses an address another record holds, and a person is
    asked instead), the claim is recent, and the claimer is not someone a person has yet to
    decide about: a record with a pending merge proposal (it quoted another customer's
    reference, address or name) vouches for nothing.
    """
    if timezone.now() - identity.created_at > CLAIM_CONFIRM_WINDOW:
        return False
    return not MergeProposal.objects.filter(
        Q(customer=claimer) | Q(other_customer=claimer), status=MergeProposal.Status.PENDING
    ).exists()


def _surviving(customer: Customer) -> Customer:
    """The record a customer was merged into, followed to the end (or the customer itself)."""
    seen = {customer.pk}
    while customer.merged_into_id is not None and customer.merged_into_id not in seen:
        seen.add(customer.merged_into_id)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def identity_link(
    *,
    customer: Customer,
    kind: str,
    address: str,
    source: str = "",
    verified: bool = False,
) -> Identity:
    """Give a customer one more way to be reached; refuses an address another customer holds."""
    value = normalize_identity(kind, address)
    existing = Identity.objects.filter(kind=kind, value=value).first()
    if existing is not None:
        if existing.customer_id != customer.pk:
            raise IdentityBelongsToAnotherCustomer(existing, customer)
        if verified and not existing.verified:
            existing.verified = True
            existing.save(update_fields=["verified"])
        return existing
    try:
        with transaction.atomic():
            return Identity.objects.create(
                customer=customer, kind=kind, value=value, source=source, verified=verified
            )
    except IntegrityError:
        existing = Identity.objects.get(kind=kind, value=value)
        if existing.customer_id != customer.pk:
            raise IdentityBelongsToAnotherCustomer(existing, customer) from None
        return existing


def customer_merge(
    *, source: Customer, target: Customer, merged_by: str, reason: str = ""
) -> CustomerMerge:
    """Fold `source` into `target`: identities, conversations, messages, cases, facts and
    sentiment move; clashing current facts keep the newer value and the older becomes history.
    The source record stays as a tombstone pointing at the target, and the merge is recorded.
    """
    if source.pk == target.pk:
        raise MergeRefused("cannot merge a customer into itself")
    with transaction.atomic():
        # Lock both in id order so two merges touching the same pair cannot deadlock.
        locked = {
            c.pk: c
            for c in Customer.objects.select_for_update(no_key=True)
            .filter(pk__in=[source.pk, target.pk])
            .order_by("pk")
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id is not None:
            raise MergeRefused(f"customer #{source.pk} was already merged")
        if target.merged_into_id is not None:
            raise MergeRefused(f"customer #{target.pk} was merged away; merge into its successor")

        moved: dict[str, int] = {}
        moved["cases"] = _merge_cases(source=source, target=target)
        moved["facts"] = _merge_customer_facts(source=source, target=target)
        owned: tuple[tuple[str, type[OwnedByCustomer]], ...] = (
            ("identities", Identity),
            ("conversations", Conversation),
            ("messages", Message),
            ("sentiment_readings", SentimentReading),
        )
        for label, model in owned:
            rows: list[OwnedByCustomer] = list(model.objects.filter(customer=source))
            for row in rows:
                row.customer = target
                row.save(update_fields=["customer"])
            moved[label] = len(rows)
        moved["signals"] = customer_signals_merge(source_id=source.pk, target_id=target.pk)

        if not target.display_name and source.display_name:
            target.display_name = source.display_name
        if source.external_id and not target.external_id:
            target.external_id, source.external_id = source.external_id, None
        source.merged_into = target
        source.save(update_fields=["merged_into", "external_id", "updated_at"])
        target.save(update_fields=["display_name", "external_id", "updated_at"])
        merge = CustomerMerge.objects.create(
            source_customer_id=source.pk,
            source_display_name=source.display_name,
            target=target,
            merged_by=merged_by,
            reason=reason,
            moved=moved,
        )
        publish(
            CustomerMerged(customer_id=target.pk, source_customer_id=source.pk, merged_by=merged_by)
        )
        return merge


def _merge_cases(*, source: Customer, target: Customer) -> int:
    """Move the source's cases; a case both records hold keeps the target's row."""
    target_cases = {(c.kind, c.reference): c for c in Case.objects.filter(customer=target)}
    moved = 0
    for case in Case.objects.filter(customer=source):
        twin = target_cases.get((case.kind, case.reference))
        if twin is None:
            case.customer = target
            case.save(update_fields=["customer", "updated_at"])
        else:
            for fact in Fact.objects.filter(case=case).order_by("valid_from", "pk"):
                _move_fact(fact=fact, customer=target, case=twin)
            case.delete()
        moved += 1
    return moved


def _merge_customer_facts(*, source: Customer, target: Customer) -> int:
    total = Fact.objects.filter(customer=source).count()
    facts = list(
        Fact.objects.filter(customer=source, case__isnull=True).order_by("valid_from", "pk")
    )
    for fact in facts:
        _move_fact(fact=fact, customer=target, case=None)
    # Facts on cases that moved with their case only need their customer changed.
    for fact in Fact.objects.filter(customer=source):
        fact.customer = target
        fact.save(update_fields=["customer"])
    return total


def _move_fact(*, fact: Fact, customer: Customer, case: Case | None) -> None:
    """Re-home one fact version; when both sides hold a current value, the newer one wins."""
    if fact.is_current:
        rival = Fact.objects.filter(
            customer=customer, case=case, key=fact.key, valid_until__isnull=True
        ).first()
        if rival is not None:
            older, newer = (rival, fact) if rival.valid_from <= fact.valid_from else (fact, rival)
            older.valid_until = newer.valid_from
            link_free = not Fact.objects.filter(replaced_by=newer).exists()
            older.replaced_by = newer if link_free else None
            older.save(update_fields=["valid_until", "replaced_by"])
    fact.customer = customer
    fact.case = case
    fact.save(update_fields=["customer", "case"])
