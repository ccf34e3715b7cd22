"""Watching every agent's and API client's context reads as they happen, and quarantining one
that misbehaves.

The gate calls `watch_begin` before it reads and `AgentWatch.observe` once the access entry is
written, in the same request: a threshold crossed quarantines the agent there and then (its
next read is refused), tells supervisors, and leaves an audit entry saying why. The sliding
windows live in Redis when REDIS_URL is set, else they are counted from the audit trail, so
every web and worker process sees the same counts.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from channels_app.api.clients import api_client_quarantine
from channels_app.models import ApiClient
from channels_app.publisher import SUPERVISORS, publish
from memory.audit import chained_entry_write
from memory.models import AuditEntry, Conversation
from orchestrator.models import AgentConfig, PipelineRun

if TYPE_CHECKING:
    from memory.actors import Actor

logger = logging.getLogger(__name__)

WATCH_LABEL = "system:anomaly-watch"
# Agents, and the other systems reading through the REST API and the MCP server.
WATCHED_PREFIXES = ("agent:", "api:", "mcp:")


class AnomalyKind(StrEnum):
    OUT_OF_SCOPE = "out_of_scope"
    MANY_CUSTOMERS = "many_customers"
    BURST = "burst"
    NO_RUN_BEHIND = "no_run_behind"


ANOMALY_DESCRIPTIONS = {
    AnomalyKind.OUT_OF_SCOPE: "reads outside its scope",
    AnomalyKind.MANY_CUSTOMERS: "many distinct customers in a short window",
    AnomalyKind.BURST: "a burst far above its usual rate",
    AnomalyKind.NO_RUN_BEHIND: "a read with no pipeline run behind it",
}


@dataclass(frozen=True)
class Thresholds:
    """When an agent's reads stop looking like work (settings RAPPORT_ANOMALY_*)."""

    refused_reads: int
    refused_seconds: int
    distinct_customers: int
    customers_seconds: int
    burst_seconds: int
    burst_min_reads: int
    burst_factor: float
    baseline_seconds: int
    require_run: bool

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            refused_reads=settings.RAPPORT_ANOMALY_REFUSED_READS,
            refused_seconds=settings.RAPPORT_ANOMALY_REFUSED_SECONDS,
            distinct_customers=settings.RAPPORT_ANOMALY_DISTINCT_CUSTOMERS,
            customers_seconds=settings.RAPPORT_ANOMALY_CUSTOMERS_SECONDS,
            burst_seconds=settings.RAPPORT_ANOMALY_BURST_SECONDS,
            burst_min_reads=settings.RAPPORT_ANOMALY_BURST_MIN_READS,
            burst_factor=settings.RAPPORT_ANOMALY_BURST_FACTOR,
            baseline_seconds=settings.RAPPORT_ANOMALY_BASELINE_SECONDS,
            require_run=settings.RAPPORT_ANOMALY_REQUIRE_RUN,
        )


@dataclass(frozen=True)
class Windows:
    """An agent's reads in each sliding window, this read included."""

    burst: int
    baseline: int
    customers: int
    refused: int


