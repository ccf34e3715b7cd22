"""Every action that changes the customer context graph.

Services take keyword-only arguments, write inside a transaction, and return what they made.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from memory.identities import identity_kind_for_channel, normalize_identity
from memory.models import (
    Case,
    Channel,
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

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


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
        for label, model in (
            ("identities", Identity),
            ("conversations", Conversation),
            ("messages", Message),
            ("sentiment_readings", SentimentReading),
        ):
            rows = list(model.objects.filter(customer=source))
            for row in rows:
                row.customer = target
                row.save(update_fields=["customer"])
            moved[label] = len(rows)

        if not target.display_name and source.display_name:
            target.display_name = source.display_name
        if source.external_id and not target.external_id:
            target.external_id, source.external_id = source.external_id, None
        source.merged_into = target
        source.save(update_fields=["merged_into", "external_id", "updated_at"])
        target.save(update_fields=["display_name", "external_id", "updated_at"])
        return CustomerMerge.objects.create(
            source_customer_id=source.pk,
            source_display_name=source.display_name,
            target=target,
            merged_by=merged_by,
            reason=reason,
            moved=moved,
        )


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


# Conversations and messages ------------------------------------------------------------------


@dataclass(frozen=True)
class InboundRecord:
    """What recording an inbound turn produced; `created` is False for a retried delivery."""

    message: Message
    created: bool


def conversation_get_or_open(
    *,
    customer: Customer,
    channel: str,
    thread_key: str,
    subject: str = "",
    at: dt.datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> Conversation:
    """The open conversation for this thread, opened now if there is none.

    A thread whose conversation was closed opens a new conversation linked to the old one.
    """
    at = at or timezone.now()
    conversation = (
        Conversation.objects.filter(channel=channel, thread_key=thread_key)
        .exclude(status=Conversation.Status.CLOSED)
        .first()
    )
    if conversation is not None:
        return conversation
    previous = (
        Conversation.objects.filter(channel=channel, thread_key=thread_key)
        .order_by("-last_message_at")
        .first()
    )
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                customer=customer,
                channel=channel,
                thread_key=thread_key,
                subject=subject[:300],
                previous=previous,
                started_at=at,
                last_message_at=at,
                channel_metadata=metadata or {},
            )
    except IntegrityError:
        return Conversation.objects.exclude(status=Conversation.Status.CLOSED).get(
            channel=channel, thread_key=thread_key
        )


def message_record_inbound(
    *,
    channel: str,
    sender: str,
    recipient: str,
    text: str,
    provider_id: str | None = None,
    thread_key: str | None = None,
    subject: str = "",
    raw_text: str = "",
    sent_at: dt.datetime | None = None,
    metadata: dict[str, Any] | None = None,
    display_name: str = "",
) -> InboundRecord:
    """Store one inbound turn exactly once, in the sender's conversation for this thread.

    The provider id is claimed by a unique constraint, so a retried delivery landing on any
    web process finds the first copy instead of writing a second.
    """
    if provider_id:
        existing = Message.objects.filter(channel=channel, provider_id=provider_id).first()
        if existing is not None:
            return InboundRecord(message=existing, created=False)
    sent_at = sent_at or timezone.now()
    customer = customer_resolve(channel=channel, address=sender, display_name=display_name)
    kind = identity_kind_for_channel(channel)
    sender_value = normalize_identity(kind, sender)
    thread_key = thread_key or f"{sender_value}|{recipient.strip().lower()}"
    try:
        with transaction.atomic():
            conversation = conversation_get_or_open(
                customer=customer,
                channel=channel,
                thread_key=thread_key,
                subject=subject,
                at=sent_at,
            )
            message = Message.objects.create(
                conversation=conversation,
                customer=conversation.customer,
                channel=channel,
                direction=Message.Direction.INBOUND,
                author=Message.Author.CUSTOMER,
                text=text,
                raw_text=raw_text if raw_text != text else "",
                provider_id=provider_id or None,
                delivery_status=Message.DeliveryStatus.RECEIVED,
                channel_metadata=metadata or {},
                sent_at=sent_at,
            )
            _conversation_touch(conversation=conversation, at=sent_at)
    except IntegrityError:
        if not provider_id:
            raise
        existing = Message.objects.get(channel=channel, provider_id=provider_id)
        return InboundRecord(message=existing, created=False)
    return InboundRecord(message=message, created=True)


def message_record_outbound(
    *,
    conversation: Conversation,
    text: str,
    author: str,
    author_agent: str = "",
    author_user: AbstractBaseUser | None = None,
    provider_id: str | None = None,
    delivery_status: str = Message.DeliveryStatus.PENDING,
    sent_at: dt.datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Store a reply going out to the customer, before any provider is called."""
    sent_at = sent_at or timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            conversation=conversation,
            customer_id=conversation.customer_id,
            channel=conversation.channel,
            direction=Message.Direction.OUTBOUND,
            author=author,
            author_agent=author_agent,
            author_user=author_user,
            text=text,
            provider_id=provider_id,
            delivery_status=delivery_status,
            channel_metadata=metadata or {},
            sent_at=sent_at,
        )
        _conversation_touch(conversation=conversation, at=sent_at)
    return message


