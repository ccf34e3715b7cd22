"""The SLA report: the share of response targets met, per channel and per agent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.utils import timezone

from orchestrator.models import ResponseClock


@dataclass(frozen=True)
class TargetShare:
    """How many answers were due, and the share given in time."""

    label: str
    due: int
    met: int

    @property
    def share(self) -> float | None:
        return self.met / self.due if self.due else None


def sla_report(*, since: dt.datetime) -> tuple[list[TargetShare], list[TargetShare]]:
    """Share of response targets met since a moment, per channel and per agent. A clock still
    running past its target counts as missed; one running in time is not counted yet."""
    now = timezone.now()
    decided = ResponseClock.objects.filter(started_at__gte=since).filter(
        Q(state=ResponseClock.State.ANSWERED) | Q(due_at__lt=now)
    )
    met = Q(answered_at__isnull=False, answered_at__lte=F("due_at"))
    # Counted as `in_time`: the clock's own `met` property would shadow an annotation so named.
    by_channel = [
        TargetShare(label=row["channel"], due=row["due"], met=row["in_time"])
        for row in decided.values("channel")
        .annotate(due=Count("pk"), in_time=Count("pk", filter=met))
        .order_by("channel")
    ]
    by_agent = [
        TargetShare(label=row["agent__username"] or "(nobody)", due=row["due"], met=row["in_time"])
        for row in decided.values("agent__username")
        .annotate(due=Count("pk"), in_time=Count("pk", filter=met))
        .order_by("agent__username")
    ]
    return by_channel, by_agent
