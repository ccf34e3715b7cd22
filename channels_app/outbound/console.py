"""The default backend: log the message and record it as sent (the demo and development)."""

from __future__ import annotations

import logging

from channels_app.outbound.backends import Addressing, Delivery
from memory.models import Message

logger = logging.getLogger(__name__)


class ConsoleBackend:
    name = "console"

    def deliver(self, *, message: Message, addressing: Addressing) -> Delivery:
        logger.info(
            "outbound %s message #%s to %s: %s",
            message.channel,
            message.pk,
            addressing.recipient,
            message.text,
        )
        return Delivery(provider_id=None, status=Message.DeliveryStatus.SENT)
