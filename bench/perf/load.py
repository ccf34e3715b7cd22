"""The HTTP phases against a real server: webhook acknowledgement under open-loop load, and
inbound SMS to reply queued (the outbound Message row) below capacity.

Open loop: request i leaves at start + i / rate whatever the answers before it did, and its
latency counts from that scheduled moment, so a server that falls behind shows it instead of
slowing the sender down (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from django.utils import timezone

from bench.perf.stats import summary
from bench.perf.traffic import (
    BENCH_TWILIO_TOKEN,
    SMS_PATH,
    SignedRequest,
    senders_sample,
    sms_webhook,
    texts,
)
from memory.models import Message
from orchestrator.models import PipelineRun

REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Outcome:
    sid: str
    sent_at: dt.datetime
    latency_ms: float | None
    status: int
    error: str


def signed_batch(count: int, *, public_url: str, seed: int) -> list[SignedRequest]:
    """Sign every request before the clock starts, so signing never delays a send."""
    return [
        sms_webhook(public_url=public_url, token=BENCH_TWILIO_TOKEN, sender=phone, text=text)
        for phone, text in zip(
            senders_sample(count, seed=seed),
            texts(count, seed=seed),
            strict=True,
        )
    ]


async def _open_loop(url: str, requests: list[SignedRequest], rate: float) -> list[Outcome]:
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def one(request: SignedRequest, scheduled: float) -> Outcome:
            sent_at = timezone.now()
            try:
                async with session.post(url, data=request.body, headers=request.headers) as answer:
                    await answer.read()
                    return Outcome(
                        request.sid, sent_at, (loop.time() - scheduled) * 1000, answer.status, ""
                    )
            except TimeoutError:
                return Outcome(request.sid, sent_at, None, 0, "timeout")
            except aiohttp.ClientError as error:
                return Outcome(request.sid, sent_at, None, 0, type(error).__name__)

        start = loop.time() + 0.1
        pending = []
        for index, request in enumerate(requests):
            scheduled = start + index / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(one(request, scheduled)))
        return list(await asyncio.gather(*pending))


def open_loop(url: str, requests: list[SignedRequest], rate: float) -> list[Outcome]:
    return asyncio.run(_open_loop(url, requests, rate))


def ack_under_load(*, base_url: str, rate: float, seconds: float, seed: int) -> dict[str, Any]:
    """Signed SMS webhooks at `rate` per second for `seconds`: ack latency, errors, timeouts."""
    requests = signed_batch(max(1, int(rate * seconds)), public_url=base_url, seed=seed)
    started = time.perf_counter()
    outcomes = open_loop(base_url + SMS_PATH, requests, rate)
    elapsed = time.perf_counter() - started
    answered = [o for o in outcomes if o.latency_ms is not None]
    ok = [o for o in answered if 200 <= o.status < 300]
    statuses: dict[str, int] = {}
    for outcome in answered:
        statuses[str(outcome.status)] = statuses.get(str(outcome.status), 0) + 1
    return {
        "rate_per_second": rate,
        "seconds": seconds,
        "sent": len(outcomes),
        "accepted": len(ok),
        "non_2xx": len(answered) - len(ok),
        "statuses": statuses,
        "errors": len([o for o in outcomes if o.error and o.error != "timeout"]),
        "timeouts": len([o for o in outcomes if o.error == "timeout"]),
        "achieved_per_second": round(len(ok) / elapsed, 2) if elapsed else 0.0,
        "ack": summary([o.latency_ms for o in ok if o.latency_ms is not None]),
    }


def reply_latency(
    *,
    base_url: str,
    messages: int,
    rate: float,
    seed: int,
    timeout: float,
) -> dict[str, Any]:
    """Inbound SMS (webhook sent) to its reply stored as an outbound Message, at a rate the
    worker keeps up with; messages handed to a person (no automated reply) are counted apart."""
    requests = signed_batch(messages, public_url=base_url, seed=seed)
    outcomes = open_loop(base_url + SMS_PATH, requests, rate)
    sent_at = {o.sid: o.sent_at for o in outcomes if 200 <= o.status < 300}
    deadline = time.monotonic() + timeout
    while True:
        runs = list(
            PipelineRun.objects.filter(
                inbound_message__channel="sms", inbound_message__provider_id__in=list(sent_at)
            ).select_related("inbound_message")
        )
        finished = [run for run in runs if run.status != PipelineRun.Status.RUNNING]
        if len(finished) >= len(sent_at) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    replies = {
        message.pk: message.created_at
        for message in Message.objects.filter(
            pk__in=[run.reply_message_id for run in finished if run.reply_message_id]
        ).only("pk", "created_at")
    }
    latencies = [
        (replies[run.reply_message_id] - sent_at[run.inbound_message.provider_id]).total_seconds()
        * 1000
        for run in finished
        if run.reply_message_id in replies and run.inbound_message.provider_id in sent_at
    ]
    return {
        "messages": messages,
        "rate_per_second": rate,
        "accepted": len(sent_at),
        "replied": len(latencies),
        "without_reply": len(finished) - len(latencies),
        "unfinished": len(sent_at) - len(finished),
        "reply_queued": summary(latencies),
    }
