"""Intents that fit real traffic, through the signed webhooks and the pipeline: a freeze is not
a cancellation, a broken appliance is not off-topic, a room request gets no billing answer,
asking the hours is not negative, a case status is said in the customer's words, and when the
model is unsure the customer is asked instead of told."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from memory.actors import ALL_PARTITIONS, AgentActor
from memory.models import Channel, Message
from memory.selectors import context_read
from memory.services import case_open
from orchestrator.agents.base import InboundTurn
from orchestrator.agents.intent import clarify_template, intent_sureness
from orchestrator.agents.responder import ResponderAgent, customer_facing
from orchestrator.intelligence.api import IntentPrediction
from orchestrator.models import PipelineRun
from orchestrator.replies import DEFAULT_TEMPLATES
from tests.channels_app.conftest import new_sid, sms_params

pytestmark = pytest.mark.django_db

SENDER = "+14155550101"


def texted(twilio_post, capture, body: str) -> PipelineRun:
    params = sms_params(Body=body, From=SENDER)
    with capture(execute=True):
        assert twilio_post("/twilio/sms/", params).status_code == 200
    inbound = Message.objects.get(channel=Channel.SMS, provider_id=params["MessageSid"])
    return PipelineRun.objects.select_related("reply_message").get(inbound_message=inbound)


def emailed(email_post, capture, body: str, subject: str) -> PipelineRun:
    message_id = f"<{new_sid('m')}@mail.example.com>"
    headers = (
        f"Message-ID: {message_id}\nDate: Thu, 26 Nov 2026 09:12:00 +0000\n"
        f"From: Tom Hale <tom@example.com>\nTo: support@shop.example\nSubject: {subject}\n"
    )
    fields = {
        "headers": headers,
        "from": "Tom Hale <tom@example.com>",
        "to": "support@shop.example",
        "subject": subject,
        "text": body,
        "envelope": json.dumps({"to": ["support@shop.example"], "from": "tom@example.com"}),
        "charsets": json.dumps({"text": "UTF-8", "subject": "UTF-8"}),
    }
    with capture(execute=True):
        assert email_post(fields).status_code == 200
    inbound = Message.objects.get(channel=Channel.EMAIL, provider_id=message_id)
    return PipelineRun.objects.select_related("reply_message").get(inbound_message=inbound)


def reply_of(run: PipelineRun) -> str:
    assert run.reply_message is not None, run.decision
    return run.reply_message.text


def test_a_membership_freeze_is_not_answered_as_a_cancellation(
    twilio_post, django_capture_on_commit_callbacks
):
    run = texted(
        twilio_post,
        django_capture_on_commit_callbacks,
        "membership GYM-8812, can I freeze it? broke my ankle",
    )
    found = run.merge["findings"]["intent"]
    assert found["intent"] == "pause" or found["confirm"] == "pause", found
    assert "cancel" not in reply_of(run).lower()
    assert run.decision["template"] in ("pause", "confirm:pause")


def test_a_broken_blender_email_is_understood_not_out_of_scope(
    email_post, django_capture_on_commit_callbacks
):
    body = (
        "Hello,\n\nI bought a blender from your online shop about three weeks ago and it has"
        " already stopped working. The motor hums but the blades won't turn at all. Could you"
        " repair or replace it please?\n\nThanks,\nTom Hale"
    )
    run = emailed(email_post, django_capture_on_commit_callbacks, body, "broken blender")
    found = run.merge["findings"]["intent"]
    likely = {"warranty_claim", "technical_support", "delivery_problem", "return_item"}
    assert found["intent"] in likely or found["confirm"] in likely, found
    assert run.decision["template"] != "clarify"


def test_a_room_request_gets_no_billing_reply(twilio_post, django_capture_on_commit_callbacks):
    run = texted(twilio_post, django_capture_on_commit_callbacks, "ground floor room?")
    assert not run.decision["template"].startswith(("billing", "payment", "confirm:billing"))
    assert "billing" not in reply_of(run).lower()
    assert run.merge["findings"]["intent"]["intent"] == "booking_request"


def test_asking_the_opening_hours_is_not_read_as_negative(
    twilio_post, django_capture_on_commit_callbacks
):
    run = texted(twilio_post, django_capture_on_commit_callbacks, "opening hours?")
    assert run.merge["findings"]["sentiment"]["label"] != "negative"
    assert run.merge["findings"]["intent"]["intent"] == "opening_hours"


def test_a_case_status_is_said_in_the_customers_words(
    customer, twilio_post, django_capture_on_commit_callbacks
):
    case_open(customer=customer, kind="order", reference="88123")
    run = texted(twilio_post, django_capture_on_commit_callbacks, "where is my order 88123?")
    text = reply_of(run)
    assert run.decision["template"] == "order_status", run.decision
    assert "currently open" not in text and "being looked into" in text


def test_unsure_readings_ask_about_the_likely_need_and_sure_ones_do_not():
    def reading(*ranked: tuple[str, float], out_of_scope: bool = False) -> IntentPrediction:
        return IntentPrediction(
            intent="out_of_scope" if out_of_scope else ranked[0][0],
            confidence=ranked[0][1],
            out_of_scope=out_of_scope,
            alternatives=ranked,
        )

    assert intent_sureness(reading(("order_status", 0.9), ("refund", 0.05))) == (False, "")
    # Saying "I've passed your cancellation on" needs more certainty than a status check.
    assert intent_sureness(reading(("cancel", 0.62), ("pause", 0.1))) == (True, "cancel")
    assert intent_sureness(reading(("order_status", 0.62), ("refund", 0.1))) == (False, "")
    # Close runners-up: not sure which.
    assert intent_sureness(reading(("refund", 0.48), ("return_item", 0.4))) == (True, "refund")
    # Too weak to name a guess: ask for more.
    weak = reading(("outage", 0.12), ("complaint", 0.1), out_of_scope=True)
    assert intent_sureness(weak) == (True, "")
    assert clarify_template({"confirm": "cancel"}) == "confirm:cancel"
    assert clarify_template({"confirm": ""}) == "clarify"


def test_the_confirming_question_names_the_need_in_the_customers_words(customer, settings):
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False  # an agent read with no pipeline run behind it
    pack = context_read(
        actor=AgentActor(name="t", scopes=ALL_PARTITIONS),
        customer=customer.pk,
        partitions=["profile", "business"],
        purpose="t",
    )
    turn = InboundTurn(
        message_id=1,
        customer_id=customer.pk,
        conversation_id=1,
        channel="sms",
        text="hmm",
        sent_at=timezone.now(),
    )
    asked = ResponderAgent(templates=dict(DEFAULT_TEMPLATES), template="confirm:cancel")
    text = asked.run(pack=pack, turn=turn).findings["reply"]
    assert text.startswith("Hi Ana") and "is this about cancelling?" in text
    unknown = ResponderAgent(templates=dict(DEFAULT_TEMPLATES), template="confirm:no_such")
    assert "tell me a little more" in unknown.run(pack=pack, turn=turn).findings["reply"]


def test_internal_status_words_never_reach_a_template():
    assert customer_facing({"case_status": "open"})["case_status"] == "being looked into"
    assert "case_status" not in customer_facing({"case_status": "escalated_l2"})