@dataclass
class AgentWatch:
    """One read under watch by an agent or an API client: what was known before it, and what
    it adds. `agent` is the agent's or the client's name, `label` the actor label read by."""

    agent: str
    label: str
    customer_id: int
    correlation_id: str
    started: float
    thresholds: Thresholds
    configured: bool
    quarantined: bool
    run_behind: bool
    prior: Windows | None = None
    seen_customer: bool = False

    @property
    def refusal(self) -> str | None:
        """Why the read must be refused before anything is read: a quarantined agent."""
        if not self.quarantined:
            return None
        return "the agent is quarantined" if self.is_agent else "the client is quarantined"

    @property
    def is_agent(self) -> bool:
        return self.label.startswith("agent:")

    @property
    def unbacked(self) -> bool:
        """A configured agent reading with no pipeline run of this customer behind it."""
        return self.configured and self.thresholds.require_run and not self.run_behind

    def observe(self, *, entry: AuditEntry) -> AgentConfig | ApiClient | None:
        """Count the read (its entry already written) and quarantine the agent or client if it
        crossed a threshold; returns its configuration when it was quarantined now."""
        windows = self._windows_after(entry)
        if self.quarantined:
            return None
        crossed = self._crossed(windows, entry)
        if crossed is None:
            return None
        kind, reason = crossed
        if not self.is_agent:
            return api_client_quarantine(
                name=self.agent,
                kind=kind.value,
                reason=f"{ANOMALY_DESCRIPTIONS[kind]}: {reason}",
                offending=entry,
                detection_ms=(time.perf_counter() - self.started) * 1000,
            )
        return agent_quarantine(
            agent=self.agent,
            kind=kind,
            reason=reason,
            offending=entry,
            detection_ms=(time.perf_counter() - self.started) * 1000,
        )

    def _crossed(self, windows: Windows, entry: AuditEntry) -> tuple[AnomalyKind, str] | None:
        limits = self.thresholds
        if self.unbacked:
            return AnomalyKind.NO_RUN_BEHIND, (
                f"read customer #{self.customer_id} with correlation id "
                f"{self.correlation_id or '(none)'} and no pipeline run behind it"
            )
        if windows.refused >= limits.refused_reads:
            return AnomalyKind.OUT_OF_SCOPE, (
                f"{windows.refused} reads outside its scope in {limits.refused_seconds}s"
            )
        if self.run_behind:
            # A read for a pipeline run of this very customer is the agent doing its job: a
            # busy afternoon is many customers and many reads. Volume is watched on the reads
            # that answer to no such run (API and MCP clients, agents reading on their own).
            return None
        if windows.customers > limits.distinct_customers:
            return AnomalyKind.MANY_CUSTOMERS, (
                f"{windows.customers} distinct customers in {limits.customers_seconds}s "
                f"(limit {limits.distinct_customers})"
            )
        spans = max(1.0, (limits.baseline_seconds - limits.burst_seconds) / limits.burst_seconds)
        usual = windows.baseline / spans
        ceiling = max(limits.burst_min_reads, limits.burst_factor * usual)
        if windows.burst > ceiling:
            return AnomalyKind.BURST, (
                f"{windows.burst} reads in {limits.burst_seconds}s against a usual "
                f"{usual:.1f} (ceiling {ceiling:.0f})"
            )
        return None

    def _windows_after(self, entry: AuditEntry) -> Windows:
        refused = int(entry.outcome == AuditEntry.Outcome.REFUSED)
        if self.prior is not None:
            return Windows(
                burst=self.prior.burst + 1,
                baseline=self.prior.baseline,
                customers=self.prior.customers + (0 if self.seen_customer else 1),
                refused=self.prior.refused + refused,
            )
        try:
            return _redis_windows_add(
                key=self.label,
                entry=entry,
                customer_id=self.customer_id,
                refused=bool(refused),
                limits=self.thresholds,
            )
        except redis.RedisError:
            logger.warning("anomaly windows: Redis unavailable, counting from the audit trail")
            return _db_windows(
                label=self.label, customer_id=self.customer_id, limits=self.thresholds
            )


def watch_begin(
    *, actor: Actor, customer_id: int, correlation_id: str, started: float
) -> AgentWatch | None:
    """Start watching one read by an agent or an API/MCP client (people and Rapport itself are
    not watched): one query: whether it is quarantined, what work stands behind the read and
    (without Redis) its windows so far. A client answers to no pipeline run, so only its
    volume and its refusals are judged."""
    if not actor.label.startswith(WATCHED_PREFIXES):
        return None
    label = actor.label
    agent = label.partition(":")[2]
    limits = Thresholds.from_settings()
    columns: list[QuerySet[Any]]
    if label.startswith("agent:"):
        columns = [
            AgentConfig.objects.filter(name=agent).values("quarantined")[:1],
            AgentConfig.objects.filter(name=agent).values("kind")[:1],
            _work_behind(correlation_id, customer_id).values("pk")[:1],
        ]
    else:
        columns = [
            ApiClient.objects.filter(name=agent).values("quarantined")[:1],
            PipelineRun.objects.none().values("pk"),
            PipelineRun.objects.none().values("pk"),
        ]
    if not _redis_url():
        columns += _db_window_columns(label=label, customer_id=customer_id, limits=limits)
    values = _scalars(columns)
    watch = AgentWatch(
        agent=agent,
        label=label,
        customer_id=customer_id,
        correlation_id=correlation_id,
        started=started,
        thresholds=limits,
        configured=_runs_in_pipeline(agent, values[1]),
        quarantined=bool(values[0]),
        run_behind=values[2] is not None,
    )
    if len(values) > 3:
        burst, baseline, customers, seen, refused = (int(v or 0) for v in values[3:])
        watch.prior = Windows(burst=burst, baseline=baseline, customers=customers, refused=refused)
        watch.seen_customer = seen > 0
    return watch


def _runs_in_pipeline(agent: str, kind: str | None) -> bool:
    """Agents the pipeline runs (built in, or external and configured) always have a run
    behind their reads; a config the watch added when quarantining does not make one."""
    from orchestrator.agents.registry import BUILTIN_AGENTS

    if kind is None:
        return False
    return kind != AgentConfig.Kind.BUILTIN or agent in BUILTIN_AGENTS


