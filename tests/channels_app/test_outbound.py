"""Outbound sending: stored first (by memory), delivered after commit, retried with backoff,
failed visibly; the Twilio backend driven through the real twilio Client with only its HTTP
transport replaced.
"""

from __future__ import annotations

import json

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response

from channels_app import outbound
from channels_app.outbound import twilio as twilio_backend
from channels_app.tasks import retry_delay
from config.celery import app as celery_app
from memory.models import Channel, Message
from memory.services import conversation_get_or_open, message_send

pytestmark = pytest.mark.django_db


class FakeTwilioTransport(HttpClient):
    """Twilio's API at the HTTP boundary: answers with queued responses, records requests."""

    def __init__(self, answers: list[tuple[int, dict]]) -> None:
        super().__init__(logger=None, is_async=False)
        self.answers = list(answers)
        self.requests: list[dict] = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None, **kwargs):
        self.requests.append({"method": method, "url": url, "data": data, "auth": auth})
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return Response(status, json.dumps(body))


def message_resource(sid: str, status: str = "queued") -> dict:
    return {
        "sid": sid,
        "status": status,
        "account_sid": "AC" + "1" * 32,
        "to": "+14155550101",
        "from": "+14155550000",
        "body": "hello",
    }


@pytest.fixture
def sms_conversation(inbound_sms, customer):
    return inbound_sms(provider_id="SMinbound1").conversation


@pytest.fixture
def retries_inline():
    """Eager Celery re-runs a retried task inline only when it does not propagate the Retry."""
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = True


@pytest.fixture
def transport(monkeypatch):
    def install(answers):
        fake = FakeTwilioTransport(answers)
        monkeypatch.setattr(twilio_backend, "transport", lambda: fake)
        return fake

    return install


def test_send_stores_pending_then_delivers_after_commit(
    sms_conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = message_send(conversation=sms_conversation, text="On its way", author_agent="t")
    assert message.delivery_status == Message.DeliveryStatus.PENDING
    assert len(callbacks) == 1
    callbacks[0]()
    message.refresh_from_db()
    assert message.delivery_status == Message.DeliveryStatus.SENT
    assert message.channel_metadata["backend"] == "console"


def test_twilio_backend_sends_through_the_real_client_with_status_callback(
    sms_conversation, settings, transport, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_SMS_BACKEND = "twilio"
    fake = transport([(201, message_resource("SM" + "a" * 32))])
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(conversation=sms_conversation, text="On its way")

    message.refresh_from_db()
    assert message.provider_id == "SM" + "a" * 32
    assert message.delivery_status == Message.DeliveryStatus.QUEUED
    [call] = fake.requests
    assert call["method"] == "POST"
    assert call["url"].endswith(f"/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json")
    assert call["data"]["To"] == "+14155550101"
    assert call["data"]["From"] == "+14155550000"
    assert call["data"]["Body"] == "On its way"
    assert call["data"]["StatusCallback"] == (
        f"https://cc.example.com/twilio/sms/status/?message={message.pk}"
    )
    assert call["auth"] == (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)


def test_transient_failures_retry_and_end_in_a_visible_failed_status(
    sms_conversation, settings, transport, retries_inline, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_SMS_BACKEND = "twilio"
    settings.OUTBOUND_MAX_RETRIES = 3
    fake = transport([(503, {"code": 20503, "message": "Service unavailable", "status": 503})])
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(conversation=sms_conversation, text="On its way")

    message.refresh_from_db()
    assert len(fake.requests) == 4  # the first try and three retries
    assert message.delivery_status == Message.DeliveryStatus.FAILED
    assert message.channel_metadata["attempts"] == 4
    assert "Service unavailable" in message.channel_metadata["error"]


def test_a_retry_that_succeeds_delivers(
    sms_conversation, settings, transport, retries_inline, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_SMS_BACKEND = "twilio"
    fake = transport(
        [
            (500, {"code": 20500, "message": "Internal error", "status": 500}),
            (201, message_resource("SM" + "b" * 32)),
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(conversation=sms_conversation, text="On its way")
    message.refresh_from_db()
    assert len(fake.requests) == 2
    assert message.provider_id == "SM" + "b" * 32
    assert message.delivery_status == Message.DeliveryStatus.QUEUED


def test_a_rejected_number_fails_at_once_without_retrying(
    sms_conversation, settings, transport, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_SMS_BACKEND = "twilio"
    fake = transport(
        [(400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})]
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(conversation=sms_conversation, text="On its way")
    message.refresh_from_db()
    assert len(fake.requests) == 1
    assert message.delivery_status == Message.DeliveryStatus.FAILED
    assert message.channel_metadata["error_code"] == "21211"


def test_a_task_delivered_twice_sends_once(
    sms_conversation, settings, transport, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_SMS_BACKEND = "twilio"
    fake = transport([(201, message_resource("SM" + "c" * 32))])
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(conversation=sms_conversation, text="Once")
    outbound.message_deliver(message_id=message.pk)
    assert len(fake.requests) == 1


def test_backoff_grows_exponentially_and_is_capped():
    delays = [retry_delay(n) for n in range(10)]
    assert 5 <= delays[0] <= 6.25
    assert 10 <= delays[1] <= 12.5
    assert 600 <= delays[9] <= 750


def test_email_reply_is_threaded_to_the_customer_message(customer, settings):
    from django.core import mail

    settings.OUTBOUND_EMAIL_BACKEND = "email"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from memory.services import message_record_inbound

    inbound = message_record_inbound(
        channel=Channel.EMAIL,
        sender="ana@example.com",
        recipient="support@shop.example",
        text="Where is my order?",
        provider_id="<q1@mail.example.com>",
        thread_key="<q1@mail.example.com>",
        subject="Order 88123",
        metadata={"from": "ana@example.com", "to": "support@shop.example"},
    ).message
    conversation = conversation_get_or_open(
        customer=customer, channel=Channel.EMAIL, thread_key="<q1@mail.example.com>"
    )
    message = message_send(conversation=conversation, text="It ships today.", in_reply_to=inbound)
    outbound.message_deliver(message_id=message.pk)

    [sent] = mail.outbox
    assert sent.to == ["ana@example.com"]
    assert sent.subject == "Re: Order 88123"
    assert sent.extra_headers["In-Reply-To"] == "<q1@mail.example.com>"
    message.refresh_from_db()
    assert message.provider_id == sent.extra_headers["Message-ID"]
    assert message.delivery_status == Message.DeliveryStatus.SENT
