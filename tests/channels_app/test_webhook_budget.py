"""The web tier only stores and enqueues: a signed SMS is stored as it arrived in one
transaction of a few statements and recorded as a message by the worker after commit; a
process that is past its requests in progress answers 503 with Retry-After at once."""

from __future__ import annotations

import asyncio

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.models import InboundDelivery
from channels_app.overload import RETRY_AFTER_SECONDS, RequestsInProgressLimit
from channels_app.services import inbound_delivery_record
from memory.models import AuditEntry, Conversation, Message
from tests.channels_app.conftest import sms_params

# BEGIN, the idempotency token, the delivery, COMMIT.
ACK_QUERIES = 4
# Recording it (the worker): the delivery locked, the MessageSid check, the identity, the
# thread's holder, SAVEPOINT, the open conversation, the message, its audit entry (one
# statement on PostgreSQL, two on SQLite), the conversation's clock, RELEASE, the delivery
# marked recorded, and BEGIN/COMMIT.
RECORD_QUERIES = 14


@pytest.mark.django_db
def test_an_sms_is_acknowledged_in_a_few_statements_and_recorded_after_commit(
    twilio_post, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post("/twilio/sms/", sms_params(Body="first"))  # opens the conversation
    params = sms_params(Body="where is my order?")
    with (
        django_capture_on_commit_callbacks(execute=False) as handed_on,
        CaptureQueriesContext(connection) as queries,
    ):
        response = twilio_post(
            "/twilio/sms/", params, headers={"I-Twilio-Idempotency-Token": "token-budget"}
        )

    assert response.status_code == 200
    assert len(queries.captured_queries) <= ACK_QUERIES, queries.captured_queries
    assert len(handed_on) == 1  # recording is the worker's, after commit
    assert not Message.objects.filter(provider_id=params["MessageSid"]).exists()
    delivery = InboundDelivery.objects.get(provider_id=params["MessageSid"])
    assert delivery.fields["body"] == "where is my order?"

    with (
        django_capture_on_commit_callbacks(execute=False),
        CaptureQueriesContext(connection) as recording,
    ):
        message = inbound_delivery_record(delivery_id=delivery.pk)
    budget = RECORD_QUERIES + (1 if connection.vendor == "sqlite" else 0)
    assert message is not None
    assert len(recording.captured_queries) <= budget, recording.captured_queries
    assert message.sent_at == delivery.received_at  # the turn is dated when it arrived
    assert AuditEntry.objects.filter(
        content_type__model="message", object_pk=str(message.pk)
    ).exists()
    delivery.refresh_from_db()
    assert delivery.recorded_at is not None and delivery.fields == {}  # the words left it
    assert inbound_delivery_record(delivery_id=delivery.pk) is None  # recorded once


@pytest.mark.django_db
def test_a_quiet_conversation_woken_by_an_sms_has_the_change_audited(
    twilio_post, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post("/twilio/sms/", sms_params(Body="first"))
    conversation = Conversation.objects.get(customer=customer)
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.INACTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post("/twilio/sms/", sms_params(Body="me again"))

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.ACTIVE
    entries = AuditEntry.objects.filter(
        content_type__model="conversation", object_pk=str(conversation.pk)
    )
    assert any(entry.changes_dict.get("status") == ["inactive", "active"] for entry in entries), [
        entry.changes_dict for entry in entries
    ]


def _http(path: str) -> dict[str, object]:
    return {"type": "http", "path": path, "method": "POST", "headers": []}


async def _call(app: RequestsInProgressLimit, path: str) -> tuple[int, dict[bytes, bytes]]:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(_http(path), receive, send)
    start = sent[0]
    return int(start["status"]), dict(start["headers"])  # type: ignore[call-overload]


@pytest.mark.asyncio
async def test_past_the_requests_in_progress_a_process_answers_503_with_retry_after():
    release = asyncio.Event()

    async def slow(scope, receive, send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = RequestsInProgressLimit(slow, limit=2)
    held = [asyncio.create_task(_call(app, "/twilio/sms/")) for _ in range(2)]
    await asyncio.sleep(0)

    status, headers = await _call(app, "/twilio/sms/")
    assert status == 503
    assert headers[b"retry-after"] == str(RETRY_AFTER_SECONDS).encode()

    health = asyncio.create_task(_call(app, "/healthz"))  # never refused for being busy
    await asyncio.sleep(0)
    release.set()
    assert [await task for task in held] == [(200, {}), (200, {})]
    assert (await health)[0] == 200
    assert app.in_progress == 0
    assert (await _call(app, "/twilio/sms/"))[0] == 200
