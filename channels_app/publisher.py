"""The one module that sends websocket events: after commit, to groups named from ids.

Consumers join "supervisors", "conversation.<id>" or "customer.<id>" and receive
{"type": "rapport.event", "event": ..., "payload": ...}, handled by a `rapport_event` method.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SUPERVISORS = "supervisors"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def customer_group(customer_id: int) -> str:
    return f"customer.{customer_id}"


def publish(event_type: str, payload: dict[str, Any], *, groups: Iterable[str]) -> None:
    """Send an event to each group once the current transaction commits (at once outside one).

    Robust: a channel layer that is down loses the live update, never the write behind it.
    """
    targets = tuple(dict.fromkeys(groups))
    event = {"type": "rapport.event", "event": event_type, "payload": payload}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for group in targets:
            async_to_sync(layer.group_send)(group, event)

    transaction.on_commit(send, robust=True)
    logger.debug("queued %s for %s", event_type, ", ".join(targets))
