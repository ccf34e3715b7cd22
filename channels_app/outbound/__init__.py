"""Delivering to customers: a backend per channel chosen in settings.

Every outbound message is stored first (`memory.services.message_send`), then handed to its
backend by a Celery task after commit; failures retry with backoff and end in a visible failed
status, never silently.
"""

from __future__ import annotations

import logging

from django.conf import settings

from channels_app.delivery import TWILIO_STATUS_ALIASES
from channels_app.outbound.backends import Addressing, Delivery, OutboundBackend, SendFailed
from channels_app.outbound.console import ConsoleBackend
from channels_app.outbound.email import EmailBackend
from channels_app.outbound.twilio import TwilioBackend
from memory.models import Channel, Message
from memory.selectors import message_answered_by
from memory.services import (
    message_delivery_claim,
    message_delivery_fail,
    message_delivery_record,
    message_delivery_requeue,
)

logger = logging.getLogger(__name__)

BACKENDS: dict[str, type[OutboundBackend]] = {
    "console": ConsoleBackend,
    "twilio": TwilioBackend,
    "email": EmailBackend,
}


def backend_for(channel: str) -> OutboundBackend:
    """The backend configured for a channel (OUTBOUND_SMS_BACKEND, OUTBOUND_EMAIL_BACKEND)."""
    by_channel: dict[str, str] = {
        Channel.SMS: settings.OUTBOUND_SMS_BACKEND,
        Channel.EMAIL: settings.OUTBOUND_EMAIL_BACKEND,
    }
    configured = by_channel.get(channel, "console")
    try:
        return BACKENDS[configured]()
    except KeyError:
        raise ValueError(f"unknown outbound backend {configured!r} for {channel}") from None


def message_deliver(*, message_id: int) -> Message:
    """Hand one pending outbound message to its backend; raises SendFailed when it did not go.

    The message is marked `sending` in its own transaction first (memory's
    `message_delivery_claim`), so a task delivered twice finds it taken and does not send it
    again.
    """
    claim = message_delivery_claim(message_id=message_id)
    message = claim.message
    if not claim.claimed:
        return message
    backend = backend_for(message.channel)
    try:
        delivery = backend.deliver(message=message, addressing=addressing_for(message))
    except SendFailed as error:
        message_delivery_requeue(message_id=message_id, error=str(error))
        raise
    except Exception as error:
        logger.exception("outbound backend %s crashed on message #%s", backend.name, message_id)
        failure = SendFailed(f"{backend.name} backend error: {error}")
        message_delivery_requeue(message_id=message_id, error=str(failure))
        raise failure from error
    return message_delivery_record(
        message_id=message.pk,
        status=TWILIO_STATUS_ALIASES.get(delivery.status, delivery.status),
        provider_id=delivery.provider_id,
        backend=backend.name,
    )


def message_fail(*, message_id: int, reason: str, code: str = "") -> Message:
    """Give up on an outbound message: `failed`, with why, for a person to see and act on."""
    message = message_delivery_fail(message_id=message_id, reason=reason, code=code)
    # A provider's reason may quote the customer's number: it stays on the message, for the
    # console, and reaches the log only at DEBUG.
    logger.error("outbound message #%s failed (code %s)", message_id, code or "none")
    logger.debug("outbound message #%s failed: %s", message_id, reason)
    return message


def addressing_for(message: Message) -> Addressing:
    """Who a reply goes to: the sender of the inbound turn it answers (or the conversation's
    latest inbound turn), from our number or address that turn was sent to.
    """
    conversation = message.conversation
    inbound = message_answered_by(reply=message)
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
]