def _work_behind(correlation_id: str, customer_id: int) -> QuerySet[Any]:
    """The orchestrator's work a correlation id names, for this customer (empty if none)."""
    kind, _, ident = correlation_id.partition(":")
    if not ident.isdigit():
        return PipelineRun.objects.none()
    # Matched on the message's customer now, not the run's: a merge mid-run moves the message.
    if kind == "message":
        return PipelineRun.objects.filter(
            inbound_message_id=int(ident), inbound_message__customer_id=customer_id
        )
    if kind == "run":
        return PipelineRun.objects.filter(pk=int(ident), inbound_message__customer_id=customer_id)
    if kind == "conversation":
        return Conversation.objects.filter(pk=int(ident), customer_id=customer_id)
    return PipelineRun.objects.none()


def _scalars(columns: list[QuerySet[Any]]) -> list[Any]:
    """Run several one-value queries as one SELECT of scalar subqueries."""
    parts: list[str] = []
    params: list[Any] = []
    for queryset in columns:
        try:
            sql, sub_params = queryset.query.sql_with_params()
        except EmptyResultSet:
            parts.append("NULL")
            continue
        parts.append(f"({sql})")
        params.extend(sub_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return list(row)


def _agent_reads(label: str, since: dt.datetime) -> QuerySet[AuditEntry]:
    """The agent's or client's access entries since `since`, leaving out those before a lifted
    quarantine."""
    kind, _, name = label.partition(":")
    watched: type[AgentConfig] | type[ApiClient] = AgentConfig if kind == "agent" else ApiClient
    lifted_after = watched.objects.filter(
        name=name, quarantine_lifted_at__gte=OuterRef("timestamp")
    )
    return AuditEntry.objects.filter(
        actor_label=label, action=AuditEntry.Action.ACCESS, timestamp__gte=since
    ).filter(~Exists(lifted_after))


def _db_window_columns(*, label: str, customer_id: int, limits: Thresholds) -> list[QuerySet[Any]]:
    now = timezone.now()
    burst_from = now - dt.timedelta(seconds=limits.burst_seconds)
    customers_from = now - dt.timedelta(seconds=limits.customers_seconds)

    def counted(queryset: QuerySet[AuditEntry], *, distinct: bool = False) -> QuerySet[Any]:
        field = "object_id" if distinct else "pk"
        return (
            queryset.values("actor_label")
            .annotate(n=Count(field, distinct=distinct))
            .values("n")
            .order_by()
        )

    return [
        counted(_agent_reads(label, burst_from)),
        counted(
            _agent_reads(label, now - dt.timedelta(seconds=limits.baseline_seconds)).filter(
                timestamp__lt=burst_from
            )
        ),
        counted(_agent_reads(label, customers_from), distinct=True),
        counted(_agent_reads(label, customers_from).filter(object_id=customer_id)),
        counted(
            _agent_reads(label, now - dt.timedelta(seconds=limits.refused_seconds)).filter(
                outcome=AuditEntry.Outcome.REFUSED
            )
        ),
    ]


def _db_windows(*, label: str, customer_id: int, limits: Thresholds) -> Windows:
    """The windows counted from the audit trail, this read (already written) included."""
    burst, baseline, customers, _, refused = (
        int(v or 0)
        for v in _scalars(_db_window_columns(label=label, customer_id=customer_id, limits=limits))
    )
    return Windows(burst=burst, baseline=baseline, customers=customers, refused=refused)


@cache
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _redis_url() -> str:
    return str(getattr(settings, "RAPPORT_ANOMALY_REDIS_URL", "") or "")


def _keys(key: str) -> tuple[str, str, str]:
    """Agents keep their bare name (a slug, no colon); clients their full label (api:crm)."""
    prefix = f"rapport:watch:{key.removeprefix('agent:')}"
    return f"{prefix}:reads", f"{prefix}:customers", f"{prefix}:refused"


def _redis_windows_add(
    *, key: str, entry: AuditEntry, customer_id: int, refused: bool, limits: Thresholds
) -> Windows:
    """Add the read to the agent's or client's windows and count them, in one round trip."""
    now = time.time()
    reads, customers, refusals = _keys(key)
    keep = max(limits.baseline_seconds, limits.customers_seconds, limits.refused_seconds)
    pipe = _redis_client(_redis_url()).pipeline(transaction=True)
    pipe.zadd(reads, {str(entry.pk): now})
    pipe.zremrangebyscore(reads, "-inf", now - limits.baseline_seconds)
    pipe.zcount(reads, now - limits.burst_seconds, "+inf")
    pipe.zcount(reads, "-inf", f"({now - limits.burst_seconds}")
    pipe.zadd(customers, {str(customer_id): now})
    pipe.zremrangebyscore(customers, "-inf", now - limits.customers_seconds)
    pipe.zcard(customers)
    if refused:
        pipe.zadd(refusals, {str(entry.pk): now})
    pipe.zremrangebyscore(refusals, "-inf", now - limits.refused_seconds)
    pipe.zcard(refusals)
    for key in (reads, customers, refusals):
        pipe.expire(key, keep)
    results = pipe.execute()
    counts = [r for r, cmd in zip(results, _commands(refused), strict=True) if cmd == "count"]
    burst, baseline, distinct, refused_count = (int(c) for c in counts)
    return Windows(burst=burst, baseline=baseline, customers=distinct, refused=refused_count)


def _commands(refused: bool) -> list[str]:
    """Which of the pipeline's replies are the counts, in the order they were asked."""
    commands = ["add", "trim", "count", "count", "add", "trim", "count"]
    commands += (["add"] if refused else []) + ["trim", "count", "ttl", "ttl", "ttl"]
    return commands


# Quarantine ------------------------------------------------------------------------------------


def agent_quarantine(
    *,
    agent: str,
    kind: AnomalyKind,
    reason: str,
    offending: AuditEntry,
    detection_ms: float,
) -> AgentConfig:
    """Quarantine an agent for an anomaly seen in `offending`: its next read is refused,
    supervisors are alerted, and the audit trail says why and how fast."""
    with transaction.atomic():
        config, _ = AgentConfig.objects.select_for_update().get_or_create(
            name=agent,
            defaults={"description": "Seen reading customer context; added when quarantined."},
        )
        if config.quarantined:
            return config
        config.quarantined = True
        config.quarantine_kind = kind.value
        config.quarantine_reason = f"{ANOMALY_DESCRIPTIONS[kind]}: {reason}"[:300]
        config.quarantined_at = timezone.now()
        config.quarantine_detection_ms = round(detection_ms, 3)
        config.save(
            update_fields=[
                "quarantined",
                "quarantine_kind",
                "quarantine_reason",
                "quarantined_at",
                "quarantine_detection_ms",
                "updated_at",
            ]
        )
        chained_entry_write(
            target=config,
            action=AuditEntry.Action.UPDATE,
            actor_label=WATCH_LABEL,
            purpose=f"quarantine agent {agent}: {kind.value}",
            correlation_id=offending.cid or "",
            detail={
                "anomaly": kind.value,
                "reason": reason,
                "offending_entry": offending.pk,
                "offending_seq": offending.seq,
                "detection_ms": config.quarantine_detection_ms,
            },
        )
        publish(
            "agent.quarantined",
            {
                "agent": agent,
                "anomaly": kind.value,
                "reason": config.quarantine_reason,
                "detection_ms": config.quarantine_detection_ms,
            },
            groups=[SUPERVISORS],
        )
    logger.warning("quarantined agent %s: %s", agent, config.quarantine_reason)
    return config


def agent_quarantine_lift(*, config: AgentConfig, lifted_by: str) -> AgentConfig:
    """A supervisor clears a quarantine: reads before now stop counting towards anomalies."""
    with transaction.atomic():
        config = AgentConfig.objects.select_for_update().get(pk=config.pk)
        if not config.quarantined:
            return config
        was = config.quarantine_reason
        config.quarantined = False
        config.quarantine_reason = ""
        config.quarantine_kind = ""
        config.quarantine_lifted_at = timezone.now()
        config.save(
            update_fields=[
                "quarantined",
                "quarantine_reason",
                "quarantine_kind",
                "quarantine_lifted_at",
                "updated_at",
            ]
        )
        chained_entry_write(
            target=config,
            action=AuditEntry.Action.UPDATE,
            actor_label=lifted_by,
            purpose=f"lift quarantine of agent {config.name}",
            detail={"was": was},
        )
        if _redis_url():
            _windows_forget(config.name)
        publish(
            "agent.quarantine_lifted", {"agent": config.name, "by": lifted_by}, groups=[SUPERVISORS]
        )
    return config


def _windows_forget(agent: str) -> None:
    _redis_client(_redis_url()).delete(*_keys(agent))


def windows_forget_all() -> None:
    """Drop every agent's windows (a test database rolled back; Redis did not)."""
    if not _redis_url():
        return
    client = _redis_client(_redis_url())
    keys = list(client.scan_iter(match="rapport:watch:*", count=500))
    if keys:
        client.delete(*keys)


def quarantines_recent(*, since: dt.datetime) -> QuerySet[AuditEntry]:
    """The watch's quarantine entries since `since`, newest first (for reports)."""
    return AuditEntry.objects.filter(Q(actor_label=WATCH_LABEL) & Q(timestamp__gte=since)).order_by(
        "-timestamp"
    )
