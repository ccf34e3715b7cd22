"""The default backend: log the message and record it as sent (the demo and development)."""

from __future__ import annotations

import logging

from channels_app.outbound.backends import Addressing, Delivery
from memory.models import Message

logger = logging.getLogger(__name__)


class ConsoleBackend:
    name = "console"

    def deliver(self, *, message: Message, addressing: Addressing) -> Delivery:
        # Ids at INFO: worker logs are kept and shipped where personal data must not go. The
        # words and the address only at DEBUG, for a developer's own machine.
        logger.info("outbound %s message #%s delivered to the log", message.channel, message.pk)
        logger.debug(
            "outbound %s message #%s to %s: %s",
            message.channel,
            message.pk,
            addressing.recipient,
            message.text,
        )
        return Delivery(provider_id=None, status=Message.DeliveryStatus.SENT)
