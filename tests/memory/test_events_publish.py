"""Publishing live events (issue 15): events reach their groups in the order they were
published, and on Redis every event goes out on the connections of one long-lived event loop
instead of a connection opened and closed per event and group."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from memory.events import ConversationStatus, conversation_group, publish

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL"),
]


def _connections_received() -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def test_many_events_reach_their_group_in_order_on_a_few_connections(
    django_capture_on_commit_callbacks,
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    group = conversation_group(987654)
    async_to_sync(layer.group_add)(group, channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            publish(ConversationStatus(conversation_id=987654, status="warm-up"))
        before = _connections_received()
        for n in range(25):
            # Each in its own transaction, sent as it commits.
            with django_capture_on_commit_callbacks(execute=True):
                publish(ConversationStatus(conversation_id=987654, status=f"status {n}"))
        opened = _connections_received() - before

        async def drain() -> list[str]:
            statuses = []
            while True:
                try:
                    event = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
                except TimeoutError:
                    return statuses
                statuses.append(event["payload"]["status"])

        received = async_to_sync(drain)()
    finally:
        async_to_sync(layer.group_discard)(group, channel)

    assert received[-25:] == [f"status {n}" for n in range(25)]
    # 25 events to 3 groups each: one connection per event and group before (75 or more).
    assert opened <= 3, opened
