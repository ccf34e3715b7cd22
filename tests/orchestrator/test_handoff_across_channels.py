"""A handoff belongs to the customer until a person releases it: handed off by SMS, their call
goes to a person (<Dial>) and their e-mail gets no bot reply; released, automation answers
again. Through the signed Twilio and SendGrid webhooks and the Celery pipeline (eager, and
one real worker on Redis)."""

from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ET
from contextlib import nullcontext

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from memory.models import Channel, Conversation, Handoff, Message
from memory.services.handoffs import conversation_release
from orchestrator.models import PipelineRun
from tests.channels_app.conftest import new_sid, sms_params

pytestmark = pytest.mark.django_db

CALLER = "+14155550101"


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    root = ET.fromstring(response.content)  # noqa: S314 - our own TwiML
    assert root.tag == "Response"
    return root


def call(twilio_post) -> tuple[ET.Element, Conversation]:
    call_sid = new_sid("CA")
    params = {
        "CallSid": call_sid,
        "AccountSid": "AC" + "1" * 32,
        "From": CALLER,
        "To": "+14155550000",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    root = twiml(twilio_post("/twilio/voice/", params))
    return root, Conversation.objects.get(channel=Channel.VOICE, thread_key=call_sid)


def text(twilio_post, capture, body: str) -> Message:
    params = sms_params(Body=body, From=CALLER)
    with capture(execute=True):
        assert twilio_post("/twilio/sms/", params).status_code == 200
    return Message.objects.get(channel=Channel.SMS, provider_id=params["MessageSid"])


def email(email_post, capture, body: str) -> Message:
    message_id = f"<{new_sid('m')}@mail.example.com>"
    headers = (
        f"Message-ID: {message_id}\nDate: Thu, 26 Nov 2026 09:12:00 +0000\n"
        "From: Ana Ruiz <ana@example.com>\nTo: support@shop.example\nSubject: my order\n"
    )
    fields = {
        "headers": headers,
        "from": "Ana Ruiz <ana@example.com>",
        "to": "support@shop.example",
        "subject": "my order",
        "text": body,
        "envelope": json.dumps({"to": ["support@shop.example"], "from": "ana@example.com"}),
        "charsets": json.dumps({"text": "UTF-8", "subject": "UTF-8"}),
    }
    # A real worker's test commits for real: nothing to capture.
    with capture(execute=True) if capture is not None else nullcontext():
        assert email_post(fields).status_code == 200
    return Message.objects.get(channel=Channel.EMAIL, provider_id=message_id)


@pytest.fixture
def handed_off_by_sms(twilio_post, customer, django_capture_on_commit_callbacks) -> Message:
    inbound = text(twilio_post, django_capture_on_commit_callbacks, "can a real human take over?")
    run = PipelineRun.objects.get(inbound_message=inbound)
    assert run.status == PipelineRun.Status.HANDED_OFF, run.decision
    return inbound


def test_caller_handed_off_by_sms_is_put_through_to_a_person(
    twilio_post, handed_off_by_sms, django_capture_on_commit_callbacks
):
    root, conversation = call(twilio_post)

    # One question (what is it about?), then through to a person even if the caller says nothing.
    gather = root.find("Gather")
    assert gather is not None and "what are you calling about" in (gather.findtext("Say") or "")
    assert "putting you through" in (gather.findtext("Say") or "")
    dial = root.find("Dial")
    assert dial is not None and (dial.text or "").strip() == "+14155559999"
    assert list(root).index(dial) > list(root).index(gather)

    # What the caller says is kept for the person (and the memory), and no bot answers it.
    params = {
        "CallSid": conversation.thread_key,
        "AccountSid": "AC" + "1" * 32,
        "From": CALLER,
        "To": "+14155550000",
        "SpeechResult": "it's about the refund on order 88123",
        "Confidence": "0.92",
    }
    with django_capture_on_commit_callbacks(execute=True):
        turn = twiml(twilio_post(gather.get("action"), params))
    assert turn.find("Gather") is None and turn.find("Dial") is not None
    said = Message.objects.get(conversation=conversation, direction=Message.Direction.INBOUND)
    assert "refund" in said.text
    assert not Message.objects.filter(
        conversation=conversation, direction=Message.Direction.OUTBOUND, pk__gt=said.pk
    ).exists()
    conversation.refresh_from_db()
    assert conversation.mode == Conversation.Mode.HANDED_OFF
    handoff = Handoff.objects.get(conversation=conversation)
    sms_handoff = Handoff.objects.get(conversation=handed_off_by_sms.conversation)
    assert handoff.requested_by == f"handoff:{sms_handoff.pk}"


def test_handed_off_caller_rings_the_configured_client_or_hears_a_callback_promise(
    twilio_post, handed_off_by_sms, settings
):
    settings.HUMAN_HANDOFF_NUMBER = ""
    settings.HUMAN_HANDOFF_CLIENT = "support-desk"
    root, _ = call(twilio_post)
    assert root.find("Dial/Client") is not None
    assert root.findtext("Dial/Client").strip() == "support-desk"

    settings.HUMAN_HANDOFF_CLIENT = ""
    root, conversation = call(twilio_post)
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert "call you back" in ET.tostring(root, encoding="unicode")
    # Nobody could be rung: the handoff waits in the console's queue.
    assert Handoff.objects.get(conversation=conversation).status == Handoff.Status.WAITING


def test_email_from_a_handed_off_customer_gets_no_bot_reply(
    email_post, handed_off_by_sms, django_capture_on_commit_callbacks
):
    inbound = email(email_post, django_capture_on_commit_callbacks, "Any news on my order 88123?")

    run = PipelineRun.objects.get(inbound_message=inbound)
    assert run.status == PipelineRun.Status.WITH_PERSON
    assert run.reply_message is None
    assert not Message.objects.filter(
        conversation=inbound.conversation, direction=Message.Direction.OUTBOUND
    ).exists()
    assert run.decision["requested_by"].startswith("handoff:")
    assert Handoff.objects.get(conversation=inbound.conversation).status == Handoff.Status.WAITING


def test_a_later_sms_on_the_same_thread_stays_with_people(
    twilio_post, handed_off_by_sms, django_capture_on_commit_callbacks
):
    again = text(twilio_post, django_capture_on_commit_callbacks, "hello? where is my order")
    run = PipelineRun.objects.get(inbound_message=again)
    assert run.status == PipelineRun.Status.WITH_PERSON and run.reply_message is None


def test_released_by_a_person_the_customer_is_answered_by_automation_again(
    twilio_post, email_post, handed_off_by_sms, django_capture_on_commit_callbacks
):
    _, voice = call(twilio_post)  # carried to the call as well
    conversation_release(conversation=handed_off_by_sms.conversation, released_by="user:sam")

    assert not Handoff.objects.exclude(status=Handoff.Status.RELEASED).exists()
    voice.refresh_from_db()
    assert voice.mode == Conversation.Mode.AUTOMATED
    root, _ = call(twilio_post)
    assert root.find("Gather") is not None and root.find("Dial") is None
    inbound = email(email_post, django_capture_on_commit_callbacks, "Any news on order 88123?")
    assert PipelineRun.objects.get(inbound_message=inbound).reply_message is not None


def test_a_customer_never_handed_off_is_answered_by_the_bot_on_every_channel(
    twilio_post, customer, django_capture_on_commit_callbacks
):
    inbound = text(twilio_post, django_capture_on_commit_callbacks, "where is order 88123?")
    assert PipelineRun.objects.get(inbound_message=inbound).reply_message is not None
    root, conversation = call(twilio_post)
    assert root.find("Gather") is not None
    assert conversation.mode == Conversation.Mode.AUTOMATED


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_through_a_real_worker_the_email_after_an_sms_handoff_gets_no_bot_reply(
    twilio_post, email_post, customer, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(
            celery_app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING"
        ):
            params = sms_params(Body="please let me talk this over with one of your staff")
            assert twilio_post("/twilio/sms/", params).status_code == 200
            # The webhook stores the delivery; the worker records it as a message.
            sms = _recorded(channel=Channel.SMS, provider_id=params["MessageSid"])
            first = _final_run(sms)
            mail = email(email_post, None, "Any news on my order 88123?")
            second = _final_run(mail)
    finally:
        celery_app.conf.task_always_eager = True

    assert first.status == PipelineRun.Status.HANDED_OFF, first.decision
    assert second.status == PipelineRun.Status.WITH_PERSON, second.decision
    assert second.path == PipelineRun.Path.FULL
    assert not Message.objects.filter(
        conversation=mail.conversation, direction=Message.Direction.OUTBOUND
    ).exists()


def _recorded(*, channel: str, provider_id: str, seconds: float = 60) -> Message:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = Message.objects.filter(channel=channel, provider_id=provider_id).first()
        if message is not None:
            return message
        time.sleep(0.1)
    raise AssertionError(f"{channel} {provider_id} was not recorded within {seconds} s")


def _final_run(message: Message, seconds: float = 60) -> PipelineRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = PipelineRun.objects.filter(inbound_message=message).first()
        if run is not None and run.is_final:
            return run
        time.sleep(0.1)
    raise AssertionError(f"message #{message.pk} was not answered within {seconds} s")