def _conversation_touch(*, conversation: Conversation, at: dt.datetime) -> None:
    """Move the conversation's clock forward (never back) and wake it if it had gone quiet."""
    updated = Conversation.objects.filter(pk=conversation.pk).filter(
        Q(last_message_at__lt=at) | Q(status=Conversation.Status.INACTIVE)
    )
    for row in updated.select_for_update(no_key=True):
        row.last_message_at = max(row.last_message_at, at)
        row.status = Conversation.Status.ACTIVE
        row.save(update_fields=["last_message_at", "status"])
        conversation.last_message_at, conversation.status = row.last_message_at, row.status


# Business state -------------------------------------------------------------------------------


def _lock_customer(customer: Customer) -> Customer:
    """Take the customer's row lock: business writes for one customer happen one at a time."""
    return (
        Customer.objects.select_for_update(no_key=True)
        .only("pk", "business_version")
        .get(pk=customer.pk)
    )


def _bump_business_version(locked: Customer) -> int:
    # A counter, not customer data: left out of the change log so every fact is not logged twice.
    locked.business_version += 1
    Customer.objects.filter(pk=locked.pk).update(business_version=locked.business_version)
    return locked.business_version


def _stated_by_person(asserted_by: str) -> bool:
    return asserted_by in {Fact.AssertedBy.HUMAN, Fact.AssertedBy.CUSTOMER}


def case_open(
    *,
    customer: Customer,
    kind: str,
    reference: str,
    title: str = "",
    status: str = Case.Status.OPEN,
    source_message: Message | None = None,
    opened_at: dt.datetime | None = None,
) -> Case:
    """The customer's case with this reference, opened if new (idempotent by reference)."""
    reference = reference.strip()
    case = Case.objects.filter(customer=customer, kind=kind, reference__iexact=reference).first()
    if case is not None:
        return case
    try:
        with transaction.atomic():
            locked = _lock_customer(customer)
            return Case.objects.create(
                customer=customer,
                kind=kind,
                reference=reference,
                reference_key=reference_key(reference),
                title=title,
                status=status,
                source_message=source_message,
                opened_at=opened_at or timezone.now(),
                written_version=_bump_business_version(locked),
            )
    except IntegrityError:
        return Case.objects.get(customer=customer, kind=kind, reference=reference)


def reference_key(reference: str) -> str:
    """A reference as upper-case letters and digits: HO-364415, ho 364415 and HO364415 meet."""
    return re.sub(r"[^A-Z0-9]", "", reference.upper())


def case_set_status(
    *, case: Case, status: str, expected_version: int | None = None, writer: str = ""
) -> Case:
    """Move a case to a new status; closing it stamps when.

    A writer that names the business version it decided on loses to a status change made
    after that version (the later decision stands), and the clash is recorded.
    """
    if status not in Case.Status.values:
        raise ValueError(f"unknown case status {status!r}")
    with transaction.atomic():
        customer = _lock_customer(case.customer)
        locked = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
        if locked.status == status:
            return locked
        if expected_version is not None and locked.written_version > expected_version:
            WriteConflict.objects.create(
                customer_id=locked.customer_id,
                partition="business",
                key=f"case:{locked.reference}:status",
                writer=writer,
                attempted_value=status,
                kept_value=locked.status,
                expected_version=expected_version,
                actual_version=customer.business_version,
                resolution=WriteConflict.Resolution.KEPT_NEWER,
            )
            return locked
        locked.status = status
        closing = status not in Case.OPEN_STATUSES
        locked.closed_at = timezone.now() if closing else None
        locked.written_version = _bump_business_version(customer)
        locked.save(update_fields=["status", "closed_at", "written_version", "updated_at"])
    return locked


