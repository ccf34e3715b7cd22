"""Handoff: asking for a person, an angry trend, or not being understood twice brings a person
in; supervisors are alerted by an event, and automation stays quiet until released."""

from __future__ import annotations

import pytest

from memory.events import SUPERVISORS, conversation_group
from memory.models import Conversation, Message
from orchestrator import pipeline
from orchestrator.models import PipelineRun
from orchestrator.people.conversations import conversation_release

pytestmark = pytest.mark.django_db


def test_asking_for_a_person_alerts_supervisors_and_silences_automation_until_released(
    customer, say, listen, django_capture_on_commit_callbacks
):
    supervisors = listen(SUPERVISORS)
    with django_capture_on_commit_callbacks(execute=True):
        first = say("Can I talk to a human please")
        reply = pipeline.message_process(message_id=first.pk)
    assert reply.hand_off is True
    assert reply.text == "Of course, Ana. I'm connecting you with a member of our team now."
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.mode == Conversation.Mode.HANDED_OFF
    events = {e["event"]: e["payload"] for e in supervisors.events()}
    assert events["conversation.handed_off"]["conversation_id"] == conversation.pk
    assert events["conversation.handed_off"]["reason"] == "the customer asked for a person"
    assert {"message.received", "pipeline.done", "reply.sent"} <= set(events)

    follow_up = say("hello? anyone there?")
    assert pipeline.message_process(message_id=follow_up.pk).message_id is None
    held = PipelineRun.objects.get(inbound_message=follow_up)
    assert held.status == PipelineRun.Status.WITH_PERSON
    assert held.merge["findings"]["intent"]["intent"]  # still read, for the person and memory
    assert not Message.objects.filter(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        sent_at__gt=follow_up.sent_at,
    ).exists()

    watchers = listen(conversation_group(conversation.pk))
    with django_capture_on_commit_callbacks(execute=True):
        conversation_release(conversation=conversation, released_by="user:sam")
    released = watchers.events()
    assert [e["event"] for e in released] == ["conversation.released"]
    assert released[0]["payload"] == {
        "conversation_id": conversation.pk,
        "released_by": "user:sam",
        "mode": Conversation.Mode.AUTOMATED,
    }
    after = say("thanks, where is my order 88123?")
    assert pipeline.message_process(message_id=after.pk).text.startswith("Hi Ana, thanks")


def test_an_angry_trend_hands_off(customer, say):
    first = pipeline.message_process(message_id=say("my order is late and nobody answers").pk)
    assert first.hand_off is False
    second = pipeline.message_process(
        message_id=say("This is the third time, I am furious, this is a disgrace").pk
    )
    assert second.hand_off is True
    run = PipelineRun.objects.get(reply_message_id=second.message_id)
    assert run.decision["reason"].startswith("the customer is upset")
    assert run.decision["mood"]["label"] == "negative"


def test_not_understood_twice_hands_off_after_one_clarifying_question(customer, say):
    first = pipeline.message_process(message_id=say("purple monkey dishwasher").pk)
    assert first.hand_off is False
    assert "could you tell me a little more" in first.text
    second = pipeline.message_process(message_id=say("banana telescope yesterday").pk)
    assert second.hand_off is True
    run = PipelineRun.objects.get(reply_message_id=second.message_id)
    assert run.decision["reason"].startswith("not understood again")
