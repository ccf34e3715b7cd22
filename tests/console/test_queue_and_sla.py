"""Handed-off conversations go to agents by capacity and presence, angriest and oldest first;
response clocks run per channel target, breaches reach supervisors once, and the report
counts the share met. Approval mode holds automation's replies as drafts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from channels_app.console.selectors import sla_report
from memory.events import SUPERVISORS
from memory.models import Conversation, Message
from memory.services import sentiment_record
from orchestrator import pipeline
from orchestrator.models import AgentPresence, PipelineRun, ReplyDraft, ResponseClock
from orchestrator.people import clocks, conversations, drafts, queue
from orchestrator.people.queue import person_label
from orchestrator.tasks import sla_sweep
from tests.console.conftest import open_handoff

pytestmark = pytest.mark.django_db


def test_waiting_conversations_go_to_online_agents_with_room_angriest_then_oldest(
    agent, other_agent, person, handed_off
):
    away = person("avery", "Agents")
    calm_old = handed_off(sender="+14155550201", text="hello, can a person help")
    calm_new = handed_off(sender="+14155550202", text="a person please")
    angry_newest = handed_off(sender="+14155550203", text="this is a disgrace, a human now")
    sentiment_record(
        message=angry_newest.messages.get(), label="negative", score=-0.9, model_name="t"
    )
    queue.presence_set(user=away, status=AgentPresence.Status.AWAY)
    queue.presence_set(user=agent, status=AgentPresence.Status.ONLINE, capacity=1)
    assert open_handoff(angry_newest).assigned_to == agent  # angriest first

    queue.presence_set(user=other_agent, status=AgentPresence.Status.ONLINE, capacity=1)
    assert open_handoff(calm_old).assigned_to == other_agent  # then the longest waiting
    assert open_handoff(calm_new).assigned_to is None  # nobody has room left
    assert not away.handoffs.exists()

    conversations.conversation_release(conversation=angry_newest, released_by=person_label(agent))
    assert open_handoff(calm_new).assigned_to == agent  # room freed, the queue moves


def test_a_handoff_through_the_pipeline_starts_the_first_response_clock(
    say, settings, django_capture_on_commit_callbacks
):
    settings.SLA_FIRST_RESPONSE_SECONDS = {"sms": 120}
    message = say("Can I talk to a human please")
    with django_capture_on_commit_callbacks(execute=True):
        with_clock = pipeline.message_process(message_id=message.pk)
    assert with_clock.hand_off
    clock = ResponseClock.objects.get(conversation_id=message.conversation_id)
    assert clock.kind == ResponseClock.Kind.FIRST
    assert clock.due_at - clock.started_at == dt.timedelta(seconds=120)


def test_a_person_answering_stops_the_clock_and_the_next_message_starts_another(
    agent, say, settings, django_capture_on_commit_callbacks
):
    settings.SLA_NEXT_RESPONSE_SECONDS = {"sms": 300}
    first = say("Can I talk to a human please")
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.message_process(message_id=first.pk)
    conversation = Conversation.objects.get(pk=first.conversation_id)
    conversations.conversation_reply_as_person(
        conversation=conversation, user=agent, text="Hi, Alex"
    )
    answered = ResponseClock.objects.get(conversation=conversation)
    assert (answered.state, answered.agent, answered.met) == ("answered", agent, True)

    again = say("ok, and the refund?")
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.message_process(message_id=again.pk).message_id is None  # a person answers
    following = ResponseClock.objects.get(conversation=conversation, state="running")
    assert following.kind == ResponseClock.Kind.NEXT
    assert following.started_at == again.sent_at


def test_a_breach_alerts_supervisors_once_and_counts_as_missed(
    agent, handed_off, listen, django_capture_on_commit_callbacks
):
    late = handed_off()
    long_ago = timezone.now() - dt.timedelta(hours=2)
    clocks.response_clock_start(conversation=late, waiting_since=long_ago)
    in_time = handed_off(sender="+14155550222")
    clocks.response_clock_start(conversation=in_time, waiting_since=timezone.now())
    conversations.conversation_reply_as_person(conversation=in_time, user=agent, text="Hello!")

    supervisors = listen(SUPERVISORS)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep.delay().get() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep.delay().get() == 0
    breaches = [e for e in supervisors.events() if e["event"] == "sla.breached"]
    assert [b["payload"]["conversation_id"] for b in breaches] == [late.pk]

    by_channel, by_agent = sla_report(since=long_ago - dt.timedelta(minutes=1))
    assert [(s.label, s.due, s.met) for s in by_channel] == [("sms", 2, 1)]
    assert {s.label: (s.due, s.met) for s in by_agent} == {"(nobody)": (1, 0), "alex": (1, 1)}


def test_in_approval_mode_automation_drafts_and_a_person_approves_or_edits(boss, customer, say):
    first = say("where is my order 88123?")
    conversation = first.conversation
    conversations.conversation_set_approval(conversation=conversation, required=True, user=boss)

    assert pipeline.message_process(message_id=first.pk).message_id is None
    assert not conversation.messages.filter(direction=Message.Direction.OUTBOUND).exists()
    draft = ReplyDraft.objects.get(conversation=conversation, status="pending")
    assert draft.text.startswith("Hi Ana")
    assert PipelineRun.objects.get(inbound_message=first).decision["draft_id"] == draft.pk

    sent = drafts.reply_draft_approve(draft=draft, user=boss)
    assert (sent.text, sent.author, sent.author_user) == (draft.text, "agent", boss)
    assert drafts.reply_draft_approve(draft=draft, user=boss) is None  # decided once

    second = say("and when will it arrive?")
    pipeline.message_process(message_id=second.pk)
    edited = drafts.reply_draft_approve(
        draft=ReplyDraft.objects.get(status="pending"), user=boss, text="Tomorrow by noon, Ana."
    )
    assert (edited.text, edited.author) == ("Tomorrow by noon, Ana.", "human")
    assert ReplyDraft.objects.get(sent_message=edited).edited is True


def test_taking_over_silences_automation_until_release(boss, customer, say):
    first = say("where is my order 88123?")
    assert pipeline.message_process(message_id=first.pk).message_id is not None
    conversations.conversation_take_over(conversation=first.conversation, user=boss)
    for text in ("hello?", "Can I talk to a human please", "where is my order 88123?"):
        assert pipeline.message_process(message_id=say(text).pk).message_id is None
    outbound = first.conversation.messages.filter(direction=Message.Direction.OUTBOUND)
    assert outbound.count() == 1
    conversations.conversation_release(
        conversation=first.conversation, released_by=person_label(boss)
    )
    assert pipeline.message_process(message_id=say("and now?").pk).message_id is not None


def test_a_reply_on_a_call_is_refused(boss, make_customer):
    from memory.services import message_record_inbound

    call = message_record_inbound(
        channel="voice", sender="+14155550999", recipient="+14155550000", text="hello"
    ).message.conversation
    with pytest.raises(conversations.PersonReplyRefused):
        conversations.conversation_reply_as_person(conversation=call, user=boss, text="hi")
