"""The access watch: every agent's and API client's context reads, judged as they happen, and
the quarantine of one that misbehaves.

The gate calls `watch_begin` before it reads (or asks `watches_ask`'s questions in its own
read statement and hands the answers to `watches_judge`) and `AgentWatch.observe` once the
access entry is written, in the same request: a threshold crossed quarantines the actor there
and then (its next read is refused), tells supervisors, and leaves an audit entry saying why.
The sliding windows live in Redis when REDIS_URL is set, else they are counted from the audit
trail, so every web and worker process sees the same counts.

An agent reads for a piece of work: its correlation id names the message (`message:<id>`) or
conversation (`conversation:<id>`) of this customer it is working on. A read that names none is
a read with no work behind it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
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
from django.utils.dateparse import parse_datetime

from memory.audit import chained_entry_write
from memory.events import ActorQuarantined, ActorQuarantineLifted, publish
from memory.models import ActorQuarantine, AuditEntry, Conversation, Message

if TYPE_CHECKING:
    from collections.abc import Sequence

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
    key: str
    customer_id: int
    correlation_id: str
    started: float
    thresholds: Thresholds
    quarantined: bool
    run_behind: bool
    prior: Windows | None = None
    seen_customer: bool = False
    # The anomaly this very read would be, judged before anything is read: the read that
    # crosses a threshold is refused, not served and then regretted.
    crossing: tuple[AnomalyKind, str] | None = None
    # The windows after this read, when it was added to them as it was judged (one round trip
    # for both): observing it then counts nothing more.
    after: Windows | None = None

    @property
    def refusal(self) -> str | None:
        """Why the read must be refused before anything is read: a quarantined actor, or a
        read that would itself cross a threshold (the actor is quarantined by it)."""
        who = "the agent" if self.is_agent else "the client"
        if self.quarantined:
            return f"{who} is quarantined"
        if self.crossing is not None:
            return f"{who} is quarantined: {ANOMALY_DESCRIPTIONS[self.crossing[0]]}"
        return None

    @property
    def is_agent(self) -> bool:
        return self.label.startswith("agent:")

    @property
    def unbacked(self) -> bool:
        """An agent reading with no work for this customer behind it."""
        return self.is_agent and self.thresholds.require_run and not self.run_behind

    def observe(
        self, *, entry: AuditEntry, windows: Windows | None = None
    ) -> ActorQuarantine | None:
        """Count the read (its entry already written) and quarantine the agent or client if it
        crossed a threshold; returns the quarantine when it was put in place now. `windows`
        when they were already counted for several reads at once (`watches_observe`)."""
        windows = windows or self.after or self._windows_after(entry)
        if self.quarantined:
            return None
        crossed = self.crossing or self._crossed(windows, entry)
        if crossed is None:
            return None
        kind, reason = crossed
        return actor_quarantine(
            actor=self.key,
            reason=f"{ANOMALY_DESCRIPTIONS[kind]}: {reason}",
            anomaly=kind,
            quarantined_by=WATCH_LABEL,
            offending=entry,
            detection_ms=(time.perf_counter() - self.started) * 1000,
        )

    def _windows_prior_after(self, entry: AuditEntry) -> Windows | None:
        """The windows after this read from those counted before it (no Redis), else None."""
        if self.prior is None:
            return None
        return Windows(
            burst=self.prior.burst + 1,
            baseline=self.prior.baseline,
            customers=self.prior.customers + (0 if self.seen_customer else 1),
            refused=self.prior.refused + int(entry.outcome == AuditEntry.Outcome.REFUSED),
        )

    def _crossed(
        self, windows: Windows, entry: AuditEntry | None
    ) -> tuple[AnomalyKind, str] | None:
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

    def judge_before(self, seen: Windows | None) -> None:
        """Judge the read before it is served, from the windows so far plus this read: a read
        that would cross a volume threshold (or an agent's read with no work behind it) is
        the one refused."""
        if self.quarantined:
            return
        if self.unbacked:
            self.crossing = self._crossed(Windows(0, 0, 0, 0), None)
            return
        if seen is None or self.run_behind:
            return
        after = Windows(
            burst=seen.burst + 1,
            baseline=seen.baseline,
            customers=seen.customers + (0 if self.seen_customer else 1),
            refused=0,
        )
        self.crossing = self._crossed(after, None)

    def _windows_after(self, entry: AuditEntry) -> Windows:
        counted = self._windows_prior_after(entry)
        if counted is not None:
            return counted
        try:
            return _redis_windows_add(
                key=self.key,
                entry=entry,
                customer_id=self.customer_id,
                refused=entry.outcome == AuditEntry.Outcome.REFUSED,
                limits=self.thresholds,
            )
        except redis.RedisError:
            logger.warning("anomaly windows: Redis unavailable, counting from the audit trail")
            return _db_windows(label=self.key, customer_id=self.customer_id, limits=self.thresholds)


def watches_observe(observed: list[tuple[AgentWatch, AuditEntry]]) -> list[ActorQuarantine | None]:
    """`AgentWatch.observe` for several reads written together (a context pack shared by the
    agents of one message): their windows counted in one Redis round trip."""
    windows: list[Windows | None] = [
        watch.after or watch._windows_prior_after(entry) for watch, entry in observed
    ]
    pending = [i for i, counted in enumerate(windows) if counted is None]
    if len(pending) > 1:
        try:
            added = _redis_windows_add_many(
                [(observed[i][0].key, observed[i][1], observed[i][0].customer_id) for i in pending],
                limits=observed[pending[0]][0].thresholds,
            )
        except redis.RedisError:
            logger.warning("anomaly windows: Redis unavailable, counting from the audit trail")
        else:
            for i, counted in zip(pending, added, strict=True):
                windows[i] = counted
    return [
        watch.observe(entry=entry, windows=counted)
        for (watch, entry), counted in zip(observed, windows, strict=True)
    ]


def watch_begin(
    *,
    actor: Actor,
    customer_id: int,
    correlation_id: str,
    started: float,
    refused: bool | None = None,
) -> AgentWatch | None:
    """Start watching one read by an agent or an API/MCP client (people and Rapport itself are
    not watched) and judge it before it is served: one query (whether it is quarantined, when
    a quarantine was last lifted, what work stands behind the read and, without Redis, its
    windows so far), or that query and one Redis round trip. A client answers to no piece of
    work, so only its volume and its refusals are judged. With `refused` (whether the read is
    refused by the actor's scope) that round trip also counts the read (`watches_judge`)."""
    (watch,) = watches_begin(
        actors=[actor],
        customer_id=customer_id,
        correlation_id=correlation_id,
        started=started,
        refused=None if refused is None else [refused],
    )
    return watch


def watches_begin(
    *,
    actors: list[Actor],
    customer_id: int,
    correlation_id: str,
    started: float,
    refused: Sequence[bool] | None = None,
) -> list[AgentWatch | None]:
    """`watch_begin` for several actors reading one customer for the same work (the agents
    sharing a message's context pack): still one query and one Redis round trip in all."""
    questions = watches_ask(actors=actors, customer_id=customer_id, correlation_id=correlation_id)
    return watches_judge(
        questions=questions,
        answers=scalars_read(questions.columns) if questions.columns else [],
        customer_id=customer_id,
        correlation_id=correlation_id,
        started=started,
        refused=refused,
    )


@dataclass(frozen=True)
class WatchQuestions:
    """What the watch asks the database before reads of one customer: one scalar subquery per
    column (SQL and its parameters), so the gate can ask them in the statement that reads the
    customer's context instead of a round trip of their own. `watched` are the actors (by
    position) it asks about, `widths` how many columns each."""

    actors: tuple[Actor, ...]
    watched: tuple[int, ...]
    widths: tuple[int, ...]
    columns: tuple[tuple[str, tuple[Any, ...]], ...]


def watches_ask(
    *, actors: Sequence[Actor], customer_id: int, correlation_id: str
) -> WatchQuestions:
    """The watch's questions for these actors' reads of one customer (none for people and
    Rapport itself): whether each is quarantined, what work stands behind the read, when a
    quarantine was last lifted and, without Redis, its windows so far."""
    watched = tuple(i for i, actor in enumerate(actors) if actor.label.startswith(WATCHED_PREFIXES))
    columns: list[tuple[str, tuple[Any, ...]]] = []
    widths: list[int] = []
    if not watched:
        return WatchQuestions(actors=tuple(actors), watched=(), widths=(), columns=())
    limits = Thresholds.from_settings()
    quarantines = connection.ops.quote_name(ActorQuarantine._meta.db_table)
    work = _work_behind_sql(correlation_id, customer_id)
    for i in watched:
        label = actors[i].label
        key = quarantine_key(label)
        asked = [
            (f"SELECT id FROM {quarantines} WHERE active AND actor = %s", (key,)),  # noqa: S608 - table from _meta
            work if label.startswith("agent:") else ("NULL", ()),
            (
                f"SELECT lifted_at FROM {quarantines} WHERE actor = %s AND lifted_at IS NOT NULL",  # noqa: S608 - table from _meta
                (key,),
            ),
        ]
        if not _redis_url():
            asked += [
                _compiled(queryset)
                for queryset in _db_window_columns(
                    label=key, customer_id=customer_id, limits=limits
                )
            ]
        widths.append(len(asked))
        columns += asked
    return WatchQuestions(
        actors=tuple(actors), watched=watched, widths=tuple(widths), columns=tuple(columns)
    )


def watches_judge(
    *,
    questions: WatchQuestions,
    answers: Sequence[Any],
    customer_id: int,
    correlation_id: str,
    started: float,
    refused: Sequence[bool] | None = None,
) -> list[AgentWatch | None]:
    """Judge each watched read before it is served, from the answers to `questions` (in their
    order) and, with Redis, one round trip for the windows of all of them. With `refused`
    (per actor, whether its read is refused by its scope already), that round trip also adds
    the reads to the windows, so observing them afterwards needs none."""
    actors = questions.actors
    watches: list[AgentWatch | None] = [None] * len(actors)
    if not questions.watched:
        return watches
    limits = Thresholds.from_settings()
    peeks: list[tuple[AgentWatch, dt.datetime | None]] = []
    peeked: list[int] = []
    at = 0
    for i, width in zip(questions.watched, questions.widths, strict=True):
        values, at = answers[at : at + width], at + width
        label = actors[i].label
        watch = AgentWatch(
            agent=label.partition(":")[2],
            label=label,
            key=quarantine_key(label),
            customer_id=customer_id,
            correlation_id=correlation_id,
            started=started,
            thresholds=limits,
            quarantined=values[0] is not None,
            run_behind=values[1] is not None,
        )
        watches[i] = watch
        if len(values) > 3:
            burst, baseline, customers, seen_here, refusals = (int(v or 0) for v in values[3:])
            watch.prior = Windows(
                burst=burst, baseline=baseline, customers=customers, refused=refusals
            )
            watch.seen_customer = seen_here > 0
            watch.judge_before(watch.prior)
        elif watch.quarantined:
            watch.judge_before(None)
        else:
            peeks.append((watch, _moment(values[2])))
            peeked.append(i)
    if peeks:
        try:
            seen = _redis_windows_peek_many(
                [(watch.key, lifted_at) for watch, lifted_at in peeks],
                customer_id=customer_id,
                limits=limits,
                adds=[refused[i] for i in peeked] if refused is not None else None,
            )
        except redis.RedisError:
            logger.warning("anomaly windows: Redis unavailable, judging the read afterwards")
            seen = [(None, False, None)] * len(peeks)
        for (watch, _), (windows, here, after) in zip(peeks, seen, strict=True):
            watch.seen_customer = here
            watch.after = after
            watch.judge_before(windows)
    return watches


def _moment(value: Any) -> dt.datetime | None:
    """A timestamp from a raw scalar query: a datetime on PostgreSQL, text on SQLite."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


def _work_behind_sql(correlation_id: str, customer_id: int) -> tuple[str, tuple[Any, ...]]:
    """The work a correlation id names, for this customer, as a scalar subquery (NULL if none):
    an inbound message or a conversation of theirs. Matched on the message's customer now: a
    merge mid-run moves the message, and the work with it."""
    kind, _, ident = correlation_id.partition(":")
    if not (ident.isascii() and ident.isdigit() and len(ident) < 19):
        return "NULL", ()
    quote = connection.ops.quote_name
    if kind == "message":
        return (
            f"SELECT id FROM {quote(Message._meta.db_table)} "  # noqa: S608 - table from _meta
            "WHERE id = %s AND customer_id = %s AND direction = %s",
            (int(ident), customer_id, Message.Direction.INBOUND.value),
        )
    if kind == "conversation":
        return (
            f"SELECT id FROM {quote(Conversation._meta.db_table)} "  # noqa: S608 - table from _meta
            "WHERE id = %s AND customer_id = %s",
            (int(ident), customer_id),
        )
    return "NULL", ()


def _compiled(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    """A one-value queryset as a scalar subquery's SQL ("NULL" for one that cannot match)."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return "NULL", ()
    return sql, tuple(params)


def scalars_read(columns: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
    """Run several one-value queries (SQL and parameters) as one SELECT of scalar subqueries."""
    parts: list[str] = []
    params: list[Any] = []
    for sql, sub_params in columns:
        parts.append(sql if sql == "NULL" else f"({sql})")
        params.extend(sub_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return list(row)


def _agent_reads(key: str, since: dt.datetime) -> QuerySet[AuditEntry]:
    """The agent's or client's access entries since `since`, leaving out those before a lifted
    quarantine (and those refused while it was quarantined)."""
    lifted_after = ActorQuarantine.objects.filter(actor=key, lifted_at__gte=OuterRef("timestamp"))
    reads: QuerySet[AuditEntry] = AuditEntry.objects.filter(
        actor_label__in=_labels_of(key), action=AuditEntry.Action.ACCESS, timestamp__gte=since
    ).filter(~Exists(lifted_after))
    return reads


def quarantine_key(label: str) -> str:
    """What a quarantine and the windows are kept under: the agent's label, or for a client
    `api:<name>` whichever door it reads through (REST API or MCP), so one client is judged and
    stopped as one."""
    kind, _, name = label.partition(":")
    return f"api:{name}" if kind == "mcp" else label


def _labels_of(key: str) -> tuple[str, ...]:
    kind, _, name = key.partition(":")
    return (key, f"mcp:{name}") if kind == "api" else (key,)


def _db_window_columns(*, label: str, customer_id: int, limits: Thresholds) -> list[QuerySet[Any]]:
    now = timezone.now()
    burst_from = now - dt.timedelta(seconds=limits.burst_seconds)
    customers_from = now - dt.timedelta(seconds=limits.customers_seconds)

    def counted(queryset: QuerySet[AuditEntry], *, distinct: bool = False) -> QuerySet[Any]:
        field = "object_id" if distinct else "pk"
        counts: QuerySet[Any] = (
            queryset.values("actor_label")
            .annotate(n=Count(field, distinct=distinct))
            .values("n")
            .order_by()
        )
        return counts

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
    columns = _db_window_columns(label=label, customer_id=customer_id, limits=limits)
    burst, baseline, customers, _, refused = (
        int(v or 0) for v in scalars_read([_compiled(queryset) for queryset in columns])
    )
    return Windows(burst=burst, baseline=baseline, customers=customers, refused=refused)


@cache
def _redis_client(url: str) -> redis.Redis[bytes]:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _redis_url() -> str:
    return str(getattr(settings, "RAPPORT_ANOMALY_REDIS_URL", "") or "")


def _keys(label: str) -> tuple[str, str, str]:
    """The sliding windows of one actor label (agent:intent, api:crm)."""
    prefix = f"rapport:watch:{label}"
    return f"{prefix}:reads", f"{prefix}:customers", f"{prefix}:refused"


def _redis_windows_add(
    *, key: str, entry: AuditEntry, customer_id: int, refused: bool, limits: Thresholds
) -> Windows:
    """Add the read to the agent's or client's windows and count them, in one round trip."""
    (windows,) = _redis_windows_add_many([(key, entry, customer_id)], limits=limits)
    return windows


def _redis_windows_add_many(
    reads: list[tuple[str, AuditEntry, int]], *, limits: Thresholds
) -> list[Windows]:
    """Add reads (actor key, its entry, the customer) to their actors' windows and count each
    actor's windows after its read, all in one round trip."""
    now = time.time()
    pipe = _redis_client(_redis_url()).pipeline(transaction=True)
    plans = [
        _windows_add_queue(
            pipe,
            key=key,
            member=str(entry.pk),
            customer_id=customer_id,
            refused=entry.outcome == AuditEntry.Outcome.REFUSED,
            now=now,
            limits=limits,
        )
        for key, entry, customer_id in reads
    ]
    results = pipe.execute()
    counted: list[Windows] = []
    at = 0
    for commands in plans:
        replies, at = results[at : at + len(commands)], at + len(commands)
        counted.append(_windows_counted(replies, commands))
    return counted


def _windows_add_queue(
    pipe: redis.client.Pipeline[bytes],
    *,
    key: str,
    member: str,
    customer_id: int,
    refused: bool,
    now: float,
    limits: Thresholds,
) -> list[str]:
    """Queue one read's addition to its actor's windows, and their counts after it, on `pipe`;
    the commands queued, to find the counts among the replies (`_windows_counted`)."""
    keep = max(limits.baseline_seconds, limits.customers_seconds, limits.refused_seconds)
    reads_key, customers, refusals = _keys(key)
    pipe.zadd(reads_key, {member: now})
    pipe.zremrangebyscore(reads_key, "-inf", now - limits.baseline_seconds)
    pipe.zcount(reads_key, now - limits.burst_seconds, "+inf")
    pipe.zcount(reads_key, "-inf", f"({now - limits.burst_seconds}")
    pipe.zadd(customers, {str(customer_id): now})
    pipe.zremrangebyscore(customers, "-inf", now - limits.customers_seconds)
    pipe.zcard(customers)
    if refused:
        pipe.zadd(refusals, {member: now})
    pipe.zremrangebyscore(refusals, "-inf", now - limits.refused_seconds)
    pipe.zcard(refusals)
    for zset in (reads_key, customers, refusals):
        pipe.expire(zset, keep)
    return _commands(refused)


def _windows_counted(replies: list[Any], commands: list[str]) -> Windows:
    counts = [r for r, cmd in zip(replies, commands, strict=True) if cmd == "count"]
    burst, baseline, distinct, refused_count = (int(c) for c in counts)
    return Windows(burst=burst, baseline=baseline, customers=distinct, refused=refused_count)


def _redis_windows_peek_many(
    actors: list[tuple[str, dt.datetime | None]],
    *,
    customer_id: int,
    limits: Thresholds,
    adds: Sequence[bool] | None = None,
) -> list[tuple[Windows | None, bool, Windows | None]]:
    """Each actor's windows before this read, and whether this customer is in them, all in one
    round trip. Reads before a lifted quarantine are dropped here too, so a lift holds even
    if the windows were not cleared when it was made.

    With `adds` (whether each read is refused already, by its scope), each read is also added
    to its actor's windows in that same round trip, and the windows after it counted (else
    None): what `AgentWatch.observe` would otherwise add and count in one more, once the entry
    is written. The read is counted under a token of its own instead of its entry's id."""
    now = time.time()
    pipe = _redis_client(_redis_url()).pipeline(transaction=True)
    plans: list[tuple[int, list[str]]] = []
    for i, (key, lifted_at) in enumerate(actors):
        reads, customers, refusals = _keys(key)
        width = 6
        if lifted_at is not None:
            for zset in (reads, customers, refusals):
                pipe.zremrangebyscore(zset, "-inf", lifted_at.timestamp())
            width += 3
        pipe.zremrangebyscore(customers, "-inf", now - limits.customers_seconds)
        pipe.zcount(reads, now - limits.burst_seconds, "+inf")
        pipe.zcount(reads, now - limits.baseline_seconds, f"({now - limits.burst_seconds}")
        pipe.zcard(customers)
        pipe.zscore(customers, str(customer_id))
        pipe.zcount(refusals, now - limits.refused_seconds, "+inf")
        added: list[str] = []
        if adds is not None:
            added = _windows_add_queue(
                pipe,
                key=key,
                member=f"read:{uuid.uuid4().hex}",
                customer_id=customer_id,
                refused=adds[i],
                now=now,
                limits=limits,
            )
        plans.append((width, added))
    results = pipe.execute()
    seen: list[tuple[Windows | None, bool, Windows | None]] = []
    at = 0
    for width, added in plans:
        *_, burst, baseline, distinct, score, refused = results[at : at + width]
        at += width
        windows = Windows(
            burst=int(burst), baseline=int(baseline), customers=int(distinct), refused=int(refused)
        )
        after = None
        if added:
            after = _windows_counted(results[at : at + len(added)], added)
            at += len(added)
        seen.append((windows, score is not None, after))
    return seen


def _commands(refused: bool) -> list[str]:
    """Which of the pipeline's replies are the counts, in the order they were asked."""
    commands = ["add", "trim", "count", "count", "add", "trim", "count"]
    commands += (["add"] if refused else []) + ["trim", "count", "ttl", "ttl", "ttl"]
    return commands


# Quarantine ------------------------------------------------------------------------------------


def actor_quarantine(
    *,
    actor: str,
    reason: str,
    quarantined_by: str,
    anomaly: AnomalyKind | None = None,
    offending: AuditEntry | None = None,
    detection_ms: float | None = None,
) -> ActorQuarantine:
    """Quarantine an agent or client, by the watch (for an anomaly seen in `offending`) or by a
    person: its next read is refused, supervisors are alerted, and the audit trail says why,
    by whom and how fast."""
    with transaction.atomic():
        quarantine, created = ActorQuarantine.objects.select_for_update().get_or_create(
            actor=actor, defaults={"reason": reason[:300], "quarantined_by": quarantined_by}
        )
        if quarantine.active and not created:
            return quarantine
        quarantine.active = True
        quarantine.anomaly = anomaly.value if anomaly else ""
        quarantine.reason = reason[:300]
        quarantine.quarantined_at = timezone.now()
        quarantine.quarantined_by = quarantined_by[:150]
        quarantine.detection_ms = round(detection_ms, 3) if detection_ms is not None else None
        quarantine.save(
            update_fields=[
                "active",
                "anomaly",
                "reason",
                "quarantined_at",
                "quarantined_by",
                "detection_ms",
            ]
        )
        detail: dict[str, object] = {"reason": quarantine.reason}
        if anomaly is not None:
            detail["anomaly"] = anomaly.value
        if offending is not None:
            detail |= {"offending_entry": offending.pk, "offending_seq": offending.seq}
        if quarantine.detection_ms is not None:
            detail["detection_ms"] = quarantine.detection_ms
        chained_entry_write(
            target=quarantine,
            action=AuditEntry.Action.UPDATE,
            actor_label=quarantined_by,
            purpose=f"quarantine {actor}" + (f": {anomaly.value}" if anomaly else ""),
            correlation_id=(offending.cid or "") if offending is not None else "",
            detail=detail,
        )
        publish(
            ActorQuarantined(
                actor=actor,
                anomaly=quarantine.anomaly,
                reason=quarantine.reason,
                detection_ms=quarantine.detection_ms,
            )
        )
    logger.warning("quarantined %s: %s", actor, quarantine.reason)
    return quarantine


def actor_quarantine_lift(*, actor: str, lifted_by: str) -> ActorQuarantine | None:
    """A person clears a quarantine: reads before now stop counting towards anomalies, so the
    actor starts from clean windows. None when it was not quarantined."""
    with transaction.atomic():
        quarantine = (
            ActorQuarantine.objects.select_for_update().filter(actor=actor, active=True).first()
        )
        if quarantine is None:
            return None
        quarantine.active = False
        quarantine.lifted_at = timezone.now()
        quarantine.lifted_by = lifted_by[:150]
        quarantine.save(update_fields=["active", "lifted_at", "lifted_by"])
        chained_entry_write(
            target=quarantine,
            action=AuditEntry.Action.UPDATE,
            actor_label=lifted_by,
            purpose=f"lift quarantine of {actor}",
            detail={"was": quarantine.reason},
        )
        if _redis_url():
            transaction.on_commit(lambda: _windows_forget(actor), robust=True)
        publish(ActorQuarantineLifted(actor=actor, by=lifted_by))
    return quarantine


def quarantines_active(*, limit: int = 20) -> list[ActorQuarantine]:
    """Every agent and client quarantined now, newest first."""
    return list(ActorQuarantine.objects.filter(active=True).order_by("-quarantined_at")[:limit])


def actors_quarantined(*, actors: list[str]) -> dict[str, ActorQuarantine]:
    """Which of these actors are quarantined now, by label."""
    return {q.actor: q for q in ActorQuarantine.objects.filter(actor__in=actors, active=True)}


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
    entries: QuerySet[AuditEntry] = AuditEntry.objects.filter(
        Q(actor_label=WATCH_LABEL) & Q(timestamp__gte=since)
    ).order_by("-timestamp")
    return entries


def actor_is_quarantined(actor: Actor) -> bool:
    """Whether this agent or client is quarantined now (people never are): checked up front by
    what answers without reading a customer first (a search that finds nothing, a write)."""
    if not actor.label.startswith(WATCHED_PREFIXES):
        return False
    return ActorQuarantine.objects.filter(actor=quarantine_key(actor.label), active=True).exists()
