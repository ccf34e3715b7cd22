"""Conversations and messages: recording turns in and out, gists, channel switches, going quiet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from memory.identities import identity_kind_for_channel, normalize_identity
from memory.masked import masked_tokens, without_masked_sentences
from memory.models import (
    Channel,
    ChannelSwitch,
    Conversation,
    Customer,
    Message,
)
from memory.services.customers import customer_resolve
from memory.signals import outbound_message_queued
from memory.text_limits import analysis_text, stored_raw_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# Conversations and messages ------------------------------------------------------------------


class MaskedDetailInReply(ValueError):
    """A reply that is nothing but sentences built on masked contact details: not sent."""


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
    # Agents, analysis and masking read at most RAPPORT_MAX_MESSAGE_CHARS of a turn; what was
    # cut stays in `raw_text`, the turn as it arrived, under a cap of its own.
    analysed = analysis_text(text)
    raw_text = stored_raw_text(raw_text or text) if raw_text or analysed != text else ""
    text = analysed
    customer = customer_resolve(channel=channel, address=sender, display_name=display_name)
    kind = identity_kind_for_channel(channel)
    sender_value = normalize_identity(kind, sender)
    thread_key = _thread_key_of_sender(
        channel=channel,
        thread_key=thread_key or f"{sender_value}|{recipient.strip().lower()}",
        customer=customer,
        sender_value=sender_value,
    )
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
                customer_id=conversation.customer_id,
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


def _thread_key_of_sender(
    *, channel: str, thread_key: str, customer: Customer, sender_value: str
) -> str:
    """A thread is one person's: someone else writing into it (a reply from another address
    with In-Reply-To set to the thread) starts a conversation of their own, filed under the
    sender, until a person or linking evidence shows they are the same customer.
    """
    holder = (
        Conversation.objects.filter(channel=channel, thread_key=thread_key)
        .order_by("-last_message_at")
        .values_list("customer_id", flat=True)
        .first()
    )
    if holder is None or holder == customer.pk:
        return thread_key
    return f"{thread_key}|{sender_value}"


def message_record_outbound(
    *,
    conversation: Conversation,
    text: str,
    author: str,
    author_agent: str = "",
    author_user: User | None = None,
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


def message_send(
    *,
    conversation: Conversation,
    text: str,
    author: str = Message.Author.AGENT,
    author_agent: str = "",
    author_user: User | None = None,
    in_reply_to: Message | None = None,
) -> Message:
    """Store a message to the customer and have it delivered after commit.

    A voice reply is spoken in the live call's answer, so it is recorded as sent and nothing
    is queued; on every other channel the message waits in `pending`, and after commit
    `outbound_message_queued` tells the channels layer to deliver it. Whoever wrote it, a
    sentence carrying a redaction token is never sent (`MaskedDetailInReply` if nothing is left).
    """
    spoken = conversation.channel == Channel.VOICE
    metadata: dict[str, object] = {"in_reply_to": in_reply_to.pk} if in_reply_to else {}
    if withheld := masked_tokens(text):
        # The author was shown a masked detail ("[address-1]") and wrote it into the reply:
        # the sentences carrying it are left out, never sent as they stand.
        text = without_masked_sentences(text)
        if not text:
            raise MaskedDetailInReply("the reply only says things built on masked details")
        metadata["withheld_masked"] = len(withheld)
    if spoken:
        metadata["spoken"] = True
    with transaction.atomic():
        message = message_record_outbound(
            conversation=conversation,
            text=text,
            author=author,
            author_agent=author_agent,
            author_user=author_user,
            delivery_status=Message.DeliveryStatus.SENT
            if spoken
            else Message.DeliveryStatus.PENDING,
            metadata=metadata,
        )
        if not spoken:
            transaction.on_commit(
                lambda: outbound_message_queued.send(sender=Message, message_id=message.pk),
                robust=True,
            )
    return message


def _conversation_touch(*, conversation: Conversation, at: dt.datetime) -> None:
    """Move the conversation's clock forward (never back) and wake it if it had gone quiet.

    An active conversation only moves its clock, which the change log leaves out (it follows
    from the message's own entry), so one UPDATE does it; waking a quiet one changes its
    status, saved through the ORM so the change is audited.
    """
    if conversation.status == Conversation.Status.ACTIVE:
        moved = Conversation.objects.filter(
            pk=conversation.pk, status=Conversation.Status.ACTIVE, last_message_at__lt=at
        ).update(last_message_at=at)
        if moved:
            conversation.last_message_at = at
            return
    updated = Conversation.objects.filter(pk=conversation.pk).filter(
        Q(last_message_at__lt=at) | Q(status=Conversation.Status.INACTIVE)
    )
    for row in updated.select_for_update(no_key=True):
        row.last_message_at = max(row.last_message_at, at)
        row.status = Conversation.Status.ACTIVE
        row.save(update_fields=["last_message_at", "status"])
        conversation.last_message_at, conversation.status = row.last_message_at, row.status


# Channel switches and the conversation lifecycle -------------------------------------------


def conversation_record_channel_switch(
    *,
    to_conversation: Conversation,
    from_conversation: Conversation,
    handover_summary: str,
    carried_case_ids: list[int],
    latency_ms: float | None = None,
    topic: str = "",
) -> ChannelSwitch:
    """Link a new conversation to the one the customer left on another channel (once)."""
    with transaction.atomic():
        locked = conversation_lock(to_conversation)
        if locked.previous_id is None:
            locked.previous = from_conversation
            locked.save(update_fields=["previous"])
        switch, _ = ChannelSwitch.objects.get_or_create(
            to_conversation=locked,
            defaults={
                "customer_id": locked.customer_id,
                "from_conversation": from_conversation,
                "handover_summary": handover_summary,
                "topic": topic[:200],
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
        locked = conversation_lock(conversation)
        # A call closed by its status callback is summarised just after: once, never again.
        if locked.status == Conversation.Status.CLOSED and (
            not summary or locked.summarized_at is not None
        ):
            return locked
        fields = ["status"]
        locked.status = status
        if summary:
            locked.summary, locked.summarized_at = summary, timezone.now()
            fields += ["summary", "summarized_at"]
        if status == Conversation.Status.CLOSED and locked.closed_at is None:
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


# Delivery --------------------------------------------------------------------------------------

# How far along its way a message is; a status only ever replaces one of lower rank, so a
# late "sent" callback cannot undo "delivered". Failure outranks every in-flight state.
DELIVERY_RANK: dict[str, int] = {
    Message.DeliveryStatus.PENDING: 0,
    Message.DeliveryStatus.QUEUED: 1,
    Message.DeliveryStatus.SENDING: 2,
    Message.DeliveryStatus.SENT: 3,
    Message.DeliveryStatus.CANCELED: 4,
    Message.DeliveryStatus.UNDELIVERED: 4,
    Message.DeliveryStatus.FAILED: 4,
    Message.DeliveryStatus.DELIVERED: 4,
    Message.DeliveryStatus.READ: 5,
}


@dataclass(frozen=True)
class DeliveryClaim:
    """An outbound message as a delivery attempt found it; `claimed` is False when it was not
    pending (another attempt has it, or it went), and then it must not be sent."""

    message: Message
    claimed: bool


def message_delivery_claim(*, message_id: int) -> DeliveryClaim:
    """Take a pending outbound message for one delivery attempt: `sending`, attempts counted,
    in its own transaction, so a task delivered twice finds it taken and does not send again.
    Raises Message.DoesNotExist for an id that is no outbound message."""
    with transaction.atomic():
        # Only the message row: the pipeline locks the conversation first and then writes
        # messages, so a delivery locking both (a join locks every row it reads) deadlocked.
        message = (
            Message.objects.select_for_update(no_key=True, of=("self",))
            .select_related("conversation")
            .get(pk=message_id, direction=Message.Direction.OUTBOUND)
        )
        if message.delivery_status != Message.DeliveryStatus.PENDING:
            return DeliveryClaim(message=message, claimed=False)
        attempts = int(message.channel_metadata.get("attempts", 0)) + 1
        message.delivery_status = Message.DeliveryStatus.SENDING
        # When this attempt began: a message still `sending` long after was lost mid-send.
        message.channel_metadata = {
            **message.channel_metadata,
            "attempts": attempts,
            "claimed_at": timezone.now().isoformat(),
        }
        message.save(update_fields=["delivery_status", "channel_metadata"])
    return DeliveryClaim(message=message, claimed=True)


def message_delivery_requeue(*, message_id: int, error: str) -> Message:
    """Put a message whose attempt did not go back to `pending` for the next one, noting why;
    one no longer `sending` (a callback moved it on) is left as it is."""
    with transaction.atomic():
        message = Message.objects.select_for_update(no_key=True).get(pk=message_id)
        if message.delivery_status != Message.DeliveryStatus.SENDING:
            return message
        message.delivery_status = Message.DeliveryStatus.PENDING
        message.channel_metadata = {**message.channel_metadata, "last_error": error}
        message.save(update_fields=["delivery_status", "channel_metadata"])
    return message


def message_delivery_record(
    *, message_id: int, status: str, provider_id: str | None, backend: str
) -> Message:
    """Record what the provider answered a delivery with: its id and first status. Our own
    `sending` claim gives way to any status the provider reports; a callback that got here
    first is never moved back."""
    with transaction.atomic():
        locked = Message.objects.select_for_update(no_key=True).get(pk=message_id)
        current = locked.delivery_status
        if status in DELIVERY_RANK and (
            current == Message.DeliveryStatus.SENDING
            or DELIVERY_RANK[status] > DELIVERY_RANK.get(current, -1)
        ):
            locked.delivery_status = status
        if provider_id:
            locked.provider_id = provider_id
        locked.channel_metadata = {**locked.channel_metadata, "backend": backend}
        locked.save(update_fields=["delivery_status", "provider_id", "channel_metadata"])
    return locked


def message_delivery_fail(*, message_id: int, reason: str, code: str = "") -> Message:
    """Give up on an outbound message: `failed`, with why, for a person to see and act on."""
    with transaction.atomic():
        message = Message.objects.select_for_update(no_key=True).get(pk=message_id)
        message.delivery_status = Message.DeliveryStatus.FAILED
        message.channel_metadata = {
            **message.channel_metadata,
            "error": reason,
            **({"error_code": code} if code else {}),
        }
        message.save(update_fields=["delivery_status", "channel_metadata"])
    return message


def message_delivery_advance(
    *,
    status: str,
    message_id: int | None = None,
    channel: str = Channel.SMS,
    provider_id: str = "",
    error_code: str = "",
    set_provider_id: bool = False,
) -> Message | None:
    """Move an outbound message's delivery status forward (never back) and note any error: the
    one writer of providers' status callbacks. None when no outbound message matches.

    Finds the message by `message_id` or by (channel, provider_id); with `set_provider_id` the
    provider's id is recorded on it too (the first answer of the provider's API).
    """
    if status not in DELIVERY_RANK:
        raise ValueError(f"{status!r} is not a delivery status")
    with transaction.atomic():
        rows = Message.objects.select_for_update(no_key=True).filter(
            direction=Message.Direction.OUTBOUND
        )
        if message_id is not None:
            rows = rows.filter(pk=message_id)
        else:
            rows = rows.filter(channel=channel, provider_id=provider_id)
        locked = rows.first()
        if locked is None:
            return None
        fields: list[str] = []
        if set_provider_id and provider_id and locked.provider_id != provider_id:
            locked.provider_id = provider_id
            fields.append("provider_id")
        if DELIVERY_RANK[status] > DELIVERY_RANK.get(locked.delivery_status, -1):
            locked.delivery_status = status
            fields.append("delivery_status")
        if error_code:
            locked.channel_metadata = {**locked.channel_metadata, "error_code": error_code}
            fields.append("channel_metadata")
        if fields:
            locked.save(update_fields=fields)
    return locked


def conversation_lock(conversation: Conversation | int) -> Conversation:
    """The conversation, re-read and locked (no key) until the caller's transaction ends, so
    two writers deciding who answers it take turns."""
    pk = conversation if isinstance(conversation, int) else conversation.pk
    return Conversation.objects.select_for_update(no_key=True).get(pk=pk)
