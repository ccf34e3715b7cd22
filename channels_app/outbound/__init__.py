"""Delivering to customers: a backend per channel chosen in settings.

Every outbound message is stored first (`memory.services.message_send`), then handed to its
backend by a Celery task after commit; failures retry with backoff and end in a visible failed
status, never silently.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError

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


class DeliveredNotRecorded(Exception):
    """The provider took the message but the database did not take its answer (a hiccup right
    after the send): the answer must be recorded again later, and the message never sent again.
    """

    def __init__(self, delivery: Delivery, backend: str) -> None:
        super().__init__(f"{backend} took the message; recording its answer failed")
        self.delivery = delivery
        self.backend = backend


def delivery_record(*, message_id: int, delivery: Delivery, backend: str) -> Message:
    """Record what a provider answered a send with (its id, its first status)."""
    return message_delivery_record(
        message_id=message_id,
        status=TWILIO_STATUS_ALIASES.get(delivery.status, delivery.status),
        provider_id=delivery.provider_id,
        backend=backend,
    )


def message_deliver(*, message_id: int) -> Message:
    """Hand one pending outbound message to its backend; raises SendFailed when it did not go,
    DeliveredNotRecorded when it went but the database lost the answer.

    The message is marked `sending` in its own transaction first (memory's
    `message_delivery_claim`), so a task delivered twice finds it taken and does not send it
    again; one left `sending` by a lost worker is settled by `outbound_stuck_settle`.
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
    try:
        return delivery_record(message_id=message.pk, delivery=delivery, backend=backend.name)
    except (OperationalError, InterfaceError) as error:
        raise DeliveredNotRecorded(delivery, backend.name) from error


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


# Below the helpers it uses: settling replies a lost worker left `sending`.
from channels_app.outbound.stuck import StuckSettled, outbound_stuck_settle  # noqa: E402

__all__ = [
    "BACKENDS",
    "Addressing",
    "Delivery",
    "DeliveredNotRecorded",
    "SendFailed",
    "StuckSettled",
    "backend_for",
    "delivery_record",
    "message_deliver",
    "message_fail",
    "outbound_stuck_settle",
]
