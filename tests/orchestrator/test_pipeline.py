"""The pipeline end to end: a signed webhook to a recorded reply with its trace, the fast and
full paths, and "a message is answered once" however often its task runs.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from memory.models import AuditEntry, Channel, Message
from memory.services import case_open, message_record_inbound
from orchestrator import pipeline
from orchestrator.models import AgentRun, PipelineRun
from orchestrator.tasks import message_process_inbound
from tests.channels_app.conftest import sms_params
from tests.orchestrator.conftest import agent_statuses

pytestmark = pytest.mark.django_db

ANALYSTS = ["intent", "sentiment", "entities", "rules"]


def test_signed_sms_becomes_a_reply_with_its_pipeline_run_and_agent_runs(
    twilio_post, customer, django_capture_on_commit_callbacks
):
    params = sms_params(Body="Hi, where is my order 88123? It still hasn't arrived")
    with django_capture_on_commit_callbacks(execute=True):
        assert twilio_post("/twilio/sms/", params).status_code == 200

    inbound = Message.objects.get(provider_id=params["MessageSid"])
    run = PipelineRun.objects.get(inbound_message=inbound)
    assert run.path == PipelineRun.Path.FULL
    assert run.plan["agents"] == ANALYSTS
    assert run.status == PipelineRun.Status.REPLIED
    assert agent_statuses(run) == {name: "ok" for name in [*ANALYSTS, "responder"]}
    assert run.merge["findings"]["intent"]["intent"] == "order_status"
    assert run.decision["route"] == "reply" and run.decision["template"] == "order_status"
    # The entities agent's case was merged before the responder read its context.
    assert run.reply_message.text.startswith("Hi Ana, thanks for your message about order 88123.")
    assert run.reply_message.delivery_status == Message.DeliveryStatus.SENT
    assert {"plan", "agents", "merge", "route", "respond", "deliver"} <= set(run.timings)
    assert run.total_ms is not None and run.finished_at is not None
    # Each agent read through the gate under its own name and scope.
    reads = {
        e.actor_label: sorted(e.partitions)
        for e in AuditEntry.objects.filter(actor_label__startswith="agent:")
    }
    assert reads["agent:intent"] == ["messages"]
    assert reads["agent:sentiment"] == ["emotion"]
    assert reads["agent:entities"] == ["business", "messages", "pii"]
    assert reads["agent:responder"] == ["business", "profile"]
    entities_run = AgentRun.objects.get(pipeline_run=run, agent_name="entities")
    assert entities_run.partitions == ["business", "messages", "pii"]
    assert "business" in entities_run.read_versions


def test_a_voice_turn_takes_the_fast_path_in_one_pass(customer):
    case_open(customer=customer, kind="order", reference="88123")
    inbound = message_record_inbound(
        channel=Channel.VOICE,
        sender="+14155550101",
        recipient="+14155550000",
        text="is my order shipped yet",
        provider_id="CA1:1",
        thread_key="CA1",
    ).message

    reply = pipeline.message_process(message_id=inbound.pk)

    run = PipelineRun.objects.get(inbound_message=inbound)
    assert run.path == PipelineRun.Path.FAST
    assert reply is not None and reply.text.startswith("Hi Ana, thanks for your message about")
    stored = Message.objects.get(pk=reply.message_id)
    assert stored.channel_metadata["spoken"] is True
    assert pipeline.voice_reply_found(message_id=inbound.pk).text == reply.text


def test_task_run_twice_replies_once(customer, say, django_capture_on_commit_callbacks):
    inbound = say("hi there, is my order 88123 on its way?")
    with django_capture_on_commit_callbacks(execute=True):
        first = message_process_inbound.delay(inbound.pk).get()
    with django_capture_on_commit_callbacks(execute=True):
        second = message_process_inbound.delay(inbound.pk).get()
    assert first is not None and second is None
    outbound = Message.objects.filter(direction=Message.Direction.OUTBOUND)
    assert outbound.count() == 1
    assert PipelineRun.objects.get(inbound_message=inbound).attempts == 1


def test_a_rerun_after_a_worker_died_mid_way_still_replies_once(customer, say):
    inbound = say("where is my order 88123")
    # The first attempt planned and ran its agents, then its worker died before finishing.
    first = pipeline.message_plan(message_id=inbound.pk)
    first_results = pipeline.agents_run(run_id=first.run_id, names=first.analysts)
    # Redelivered (acks late) once the broker's visibility timeout, longer than any task may
    # run, has passed, the task takes the same run up again as its second attempt...
    PipelineRun.objects.filter(pk=first.run_id).update(
        started_at=timezone.now() - dt.timedelta(seconds=settings.PIPELINE_STUCK_AFTER_SECONDS + 1)
    )
    again = pipeline.message_plan(message_id=inbound.pk)
    assert again is not None and again.run_id == first.run_id
    assert pipeline.plan_run_here(plan=again) is not None
    # ...and the first attempt, coming back to life, finds the reply claimed and sends nothing.
    assert pipeline.pipeline_finish(run_id=first.run_id, results=first_results) is None
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND).count() == 1
    run = PipelineRun.objects.get(inbound_message=inbound)
    assert run.attempts == 2
    assert AgentRun.objects.filter(pipeline_run=run, attempt=1).count() == len(ANALYSTS)
    assert AgentRun.objects.filter(pipeline_run=run, attempt=2).count() == len(ANALYSTS) + 1


def test_outbound_messages_are_not_answered(customer, say):
    reply = pipeline.message_process(message_id=say("hello").pk)
    assert pipeline.message_process(message_id=reply.message_id) is None


def test_call_greeting_uses_name_and_open_case(customer, settings):
    # Read here outside a call, so with no conversation behind it (the watch would refuse it).
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False
    case_open(customer=customer, kind="order", reference="88123")
    assert pipeline.call_greeting(customer_id=customer.pk) == (
        "Hi Ana, are you calling about order 88123?"
    )
    assert "greet" in AuditEntry.objects.get(actor_label="agent:voice-greeter").purpose


def test_the_pipeline_takes_as_many_queries_for_a_long_history_as_for_a_short_one(
    make_customer, say
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(sender: str, history: int, order: str) -> int:
        # Each customer's own orders: a shared one would be evidence they are one person.
        make_customer(name="Dee Fox", phone=sender)
        for n in range(history):
            pipeline.message_process(
                message_id=say(f"where is my order {order[:2]}{n:04d}", sender=sender).pk
            )
        inbound = say(f"where is my order {order}?", sender=sender)
        with CaptureQueriesContext(connection) as captured:
            pipeline.message_process(message_id=inbound.pk)
        return len(captured)

    short = queries_for("+14155550150", 1, "61234")
    long = queries_for("+14155550151", 8, "72345")
    assert long == short


def test_the_reply_is_about_the_case_the_message_names(customer, say):
    case_open(customer=customer, kind="order", reference="22222")
    case_open(customer=customer, kind="order", reference="11111")  # the newest open case
    reply = pipeline.message_process(message_id=say("any news on order 22222?").pk)
    assert "order 22222" in reply.text and "11111" not in reply.text
