"""The SLA report: the share of response targets met, per channel and per agent, and the
charts beside it (inbound volume, handoffs, reply times over a recent span)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.utils import timezone

from memory.selectors.work import wrap_ups_count_by_disposition
from orchestrator.models import Disposition, PipelineRun, ResponseClock


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
    # A call that ended while the customer waited cannot be answered: not a missed target.
    decided = (
        ResponseClock.objects.filter(started_at__gte=since)
        .filter(Q(state=ResponseClock.State.ANSWERED) | Q(due_at__lt=now))
        .exclude(Q(conversation__status="closed") & ~Q(state=ResponseClock.State.ANSWERED))
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


@dataclass(frozen=True)
class DispositionCount:
    name: str
    label: str
    resolved: int


@dataclass(frozen=True)
class ResolvedToday:
    """Conversations resolved since local midnight, per disposition (every enabled one shown,
    at zero too, so the figure a supervisor watches does not appear from nowhere)."""

    total: int
    by_disposition: tuple[DispositionCount, ...]


def resolved_today(*, now: dt.datetime | None = None) -> ResolvedToday:
    """The day's resolutions by how they ended; two queries."""
    midnight = timezone.localtime(now or timezone.now()).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    counts = wrap_ups_count_by_disposition(since=midnight)
    labels = {d.name: d.label for d in Disposition.objects.filter(enabled=True)}
    names = [*labels, *sorted(name for name in counts if name not in labels)]
    return ResolvedToday(
        total=sum(counts.values()),
        by_disposition=tuple(
            DispositionCount(name=name, label=labels.get(name, name), resolved=counts.get(name, 0))
            for name in names
        ),
    )


# Charts: volume, handoffs and reply times over a recent span, in equal buckets ------------------


@dataclass(frozen=True)
class ChartSpan:
    """How far back the charts look, and how wide each bar is."""

    key: str
    label: str
    bucket: dt.timedelta
    buckets: int
    unit: str  # the bucket in words: "hour", "5 minutes"


CHART_SPANS: dict[str, ChartSpan] = {
    span.key: span
    for span in (
        ChartSpan("hour", "last hour, per 5 minutes", dt.timedelta(minutes=5), 12, "5 minutes"),
        ChartSpan("day", "last 24 hours, per hour", dt.timedelta(hours=1), 24, "hour"),
        ChartSpan("week", "last 7 days, per 6 hours", dt.timedelta(hours=6), 28, "6 hours"),
    )
}
CHART_CHANNELS = ("sms", "voice", "email")


@dataclass(frozen=True)
class ReportCharts:
    """The figures the report's charts draw, one value per bucket (oldest first); a median
    is None for a bucket with nothing to measure, so the line breaks instead of reading 0."""

    span: ChartSpan
    starts: tuple[dt.datetime, ...]
    volume: dict[str, tuple[int, ...]]
    handoffs: tuple[int, ...]
    automated_p50_s: tuple[float | None, ...]
    automated_p90_s: tuple[float | None, ...]
    person_p50_min: tuple[float | None, ...]
    person_target_min: float | None

    @property
    def inbound_total(self) -> int:
        return sum(sum(counts) for counts in self.volume.values())

    @property
    def handoff_total(self) -> int:
        return sum(self.handoffs)

    def as_json(self) -> dict[str, object]:
        """What charts.js draws: plain numbers and ISO times."""
        return {
            "span": self.span.label,
            "bucket_seconds": int(self.span.bucket.total_seconds()),
            "starts": [start.isoformat() for start in self.starts],
            "volume": {channel: list(counts) for channel, counts in self.volume.items()},
            "handoffs": list(self.handoffs),
            "automated_p50_s": list(self.automated_p50_s),
            "automated_p90_s": list(self.automated_p90_s),
            "person_p50_min": list(self.person_p50_min),
            "person_target_min": self.person_target_min,
        }


def _bucket_starts(span: ChartSpan, now: dt.datetime) -> tuple[dt.datetime, ...]:
    """Bucket boundaries aligned to the clock (whole hours, five-minute marks), the last one
    holding now, so a bar keeps its place as the page refreshes."""
    width = span.bucket.total_seconds()
    current = dt.datetime.fromtimestamp(now.timestamp() // width * width, tz=dt.UTC)
    return tuple(current - span.bucket * (span.buckets - 1 - i) for i in range(span.buckets))


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def report_charts(*, span: ChartSpan, now: dt.datetime | None = None) -> ReportCharts:
    """Inbound volume per channel, handoffs, and reply times per bucket: two queries.

    Volume and automated reply time come from the pipeline runs (one per inbound message; its
    total is inbound seen to reply decided); a handoff is a customer starting to wait for a
    person's first answer, and the person's reply time is how long that wait lasted."""
    now = now or timezone.now()
    starts = _bucket_starts(span, now)
    since = starts[0]
    width = span.bucket.total_seconds()

    def slot(moment: dt.datetime) -> int | None:
        index = int((moment - since).total_seconds() // width)
        return index if 0 <= index < span.buckets else None

    volume = {channel: [0] * span.buckets for channel in CHART_CHANNELS}
    automated: list[list[float]] = [[] for _ in starts]
    runs = PipelineRun.objects.filter(started_at__gte=since, started_at__lte=now).values_list(
        "started_at", "channel", "total_ms", "reply_message_id"
    )
    for started_at, channel, total_ms, reply_id in runs.iterator(chunk_size=2000):
        index = slot(started_at)
        if index is None:
            continue
        volume.setdefault(channel, [0] * span.buckets)[index] += 1
        if reply_id is not None and total_ms is not None:
            automated[index].append(total_ms / 1000)

    handoffs = [0] * span.buckets
    waits: list[list[float]] = [[] for _ in starts]
    targets: list[float] = []
    clocks = ResponseClock.objects.filter(
        kind=ResponseClock.Kind.FIRST, started_at__gte=since, started_at__lte=now
    ).values_list("started_at", "answered_at", "due_at")
    for started_at, answered_at, due_at in clocks.iterator(chunk_size=2000):
        index = slot(started_at)
        if index is None:
            continue
        handoffs[index] += 1
        targets.append((due_at - started_at).total_seconds() / 60)
        if answered_at is not None:
            waits[index].append((answered_at - started_at).total_seconds() / 60)

    return ReportCharts(
        span=span,
        starts=starts,
        volume={channel: tuple(counts) for channel, counts in volume.items()},
        handoffs=tuple(handoffs),
        automated_p50_s=tuple(_quantile(values, 0.5) for values in automated),
        automated_p90_s=tuple(_quantile(values, 0.9) for values in automated),
        person_p50_min=tuple(_quantile(values, 0.5) for values in waits),
        person_target_min=_quantile(targets, 0.5),
    )
