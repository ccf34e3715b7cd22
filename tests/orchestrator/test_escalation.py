"""Bringing a person in on a learned reading, not a keyword list: asking for one in any words,
or anger a bot would worsen, hands off at the first message (through the signed SMS webhook
and the pipeline); calm messages that mention agents or people do not."""

from __future__ import annotations

import pytest

from bench.escalation_held_out import HELD_OUT
from memory.models import Channel, Handoff, Message
from orchestrator.intelligence.escalation import (
    ANGRY,
    NEITHER,
    WANTS_PERSON,
    escalation_model,
    escalation_read,
)
from orchestrator.intelligence.training_data.escalation import escalation_examples
from orchestrator.models import PipelineRun
from tests.channels_app.conftest import sms_params


def texted(twilio_post, capture, body: str) -> PipelineRun:
    params = sms_params(Body=body)
    with capture(execute=True):
        assert twilio_post("/twilio/sms/", params).status_code == 200
    inbound = Message.objects.get(channel=Channel.SMS, provider_id=params["MessageSid"])
    return PipelineRun.objects.select_related("reply_message").get(inbound_message=inbound)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "requested_by"),
    [
        (
            "My refund for order 55501 is still missing and I'm furious. I want a manager NOW.",
            "agent:rules",
        ),
        ("I'd rather sort this out with a member of your staff", "customer"),
        ("could somebody from the office give me a ring about it", "customer"),
        ("this is an utter farce and I have completely lost patience with you", "agent:rules"),
    ],
)
def test_asking_for_a_person_or_anger_hands_off_at_the_first_message(
    twilio_post, customer, django_capture_on_commit_callbacks, body, requested_by
):
    run = texted(twilio_post, django_capture_on_commit_callbacks, body)

    assert run.status == PipelineRun.Status.HANDED_OFF, (run.decision, run.merge.get("failed"))
    assert run.decision["requested_by"] == requested_by
    assert run.merge["findings"]["rules"]["escalation"]["escalate"] is True
    handoff = Handoff.objects.get(conversation=run.conversation_id)
    assert handoff.status == Handoff.Status.WAITING


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        "my travel agent booked this trip, can you see it?",
        "what are your opening hours?",
        "membership GYM-8812, can I freeze it? broke my ankle",
        "thanks so much, the replacement arrived today!!",
    ],
)
def test_calm_messages_are_answered_by_automation(
    twilio_post, customer, django_capture_on_commit_callbacks, body
):
    run = texted(twilio_post, django_capture_on_commit_callbacks, body)

    assert run.decision["route"] in ("reply", "clarify"), run.decision
    assert run.reply_message is not None
    assert run.merge["findings"]["rules"]["escalation"]["escalate"] is False


def test_held_out_set_is_read_well_and_never_trained_on():
    trained = {text.casefold() for text, _ in escalation_examples()}
    assert not [text for text, _ in HELD_OUT if text.casefold() in trained]
    model = escalation_model()
    readings = [(escalation_read(text, model=model), label) for text, label in HELD_OUT]
    right = sum(reading.label == label for reading, label in readings) / len(readings)
    escalating = [reading for reading, label in readings if label != NEITHER]
    calm = [reading for reading, label in readings if label == NEITHER]
    assert right >= 0.9
    assert sum(r.escalate for r in escalating) / len(escalating) >= 0.9
    assert sum(not r.escalate for r in calm) / len(calm) >= 0.9
    assert {label for _, label in HELD_OUT} == {WANTS_PERSON, ANGRY, NEITHER}