def fact_assert(
    *,
    customer: Customer,
    key: str,
    value: str,
    asserted_by: str,
    case: Case | None = None,
    confidence: float = 1.0,
    source_message: Message | None = None,
    asserted_by_agent: str = "",
    asserted_by_user: AbstractBaseUser | None = None,
    valid_from: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Fact:
    """State a value for a key; the value it replaces leaves "current" and stays as history.

    Restating the current value changes nothing. A statement older than the current value
    (a delayed delivery) is filed as history instead of overwriting newer knowledge.

    Optimistic concurrency: a writer passes the business version it read. If the key was
    changed after that version, the rule is "the later statement wins; on a tie a person
    beats an agent", and the clash is recorded as a WriteConflict either way.
    """
    if case is not None and case.customer_id != customer.pk:
        raise ValueError("the case belongs to another customer")
    key = key.strip().lower()
    value = value.strip()
    if not key or not value:
        raise ValueError("a fact needs a key and a value")
    if valid_from is None:
        valid_from = source_message.sent_at if source_message is not None else timezone.now()
    provenance = {
        "confidence": confidence,
        "source_message": source_message,
        "asserted_by": asserted_by,
        "asserted_by_agent": asserted_by_agent,
        "asserted_by_user": asserted_by_user,
    }
    with transaction.atomic():
        # One writer at a time per customer keeps "one current value per key" simple to hold.
        locked = _lock_customer(customer)
        current = Fact.objects.filter(
            customer=customer, case=case, key=key, valid_until__isnull=True
        ).first()
        if current is not None and current.value.casefold() == value.casefold():
            if confidence > current.confidence:
                current.confidence = confidence
                current.save(update_fields=["confidence"])
            return current
        if (
            current is not None
            and expected_version is not None
            and current.written_version > expected_version
        ):
            incoming_wins = valid_from > current.valid_from or (
                valid_from == current.valid_from
                and _stated_by_person(asserted_by)
                and not _stated_by_person(current.asserted_by)
            )
            WriteConflict.objects.create(
                customer=customer,
                partition="business",
                key=key if case is None else f"case:{case.reference}:{key}",
                writer=asserted_by_agent or asserted_by,
                attempted_value=value,
                kept_value=value if incoming_wins else current.value,
                expected_version=expected_version,
                actual_version=locked.business_version,
                resolution=(
                    WriteConflict.Resolution.APPLIED
                    if incoming_wins
                    else WriteConflict.Resolution.KEPT_NEWER
                ),
            )
            if not incoming_wins:
                return current
        if current is not None and valid_from < current.valid_from:
            already_known = Fact.objects.filter(
                customer=customer, case=case, key=key, value__iexact=value
            ).first()
            if already_known is not None:
                return already_known
            return Fact.objects.create(
                customer=customer,
                case=case,
                key=key,
                value=value,
                valid_from=valid_from,
                valid_until=current.valid_from,
                written_version=_bump_business_version(locked),
                **provenance,
            )
        if current is not None:
            current.valid_until = valid_from
            current.save(update_fields=["valid_until"])
        fact = Fact.objects.create(
            customer=customer,
            case=case,
            key=key,
            value=value,
            valid_from=valid_from,
            written_version=_bump_business_version(locked),
            **provenance,
        )
        if current is not None:
            current.replaced_by = fact
            current.save(update_fields=["replaced_by"])
    return fact


# Who answers: handoffs to people and back ---------------------------------------------------


def _lock_conversation(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update(no_key=True).get(pk=conversation.pk)


def conversation_hand_off(
    *,
    conversation: Conversation,
    reason: str,
    requested_by: str,
    trigger_message: Message | None = None,
) -> Handoff:
    """Hand the conversation to people: automation stops replying until it is released.

    Handing off a conversation that is already with people returns the open handoff.
    """
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        open_handoff = locked.handoffs.exclude(status=Handoff.Status.RELEASED).first()
        if open_handoff is not None:
            return open_handoff
        locked.mode = Conversation.Mode.HANDED_OFF
        locked.save(update_fields=["mode"])
        conversation.mode = locked.mode
        return Handoff.objects.create(
            conversation=locked,
            reason=reason[:200],
            requested_by=requested_by,
            trigger_message=trigger_message,
        )


def conversation_take_over(*, conversation: Conversation, user: AbstractBaseUser) -> Handoff:
    """A person takes the conversation; one is opened if automation had not handed it off."""
    with transaction.atomic():
        handoff = conversation_hand_off(
            conversation=conversation,
            reason="taken over by a person",
            requested_by=f"user:{user.get_username()}",
        )
        locked = _lock_conversation(conversation)
        locked.mode = Conversation.Mode.WITH_PERSON
        locked.save(update_fields=["mode"])
        conversation.mode = locked.mode
        handoff.status = Handoff.Status.TAKEN
        handoff.assigned_to = user
        handoff.taken_at = timezone.now()
        handoff.save(update_fields=["status", "assigned_to", "taken_at"])
    return handoff


def conversation_release(*, conversation: Conversation, released_by: str) -> Conversation:
    """Give the conversation back to automation and close its open handoff."""
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        for handoff in locked.handoffs.exclude(status=Handoff.Status.RELEASED):
            handoff.status = Handoff.Status.RELEASED
            handoff.released_at = timezone.now()
            handoff.released_by = released_by
            handoff.save(update_fields=["status", "released_at", "released_by"])
        locked.mode = Conversation.Mode.AUTOMATED
        locked.save(update_fields=["mode"])
    conversation.mode = locked.mode
    return locked


def handoff_assign(*, handoff: Handoff, user: AbstractBaseUser | None) -> Handoff:
    """Give an open handoff to a person (or back to the queue with None); a released handoff
    is left as it is."""
    with transaction.atomic():
        locked = Handoff.objects.select_for_update(no_key=True).get(pk=handoff.pk)
        if locked.status != Handoff.Status.RELEASED and locked.assigned_to_id != (
            user.pk if user is not None else None
        ):
            locked.assigned_to = user
            locked.save(update_fields=["assigned_to"])
    handoff.assigned_to_id, handoff.status = locked.assigned_to_id, locked.status
    return locked


def conversation_set_approval(*, conversation: Conversation, required: bool) -> Conversation:
    """Switch approval mode: automation drafts replies and a person approves them."""
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        if locked.mode in Conversation.HUMAN_MODES:
            return locked
        locked.mode = Conversation.Mode.APPROVAL if required else Conversation.Mode.AUTOMATED
        locked.save(update_fields=["mode"])
    conversation.mode = locked.mode
    return locked


# Channel switches and the conversation lifecycle -------------------------------------------


def conversation_record_channel_switch(
    *,
    to_conversation: Conversation,
    from_conversation: Conversation,
    handover_summary: str,
    carried_case_ids: list[int],
    latency_ms: float | None = None,
) -> ChannelSwitch:
    """Link a new conversation to the one the customer left on another channel (once)."""
    with transaction.atomic():
        locked = _lock_conversation(to_conversation)
        if locked.previous_id is None:
            locked.previous = from_conversation
            locked.save(update_fields=["previous"])
        switch, _ = ChannelSwitch.objects.get_or_create(
            to_conversation=locked,
            defaults={
                "customer_id": locked.customer_id,
                "from_conversation": from_conversation,
                "handover_summary": handover_summary,
                "carried_case_ids": carried_case_ids,
                "latency_ms": latency_ms,
            },
        )
    return switch


def conversation_go_quiet(
    *,
    conversation: Conversation,
    status: str,
    summary: str = "",
    metadata: dict[str, Any] | None = None,
) -> Conversation:
    """Mark a conversation inactive or closed, keeping the summary written of it.

    A message arriving later wakes an inactive conversation; a closed thread opens a new
    conversation linked to this one.
    """
    if status not in (Conversation.Status.INACTIVE, Conversation.Status.CLOSED):
        raise ValueError(f"a conversation goes quiet as inactive or closed, not {status!r}")
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        if locked.status == Conversation.Status.CLOSED:
            return locked
        fields = ["status"]
        locked.status = status
        if summary:
            locked.summary, locked.summarized_at = summary, timezone.now()
            fields += ["summary", "summarized_at"]
        if status == Conversation.Status.CLOSED:
            locked.closed_at = timezone.now()
            fields.append("closed_at")
        if metadata:
            locked.channel_metadata = {**locked.channel_metadata, **metadata}
            fields.append("channel_metadata")
        locked.save(update_fields=fields)
    return locked


def message_set_gist(*, message: Message, gist: str, is_filler: bool) -> Message:
    """Keep what in a turn is worth remembering, and whether it said anything at all."""
    if (message.gist, message.is_filler) != (gist, is_filler):
        message.gist, message.is_filler = gist, is_filler
        message.save(update_fields=["gist", "is_filler"])
    return message


# Emotion --------------------------------------------------------------------------------------


def sentiment_record(
    *,
    message: Message,
    label: str,
    score: float,
    confidence: float = 1.0,
    model_name: str = "",
) -> SentimentReading:
    """Record (or re-record) how the customer felt in a message."""
    if label not in SentimentReading.Label.values:
        raise ValueError(f"unknown sentiment label {label!r}")
    score = max(-1.0, min(1.0, score))
    with transaction.atomic():
        reading, created = SentimentReading.objects.select_for_update(no_key=True).get_or_create(
            message=message,
            defaults={
                "customer_id": message.customer_id,
                "label": label,
                "score": score,
                "confidence": confidence,
                "model_name": model_name,
                "read_at": message.sent_at,
            },
        )
        if not created and (reading.label, reading.score) != (label, score):
            reading.label, reading.score = label, score
            reading.confidence, reading.model_name = confidence, model_name
            reading.save(update_fields=["label", "score", "confidence", "model_name"])
    return reading


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
    return proposal


def intent_correction_record(
    *,
    message: Message,
    corrected_intent: str,
    predicted_intent: str = "",
    corrected_by: AbstractBaseUser | None = None,
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
    return correction


__all__ = [
    "Channel",
    "IdentityBelongsToAnotherCustomer",
    "InboundRecord",
    "MergeRefused",
    "case_open",
    "case_set_status",
    "conversation_get_or_open",
    "conversation_go_quiet",
    "conversation_hand_off",
    "conversation_record_channel_switch",
    "conversation_release",
    "conversation_set_approval",
    "conversation_take_over",
    "customer_create",
    "customer_link_evidence",
    "customer_merge",
    "customer_resolve",
    "customer_update_profile",
    "fact_assert",
    "handoff_assign",
    "identity_link",
    "intent_correction_record",
    "merge_propose",
    "merge_proposal_decide",
    "message_set_gist",
    "reference_key",
    "message_record_inbound",
    "message_record_outbound",
    "sentiment_record",
]


# Writes from other systems (the REST API) -------------------------------------------------


class StaleVersion(Exception):
    """A writer named a business version older than the value it meant to replace."""

    def __init__(self, current: Fact, expected_version: int) -> None:
        super().__init__(
            f"{current.key} was changed at version {current.written_version}, "
            f"after version {expected_version} the writer read"
        )
        self.current = current
        self.expected_version = expected_version


def fact_assert_unless_stale(
    *,
    customer: Customer,
    key: str,
    value: str,
    expected_version: int,
    asserted_by: str,
    asserted_by_agent: str = "",
    case: Case | None = None,
) -> Fact:
    """State a value for a key only if the key has not changed since `expected_version`.

    Unlike `fact_assert`, which settles a clash by "the later statement wins", a client that
    decided on a stale view is refused (StaleVersion) and must read again.
    """
    with transaction.atomic():
        _lock_customer(customer)
        current = Fact.objects.filter(
            customer=customer, case=case, key=key.strip().lower(), valid_until__isnull=True
        ).first()
        if current is not None and current.written_version > expected_version:
            raise StaleVersion(current, expected_version)
        return fact_assert(
            customer=customer,
            key=key,
            value=value,
            asserted_by=asserted_by,
            asserted_by_agent=asserted_by_agent,
            case=case,
        )


@dataclass(frozen=True)
class CustomerUpsert:
    """What one CRM profile did: the customer it landed on, and whether it was new."""

    customer: Customer
    created: bool


def customer_upsert(
    *,
    display_name: str,
    external_id: str | None = None,
    identities: list[tuple[str, str]] | None = None,
    source: str = "",
) -> CustomerUpsert:
    """Create or update a customer from a CRM profile, found by its external id or else by any
    of its identities; the same profile twice changes nothing the second time."""
    identities = identities or []
    wanted = [(kind, normalize_identity(kind, raw)) for kind, raw in identities]
    with transaction.atomic():
        found = None
        if external_id:
            found = Customer.objects.filter(external_id=external_id).first()
        if found is None and wanted:
            matches = Q()
            for kind, value in wanted:
                matches |= Q(kind=kind, value=value)
            holder = Identity.objects.filter(matches).select_related("customer").first()
            found = holder.customer if holder is not None else None
        if found is None:
            customer = customer_create(
                display_name=display_name,
                external_id=external_id,
                identities=identities,
                source=source,
            )
            return CustomerUpsert(customer=customer, created=True)
        customer = Customer.objects.select_for_update(no_key=True).get(pk=found.pk)
        if external_id and customer.external_id != external_id:
            customer.external_id = external_id
            customer.profile_version += 1
            customer.save(update_fields=["external_id", "profile_version", "updated_at"])
        if display_name and display_name != customer.display_name:
            customer = customer_update_profile(customer=customer, display_name=display_name)
        for kind, raw in identities:
            identity_link(customer=customer, kind=kind, address=raw, source=source, verified=True)
    return CustomerUpsert(customer=customer, created=False)
