"""Redis (the broker) down while SMS arrive: Twilio gets its answer well inside its 15 s
timeout, every accepted message is stored, and once Redis is back the beat sweeper hands each
to the pipeline, which answers each exactly once."""

from __future__ import annotations

import time

import pytest

from memory.models import Message
from orchestrator.models import PipelineRun
from tests.reliability.conftest import Stack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = 10


def _replies_to(inbound_ids: list[int]) -> dict[int, int]:
    replies = {pk: 0 for pk in inbound_ids}
    for metadata in Message.objects.filter(direction=Message.Direction.OUTBOUND).values_list(
        "channel_metadata", flat=True
    ):
        if metadata.get("in_reply_to") in replies:
            replies[metadata["in_reply_to"]] += 1
    return replies


def test_sms_arriving_while_redis_is_down_are_answered_once_after_it_returns(stack: Stack):
    began = time.monotonic()
    stack.redis_start()
    stack.web_start()
    stack.sms(From="+14155550170", Body="warming up")  # the web process has met the broker

    stack.redis_stop()
    answers = [
        stack.sms(From=f"+1415555{n:04d}", Body=f"Where is order 88{n:03d}?")
        for n in range(200, 200 + MESSAGES)
    ]

    # Twilio: 2xx fast, or a 5xx it retries; never a hang past its 15 s timeout.
    codes = [response.status_code for _, response, _ in answers]
    slowest = max(seconds for _, _, seconds in answers)
    assert all(code == 200 or code >= 500 for code in codes), codes
    assert slowest < 5, f"slowest webhook answer took {slowest:.1f} s with Redis down"
    accepted = [params["MessageSid"] for params, response, _ in answers if response.ok]
    stored = list(Message.objects.filter(provider_id__in=accepted).values_list("pk", flat=True))
    assert len(stored) == len(accepted)  # nothing accepted is lost
    assert not PipelineRun.objects.filter(inbound_message_id__in=stored).exists()

    stack.redis_start()  # back, empty: every hand-off made during the outage is gone
    stack.worker_start()

    def all_answered() -> bool:
        runs = PipelineRun.objects.filter(inbound_message_id__in=stored)
        return runs.count() == len(stored) and all(run.is_final for run in runs)

    wait_until(all_answered, seconds=50, what="every stored message answered", every=0.5)
    time.sleep(2)  # a few more sweeps: none may answer a message twice

    runs = PipelineRun.objects.filter(inbound_message_id__in=stored)
    assert runs.count() == len(stored)
    assert set(_replies_to(stored).values()) == {1}
    print(
        f"\nbroker down: {len(answers)} webhooks, {len(accepted)} answered 200, "
        f"slowest {slowest:.2f} s; {len(stored)} stored, {runs.count()} runs, "
        f"{sum(_replies_to(stored).values())} replies; {time.monotonic() - began:.1f} s in all"
    )
