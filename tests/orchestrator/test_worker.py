"""One inbound SMS through a real Celery worker on Redis: the plan task, the chord of agent
tasks and its body run in the worker, and the message is answered once. Skipped without
REDIS_URL (CI sets it)."""

from __future__ import annotations

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker

from channels_app.services import sms_receive
from config.celery import app as celery_app
from memory.models import Message
from orchestrator.models import AgentRun, PipelineRun

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL"),
]


def test_a_real_worker_runs_the_chord_and_answers_once(customer, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(
            celery_app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING"
        ):
            record = sms_receive(
                message_sid="SMworker1",
                sender="+14155550101",
                recipient="+14155550000",
                body="Hi, where is my order 88123?",
            )
            run = _wait_for_final_run(record.message, seconds=60)
            again = sms_receive(
                message_sid="SMworker1",
                sender="+14155550101",
                recipient="+14155550000",
                body="Hi, where is my order 88123?",
            )
            assert again.created is False
    finally:
        celery_app.conf.task_always_eager = True

    assert run.status == PipelineRun.Status.REPLIED
    assert run.path == PipelineRun.Path.FULL
    assert set(
        AgentRun.objects.filter(pipeline_run=run, status=AgentRun.Status.OK).values_list(
            "agent_name", flat=True
        )
    ) == {"intent", "sentiment", "entities", "rules", "responder"}
    outbound = Message.objects.filter(direction=Message.Direction.OUTBOUND)
    assert outbound.count() == 1
    assert outbound.get().text.startswith("Hi Ana, thanks for your message about order 88123.")


def _wait_for_final_run(message: Message, *, seconds: float) -> PipelineRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = PipelineRun.objects.filter(inbound_message=message).first()
        if run is not None and run.is_final:
            return run
        time.sleep(0.1)
    raise AssertionError(f"message #{message.pk} was not answered within {seconds} s")
