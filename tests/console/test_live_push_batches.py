"""Live queue pushes are batched: events a tab hears together are pushed with their rows from
one gate read, one audit entry naming every row, not one read and one entry per row. Through
the real ASGI stack (session cookie, router, channel layer) and the console's own forms."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from memory.events import MessageReceived, publish
from memory.models import AuditEntry, Channel, Conversation
from memory.services import message_record_inbound
from tests.console.test_consumers import _communicator

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

LIVE = "console: live queue"


def _conversations(n: int) -> list[Conversation]:
    return [
        message_record_inbound(
            channel=Channel.SMS,
            sender=f"+1415557{i:04d}",
            recipient="+14155550000",
            text=f"where is my parcel {i}?",
        ).message.conversation
        for i in range(n)
    ]


def _live_entries(user: User) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            action=AuditEntry.Action.ACCESS,
            actor_label=f"user:{user.get_username()}",
            purpose__startswith=LIVE,
        ).order_by("pk")
    )


def _burst(conversations: list[Conversation]) -> None:
    """The traffic of a busy moment: one customer turn on each conversation, back to back."""
    for conversation in conversations:
        publish(
            MessageReceived(
                conversation_id=conversation.pk,
                customer_id=conversation.customer_id,
                message_id=0,
                channel=Channel.SMS,
                path="burst",
            )
        )


async def _open(user: User):
    socket = await _communicator(user)
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=3))["event"] == "console.ready"
    return socket


async def test_a_burst_of_pushes_is_one_gate_read_not_one_per_row(boss):
    conversations = await database_sync_to_async(_conversations)(8)
    socket = await _open(boss)
    try:
        await database_sync_to_async(_burst)(conversations)
        heard = [await socket.receive_json_from(timeout=5) for _ in conversations]
    finally:
        await socket.disconnect()

    # Every event arrives, in order, each with its own conversation's row.
    assert [h["payload"]["conversation_id"] for h in heard] == [c.pk for c in conversations]
    assert all(h["row"]["conversation_id"] == h["payload"]["conversation_id"] for h in heard)
    assert all(f"parcel {i}" in h["row"]["last_message"] for i, h in enumerate(heard))
    entries = await database_sync_to_async(_live_entries)(boss)
    # Batched: a few reads at most for eight rows (one when the burst lands within the gather
    # window), and together they name every conversation pushed, once.
    assert 1 <= len(entries) <= 2
    named = [pk for e in entries for pk in e.additional_data["conversation_ids"]]
    assert sorted(named) == sorted(c.pk for c in conversations)


async def test_the_events_of_one_action_are_one_audit_entry(boss, client_as, handed_off):
    conversation = await database_sync_to_async(handed_off)(sender="+14155550193")
    socket = await _open(boss)
    client = await database_sync_to_async(client_as)(boss)
    try:
        resolved = await database_sync_to_async(client.post)(
            f"/console/conversations/{conversation.pk}/resolve/",
            {"disposition": "solved", "note": "sorted"},
        )
        assert resolved.status_code == 302
        heard = []
        while not any(h["event"] == "conversation.resolved" for h in heard):
            heard.append(await socket.receive_json_from(timeout=5))
    finally:
        await socket.disconnect()

    assert len(heard) >= 2  # released and resolved at least: several events, one action
    entries = await database_sync_to_async(_live_entries)(boss)
    assert len(entries) == 1
    assert entries[0].purpose == f"{LIVE}, conversation #{conversation.pk}"


async def test_two_tabs_of_one_person_share_the_read(boss):
    conversations = await database_sync_to_async(_conversations)(5)
    first, second = await _open(boss), await _open(boss)
    try:
        await database_sync_to_async(_burst)(conversations)
        heard = {
            name: [await tab.receive_json_from(timeout=5) for _ in conversations]
            for name, tab in (("first", first), ("second", second))
        }
    finally:
        await first.disconnect()
        await second.disconnect()

    for pushes in heard.values():
        assert [p["row"]["conversation_id"] for p in pushes] == [c.pk for c in conversations]
    entries = await database_sync_to_async(_live_entries)(boss)
    # Both tabs were pushed every row from the same reads: not one entry per tab.
    assert 1 <= len(entries) <= 2
    named = [pk for e in entries for pk in e.additional_data["conversation_ids"]]
    assert sorted(named) == sorted(c.pk for c in conversations)
