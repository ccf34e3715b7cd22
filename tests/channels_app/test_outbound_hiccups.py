"""Outbound delivery through database trouble: a lost connection is retried with backoff and
ends delivered or visibly failed, never stuck `pending`; delivering a reply never waits on the
conversation row the pipeline locks while it answers the next message (the deadlock); and a
reply left `sending` (a worker lost mid-send, the provider's answer lost to the database) is
settled by the outbound sweep: recorded as Twilio has it, sent once when Twilio has not got it,
or failed visibly when that cannot be known, never sent twice."""

from __future__ import annotations

import datetime as dt
import json
import threading
from email.utils import format_datetime

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from twilio.http import HttpClient
from twilio.http.response import Response

from channels_app import outbound
from channels_app.outbound import twilio as twilio_backend
from channels_app.tasks import outbound_sweep
from config.celery import app as celery_app
from memory.models import Message
from memory.services import message_delivery_claim, message_send
from memory.services.messages import conversation_lock

NOTHING_STUCK = {"recorded": 0, "to_resend": 0, "failed": 0, "waiting": 0}


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


# Replies left `sending` (a worker lost mid-send) ------------------------------------------------


class TwilioApi(HttpClient):
    """Twilio's Messages API at the HTTP boundary: a list of what it holds (GET) and a create
    (POST) that adds to it; every request recorded."""

    def __init__(self, held: list[dict] | None = None, *, list_status: int = 200) -> None:
        super().__init__(logger=None, is_async=False)
        self.held = list(held or [])
        self.list_status = list_status
        self.requests: list[tuple[str, dict | None]] = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None, **kwargs):
        self.requests.append((method, params if method == "GET" else data))
        if method == "POST":
            created = twilio_message(f"SM{len(self.requests):032d}", data["Body"], data["To"])
            self.held.insert(0, created)
            return Response(201, json.dumps(created))
        if self.list_status != 200:
            return Response(
                self.list_status,
                json.dumps({"code": 20500, "status": 500, "message": "Internal error"}),
            )
        page = [m for m in self.held if m["to"] == params.get("To")]
        return Response(
            200,
            json.dumps(
                {"messages": page, "page": 0, "page_size": 50, "next_page_uri": None, "uri": url}
            ),
        )

    @property
    def sends(self) -> int:
        return sum(method == "POST" for method, _ in self.requests)


def twilio_message(sid: str, body: str, to: str, *, created: dt.datetime | None = None) -> dict:
    return {
        "sid": sid,
        "status": "queued",
        "account_sid": "AC" + "1" * 32,
        "to": to,
        "from": "+14155550000",
        "body": body,
        "date_created": format_datetime(created or timezone.now(), usegmt=True),
    }


@pytest.fixture
def twilio_api(monkeypatch, settings):
    settings.OUTBOUND_SMS_BACKEND = "twilio"
    settings.RAPPORT_PUBLIC_URL = ""

    def install(**options) -> TwilioApi:
        api = TwilioApi(**options)
        monkeypatch.setattr(twilio_backend, "transport", lambda: api)
        return api

    return install


@pytest.fixture
def lost_mid_send(inbound_sms, customer, settings, django_capture_on_commit_callbacks):
    """A reply an attempt claimed (`sending`) whose worker then died: nothing recorded after."""

    def make(provider_id: str = "SMlost1", text: str = "Your refund is on its way") -> Message:
        conversation = inbound_sms(provider_id=provider_id).conversation
        with django_capture_on_commit_callbacks(execute=False):  # its delivery task is lost
            reply = message_send(conversation=conversation, text=text)
        assert message_delivery_claim(message_id=reply.pk).claimed
        settings.OUTBOUND_SENDING_STUCK_SECONDS = 0
        return reply

    return make


def _sweep(django_capture_on_commit_callbacks) -> dict[str, int]:
    with django_capture_on_commit_callbacks(execute=True):
        return outbound_sweep.delay().get()


