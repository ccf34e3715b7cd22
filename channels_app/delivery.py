"""Providers' delivery statuses: their names folded into Rapport's, and handed to memory's one
writer of a message's status (`message_delivery_advance`), which only ever moves it forward.
"""

from __future__ import annotations

import logging

from memory.models import Channel, Message
from memory.services import DELIVERY_RANK, message_delivery_advance

logger = logging.getLogger(__name__)

DeliveryStatus = Message.DeliveryStatus

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
    """Move an outbound message's delivery status forward (never back) and note any error;
    a status Rapport does not know is logged and ignored.

    Finds the message by `message` or by (channel, provider_id); with `set_provider_id` the
    provider's id is recorded on it too (the first answer of the provider's API).
    """
    status = TWILIO_STATUS_ALIASES.get(status, status)
    if status not in DELIVERY_RANK:
        logger.info("ignoring delivery status %r for %s", status, provider_id or message)
        return message
    return message_delivery_advance(
        status=status,
        message_id=message.pk if message is not None else None,
        channel=channel,
        provider_id=provider_id,
        error_code=error_code,
        set_provider_id=set_provider_id,
    )
