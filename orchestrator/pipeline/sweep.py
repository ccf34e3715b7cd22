"""Making sure every stored message reaches the pipeline: messages whose hand-off to the queue
was lost (the broker was down when they arrived) and runs whose worker died or was killed by
its time limit are found here and handed on again. The unique run per message keeps it once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from memory.models import Channel
from memory.selectors import (
    inbound_message_ids_stored_between,
    outbound_message_ids_pending_between,
)
from orchestrator.models import PipelineRun

logger = logging.getLogger(__name__)

# Voice turns are answered inside the call's own request; a call that is over cannot be.
SWEPT_CHANNELS = tuple(c for c in Channel.values if c != Channel.VOICE)


@dataclass(frozen=True)
class Sweep:
    """What one sweep found: messages never planned, runs retried, runs given up on."""

    unplanned: tuple[int, ...]
    retried: tuple[int, ...]
    given_up: tuple[int, ...]
    undelivered: tuple[int, ...] = ()

    @property
    def to_enqueue(self) -> tuple[int, ...]:
        """Inbound message ids to hand to the pipeline again."""
        return (*self.unplanned, *self.retried)


def pipeline_sweep_find(*, now: dt.datetime | None = None, limit: int = 500) -> Sweep:
    """Messages stored more than the grace period ago that have no pipeline run, and runs still
    `running` past PIPELINE_STUCK_AFTER_SECONDS: those are marked failed (their attempt is
    over) and retried, or left failed for a person once PIPELINE_MAX_ATTEMPTS are used. And
    replies still `pending` past OUTBOUND_SWEEP_GRACE_SECONDS, whose delivery task was lost.
    """
    now = now or timezone.now()
    unplanned = inbound_message_ids_stored_between(
        since=now - dt.timedelta(hours=settings.PIPELINE_SWEEP_LOOKBACK_HOURS),
        until=now - dt.timedelta(seconds=settings.PIPELINE_SWEEP_GRACE_SECONDS),
        channels=SWEPT_CHANNELS,
        excluding=PipelineRun.objects.values_list("inbound_message_id", flat=True),
        limit=limit,
    )
    retried: list[int] = []
    given_up: list[int] = []
    stuck_before = now - dt.timedelta(seconds=settings.PIPELINE_STUCK_AFTER_SECONDS)
    with transaction.atomic():
        stuck = (
            PipelineRun.objects.select_for_update(skip_locked=True)
            .filter(
                status=PipelineRun.Status.RUNNING,
                started_at__lt=stuck_before,
                channel__in=SWEPT_CHANNELS,
            )
            .order_by("started_at")[:limit]
        )
        for run in stuck:
            gave_up = run.attempts >= settings.PIPELINE_MAX_ATTEMPTS
            run.status = PipelineRun.Status.FAILED
            run.error = (
                f"attempt {run.attempts} did not finish within "
                f"{settings.PIPELINE_STUCK_AFTER_SECONDS} s (worker lost or time limit)"
                + ("; gave up" if gave_up else "; retried by the sweeper")
            )
            run.save(update_fields=["status", "error"])
            (given_up if gave_up else retried).append(run.inbound_message_id)
    undelivered = outbound_message_ids_pending_between(
        since=now - dt.timedelta(hours=settings.PIPELINE_SWEEP_LOOKBACK_HOURS),
        until=now - dt.timedelta(seconds=settings.OUTBOUND_SWEEP_GRACE_SECONDS),
        limit=limit,
    )
    if unplanned or retried or given_up or undelivered:
        logger.warning(
            "pipeline sweep: %s message(s) never planned, %s stuck run(s) retried, %s given up, "
            "%s reply(ies) never delivered",
            len(unplanned),
            len(retried),
            len(given_up),
            len(undelivered),
        )
    return Sweep(
        unplanned=tuple(unplanned),
        retried=tuple(retried),
        given_up=tuple(given_up),
        undelivered=tuple(undelivered),
    )
