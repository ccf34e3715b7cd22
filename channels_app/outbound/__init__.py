"""Sending to customers: one `send` service, a backend per channel chosen in settings.

Every outbound message is stored first, then handed to its backend by a Celery task after
commit; failures retry with backoff and end in a visible failed status, never silently.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from channels_app.delivery import DELIVERY_RANK, TWILIO_STATUS_ALIASES
from channels_app.outbound.backends import Addressing, Delivery, OutboundBackend, SendFailed
from channels_app.outbound.console import ConsoleBackend
from channels_app.outbound.email import EmailBackend
from channels_app.outbound.twilio import TwilioBackend
from memory.models import Channel, Conversation, Message
from memory.services import message_record_outbound

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

BACKENDS: dict[str, type[OutboundBackend]] = {
    "console": ConsoleBackend,
    "twilio": TwilioBackend,
    "email": EmailBackend,
}


def backend_for(channel: str) -> OutboundBackend:
    """The backend configured for a channel (OUTBOUND_SMS_BACKEND, OUTBOUND_EMAIL_BACKEND)."""
    configured = {
        Channel.SMS: settings.OUTBOUND_SMS_BACKEND,
        Channel.EMAIL: settings.OUTBOUND_EMAIL_BACKEND,
    }.get(channel, "console")
    try:
        return BACKENDS[configured]()
    except KeyError:
        raise ValueError(f"unknown outbound backend {configured!r} for {channel}") from None


def send(
    *,
    conversation: Conversation,
    text: str,
    author: str = Message.Author.AGENT,
    author_agent: str = "",
    author_user: AbstractBaseUser | None = None,
    in_reply_to: Message | None = None,
) -> Message:
    """Store a message to the customer and deliver it after commit.

    A voice reply is spoken in the live call's answer, so it is recorded as sent and nothing
    is queued; every other channel goes through its backend in a retrying task.
    """
    from channels_app.tasks import outbound_deliver

    spoken = conversation.channel == Channel.VOICE
    metadata: dict[str, object] = {"in_reply_to": in_reply_to.pk} if in_reply_to else {}
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
            transaction.on_commit(lambda: outbound_deliver.delay(message.pk), robust=True)
    return message


def message_deliver(*, message_id: int) -> Message:
    """Hand one pending outbound message to its backend; raises SendFailed when it did not go.

    The message is marked `sending` in its own transaction first, so a task delivered twice
    finds it taken and does not send it again.
    """
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(no_key=True)
            .select_related("conversation")
            .get(pk=message_id, direction=Message.Direction.OUTBOUND)
        )
        if message.delivery_status != Message.DeliveryStatus.PENDING:
            return message
        attempts = int(message.channel_metadata.get("attempts", 0)) + 1
        message.delivery_status = Message.DeliveryStatus.SENDING
        message.channel_metadata = {**message.channel_metadata, "attempts": attempts}
        message.save(update_fields=["delivery_status", "channel_metadata"])
    backend = backend_for(message.channel)
    try:
        delivery = backend.deliver(message=message, addressing=addressing_for(message))
    except SendFailed as error:
        _message_requeue(message_id=message_id, error=error)
        raise
    except Exception as error:
        logger.exception("outbound backend %s crashed on message #%s", backend.name, message_id)
        failure = SendFailed(f"{backend.name} backend error: {error}")
        _message_requeue(message_id=message_id, error=failure)
        raise failure from error
    return _message_delivered(message=message, delivery=delivery, backend=backend.name)


def message_fail(*, message_id: int, reason: str, code: str = "") -> Message:
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
    logger.error("outbound message #%s failed: %s", message_id, reason)
    return message


def _message_requeue(*, message_id: int, error: SendFailed) -> None:
    """Put a message that did not go back to `pending` for the next attempt, noting why."""
    with transaction.atomic():
        message = Message.objects.select_for_update(no_key=True).get(pk=message_id)
        if message.delivery_status != Message.DeliveryStatus.SENDING:
            return
        message.delivery_status = Message.DeliveryStatus.PENDING
        message.channel_metadata = {**message.channel_metadata, "last_error": str(error)}
        message.save(update_fields=["delivery_status", "channel_metadata"])


def _message_delivered(*, message: Message, delivery: Delivery, backend: str) -> Message:
    """Record the provider's id and first status. Our own `sending` claim gives way to any
    status the provider reports; a callback that got here first is never moved back.
    """
    status = TWILIO_STATUS_ALIASES.get(delivery.status, delivery.status)
    with transaction.atomic():
        locked = Message.objects.select_for_update(no_key=True).get(pk=message.pk)
        current = locked.delivery_status
        if status in DELIVERY_RANK and (
            current == Message.DeliveryStatus.SENDING
            or DELIVERY_RANK[status] > DELIVERY_RANK.get(current, -1)
        ):
            locked.delivery_status = status
        if delivery.provider_id:
            locked.provider_id = delivery.provider_id
        locked.channel_metadata = {**locked.channel_metadata, "backend": backend}
        locked.save(update_fields=["delivery_status", "provider_id", "channel_metadata"])
    return locked


def addressing_for(message: Message) -> Addressing:
    """Who a reply goes to: the sender of the inbound turn it answers (or the conversation's
    latest inbound turn), from our number or address that turn was sent to.
    """
    conversation = message.conversation
    inbound_id = message.channel_metadata.get("in_reply_to")
    inbound_turns = Message.objects.filter(
        conversation=conversation, direction=Message.Direction.INBOUND
    )
    inbound = (
        inbound_turns.filter(pk=inbound_id).first() if inbound_id else None
    ) or inbound_turns.order_by("-sent_at", "-pk").first()
    # SMS threads are keyed "customer|our number": the fallback when a turn lacks addresses.
    thread_sender, _, thread_recipient = conversation.thread_key.partition("|")
    sent = inbound.channel_metadata if inbound is not None else {}
    email_thread = conversation.channel == Channel.EMAIL and inbound is not None
    return Addressing(
        recipient=str(sent.get("from") or thread_sender),
        sender=str(sent.get("to") or thread_recipient),
        subject=conversation.subject,
        in_reply_to=(inbound.provider_id or "") if email_thread and inbound else "",
        references=tuple(sent.get("references", ())),
    )


__all__ = [
    "BACKENDS",
    "Addressing",
    "Delivery",
    "SendFailed",
    "backend_for",
    "message_deliver",
    "message_fail",
    "send",
]
