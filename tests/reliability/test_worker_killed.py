"""A Celery worker killed (kill -9, itself and its children) in the middle of a burst of SMS,
then started again: every message gets exactly one pipeline run and at most one reply, and
none is left `running`."""

from __future__ import annotations

import time

import pytest

from memory.models import Message
from orchestrator.models import PipelineRun
from tests.reliability.conftest import Stack, replies_in_flight, wait_until
from tests.reliability.test_broker_down import _replies_to

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 20


def test_a_worker_killed_mid_burst_leaves_each_message_answered_at_most_once(stack: Stack):
    began = time.monotonic()
    stack.redis_start()
    stack.web_start()
    stack.worker_start()

    answers = [
        stack.sms(From=f"+1415555{n:04d}", Body=f"Hi, order 77{n:03d} arrived damaged")
        for n in range(300, 300 + BURST)
    ]
    assert all(response.status_code == 200 for _, response, _ in answers)
    sids = [params["MessageSid"] for params, _, _ in answers]

    def recorded() -> list[int]:
        # Stored as they arrived by the webhook; recorded as messages by the worker.
        found = list(Message.objects.filter(provider_id__in=sids).values_list("pk", flat=True))
        return found if len(found) == BURST else []

    stored = wait_until(recorded, seconds=30, what="every delivery recorded", every=0.05)

    def some_answered() -> bool:
        final = [r for r in PipelineRun.objects.filter(inbound_message_id__in=stored) if r.is_final]
        return 3 <= len(final) < BURST

    wait_until(some_answered, seconds=40, what="the burst half way", every=0.05)
    answered_before_kill = sum(
        r.is_final for r in PipelineRun.objects.filter(inbound_message_id__in=stored)
    )
    stack.worker_kill()
    left_running = PipelineRun.objects.filter(
        inbound_message_id__in=stored, status=PipelineRun.Status.RUNNING
    ).count()
    stack.worker_start()

    def all_answered() -> bool:
        runs = PipelineRun.objects.filter(inbound_message_id__in=stored)
        return runs.count() == BURST and all(run.is_final for run in runs)

    wait_until(all_answered, seconds=55, what="every message answered after the restart", every=0.5)
    time.sleep(2)

    # No reply left between `pending` and an end: a send the kill cut short is settled by the
    # outbound sweep (sent, or failed visibly when that cannot be known), never sent twice.
    try:
        wait_until(lambda: not replies_in_flight(), seconds=30, what="every reply settled")
    except AssertionError as error:
        detail = f"{error}: {replies_in_flight()}\n{stack.log_tail('worker.log')}"
        raise AssertionError(detail) from error
    failed = Message.objects.filter(
        direction=Message.Direction.OUTBOUND, delivery_status=Message.DeliveryStatus.FAILED
    ).count()

    runs = list(PipelineRun.objects.filter(inbound_message_id__in=stored))
    replies = _replies_to(stored)
    assert len(runs) == BURST  # one run per message (a unique constraint)
    assert max(replies.values()) <= 1
    assert sum(replies.values()) == sum(
        1 for run in runs if run.status == PipelineRun.Status.REPLIED
    )
    print(
        f"\nworker killed: {BURST} messages, {answered_before_kill} answered before the kill, "
        f"{left_running} left running by it, {len(runs)} runs, "
        f"{sum(r.attempts > 1 for r in runs)} retried, {sum(replies.values())} replies "
        f"(max {max(replies.values())} per message, {failed} failed visibly, 0 in flight); "
        f"{time.monotonic() - began:.1f} s in all"
    )
