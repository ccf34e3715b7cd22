"""The console websocket through the real ASGI stack (session cookie, origin check, router):
who may connect, what each role hears, events in order, and who else is looking."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client

from channels_app.consumers import REFUSED_NO_ROLE, REFUSED_NOT_SIGNED_IN
from config.asgi import application
from memory.events import (
    AGENTS,
    SUPERVISORS,
    Event,
    MessageReceived,
    PipelineDone,
    ReplySent,
    conversation_group,
    publish,
)
from memory.models import AuditEntry, Channel, Conversation
from memory.services import message_record_inbound
from memory.services.handoffs import conversation_hand_off, handoff_assign

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _session_cookie(user: User | None) -> str:
    if user is None:
        return ""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def _communicator(user: User | None) -> WebsocketCommunicator:
    cookie = await database_sync_to_async(_session_cookie)(user)
    headers = [(b"origin", b"http://testserver")]
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/console/", headers=headers)


@pytest_asyncio.fixture
async def sockets() -> AsyncIterator[Callable[..., object]]:
    """Open console sockets as people; every one is disconnected at the end."""
    opened: list[WebsocketCommunicator] = []

    async def open_as(user: User | None) -> tuple[bool, int | None, WebsocketCommunicator]:
        communicator = await _communicator(user)
        opened.append(communicator)
        connected, code = await communicator.connect()
        return connected, code, communicator

    yield open_as
    for communicator in opened:
        await communicator.disconnect()
    # The consumers' ORM thread keeps a connection; close it so the test database can go.
    await database_sync_to_async(connections.close_all)()


def _conversation(
    sender: str = "+14155550101", text: str = "where is order 88123?"
) -> Conversation:
    message = message_record_inbound(
        channel=Channel.SMS, sender=sender, recipient="+14155550000", text=text
    ).message
    return Conversation.objects.get(pk=message.conversation_id)


def _event(name: str, conversation_id: int, **extra) -> Event:
    """A typed event about a conversation, with made-up ids where it needs them; a reply
    carries the customer-facing words the consumer must not forward."""
    if name == "message.received":
        return MessageReceived(
            conversation_id=conversation_id, message_id=1, channel="sms", path="fast", **extra
        )
    if name == "pipeline.done":
        return PipelineDone(
            conversation_id=conversation_id, message_id=1, run_id=1, status="replied", **extra
        )
    if name == "reply.sent":
        return ReplySent(
            conversation_id=conversation_id, message_id=2, text="words stay out", **extra
        )
    raise ValueError(name)


async def _publish(name: str, conversation_id: int, groups: tuple[str, ...], **extra) -> None:
    """Publish a typed event to exactly these groups, not the ones it names itself, so a test
    decides who could hear it (a subclass without a name of its own is not registered)."""
    event = _event(name, conversation_id, **extra)
    only_to = type(type(event).__name__, (type(event),), {"groups": lambda self: groups})
    narrowed = only_to(**{f.name: getattr(event, f.name) for f in dataclasses.fields(event)})
    await sync_to_async(publish)(narrowed)


async def test_refused_without_a_login(sockets):
    connected, code, _ = await sockets(None)
    assert connected is False
    assert code == REFUSED_NOT_SIGNED_IN


async def test_refused_for_a_compliance_officer_who_sees_no_live_traffic(sockets, auditor):
    connected, code, _ = await sockets(auditor)
    assert connected is False
    assert code == REFUSED_NO_ROLE


async def test_refused_from_another_origin(boss):
    cookie = await database_sync_to_async(_session_cookie)(boss)
    communicator = WebsocketCommunicator(
        application,
        "/ws/console/",
        headers=[
            (b"origin", b"http://evil.example"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


async def test_supervisor_hears_a_conversations_events_in_order_with_its_row(sockets, boss):
    conversation = await database_sync_to_async(_conversation)()
    connected, _, socket = await sockets(boss)
    assert connected
    ready = await socket.receive_json_from()
    assert ready == {
        "event": "console.ready",
        "payload": {"role": "supervisor", "user": "Boss", "user_id": boss.pk},
    }

    sent = ["message.received", "pipeline.done", "reply.sent"]
    for name in sent:
        await _publish(name, conversation.pk, (SUPERVISORS,))
    heard = [await socket.receive_json_from(timeout=3) for _ in sent]

    assert [h["event"] for h in heard] == sent
    row = heard[0]["row"]
    assert row["conversation_id"] == conversation.pk
    assert row["last_message"] == "where is order 88123?"
    assert "where is order 88123?" in row["html"]
    assert all("text" not in h["payload"] for h in heard)  # customer words only via the gate


async def test_each_pushed_row_is_an_audited_gate_read_for_that_person(sockets, boss):
    conversation = await database_sync_to_async(_conversation)()
    _, _, socket = await sockets(boss)
    await socket.receive_json_from()

    await _publish("pipeline.done", conversation.pk, (SUPERVISORS,))
    await socket.receive_json_from(timeout=3)

    entries = await database_sync_to_async(list)(
        AuditEntry.objects.filter(
            action=AuditEntry.Action.ACCESS, actor_label="user:boss"
        ).values_list("purpose", "outcome", "partitions", "additional_data")
    )
    # One entry for the push, naming the customer and conversation it showed.
    assert entries == [
        (
            f"console: live queue, conversation #{conversation.pk}",
            "granted",
            ["emotion", "identities", "messages", "pii", "profile"],
            {"customer_ids": [conversation.customer_id], "conversation_ids": [conversation.pk]},
        )
    ]


async def test_an_event_heard_on_two_groups_reaches_the_tab_once(sockets, boss):
    conversation = await database_sync_to_async(_conversation)()
    _, _, socket = await sockets(boss)
    await socket.receive_json_from()
    await socket.send_json_to({"action": "watch", "conversation_id": conversation.pk})
    await _publish(
        "pipeline.done", conversation.pk, (SUPERVISORS, conversation_group(conversation.pk))
    )
    assert (await socket.receive_json_from(timeout=3))["event"] == "pipeline.done"
    assert await socket.receive_nothing(timeout=0.5)


async def test_agent_hears_only_their_own_conversations_and_the_queue(sockets, agent, other_agent):
    def arrange() -> tuple[Conversation, Conversation, Conversation]:
        mine, theirs, automated = (
            _conversation("+14155550111"),
            _conversation("+14155550122"),
            _conversation("+14155550133"),
        )
        for conversation, person in ((mine, agent), (theirs, other_agent)):
            handoff = conversation_hand_off(
                conversation=conversation, reason="asked", requested_by="agent:rules"
            )
            handoff_assign(handoff=handoff, user=person)
        return mine, theirs, automated

    mine, theirs, automated = await database_sync_to_async(arrange)()
    _, _, socket = await sockets(agent)
    assert (await socket.receive_json_from())["payload"]["role"] == "agent"

    # Supervisors' traffic and other agents' conversations never reach an agent.
    await _publish("pipeline.done", automated.pk, (SUPERVISORS,))
    await _publish("pipeline.done", theirs.pk, (conversation_group(theirs.pk), AGENTS))
    assert await socket.receive_nothing(timeout=0.5)
    # Their own conversation's group was joined on connect.
    await _publish("message.received", mine.pk, (conversation_group(mine.pk),))
    heard = await socket.receive_json_from(timeout=3)
    assert heard["event"] == "message.received"
    assert heard["row"]["conversation_id"] == mine.pk

    # Nor may they watch someone else's conversation.
    await socket.send_json_to({"action": "watch", "conversation_id": theirs.pk})
    refused = await socket.receive_json_from(timeout=3)
    assert refused["event"] == "error"
    await _publish("pipeline.done", theirs.pk, (conversation_group(theirs.pk),))
    assert await socket.receive_nothing(timeout=0.5)


async def test_viewers_see_each_other_and_a_second_replier_is_warned(sockets, boss, person):
    from memory.roles import SUPERVISORS as SUPERVISORS_GROUP

    other = await database_sync_to_async(person)("dana", SUPERVISORS_GROUP)
    conversation = await database_sync_to_async(_conversation)()
    _, _, first = await sockets(boss)
    _, _, second = await sockets(other)
    await first.receive_json_from()
    await second.receive_json_from()

    await first.send_json_to({"action": "watch", "conversation_id": conversation.pk})
    assert await first.receive_nothing(timeout=0.3)
    await second.send_json_to({"action": "watch", "conversation_id": conversation.pk})
    joined = await first.receive_json_from(timeout=3)
    already_here = await second.receive_json_from(timeout=3)
    assert (joined["event"], joined["payload"]["user"]) == ("viewer.joined", "Dana")
    assert (already_here["event"], already_here["payload"]["user"]) == ("viewer.here", "Boss")

    await first.send_json_to({"action": "composing", "conversation_id": conversation.pk})
    warned = await second.receive_json_from(timeout=3)
    assert (warned["event"], warned["payload"]["user"]) == ("viewer.composing", "Boss")
    assert await first.receive_nothing(timeout=0.3)  # not warned of themselves

    await second.disconnect()
    left = await first.receive_json_from(timeout=3)
    assert (left["event"], left["payload"]["user"]) == ("viewer.left", "Dana")