@pytest.mark.django_db
def test_a_reply_twilio_already_has_is_recorded_and_not_sent_again(
    twilio_api, lost_mid_send, django_capture_on_commit_callbacks
):
    reply = lost_mid_send()
    api = twilio_api(held=[twilio_message("SM" + "f" * 32, reply.text, "+14155550101")])

    assert _sweep(django_capture_on_commit_callbacks)["recorded"] == 1
    reply.refresh_from_db()
    assert api.sends == 0
    assert reply.provider_id == "SM" + "f" * 32
    assert reply.delivery_status == Message.DeliveryStatus.QUEUED
    assert _sweep(django_capture_on_commit_callbacks) == NOTHING_STUCK  # settled once


@pytest.mark.django_db
def test_a_reply_twilio_never_got_is_sent_once(
    twilio_api, lost_mid_send, django_capture_on_commit_callbacks
):
    reply = lost_mid_send()
    # Twilio holds an older message with the same words: an earlier reply, not this attempt.
    older = timezone.now() - dt.timedelta(hours=1)
    api = twilio_api(
        held=[twilio_message("SM" + "e" * 32, reply.text, "+14155550101", created=older)]
    )

    assert _sweep(django_capture_on_commit_callbacks)["to_resend"] == 1
    reply.refresh_from_db()
    assert api.sends == 1
    assert reply.delivery_status == Message.DeliveryStatus.QUEUED
    assert reply.provider_id not in (None, "SM" + "e" * 32)
    assert reply.channel_metadata["attempts"] == 2
    # The next sweeps find it settled: still one send.
    assert _sweep(django_capture_on_commit_callbacks) == NOTHING_STUCK
    assert api.sends == 1


@pytest.mark.django_db
def test_a_reply_twilio_cannot_be_asked_about_waits_and_is_not_sent(
    twilio_api, lost_mid_send, django_capture_on_commit_callbacks
):
    reply = lost_mid_send()
    api = twilio_api(list_status=500)

    assert _sweep(django_capture_on_commit_callbacks)["waiting"] == 1
    reply.refresh_from_db()
    assert api.sends == 0
    assert reply.delivery_status == Message.DeliveryStatus.SENDING


@pytest.mark.django_db
def test_a_reply_whose_outcome_cannot_be_known_fails_visibly_and_is_not_sent_again(
    lost_mid_send, settings, caplog, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_SMS_BACKEND = "console"  # the log cannot be asked what it took
    reply = lost_mid_send()
    with caplog.at_level("INFO", logger="channels_app.outbound.console"):
        assert _sweep(django_capture_on_commit_callbacks)["failed"] == 1
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.FAILED
    assert reply.channel_metadata["error_code"] == "outcome_unknown"
    assert "resend by hand" in reply.channel_metadata["error"]
    assert not [r for r in caplog.records if "delivered to the log" in r.getMessage()]


@pytest.mark.django_db
def test_a_reply_with_a_provider_id_is_recorded_sent(
    lost_mid_send, settings, django_capture_on_commit_callbacks
):
    reply = lost_mid_send()
    Message.objects.filter(pk=reply.pk).update(provider_id="SM" + "d" * 32)
    assert _sweep(django_capture_on_commit_callbacks)["recorded"] == 1
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.SENT


@pytest.mark.django_db
def test_an_attempt_still_within_its_time_is_left_alone(
    lost_mid_send, settings, django_capture_on_commit_callbacks
):
    reply = lost_mid_send()
    settings.OUTBOUND_SENDING_STUCK_SECONDS = 300
    assert _sweep(django_capture_on_commit_callbacks) == NOTHING_STUCK
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.SENDING


@pytest.mark.django_db
def test_a_database_hiccup_after_twilio_took_it_records_it_without_sending_again(
    inbound_sms,
    customer,
    twilio_api,
    monkeypatch,
    retries_inline,
    django_capture_on_commit_callbacks,
):
    api = twilio_api()
    real_record = outbound.message_delivery_record
    calls: list[int] = []

    def record(**kwargs):
        calls.append(kwargs["message_id"])
        if len(calls) <= 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real_record(**kwargs)

    monkeypatch.setattr(outbound, "message_delivery_record", record)
    conversation = inbound_sms(provider_id="SMhiccup3").conversation
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_send(conversation=conversation, text="Your refund is on its way")

    reply.refresh_from_db()
    assert len(calls) == 3
    assert api.sends == 1
    assert reply.delivery_status == Message.DeliveryStatus.QUEUED
    assert reply.provider_id == "SM" + f"{1:032d}"
