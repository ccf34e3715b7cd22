"""Pipeline throughput: inbound SMS through the real webhook view and the real pipeline, inline
(tasks run in this process) and on a real Celery worker on Redis, timed until every message's
PipelineRun is final."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.perf.stats import summary
from bench.perf.traffic import InProcessSender, senders_sample, texts
from config.celery import app as celery_app
from memory.models import Message
from orchestrator.models import PipelineRun


@contextmanager
def tasks_inline(inline: bool) -> Iterator[None]:
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = inline
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = before


def _send(count: int, *, seed: int) -> tuple[list[str], float]:
    sender = InProcessSender()
    sids = []
    started = time.perf_counter()
    for phone, text in zip(
        senders_sample(count, seed=seed),
        texts(count, seed=seed),
        strict=True,
    ):
        sid, status = sender.send(sender=phone, text=text)
        if status != 200:
            raise RuntimeError(f"the SMS webhook answered {status}")
        sids.append(sid)
    return sids, started


def _runs(sids: list[str]) -> list[PipelineRun]:
    return list(
        PipelineRun.objects.filter(
            inbound_message__channel="sms", inbound_message__provider_id__in=sids
        )
    )


def _figures(
    *, mode: str, sids: list[str], seconds: float, runs: list[PipelineRun]
) -> dict[str, Any]:
    final = [run for run in runs if _done(run)]
    statuses: dict[str, int] = {}
    for run in runs:
        statuses[run.status] = statuses.get(run.status, 0) + 1
    replies = Message.objects.filter(
        pk__in=[run.reply_message_id for run in runs if run.reply_message_id]
    ).count()
    return {
        "mode": mode,
        "messages": len(sids),
        "final": len(final),
        "statuses": statuses,
        "replies_queued": replies,
        "seconds": round(seconds, 3),
        "messages_per_second": round(len(final) / seconds, 2) if seconds else 0.0,
        "run_total_ms": summary([run.total_ms for run in final if run.total_ms is not None]),
    }


def throughput_inline(*, messages: int, seed: int) -> dict[str, Any]:
    """Each webhook runs its pipeline before it answers (Celery eager, as `make run` does
    without Redis): messages per second of one process doing everything."""
    with tasks_inline(True):
        _send(min(3, messages), seed=seed + 1)  # load models
        sids, started = _send(messages, seed=seed)
        seconds = time.perf_counter() - started
    return _figures(mode="inline", sids=sids, seconds=seconds, runs=_runs(sids))


def throughput_worker(
    *, messages: int, seed: int, timeout: float, concurrency: int
) -> dict[str, Any]:
    """Enqueue `messages` through the webhook (stored, then queued on Redis after commit) and
    time until a real worker has made every PipelineRun final."""
    with tasks_inline(False):
        warm, _ = _send(min(concurrency * 2, messages), seed=seed + 2)
        _wait_final(warm, timeout=timeout)
        sids, started = _send(messages, seed=seed)
        enqueued = time.perf_counter() - started
        runs = _wait_final(sids, timeout=timeout)
        seconds = time.perf_counter() - started
    figures = _figures(
        mode=f"celery worker, concurrency {concurrency}", sids=sids, seconds=seconds, runs=runs
    )
    figures["enqueue_seconds"] = round(enqueued, 3)
    figures["timed_out"] = len([r for r in runs if _done(r)]) < len(sids)
    queued = [
        run.timings.get("queued")
        for run in runs
        if isinstance(run.timings.get("queued"), float | int)
    ]
    figures["queue_wait_ms_median"] = round(statistics.median(queued), 1) if queued else None
    return figures


def _wait_final(sids: list[str], *, timeout: float) -> list[PipelineRun]:
    deadline = time.monotonic() + timeout
    while True:
        runs = _runs(sids)
        if sum(_done(run) for run in runs) >= len(sids) or time.monotonic() > deadline:
            return runs
        time.sleep(0.2)


def _done(run: PipelineRun) -> bool:
    """Final, or failed (a failure is an outcome too: it is counted in `statuses`)."""
    return run.status != PipelineRun.Status.RUNNING
