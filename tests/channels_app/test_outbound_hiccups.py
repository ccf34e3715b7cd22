"""Outbound delivery through database trouble: a lost connection is retried with backoff and
ends delivered or visibly failed, never stuck `pending`; and delivering a reply never waits on
the conversation row the pipeline locks while it answers the next message (the deadlock)."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from channels_app import outbound
from config.celery import app as celery_app
from memory.models import Message
from memory.services import message_send
from memory.services.messages import conversation_lock


@pytest.fixture
def retries_inline():
    """Eager Celery re-runs a retried task inline only when it does not propagate the Retry."""
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = True


@pytest.fixture
def database_drops(monkeypatch):
    """The claim's query loses its connection the first `times` times it runs."""

    def install(times: int) -> list[int]:
        calls: list[int] = []
        real_claim = outbound.message_delivery_claim

        def claim(*, message_id: int):
            calls.append(message_id)
            if len(calls) <= times:
                raise OperationalError("server closed the connection unexpectedly")
            return real_claim(message_id=message_id)

        monkeypatch.setattr(outbound, "message_delivery_claim", claim)
        return calls

    return install


@pytest.mark.django_db
def test_a_dropped_connection_is_retried_and_the_reply_goes(
    inbound_sms, customer, database_drops, retries_inline, django_capture_on_commit_callbacks
):
    conversation = inbound_sms(provider_id="SMhiccup1").conversation
    calls = database_drops(times=2)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(conversation=conversation, text="On its way")

    message.refresh_from_db()
    assert len(calls) == 3
    assert message.delivery_status == Message.DeliveryStatus.SENT
    assert message.channel_metadata["attempts"] == 1


@pytest.mark.django_db
def test_a_database_that_stays_down_ends_in_a_visible_failed_status(
    inbound_sms,
    customer,
    settings,
    database_drops,
    retries_inline,
    django_capture_on_commit_callbacks,
):
    settings.OUTBOUND_MAX_RETRIES = 2
    conversation = inbound_sms(provider_id="SMhiccup2").conversation
    calls = database_drops(times=100)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(conversation=conversation, text="On its way")

    message.refresh_from_db()
    assert len(calls) == 3  # the first try and two retries
    assert message.delivery_status == Message.DeliveryStatus.FAILED
    assert message.channel_metadata["error_code"] == "database"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_delivery_does_not_wait_on_the_conversation_the_pipeline_holds(inbound_sms, customer):
    conversation = inbound_sms(provider_id="SMlock1").conversation
    message = message_send(conversation=conversation, text="On its way")
    held, release = threading.Event(), threading.Event()

    def pipeline_answering_the_next_message() -> None:
        try:
            with transaction.atomic():
                conversation_lock(conversation.pk)
                held.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    thread = threading.Thread(target=pipeline_answering_the_next_message)
    thread.start()
    try:
        assert held.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        delivered = outbound.message_deliver(message_id=message.pk)
    finally:
        release.set()
        thread.join(timeout=20)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert delivered.delivery_status == Message.DeliveryStatus.SENT
