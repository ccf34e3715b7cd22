"""Every stored message reaches the pipeline: the beat sweeper hands on a message whose
hand-off to the broker was lost and retries a run whose worker died, once each, and gives up
visibly after the last attempt. Through the webhook and the Celery tasks (inline)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from channels_app.services import sms_receive
from memory.models import Message
from memory.services import message_send
from orchestrator.models import PipelineRun
from orchestrator.tasks import pipeline_sweep
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db

NOTHING = {"unplanned": 0, "retried": 0, "given_up": 0, "undelivered": 0}


def _outbound() -> int:
    return Message.objects.filter(direction=Message.Direction.OUTBOUND).count()


def test_a_message_whose_hand_off_was_lost_is_answered_once_by_the_sweeper(
    twilio_post, customer, settings, django_capture_on_commit_callbacks
):
    # Recorded from the webhook's delivery; its after-commit hand-off never runs (the broker
    # was down).
    params = sms_params()
    with django_capture_on_commit_callbacks(execute=False):
        sms_receive(
            message_sid=params["MessageSid"],
            sender=params["From"],
            recipient=params["To"],
            body=params["Body"],
        )
    message = Message.objects.get(provider_id=params["MessageSid"])
    assert not PipelineRun.objects.filter(inbound_message=message).exists()

    settings.PIPELINE_SWEEP_GRACE_SECONDS = 60
    assert pipeline_sweep.delay().get() == NOTHING

    settings.PIPELINE_SWEEP_GRACE_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline_sweep.delay().get()["unplanned"] == 1
    run = PipelineRun.objects.get(inbound_message=message)
    assert run.status == PipelineRun.Status.REPLIED
    assert _outbound() == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline_sweep.delay().get() == NOTHING
    assert _outbound() == 1


def test_history_without_provider_addressing_is_not_swept(inbound_sms, settings):
    """Seeded or imported turns were never meant for the pipeline."""
    inbound_sms(provider_id="demo-1")
    settings.PIPELINE_SWEEP_GRACE_SECONDS = 0
    assert pipeline_sweep.delay().get()["unplanned"] == 0
    assert not PipelineRun.objects.exists()


def _stuck_run(message_id: int, *, attempts: int) -> PipelineRun:
    """A run whose worker was killed after planning: still `running`, long ago."""
    from orchestrator import pipeline

    plan = pipeline.message_plan(message_id=message_id)
    assert plan is not None
    run = PipelineRun.objects.get(pk=plan.run_id)
    run.started_at = timezone.now() - dt.timedelta(minutes=30)
    run.attempts = attempts
    run.save(update_fields=["started_at", "attempts"])
    return run


def test_a_run_stuck_in_running_is_retried_and_answered_once(
    customer, settings, django_capture_on_commit_callbacks
):
    record = sms_receive(
        message_sid="SMstuck1", sender="+14155550101", recipient="+14155550000", body="Order 88123?"
    )
    run = _stuck_run(record.message.pk, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline_sweep.delay().get() == {**NOTHING, "retried": 1}

    run.refresh_from_db()
    assert run.status == PipelineRun.Status.REPLIED
    assert run.attempts == 2
    assert _outbound() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline_sweep.delay().get()["retried"] == 0
    assert _outbound() == 1


def test_a_run_stuck_after_its_last_attempt_is_left_failed_for_a_person(
    customer, settings, django_capture_on_commit_callbacks
):
    settings.PIPELINE_MAX_ATTEMPTS = 3
    record = sms_receive(
        message_sid="SMstuck2", sender="+14155550101", recipient="+14155550000", body="Hello?"
    )
    run = _stuck_run(record.message.pk, attempts=3)

    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline_sweep.delay().get() == {**NOTHING, "given_up": 1}

    run.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert "gave up" in run.error
    assert _outbound() == 0


def test_a_reply_whose_delivery_task_was_lost_is_delivered_once_by_the_sweeper(
    inbound_sms, customer, settings, django_capture_on_commit_callbacks
):
    conversation = inbound_sms(provider_id="SMundelivered1").conversation
    with django_capture_on_commit_callbacks(execute=False):  # the delivery task never queued
        reply = message_send(conversation=conversation, text="On its way")
    assert pipeline_sweep.delay().get() == NOTHING  # still within its retries' backoff

    settings.OUTBOUND_SWEEP_GRACE_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline_sweep.delay().get()["undelivered"] == 1
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.SENT
    assert reply.channel_metadata["attempts"] == 1
    assert pipeline_sweep.delay().get() == NOTHING
