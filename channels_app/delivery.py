"""Delivery status rules: the order a message's status moves in, and the one writer of it."""

from __future__ import annotations

import logging

from django.db import transaction

from memory.models import Channel, Message

logger = logging.getLogger(__name__)

DeliveryStatus = Message.DeliveryStatus

# How far along its way a message is; a status only ever replaces one of lower rank, so a
# late "sent" callback cannot undo "delivered". Failure outranks every in-flight state.
DELIVERY_RANK: dict[str, int] = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENDING: 2,
    DeliveryStatus.SENT: 3,
    DeliveryStatus.CANCELED: 4,
    DeliveryStatus.UNDELIVERED: 4,
    DeliveryStatus.FAILED: 4,
    DeliveryStatus.DELIVERED: 4,
    DeliveryStatus.READ: 5,
}
# Twilio's MessageStatus values that Rapport folds into one of its own.
TWILIO_STATUS_ALIASES: dict[str, str] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
}


def delivery_status_advance(
    *,
    message: Message | None = None,
    channel: str = Channel.SMS,
    provider_id: str = "",
    status: str,
    error_code: str = "",
    set_provider_id: bool = False,
) -> Message | None:
    """Move an outbound message's delivery status forward (never back) and note any error.

    Finds the message by `message` or by (channel, provider_id); with `set_provider_id` the
    provider's id is recorded on it too (the first answer of the provider's API).
    """
    status = TWILIO_STATUS_ALIASES.get(status, status)
    if status not in DELIVERY_RANK:
        logger.info("ignoring delivery status %r for %s", status, provider_id or message)
        return message
    with transaction.atomic():
        rows = Message.objects.select_for_update(no_key=True).filter(
            direction=Message.Direction.OUTBOUND
        )
        if message is not None:
            rows = rows.filter(pk=message.pk)
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
